#include "environment/interpreters.hpp"

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <set>

namespace amlemu::environment {

namespace stdfs = std::filesystem;

namespace {

// "3.<digits>.<digits>" ("3.11.7"), or with one dot less when `parts` is 2 ("3.11").
bool release_like(std::string_view s, int parts = 3) {
  if (!s.starts_with("3.")) return false;
  int groups = 1;
  bool digits = false;
  for (const char c : s.substr(2)) {
    if (c == '.' && digits) {
      ++groups;
      digits = false;
    } else if (c >= '0' && c <= '9') {
      digits = true;
    } else {
      return false;
    }
  }
  return digits && groups + 1 == parts;
}

// "3.11" of a file named "python3.11"; nothing for any other name.
std::optional<std::string> python_minor(const std::string& file) {
  if (!file.starts_with("python")) return std::nullopt;
  const auto version = file.substr(6);
  if (!release_like(version, 2)) return std::nullopt;
  return version;
}

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
  size_t start = 0;
  while (start <= path_variable.size()) {
    const auto colon = path_variable.find(':', start);
    const stdfs::path dir = path_variable.substr(start, colon - start);
    start = colon == std::string::npos ? path_variable.size() + 1 : colon + 1;
    if (dir.empty() || dir.filename() == "shims") continue;
    std::error_code ec;
    std::vector<std::pair<std::string, stdfs::path>> here;
    for (const auto& entry : stdfs::directory_iterator(dir, ec)) {
      const auto minor = python_minor(entry.path().filename().string());
      if (minor && executable(entry.path())) here.emplace_back(*minor, entry.path());
    }
    std::sort(here.begin(), here.end(), [](const auto& a, const auto& b) {
      return numbers(a.first) > numbers(b.first);
    });
    for (const auto& [version, file] : here) add(file, version, "PATH");
  }
  std::error_code ec;
  std::vector<std::string> versions;
  for (const auto& entry : stdfs::directory_iterator(pyenv_root / "versions", ec)) {
    const auto v = entry.path().filename().string();
    if (release_like(v)) versions.push_back(v);
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
    if (!release_like(selected)) return std::nullopt;  // "system", a virtualenv...
    const auto file = pyenv_root / "versions" / selected / "bin" / ("python" + minor_version(selected));
    if (!executable(file)) return std::nullopt;
    return Interpreter{file, selected, "default"};
  }
  const auto real = stdfs::canonical(base, ec);
  if (ec) return std::nullopt;
  if (const auto minor = python_minor(real.filename().string())) return Interpreter{real, *minor, "default"};
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
