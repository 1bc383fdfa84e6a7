// Runs the real `amlemu` CLI in a test's temporary workspace home.
#pragma once

#include <boost/process.hpp>
#include <chrono>
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
  nlohmann::json json() const { return nlohmann::json::parse(out); }
};

/// Runs `program args...` in `cwd` with the test's environment, capturing stdout and stderr.
inline CliResult run_program(const std::string& program, const std::vector<std::string>& args,
                             const std::filesystem::path& cwd) {
  namespace bp = boost::process;
  static int counter = 0;
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
