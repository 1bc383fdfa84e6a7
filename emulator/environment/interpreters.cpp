#include "environment/interpreters.hpp"

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <regex>
#include <set>

namespace amlemu::environment {

namespace stdfs = std::filesystem;

namespace {

std::vector<int> numbers(const std::string& version) {
  std::vector<int> out;
  size_t start = 0;
  while (start < version.size()) {
    const auto dot = version.find('.', start);
    try {
      out.push_back(std::stoi(version.substr(start, dot - start)));
    } catch (const std::exception&) {
      out.push_back(0);
    }
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return out;
}

bool executable(const stdfs::path& p) {
  std::error_code ec;
  return stdfs::is_regular_file(p, ec) && ::access(p.c_str(), X_OK) == 0;
}

}  // namespace

std::string minor_version(const std::string& version) {
  const auto first = version.find('.');
  if (first == std::string::npos) return version;
  const auto second = version.find('.', first + 1);
  return version.substr(0, second);
}

std::vector<Interpreter> discover_interpreters(const std::string& path_variable,
                                               const stdfs::path& pyenv_root) {
  std::vector<Interpreter> out;
  std::set<stdfs::path> seen;
  auto add = [&](const stdfs::path& file, const std::string& version, const char* origin) {
    std::error_code ec;
    const auto real = stdfs::canonical(file, ec);
    if (ec || !seen.insert(real).second) return;
    out.push_back({file, version, origin});
  };
  static const std::regex name(R"(^python(3\.\d+)$)");
  size_t start = 0;
  while (start <= path_variable.size()) {
    const auto colon = path_variable.find(':', start);
    const stdfs::path dir = path_variable.substr(start, colon - start);
    start = colon == std::string::npos ? path_variable.size() + 1 : colon + 1;
    if (dir.empty() || dir.filename() == "shims") continue;
    std::error_code ec;
    std::vector<std::pair<std::string, stdfs::path>> here;
    for (const auto& entry : stdfs::directory_iterator(dir, ec)) {
      std::smatch m;
      const auto file = entry.path().filename().string();
      if (std::regex_match(file, m, name) && executable(entry.path())) here.emplace_back(m[1], entry.path());
    }
    std::sort(here.begin(), here.end(), [](const auto& a, const auto& b) {
      return numbers(a.first) > numbers(b.first);
    });
    for (const auto& [version, file] : here) add(file, version, "PATH");
  }
  std::error_code ec;
  std::vector<std::string> versions;
  static const std::regex release(R"(^3\.\d+\.\d+$)");
  for (const auto& entry : stdfs::directory_iterator(pyenv_root / "versions", ec)) {
    const auto v = entry.path().filename().string();
    if (std::regex_match(v, release)) versions.push_back(v);
  }
  std::sort(versions.begin(), versions.end(),
            [](const auto& a, const auto& b) { return numbers(a) > numbers(b); });
  for (const auto& v : versions) {
    const auto file = pyenv_root / "versions" / v / "bin" / ("python" + minor_version(v));
    if (executable(file)) add(file, v, "pyenv");
  }
  return out;
}

std::optional<Interpreter> identify_default(const stdfs::path& base, const stdfs::path& pyenv_root,
                                            const std::string& pyenv_version,
                                            const stdfs::path& cwd) {
  std::error_code ec;
  static const std::regex name(R"(^python(3\.\d+)$)");
  if (base.parent_path().filename() == "shims" && base.parent_path().parent_path() == pyenv_root) {
    std::string selected = pyenv_version;
    for (auto dir = cwd; selected.empty(); dir = dir.parent_path()) {
      std::ifstream in(dir / ".python-version");
      if (in) in >> selected;
      if (dir == dir.parent_path()) break;
    }
    if (selected.empty()) {
      std::ifstream in(pyenv_root / "version");
      if (in) in >> selected;
    }
    selected = selected.substr(0, selected.find(':'));
    static const std::regex release(R"(^3\.\d+\.\d+$)");
    if (!std::regex_match(selected, release)) return std::nullopt;  // "system", a virtualenv...
    const auto file = pyenv_root / "versions" / selected / "bin" / ("python" + minor_version(selected));
    if (!executable(file)) return std::nullopt;
    return Interpreter{file, selected, "default"};
  }
  const auto real = stdfs::canonical(base, ec);
  std::smatch m;
  const auto file = real.filename().string();
  if (!ec && std::regex_match(file, m, name)) return Interpreter{real, m[1], "default"};
  return std::nullopt;
}

std::optional<Interpreter> choose_interpreter(const std::vector<Interpreter>& found,
                                              const std::optional<Interpreter>& default_one,
                                              const std::string& minor) {
  if (default_one && minor_version(default_one->version) == minor) return default_one;
  for (const auto& i : found) {
    if (minor_version(i.version) == minor) return i;
  }
  return std::nullopt;
}

std::string describe_interpreters(const std::vector<Interpreter>& found) {
  if (found.empty()) return "none";
  std::string out;
  for (const auto& i : found) {
    out += (out.empty() ? "" : ", ") + i.version + " (" + i.path.string() + ")";
  }
  return out;
}

}  // namespace amlemu::environment
