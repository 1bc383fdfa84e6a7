// The VM size catalog, read once from share/amlemu/vm_sizes.json (a copy of fixtures/).
#include <algorithm>
#include <fstream>
#include <mutex>

#include <nlohmann/json.hpp>

#include "amlemu/compute.hpp"
#include "amlemu/errors.hpp"
#include "common/text.hpp"
#include "common/paths.hpp"

namespace amlemu {

namespace {

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

const std::vector<VmSize>& catalog() {
  static std::vector<VmSize> sizes;
  static std::once_flag once;
  std::call_once(once, [] {
    const auto file = share_dir() / "vm_sizes.json";
    std::ifstream in(file);
    if (!in) throw AmlException("VM size catalog not found: " + file.string());
    const auto doc = nlohmann::json::parse(in);
    for (const auto& s : doc.at("sizes")) {
      sizes.push_back(VmSize{s.at("name"), s.at("vcpus"), s.at("memory_gb"), s.at("gpus"),
                             s.value("gpu_type", "")});
    }
  });
  return sizes;
}

}  // namespace

std::vector<VmSize> supported_vm_sizes() { return catalog(); }

VmSize find_vm_size(const std::string& name) {
  const auto key = to_lower(name);
  const auto& all = catalog();
  for (const auto& s : all) {
    if (to_lower(s.name) == key) return s;
  }
  std::vector<std::pair<size_t, std::string>> ranked;
  for (const auto& s : all) ranked.emplace_back(edit_distance(key, to_lower(s.name)), s.name);
  std::sort(ranked.begin(), ranked.end());
  std::string close;
  for (size_t i = 0; i < std::min<size_t>(3, ranked.size()); ++i) {
    close += (i ? ", " : "") + ranked[i].second;
  }
  throw ComputeTargetException("vm_size '" + name + "' is not a supported VM size; closest: " +
                               close);
}

}  // namespace amlemu
