#include "launch/launcher.hpp"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/process.hpp>
#include <boost/process/extend.hpp>
#include <cstdio>

extern char** environ;

namespace amlemu::launch {

namespace bp = boost::process;

namespace {

class LocalProcess : public Process {
 public:
  explicit LocalProcess(bp::child child) : child_(std::move(child)) {}
  ~LocalProcess() override {
    std::error_code ec;
    if (child_.running(ec)) {
      signal_group(SIGKILL);
      child_.wait(ec);
    }
  }
  int pid() const override { return child_.id(); }

  std::optional<int> poll() override {
    if (code_) return code_;
    std::error_code ec;
    if (child_.running(ec)) return std::nullopt;
    const int status = child_.native_exit_code();
    code_ = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
    return code_;
  }

  void signal_group(int sig) override { ::kill(-child_.id(), sig); }

 private:
  bp::child child_;
  std::optional<int> code_;
};

class LocalLauncher : public Launcher {
 public:
  std::unique_ptr<Process> start(const ProcessSpec& spec) override {
    bp::environment env;
    for (const auto& [k, v] : spec.env) env[k] = v;
    FILE* out = std::fopen(spec.output_file.c_str(), "a");
    if (!out) throw std::runtime_error("cannot open " + spec.output_file.string());
    const pid_t parent = ::getpid();
    std::error_code ec;
    bp::child child(
        bp::exe = spec.program.string(), bp::args = spec.args, bp::start_dir = spec.cwd.string(),
        env, bp::std_in<bp::null, (bp::std_out & bp::std_err)> out, ec,
        bp::extend::on_exec_setup = [parent](auto&) {
          ::setpgid(0, 0);
          ::prctl(PR_SET_PDEATHSIG, SIGKILL);
          if (::getppid() != parent) ::_exit(137);  // the parent died before prctl took hold
        });
    std::fclose(out);
    if (ec) {
      throw std::runtime_error("cannot start " + spec.program.string() + ": " + ec.message());
    }
    return std::make_unique<LocalProcess>(std::move(child));
  }
};

}  // namespace

std::unique_ptr<Launcher> make_local_launcher() { return std::make_unique<LocalLauncher>(); }

std::map<std::string, std::string> current_environment() {
  std::map<std::string, std::string> out;
  for (char** e = environ; *e; ++e) {
    std::string kv = *e;
    const auto eq = kv.find('=');
    if (eq != std::string::npos) out[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return out;
}

}  // namespace amlemu::launch
