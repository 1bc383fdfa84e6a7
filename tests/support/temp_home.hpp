// A fresh temporary $AMLEMU_HOME (and working folder) for one test, removed afterwards.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace amlemu::testing {

class TempHome {
 public:
  TempHome() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "amlemu-test-XXXXXX").string();
    root_ = ::mkdtemp(tmpl.data());
    std::filesystem::create_directories(root_ / "home");
    std::filesystem::create_directories(root_ / "work");
    old_home_ = std::getenv("AMLEMU_HOME") ? std::getenv("AMLEMU_HOME") : "";
    ::setenv("AMLEMU_HOME", (root_ / "home").c_str(), 1);
#ifdef AMLEMU_TEST_UV_CACHE
    // Job environments install offline, from the cache scripts/warm-uv-cache.sh fills.
    ::setenv("AMLEMU_UV_CACHE", AMLEMU_TEST_UV_CACHE, 1);
    ::setenv("UV_OFFLINE", "1", 1);
#endif
  }
  ~TempHome() {
    if (old_home_.empty()) {
      ::unsetenv("AMLEMU_HOME");
    } else {
      ::setenv("AMLEMU_HOME", old_home_.c_str(), 1);
    }
    std::error_code ec;
    std::filesystem::remove_all(root_, ec);
  }
  TempHome(const TempHome&) = delete;
  TempHome& operator=(const TempHome&) = delete;

  const std::filesystem::path& root() const { return root_; }
  std::filesystem::path home() const { return root_ / "home"; }
  std::filesystem::path work() const { return root_ / "work"; }

  /// Writes a portal-form config.json into `dir` (default: the work folder) and returns it.
  std::filesystem::path write_config(const std::string& workspace = "ws1",
                                     std::filesystem::path dir = {}) const {
    if (dir.empty()) dir = work();
    std::filesystem::create_directories(dir);
    const auto file = dir / "config.json";
    std::ofstream(file) << R"({"subscription_id": "sub-1", "resource_group": "rg-1", )"
                        << R"("workspace_name": ")" << workspace << "\"}\n";
    return file;
  }

  /// Writes a file (creating folders) and returns its path.
  static std::filesystem::path write(const std::filesystem::path& file, const std::string& text) {
    std::filesystem::create_directories(file.parent_path());
    std::ofstream(file) << text;
    return file;
  }

 private:
  std::filesystem::path root_;
  std::string old_home_;
};

}  // namespace amlemu::testing
