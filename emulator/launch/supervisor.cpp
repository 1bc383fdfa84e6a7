#include "launch/supervisor.hpp"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/process.hpp>
#include <fstream>
#include <regex>
#include <sstream>

#include "amlemu/compute.hpp"
#include "amlemu/errors.hpp"
#include "collection/collect.hpp"
#include "common/fs.hpp"
#include "common/hash.hpp"
#include "common/paths.hpp"
#include "environment/environment.hpp"
#include "history/run_store.hpp"
#include "submission/snapshot.hpp"
#include "workspace/layout.hpp"
#include "workspace/workspace_impl.hpp"

namespace amlemu::launch {

namespace stdfs = std::filesystem;

namespace {

constexpr int kTailLines = 20;

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

std::string stamp() { return log_stamp(std::chrono::system_clock::now()); }

// One of the service's per-node logs: each line stamped, appended as it happens.
class NodeLog {
 public:
  NodeLog() = default;
  explicit NodeLog(stdfs::path file) : file_(std::move(file)) {}
  void line(const std::string& text) const {
    std::ofstream(file_, std::ios::app) << stamp() << "|" << text << "\n";
  }

 private:
  stdfs::path file_;
};

nlohmann::json service_error(const std::string& code, const std::string& message) {
  return {{"error", {{"code", code}, {"message", message}}}};
}

struct Mounted {
  std::map<std::string, std::string> paths;  // data reference name -> path on the node
  std::vector<std::pair<std::string, std::string>> binds;
};

// Mount mode: the datastore appears read-only under mounts/<datastore> (a bind mount in the
// script's own mount namespace). Download mode: a copy in the working directory.
Mounted mount_data(const Workspace& ws, const nlohmann::json& refs, const stdfs::path& mounts,
                   const stdfs::path& wd, const NodeLog& exec_log, const NodeLog& prep_log) {
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
      const auto point = mounts / ds;
      if (!stdfs::exists(stdfs::symlink_status(point))) {
        stdfs::create_directories(point);
        m.binds.emplace_back(ds_root.string(), point.string());
        exec_log.line("Mounting datastore " + ds + " read-only at " + point.string());
      }
      m.paths[name] = (on_ds.empty() ? point : point / on_ds).string();
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
      prep_log.line("Downloaded " + ds + "/" + on_ds + " to " + dst.string());
      m.paths[name] = dst.string();
    }
  }
  return m;
}

std::string experiment_id(const Workspace& ws, const std::string& experiment) {
  auto st = ws.impl().db.prepare("SELECT id FROM experiments WHERE name = ?");
  st.bind(1, experiment);
  return st.step() ? st.text(0) : "";
}

std::map<std::string, std::string> run_environment(const Workspace& ws,
                                                   const history::RunRecord& run,
                                                   const Mounted& mounted,
                                                   const stdfs::path& python) {
  auto env = current_environment();
  // Variables of the caller that would confuse the run's own context.
  for (auto it = env.begin(); it != env.end();) {
    it = it->first.rfind("AZUREML_", 0) == 0 ? env.erase(it) : std::next(it);
  }
  const auto& def = run.definition;
  const std::string py = (share_dir() / "python").string();
  env["PYTHONPATH"] = env.count("PYTHONPATH") ? py + ":" + env["PYTHONPATH"] : py;
  env["PYTHONUNBUFFERED"] = "1";
  if (python.parent_path().filename() == "bin") {  // a virtual environment: first on PATH
    env["PATH"] = python.parent_path().string() + (env.count("PATH") ? ":" + env["PATH"] : "");
    env["VIRTUAL_ENV"] = python.parent_path().parent_path().string();
  }
  const auto details = ws.get_details();
  env["AZUREML_RUN_ID"] = run.run_id;
  env["AZUREML_ARM_SUBSCRIPTION"] = ws.subscription_id();
  env["AZUREML_ARM_RESOURCEGROUP"] = ws.resource_group();
  env["AZUREML_ARM_WORKSPACE_NAME"] = ws.name();
  env["AZUREML_ARM_PROJECT_NAME"] = run.experiment_name;
  env["AZUREML_EXPERIMENT_ID"] = experiment_id(ws, run.experiment_name);
  env["AZUREML_WORKSPACE_ID"] = details["workspaceid"];
  env["AZUREML_SERVICE_ENDPOINT"] = "http://localhost";
  env["AZUREML_RUN_TOKEN"] = "amlemu-local";
  env["AZUREML_RUN_TOKEN_EXPIRY"] = std::to_string(
      epoch_seconds(std::chrono::system_clock::now()) + def.value("maxRunDurationSeconds", 0));
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

// Copies files of `from` that are new or changed into `to`; returns the relative names copied.
std::vector<std::string> sync_tree(const stdfs::path& from, const stdfs::path& to) {
  std::vector<std::string> copied;
  std::error_code ec;
  for (const auto& rel : fs::list_files(from)) {
    const auto src = from / rel;
    const auto dst = to / rel;
    if (stdfs::exists(dst, ec) && stdfs::file_size(src, ec) == stdfs::file_size(dst, ec) &&
        stdfs::last_write_time(src, ec) <= stdfs::last_write_time(dst, ec)) {
      continue;
    }
    stdfs::create_directories(dst.parent_path(), ec);
    stdfs::copy_file(src, dst, stdfs::copy_options::overwrite_existing, ec);
    if (!ec) copied.push_back(rel);
  }
  return copied;
}

class Supervisor {
 public:
  Supervisor(const Workspace& ws, std::string run_id, Launcher& launcher, Clock& clock,
             const volatile bool& cancel, const StopPolicy& policy)
      : ws_(ws), store_(ws.impl().db), id_(std::move(run_id)), launcher_(launcher),
        clock_(clock), cancel_(cancel), policy_(policy),
        artifacts_(layout::artifacts(ws.state_dir(), id_)) {}

  int run() {
    auto rec = store_.find(id_);
    if (!rec) return 1;
    driver_log_ = artifacts_ / layout::kDriverLog;
    stdfs::create_directories(artifacts_ / layout::kLogsDir);
    try {
      drive(*rec);
    } catch (const std::exception& e) {
      fail(service_error("ServiceError", e.what()));
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
  void fail(const nlohmann::json& error) {
    register_files();
    status(RunStatus::Failed, error);
  }
  void register_files() {
    store_.add_files(id_, collection::list_artifacts(artifacts_));
  }
  stdfs::path node_log(const std::string& prefix) const {
    return artifacts_ / layout::kLogsDir / (prefix + node_ + ".txt");
  }

  void drive(const history::RunRecord& rec) {
    const auto& def = rec.definition;
    const std::string target = rec.target;
    std::optional<VmSize> size;
    bool dedicated = true;
    if (target != "local") {
      const ComputeTarget ct(ws_, target);  // throws when deleted since submission
      size = find_vm_size(ct.configuration().vm_size);
      dedicated = ct.configuration().vm_priority != "lowpriority";
    }
    node_ = node_id(ws_.get_details()["workspaceid"], target, 0, dedicated);
    const NodeLog exec_log(node_log("55_azureml-execution-"));
    const NodeLog prep_log(node_log("65_job_prep-"));

    // Preparing: the environment, built once and cached.
    if (!status(RunStatus::Preparing) || canceled()) return;
    exec_log.line("Starting run " + id_ + " on node " + node_ + " of compute target " + target +
                  (size ? " (" + size->name + ")" : ""));
    environment::Prepared env;
    try {
      const auto spec = environment::resolve(def);
      env = environment::prepare(spec, layout::environments(ws_.state_dir()),
                                 artifacts_ / layout::kLogsDir / "20_image_build_log.txt");
      if (spec.user_managed) {
        exec_log.line("user_managed_dependencies: using " + env.python.string() + " as it is");
      } else if (env.built) {
        exec_log.line("Environment " + env.id + " built in " + fmt_seconds(env.seconds));
      } else {
        exec_log.line("Environment " + env.id + " found in the cache, reused in " +
                      fmt_ms(env.seconds));
      }
    } catch (const UserErrorException& e) {
      exec_log.line(std::string("Preparing failed: ") + e.what());
      fail(service_error("UserError", std::string("Preparing failed: ") + e.what()));
      return;
    }

    // Queued: the node and its working area.
    if (!status(RunStatus::Queued) || canceled()) return;
    exec_log.line(dedicated ? "IsDedicatedCompute == True, won't poll for Low Pri Preemption"
                            : "IsDedicatedCompute == False, polling for Low Pri Preemption");
    if (size && size->gpus == 0) {
      exec_log.line("The vmsize " + lower(size->name) +
                    " is not a GPU VM, skipping get GPU count by running nvidia-smi command.");
    }
    const auto wd = layout::node_working_dir(ws_.state_dir(), id_);
    const auto snapshot = snapshot_source(rec);
    fs::copy_tree(snapshot, wd);
    prep_log.line("Extracted snapshot " + rec.properties.value("ContentSnapshotId", "") + " (" +
                  std::to_string(fs::list_files(wd).size()) + " files) to " + wd.string());
    const auto mounted = mount_data(ws_, def.value("dataReferences", nlohmann::json::object()),
                                    layout::node_mounts(ws_.state_dir(), id_), wd, exec_log,
                                    prep_log);
    stdfs::create_directories(wd / layout::kOutputsDir);
    stdfs::create_directories(wd / layout::kUserLogsDir);
    prep_log.line("Job preparation finished");

    // Running: the script.
    if (!status(RunStatus::Running) || canceled()) return;
    ProcessSpec spec;
    spec.program = env.python;
    spec.args = {def["script"].get<std::string>()};
    const auto args = substitute_data_references(
        def["arguments"].get<std::vector<std::string>>(), mounted.paths);
    spec.args.insert(spec.args.end(), args.begin(), args.end());
    spec.env = run_environment(ws_, rec, mounted, env.python);
    spec.cwd = wd;
    spec.output_file = driver_log_;
    spec.read_only_binds = mounted.binds;
    auto process = launcher_.start(spec);
    const auto started = now_iso();
    write_process_info(process->pid(), spec, started);
    const int code = wait_for(*process, def.value("maxRunDurationSeconds", 2592000), wd);
    write_process_status(process->pid(), code, started);

    if (reason_ == Reason::Canceled) {
      append_driver("The run was canceled. Finalizing run...");
      finalize(wd, nullptr, /*canceled=*/true);
    } else if (reason_ == Reason::TimedOut) {
      // A time limit cancels the run, as the service does, and the error says why.
      const std::string why = "The run exceeded max_run_duration_seconds (" +
                              std::to_string(def.value("maxRunDurationSeconds", 0)) +
                              " s) and was canceled";
      append_driver(why + ". Finalizing run...");
      finalize(wd, service_error("UserError", why), /*canceled=*/true);
    } else if (code == 0) {
      append_driver("The experiment completed successfully. Finalizing run...");
      finalize(wd, nullptr);
    } else {
      const auto tail = read_tail(driver_log_, 16384);
      append_driver("The experiment failed. Finalizing run...");
      finalize(wd, user_program_error(tail, code));
    }
  }

  // Finalizing: ./outputs and ./logs into run history, then the terminal status.
  void finalize(const stdfs::path& wd, const nlohmann::json& error, bool canceled = false) {
    if (!canceled && !status(RunStatus::Finalizing)) return;
    const NodeLog post_log(node_log("75_job_post-"));
    std::ostringstream collected;
    collection::collect_outputs(wd, artifacts_, collected);
    std::istringstream lines(collected.str());
    for (std::string line; std::getline(lines, line);) post_log.line(line);
    post_log.line("Job release finished");
    register_files();
    if (canceled) {
      status(RunStatus::Canceled, error);
    } else if (error.is_null()) {
      status(RunStatus::Completed);
    } else {
      status(RunStatus::Failed, error);
    }
  }

  enum class Reason { Exited, Canceled, TimedOut };

  int wait_for(Process& p, int max_seconds, const stdfs::path& wd) {
    const auto deadline = clock_.now() + std::chrono::seconds(max_seconds);
    auto next_sync = clock_.now() + policy_.logs_sync;
    std::optional<Clock::TimePoint> kill_at;
    for (;;) {
      if (auto code = p.poll()) {
        p.signal_group(SIGKILL);  // leftovers of the script's group never outlive the run
        return *code;
      }
      const auto now = clock_.now();
      if (!kill_at && (cancel_ || now >= deadline)) {
        reason_ = cancel_ ? Reason::Canceled : Reason::TimedOut;
        if (reason_ == Reason::TimedOut) status(RunStatus::CancelRequested);
        p.signal_group(SIGTERM);
        kill_at = now + policy_.grace;
      }
      if (kill_at && now >= *kill_at) p.signal_group(SIGKILL);
      if (now >= next_sync) {
        sync_user_logs(wd);
        next_sync = now + policy_.logs_sync;
      }
      clock_.sleep_for(policy_.poll);
    }
  }

  // ./logs reaches run history while the run is running, not only at the end.
  void sync_user_logs(const stdfs::path& wd) {
    const auto copied = sync_tree(wd / layout::kUserLogsDir, artifacts_ / layout::kUserLogsDir);
    if (copied.empty()) return;
    std::vector<std::pair<std::string, long long>> files;
    std::error_code ec;
    for (const auto& rel : copied) {
      const auto name = std::string(layout::kUserLogsDir) + "/" + rel;
      files.emplace_back(name, static_cast<long long>(stdfs::file_size(artifacts_ / name, ec)));
    }
    store_.add_files(id_, files);
  }

  void append_driver(const std::string& text) {
    std::ofstream(driver_log_, std::ios::app) << "[" << stamp() << "] " << text << "\n";
  }

  void write_process_info(int pid, const ProcessSpec& spec, const std::string& started) {
    nlohmann::json cmd = nlohmann::json::array({spec.program.string()});
    for (const auto& a : spec.args) cmd.push_back(a);
    const nlohmann::json info = {
        {"processes",
         {{{"rank", 0}, {"node", node_}, {"processId", pid}, {"command", cmd},
           {"workingDirectory", spec.cwd.string()}, {"log", layout::kDriverLog},
           {"startTime", started}}}}};
    fs::atomic_write(artifacts_ / layout::kLogsDir / "process_info.json", info.dump(2) + "\n");
  }

  void write_process_status(int pid, int code, const std::string& started) {
    const nlohmann::json status = {
        {"processes",
         {{{"rank", 0}, {"node", node_}, {"processId", pid}, {"exitCode", code},
           {"status", code == 0 ? "Completed" : "Failed"}, {"startTime", started},
           {"endTime", now_iso()}}}}};
    fs::atomic_write(artifacts_ / layout::kLogsDir / "process_status.json",
                     status.dump(2) + "\n");
  }

  stdfs::path snapshot_source(const history::RunRecord& rec) const {
    return submission::snapshot_dir(layout::snapshots(ws_.state_dir()),
                                    rec.definition.at("snapshotId").get<std::string>());
  }

  void cleanup() {
    std::error_code ec;
    stdfs::remove_all(layout::node_dir(ws_.state_dir(), id_), ec);
  }

  static std::string lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  }
  static std::string fmt_seconds(double s) { return std::to_string(s).substr(0, 5) + " s"; }
  static std::string fmt_ms(double s) { return std::to_string(static_cast<int>(s * 1000)) + " ms"; }

  Workspace ws_;
  history::RunStore store_;
  std::string id_;
  Launcher& launcher_;
  Clock& clock_;
  const volatile bool& cancel_;
  StopPolicy policy_;
  stdfs::path artifacts_;
  stdfs::path driver_log_;
  std::string node_;
  Reason reason_ = Reason::Exited;
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
  static const std::regex exception_line(
      R"(^([A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Warning)?): ?(.*)$)");
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
                  ? "User program was killed by signal " + std::to_string(exit_code - 128) +
                        " (" + strsignal(exit_code - 128) + ")"
                  : "User program failed with exit code " + std::to_string(exit_code);
  }
  // The last lines the program printed.
  std::vector<std::string> lines;
  std::istringstream in(log_tail);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  std::string tail;
  for (size_t i = lines.size() > kTailLines ? lines.size() - kTailLines : 0; i < lines.size(); ++i) {
    tail += lines[i] + "\n";
  }
  nlohmann::json details = nlohmann::json::array();
  if (!tail.empty()) details.push_back({{"code", "UserProgramOutput"}, {"message", tail}});
  return {{"error",
           {{"code", "UserError"},
            {"message", message},
            {"details", details},
            {"exitCode", exit_code}}}};
}

std::string node_id(const std::string& workspace_id, const std::string& target, int index,
                    bool dedicated) {
  const std::string seed = workspace_id + "/" + target + "/" + std::to_string(index);
  const std::string hex = sha1_hex(seed) + sha1_hex(seed + "#").substr(0, 24);
  return "tvmps_" + hex + (dedicated ? "_d" : "_p");
}

int supervise(const Workspace& ws, const std::string& run_id, Launcher& launcher, Clock& clock,
              const volatile bool& cancel_requested, const StopPolicy& policy) {
  history::RunStore(ws.impl().db).set_supervisor_pid(run_id, ::getpid());
  return Supervisor(ws, run_id, launcher, clock, cancel_requested, policy).run();
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
