#include "launch/supervisor.hpp"

#include <signal.h>
#include <unistd.h>

#include <boost/process.hpp>
#include <fstream>
#include <regex>
#include <thread>

#include "amlemu/errors.hpp"
#include "collection/collect.hpp"
#include "common/clock.hpp"
#include "common/fs.hpp"
#include "common/paths.hpp"
#include "environment/environment.hpp"
#include "history/run_store.hpp"
#include "workspace/layout.hpp"
#include "workspace/workspace_impl.hpp"

namespace amlemu::launch {

namespace stdfs = std::filesystem;

namespace {

constexpr auto kPoll = std::chrono::milliseconds(20);
constexpr auto kTerminateGrace = std::chrono::seconds(5);

std::string read_tail(const stdfs::path& file, std::streamoff max_bytes) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return {};
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  const std::streamoff start = size > max_bytes ? size - max_bytes : 0;
  in.seekg(start);
  std::string out(static_cast<size_t>(size - start), '\0');
  in.read(out.data(), static_cast<std::streamsize>(out.size()));
  return out;
}

void append_line(const stdfs::path& file, const std::string& line) {
  std::ofstream out(file, std::ios::app);
  out << line << "\n";
}

nlohmann::json service_error(const std::string& message) {
  return {{"error", {{"code", "UserError"}, {"message", message}}}};
}

struct Mounted {
  std::map<std::string, std::string> paths;  // data reference name -> path on the node
};

// Makes each data reference visible on the node: mounts are links to the datastore folder,
// downloads are copies in the working directory.
Mounted mount_data(const Workspace& ws, const nlohmann::json& refs, const stdfs::path& mounts,
                   const stdfs::path& wd) {
  Mounted m;
  for (const auto& [name, ref] : refs.items()) {
    const std::string ds = ref["dataStoreName"];
    const std::string on_ds = ref.value("pathOnDataStore", "");
    const auto ds_root = layout::datastore(ws.state_dir(), ds);
    if (!stdfs::is_directory(ds_root)) {
      throw UserErrorException("data reference '" + name + "': datastore '" + ds +
                               "' not found");
    }
    if (ref["mode"] == "Mount") {
      const auto link = mounts / ds;
      if (!stdfs::exists(stdfs::symlink_status(link))) {
        stdfs::create_directories(mounts);
        stdfs::create_directory_symlink(ds_root, link);
      }
      m.paths[name] = (on_ds.empty() ? link : link / on_ds).string();
    } else {
      const auto src = on_ds.empty() ? ds_root : ds_root / on_ds;
      const std::string on_compute = ref["pathOnCompute"].is_string()
                                         ? ref["pathOnCompute"].get<std::string>()
                                         : (on_ds.empty() ? ds : ds + "/" + on_ds);
      const auto dst = wd / on_compute;
      if (stdfs::is_directory(src)) {
        fs::copy_tree(src, dst);
      } else if (stdfs::is_regular_file(src)) {
        stdfs::create_directories(dst.parent_path());
        stdfs::copy_file(src, dst, stdfs::copy_options::overwrite_existing);
      } else {
        throw UserErrorException("data reference '" + name + "': path '" + on_ds +
                                 "' not found on datastore '" + ds + "'");
      }
      m.paths[name] = dst.string();
    }
  }
  return m;
}

std::map<std::string, std::string> run_environment(const Workspace& ws,
                                                   const history::RunRecord& run,
                                                   const Mounted& mounted) {
  auto env = current_environment();
  // Variables of the caller that would confuse the run's own context.
  for (auto it = env.begin(); it != env.end();) {
    it = it->first.rfind("AZUREML_", 0) == 0 ? env.erase(it) : std::next(it);
  }
  const auto& def = run.definition;
  const std::string py = (share_dir() / "python").string();
  env["PYTHONPATH"] = env.count("PYTHONPATH") ? py + ":" + env["PYTHONPATH"] : py;
  env["PYTHONUNBUFFERED"] = "1";
  env["AZUREML_RUN_ID"] = run.run_id;
  env["AZUREML_ARM_SUBSCRIPTION"] = ws.subscription_id();
  env["AZUREML_ARM_RESOURCEGROUP"] = ws.resource_group();
  env["AZUREML_ARM_WORKSPACE_NAME"] = ws.name();
  env["AZUREML_ARM_PROJECT_NAME"] = run.experiment_name;
  env["AZUREML_WORKSPACE_ID"] = ws.get_details()["workspaceid"];
  env["AZUREML_RUN_CONFIGURATION"] = "azureml-setup/mutated_run_configuration.json";
  env["AMLEMU_DATABASE"] = layout::database(ws.state_dir()).string();
  env["AMLEMU_RUN_ARTIFACTS"] = layout::artifacts(ws.state_dir(), run.run_id).string();
  for (const auto& [name, path] : mounted.paths) env["AZUREML_DATAREFERENCE_" + name] = path;
  if (def.contains("environment") && def["environment"].contains("environmentVariables")) {
    for (const auto& [k, v] : def["environment"]["environmentVariables"].items()) {
      env[k] = v.get<std::string>();
    }
  }
  return env;
}

class Supervisor {
 public:
  Supervisor(const Workspace& ws, std::string run_id, Launcher& launcher,
             const volatile bool& cancel)
      : ws_(ws), store_(ws.impl().db), id_(std::move(run_id)), launcher_(launcher),
        cancel_(cancel) {}

  int run() {
    auto rec = store_.find(id_);
    if (!rec) return 1;
    const auto artifacts = layout::artifacts(ws_.state_dir(), id_);
    driver_log_ = artifacts / layout::kDriverLog;
    stdfs::create_directories(artifacts / layout::kLogsDir);
    try {
      drive(*rec);
    } catch (const std::exception& e) {
      fail(service_error(e.what()));
    }
    cleanup();
    return 0;
  }

 private:
  bool status(const char* s, const nlohmann::json& error = nullptr) {
    return store_.set_status(id_, s, now_iso(), error);
  }
  bool canceled() {
    if (!cancel_) return false;
    status(RunStatus::Canceled);
    return true;
  }
  void fail(const nlohmann::json& error) { status(RunStatus::Failed, error); }

  void drive(const history::RunRecord& rec) {
    const auto& def = rec.definition;
    if (!status(RunStatus::Preparing) || canceled()) return;
    std::ostringstream env_log;
    environment::PreparedEnvironment env;
    try {
      env = environment::prepare(def.value("environment", nlohmann::json::object())
                                     .value("python", nlohmann::json::object()),
                                 env_log);
    } catch (const UserErrorException& e) {
      fail(service_error(std::string("Preparing failed: ") + e.what()));
      return;
    }

    if (!status(RunStatus::Queued) || canceled()) return;
    const auto wd = layout::node_working_dir(ws_.state_dir(), id_);
    fs::copy_tree(layout::snapshot(ws_.state_dir(), id_), wd);
    const auto mounted = mount_data(ws_, def.value("dataReferences", nlohmann::json::object()),
                                    layout::node_mounts(ws_.state_dir(), id_), wd);
    stdfs::create_directories(wd / layout::kOutputsDir);
    stdfs::create_directories(wd / layout::kUserLogsDir);

    if (!status(RunStatus::Running) || canceled()) return;
    ProcessSpec spec;
    spec.program = env.python;
    spec.args = {def["script"].get<std::string>()};
    const auto args = substitute_data_references(
        def["arguments"].get<std::vector<std::string>>(), mounted.paths);
    spec.args.insert(spec.args.end(), args.begin(), args.end());
    spec.env = run_environment(ws_, rec, mounted);
    spec.cwd = wd;
    spec.output_file = driver_log_;
    const int code = wait_for(launcher_.start(spec),
                              def.value("maxRunDurationSeconds", 2592000));

    if (code_reason_ == Reason::Canceled) {
      status(RunStatus::Canceled);
      return;
    }
    if (!status(RunStatus::Finalizing)) return;
    std::ostringstream post;
    collection::collect_outputs(wd, layout::artifacts(ws_.state_dir(), id_), post);
    if (code_reason_ == Reason::TimedOut) {
      append_line(driver_log_, "[" + log_stamp(std::chrono::system_clock::now()) +
                                   "] The run exceeded its maximum duration. Finalizing run...");
      finish(service_error("The run exceeded max_run_duration_seconds (" +
                           std::to_string(def.value("maxRunDurationSeconds", 0)) +
                           " s) and was stopped"));
    } else if (code == 0) {
      append_line(driver_log_, "[" + log_stamp(std::chrono::system_clock::now()) +
                                   "] The experiment completed successfully. Finalizing run...");
      finish(nullptr);
    } else {
      append_line(driver_log_, "[" + log_stamp(std::chrono::system_clock::now()) +
                                   "] The experiment failed. Finalizing run...");
      finish(user_program_error(read_tail(driver_log_, 8192), code));
    }
  }

  void finish(const nlohmann::json& error) {
    store_.add_files(id_, collection::list_artifacts(layout::artifacts(ws_.state_dir(), id_)));
    if (error.is_null()) {
      status(RunStatus::Completed);
    } else {
      fail(error);
    }
  }

  enum class Reason { Exited, Canceled, TimedOut };

  int wait_for(std::unique_ptr<Process> p, int max_seconds) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(max_seconds);
    std::optional<std::chrono::steady_clock::time_point> kill_at;
    for (;;) {
      if (auto code = p->poll()) {
        p->signal_group(SIGKILL);  // leftovers of the script's group never outlive the run
        return *code;
      }
      const auto now = std::chrono::steady_clock::now();
      if (!kill_at && (cancel_ || now >= deadline)) {
        code_reason_ = cancel_ ? Reason::Canceled : Reason::TimedOut;
        p->signal_group(SIGTERM);
        kill_at = now + kTerminateGrace;
      }
      if (kill_at && now >= *kill_at) p->signal_group(SIGKILL);
      std::this_thread::sleep_for(kPoll);
    }
  }

  void cleanup() {
    std::error_code ec;
    stdfs::remove_all(layout::node_dir(ws_.state_dir(), id_), ec);
  }

  Workspace ws_;
  history::RunStore store_;
  std::string id_;
  Launcher& launcher_;
  const volatile bool& cancel_;
  stdfs::path driver_log_;
  Reason code_reason_ = Reason::Exited;
};

}  // namespace

std::vector<std::string> substitute_data_references(
    const std::vector<std::string>& args, const std::map<std::string, std::string>& paths) {
  std::vector<std::string> out;
  for (auto arg : args) {
    for (const auto& [name, path] : paths) {
      const std::string token = "$AZUREML_DATAREFERENCE_" + name;
      for (size_t pos = arg.find(token); pos != std::string::npos;
           pos = arg.find(token, pos + path.size())) {
        arg.replace(pos, token.size(), path);
      }
    }
    out.push_back(arg);
  }
  return out;
}

nlohmann::json user_program_error(const std::string& log_tail, int exit_code) {
  // The last "Type: message" line after a traceback names the exception, as the service does.
  static const std::regex exception_line(R"(^([A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Warning)?): ?(.*)$)");
  std::string message;
  const auto tb = log_tail.rfind("Traceback (most recent call last):");
  if (tb != std::string::npos) {
    std::istringstream lines(log_tail.substr(tb));
    std::string line;
    std::smatch m;
    while (std::getline(lines, line)) {
      if (!line.empty() && line[0] != ' ' && std::regex_match(line, m, exception_line)) {
        message = "User program failed with " + m[1].str() + ": " + m[2].str();
      }
    }
  }
  if (message.empty()) {
    message = exit_code > 128
                  ? "User program was killed by signal " + std::to_string(exit_code - 128)
                  : "User program failed with exit code " + std::to_string(exit_code);
  }
  return {{"error",
           {{"code", "UserError"},
            {"message", message},
            {"details", nlohmann::json::array()},
            {"exitCode", exit_code}}}};
}

int supervise(const Workspace& ws, const std::string& run_id, Launcher& launcher,
              const volatile bool& cancel_requested) {
  history::RunStore(ws.impl().db).set_supervisor_pid(run_id, ::getpid());
  return Supervisor(ws, run_id, launcher, cancel_requested).run();
}

void spawn_supervisor(const Workspace& ws, const std::string& run_id) {
  namespace bp = boost::process;
  const auto runner = runner_executable();
  const auto log = layout::supervisor_log(ws.state_dir(), run_id);
  std::error_code ec;
  // The runner forks once more and its first child exits, so the supervisor is reparented to
  // init and never becomes a zombie of a long-lived caller.
  bp::child c(bp::exe = runner.string(),
              bp::args = {"--state-dir", ws.state_dir().string(), "--run-id", run_id,
                          "--detach"},
              bp::std_in<bp::null, (bp::std_out & bp::std_err)> log.string(), ec);
  if (ec) throw std::runtime_error("cannot start " + runner.string() + ": " + ec.message());
  c.wait(ec);
  if (c.exit_code() != 0) {
    throw std::runtime_error("the run supervisor " + runner.string() + " failed to start (see " +
                             log.string() + ")");
  }
}

}  // namespace amlemu::launch
