// Runs the real `amlemu` CLI in a test's temporary workspace home.
#pragma once

#include <atomic>
#include <boost/process.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/fs.hpp"
#include "support/temp_home.hpp"

namespace amlemu::testing {

struct CliResult {
  int code = -1;
  std::string out;
  std::string err;
  /// Parses stdout; when that fails, the error carries the exit code and stderr.
  nlohmann::json json() const {
    try {
      return nlohmann::json::parse(out);
    } catch (const nlohmann::json::parse_error& e) {
      throw std::runtime_error("command exited " + std::to_string(code) + " with stdout '" + out +
                               "' and stderr '" + err + "': " + e.what());
    }
  }
};

/// Runs `program args...` in `cwd` with the test's environment, capturing stdout and stderr.
inline CliResult run_program(const std::string& program, const std::vector<std::string>& args,
                             const std::filesystem::path& cwd) {
  namespace bp = boost::process;
  // Tests call this from several threads at once (a lister beside submitters), so each call
  // needs its own pair of files.
  static std::atomic<int> counter{0};
  const auto out = std::filesystem::temp_directory_path() /
                   ("amlemu-cli-" + std::to_string(::getpid()) + "-" + std::to_string(++counter));
  const std::string out_file = out.string() + ".out", err_file = out.string() + ".err";
  bp::child c(bp::exe = program, bp::args = args, bp::start_dir = cwd.string(),
              bp::std_in<bp::null, bp::std_out> out_file, bp::std_err > err_file);
  c.wait();
  CliResult r;
  r.code = c.exit_code();
  r.out = fs::read_file(out_file);
  r.err = fs::read_file(err_file);
  std::filesystem::remove(out_file);
  std::filesystem::remove(err_file);
  return r;
}

inline CliResult cli(const TempHome& t, const std::vector<std::string>& args) {
  return run_program(AMLEMU_CLI, args, t.work());
}

/// Writes a JSON spec of experiment `experiment` whose source is tests/scripts, with `body`'s
/// keys; returns its file name (relative to the work folder).
inline std::string write_spec(const TempHome& t, const std::string& name,
                              const std::string& experiment, const nlohmann::json& body) {
  nlohmann::json doc = {{"experiment_name", experiment}, {"source_directory", AMLEMU_TEST_SCRIPTS}};
  doc.update(body);
  TempHome::write(t.work() / name, doc.dump(2));
  return name;
}

/// A workspace `workspace` with numbers.txt (1, 2, 3) under nums/ on the default datastore and a
/// two-node cluster cpu-cluster (Standard_D2_v2).
inline void standard_workspace(const TempHome& t, const std::string& workspace) {
  t.write_config(workspace);
  REQUIRE(cli(t, {"workspace", "create"}).code == 0);
  TempHome::write(t.work() / "data" / "numbers.txt", "1\n2\n3\n");
  REQUIRE(cli(t, {"datastore", "upload", "--src-dir", "data", "--target-path", "nums"}).code == 0);
  REQUIRE(cli(t, {"compute", "create", "--name", "cpu-cluster", "--size", "STANDARD_D2_V2",
                  "--max-instances", "2"}).code == 0);
}

/// The run id from the first line of streamed output ("RunId: <id>").
inline std::string run_id_of(const CliResult& r) { return r.out.substr(7, r.out.find('\n') - 7); }

/// Polls `job show` until the run is terminal (or 60 s pass); returns the last document.
inline nlohmann::json wait_terminal(const TempHome& t, const std::string& run_id) {
  nlohmann::json d;
  for (int i = 0; i < 600; ++i) {
    d = cli(t, {"job", "show", "--name", run_id}).json();
    const std::string s = d["status"];
    if (s == "Completed" || s == "Failed" || s == "Canceled") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return d;
}

}  // namespace amlemu::testing
