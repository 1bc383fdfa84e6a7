// End to end: what survives a crash and what does not. Supervisors are killed with SIGKILL, the
// CLI dies at named crash points (AMLEMU_CRASH_AT), a copy meets a full disk (AMLEMU_FAULT_AT),
// many processes write at once, and a script floods its log; afterwards the workspace must be
// consistent and nothing of a run left running.
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <fstream>
#include <set>
#include <thread>

#include "common/proc.hpp"
#include "e2e/cli.hpp"
#include "storage/database.hpp"
#include "support/skip.hpp"

using namespace amlemu::testing;
using nlohmann::json;
namespace stdfs = std::filesystem;
using Catch::Contains;

namespace {

constexpr const char* kWorkspace = "rel-ws";

stdfs::path state_dir(const TempHome& t) {
  return t.home() / "workspaces" / "sub-1" / "rg-1" / kWorkspace;
}

/// Sets an environment variable for the commands a test runs, and unsets it afterwards.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    ::setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() { ::unsetenv(name_); }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
};

std::string submit(const TempHome& t, const std::string& name, const json& body) {
  const auto r = cli(t, {"job", "create", "-o", "json", "--file", write_spec(t, name, "reliability", body)});
  REQUIRE(r.code == 0);
  return r.json()["name"];
}

/// Waits until the run's driver log holds `needle`; returns the log.
std::string wait_for_log(const TempHome& t, const std::string& run_id, const std::string& needle) {
  for (int i = 0; i < 600; ++i) {
    const auto d = cli(t, {"job", "show", "--name", run_id}).json();
    for (const auto& [name, path] : d["logFiles"].items()) {
      if (name.find("70_driver_log") == std::string::npos) continue;
      std::string text;
      try {
        text = amlemu::fs::read_file(path.get<std::string>());
      } catch (const std::exception&) {
        continue;
      }
      if (text.find(needle) != std::string::npos) return text;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  FAIL("the run's log never showed '" << needle << "'");
  return "";
}

struct Supervisor {
  long pid = 0;
  std::int64_t start = 0;
  std::string scope() const { return amlemu::run_scope(pid, start); }
};

Supervisor supervisor_of(const TempHome& t, const std::string& run_id) {
  for (int i = 0; i < 300; ++i) {
    amlemu::storage::Database db(state_dir(t) / "workspace.db");
    auto st = db.prepare("SELECT supervisor_pid, supervisor_start FROM runs WHERE run_id = ?");
    st.bind(1, run_id);
    if (st.step() && !st.is_null(0)) return {st.integer(0), st.integer(1)};
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  FAIL("the run's supervisor never registered");
  return {};
}

bool integrity_ok(const TempHome& t) {
  amlemu::storage::Database db(state_dir(t) / "workspace.db");
  auto st = db.prepare("PRAGMA integrity_check");
  return st.step() && st.text(0) == "ok";
}

/// True once none of `pids` runs any more (zombies count as gone), waiting up to `seconds`.
bool all_gone(const std::vector<long>& pids, double seconds) {
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(static_cast<int>(seconds * 1000));
  for (;;) {
    bool any = false;
    for (long p : pids) any = any || amlemu::process_alive(p, std::nullopt);
    if (!any) return true;
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

std::vector<std::string> datastore_files(const TempHome& t) {
  return amlemu::fs::list_files(state_dir(t) / "datastores" / "workspaceblobstore");
}

/// Submits spawn_tree.py on cpu-cluster and waits until its processes are all started.
std::string start_tree(const TempHome& t) {
  const auto id = submit(t, "tree.json", {{"entry_script", "spawn_tree.py"},
                                          {"compute_target", "cpu-cluster"}});
  wait_for_log(t, id, "tree ready");
  return id;
}

/// True when a new run on cpu-cluster runs to completion (its nodes are usable).
bool next_run_completes(const TempHome& t) {
  return cli(t, {"job", "create", "--stream", "--file",
                 write_spec(t, "ok.json", "reliability",
                            {{"entry_script", "slow_ok.py"}, {"compute_target", "cpu-cluster"}})})
             .code == 0;
}

}  // namespace

TEST_CASE("no process of a run outlives its supervisor killed with SIGKILL",
          "[e2e][reliability]") {
  TempHome t;
  standard_workspace(t, kWorkspace);
  const auto id = start_tree(t);
  const auto sup = supervisor_of(t, id);
  const auto pids = amlemu::processes_in_scope(sup.scope());
  // The script, the child in its group and the grandchild in a session of its own.
  REQUIRE(pids.size() >= 3);

  REQUIRE(::kill(static_cast<pid_t>(sup.pid), SIGKILL) == 0);
  CHECK(all_gone(pids, 2.0));
  CHECK(amlemu::processes_in_scope(sup.scope()).empty());

  const auto show = cli(t, {"job", "show", "--name", id}).json();
  CHECK(show["status"] == "Failed");
  CHECK_THAT(show["error"]["error"]["message"].get<std::string>(),
             Contains("supervisor (pid " + std::to_string(sup.pid) + ") ended without finishing"));
  CHECK(integrity_ok(t));
  // The node it held is free again: the next run on the cluster runs to completion.
  CHECK(next_run_completes(t));
}

TEST_CASE("a process a run leaves behind in a session of its own is killed when the run ends",
          "[e2e][reliability]") {
  // The script ends normally, its child orphaned: handed to the supervisor (a child subreaper),
  // found among its descendants at the run's end, so the watchdog searches and kills it.
  TempHome t;
  standard_workspace(t, kWorkspace);
  const auto r = cli(t, {"job", "create", "--stream", "--file",
                         write_spec(t, "leave.json", "reliability",
                                    {{"entry_script", "leave_daemon.py"}, {"compute_target", "cpu-cluster"}})});
  REQUIRE(r.code == 0);
  const auto at = r.out.find("left behind ");
  REQUIRE(at != std::string::npos);
  const long pid = std::stol(r.out.substr(at + 12));
  CHECK(all_gone({pid}, 2.0));
}

TEST_CASE("no process of an MPI run on two nodes outlives its supervisor", "[e2e][reliability]") {
  TempHome t;
  standard_workspace(t, kWorkspace);
  const auto id = submit(t, "mpi.json", {{"entry_script", "spawn_tree.py"},
                                         {"compute_target", "cpu-cluster"},
                                         {"node_count", 2},
                                         {"distributed_training", {{"type", "mpi"},
                                                                   {"process_count_per_node", 1}}}});
  wait_for_log(t, id, "tree ready");
  const auto sup = supervisor_of(t, id);
  // Give the second rank time to start its tree too.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const auto pids = amlemu::processes_in_scope(sup.scope());
  // mpirun, two daemons through the rsh agent, two ranks and their trees.
  REQUIRE(pids.size() >= 7);
  REQUIRE(::kill(static_cast<pid_t>(sup.pid), SIGKILL) == 0);
  CHECK(all_gone(pids, 2.0));
  CHECK(cli(t, {"job", "show", "--name", id}).json()["status"] == "Failed");
}

TEST_CASE("after a simulated reboot the next command marks the run Failed and the cluster works",
          "[e2e][reliability]") {
  TempHome t;
  standard_workspace(t, kWorkspace);
  const auto id = start_tree(t);
  const auto sup = supervisor_of(t, id);
  // Everything dies at once: the supervisor, its watchdog (a child of the supervisor) and the
  // run's processes, as in a power cut.
  std::vector<long> everything = amlemu::processes_in_scope(sup.scope());
  everything.push_back(sup.pid);
  for (const auto& entry : stdfs::directory_iterator("/proc")) {
    const auto name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat(entry.path() / "stat");
    std::string text;
    std::getline(stat, text);
    const auto close = text.rfind(')');
    if (close == std::string::npos) continue;
    long ppid = 0;
    char state = 0;
    std::istringstream(text.substr(close + 2)) >> state >> ppid;
    if (ppid == sup.pid) everything.push_back(std::stol(name));
  }
  for (long p : everything) ::kill(static_cast<pid_t>(p), SIGKILL);
  CHECK(all_gone(everything, 2.0));

  const auto list = cli(t, {"job", "list"});
  REQUIRE(list.code == 0);
  CHECK(list.json()[0]["status"] == "Failed");
  CHECK(integrity_ok(t));
  CHECK(next_run_completes(t));
}

TEST_CASE("an upload killed half-way leaves no partial or temporary file and can be redone",
          "[e2e][reliability]") {
  TempHome t;
  standard_workspace(t, kWorkspace);
  for (int i = 0; i < 5; ++i) {
    TempHome::write(t.work() / "batch" / ("f" + std::to_string(i) + ".txt"),
                    std::string(100000, static_cast<char>('a' + i)));
  }
  {
    ScopedEnv crash("AMLEMU_CRASH_AT", "datastore.upload.file");
    CHECK(cli(t, {"datastore", "upload", "--src-dir", "batch", "--target-path", "batch"}).code != 0);
  }
  auto files = datastore_files(t);
  // numbers.txt from the set-up, and exactly the one file whose rename completed.
  CHECK(files == std::vector<std::string>{"batch/f0.txt", "nums/numbers.txt"});
  CHECK(integrity_ok(t));

  REQUIRE(cli(t, {"datastore", "upload", "--src-dir", "batch", "--target-path", "batch"}).code == 0);
  files = datastore_files(t);
  CHECK(files.size() == 6);
  for (int i = 0; i < 5; ++i) {
    CHECK(amlemu::fs::read_file(state_dir(t) / "datastores" / "workspaceblobstore" / "batch" /
                                ("f" + std::to_string(i) + ".txt")) ==
          std::string(100000, static_cast<char>('a' + i)));
  }
  CHECK(amlemu::fs::list_files(state_dir(t) / "staging").empty());
}

TEST_CASE("a model registration killed before or after moving its files leaves no half version",
          "[e2e][reliability]") {
  TempHome t;
  standard_workspace(t, kWorkspace);
  TempHome::write(t.work() / "model" / "weights.bin", std::string(4096, 'w'));
  TempHome::write(t.work() / "model" / "config.json", "{}");
  for (const char* point : {"model.staged", "model.renamed"}) {
    ScopedEnv crash("AMLEMU_CRASH_AT", point);
    CHECK(cli(t, {"model", "create", "--name", "crashy", "--path", "model"}).code != 0);
  }
  CHECK(cli(t, {"model", "list"}).json().empty());
  CHECK(integrity_ok(t));

  const auto r = cli(t, {"model", "create", "--name", "crashy", "--path", "model"});
  REQUIRE(r.code == 0);
  CHECK(r.json()["version"] == 1);
  CHECK(amlemu::fs::list_files(state_dir(t) / "models" / "crashy") ==
        std::vector<std::string>{"1/model/config.json", "1/model/weights.bin"});
  CHECK(amlemu::fs::list_files(state_dir(t) / "models" / ".staging").empty());
}

TEST_CASE("an environment build killed before it completes is never used, and is rebuilt",
          "[e2e][reliability]") {
  TempHome t;
  standard_workspace(t, kWorkspace);
  const json body = {{"entry_script", "slow_ok.py"},
                     {"compute_target", "cpu-cluster"},
                     {"pip_packages", {"numpy"}},
                     {"environment_variables", {{"MARKER", "crash-build"}}}};
  std::string id;
  {
    ScopedEnv crash("AMLEMU_CRASH_AT", "environment.installed");
    id = submit(t, "env.json", body);
    const auto d = wait_terminal(t, id);
    CHECK(d["status"] == "Failed");
    CHECK_THAT(d["error"]["error"]["message"].get<std::string>(), Contains("supervisor"));
  }
  CHECK(cli(t, {"environment", "list"}).json().empty());
  CHECK(integrity_ok(t));

  const auto again = cli(t, {"job", "create", "--stream", "--file", write_spec(t, "env.json", "reliability", body)});
  REQUIRE(again.code == 0);
  const auto show = cli(t, {"job", "show", "--name", run_id_of(again)}).json();
  CHECK(show["logFiles"].contains("azureml-logs/20_image_build_log.txt"));
  CHECK(cli(t, {"environment", "list"}).json().size() == 1);
}

TEST_CASE("a supervisor killed while collecting outputs leaves history consistent and the "
          "registry untouched",
          "[e2e][reliability]") {
  TempHome t;
  standard_workspace(t, kWorkspace);
  std::string id;
  {
    ScopedEnv crash("AMLEMU_CRASH_AT", "collection.copied");
    id = submit(t, "train.json", {{"entry_script", "train_ok.py"},
                                  {"compute_target", "cpu-cluster"},
                                  {"script_params", {{"--data-folder", {{"datastore", "workspaceblobstore"},
                                                                         {"path_on_datastore", "nums"},
                                                                         {"mode", "mount"}}}}}});
    CHECK(wait_terminal(t, id)["status"] == "Failed");
  }
  CHECK(integrity_ok(t));
  CHECK(cli(t, {"model", "list"}).json().empty());
  CHECK(cli(t, {"job", "list"}).code == 0);
  CHECK(cli(t, {"job", "metrics", "--name", id}).code == 0);
}

namespace {

/// Starts the CLI without waiting; its stdout and stderr go to files beside the work folder.
struct Started {
  boost::process::child child;
  stdfs::path out, err;
};

Started start_cli(const TempHome& t, const std::vector<std::string>& args, const std::string& tag) {
  namespace bp = boost::process;
  const auto out = t.root() / (tag + ".out");
  const auto err = t.root() / (tag + ".err");
  bp::child c(bp::exe = AMLEMU_CLI, bp::args = args, bp::start_dir = t.work().string(),
              bp::std_in<bp::null, bp::std_out> out.string(), bp::std_err > err.string());
  return {std::move(c), out, err};
}

}  // namespace

TEST_CASE("16 submitters and 16 registrations at once, with job list running: unique ids, "
          "versions 1 to 16, no lock error",
          "[e2e][reliability]") {
  TempHome t;
  standard_workspace(t, kWorkspace);
  REQUIRE(cli(t, {"compute", "create", "--name", "wide", "--size", "STANDARD_D2_V2",
                  "--max-instances", "4"}).code == 0);
  TempHome::write(t.work() / "model" / "weights.bin", "w");
  const auto spec = write_spec(t, "quick.json", "crowd",
                               {{"entry_script", "offline.py"}, {"compute_target", "wide"}});

  std::atomic<bool> stop{false};
  std::atomic<int> list_failures{0}, lists{0};
  std::string list_error;
  std::thread lister([&] {
    while (!stop) {
      const auto r = cli(t, {"job", "list"});
      ++lists;
      if (r.code != 0 && list_failures++ == 0) list_error = r.err;
    }
  });
  std::vector<Started> started;
  for (int i = 0; i < 16; ++i) {
    started.push_back(start_cli(t, {"job", "create", "-o", "json", "--file", spec}, "submit" + std::to_string(i)));
    started.push_back(start_cli(t, {"model", "create", "--name", "crowded", "--path", "model"},
                                "register" + std::to_string(i)));
  }
  std::set<std::string> run_ids;
  std::set<int> versions;
  for (auto& s : started) {
    s.child.wait();
    const auto err = amlemu::fs::read_file(s.err);
    INFO(s.out.filename().string() << ": " << err);
    CHECK(s.child.exit_code() == 0);
    CHECK(err.find("locked") == std::string::npos);
    const auto doc = json::parse(amlemu::fs::read_file(s.out));
    if (doc.contains("version")) {
      versions.insert(doc["version"].get<int>());
    } else {
      run_ids.insert(doc["name"].get<std::string>());
    }
  }
  for (const auto& id : run_ids) CHECK(wait_terminal(t, id)["status"] == "Completed");
  stop = true;
  lister.join();
  INFO(list_error);
  CHECK(list_failures == 0);
  CHECK(lists > 0);
  CHECK(run_ids.size() == 16);
  std::set<int> expected;
  for (int v = 1; v <= 16; ++v) expected.insert(v);
  CHECK(versions == expected);
  CHECK(cli(t, {"model", "list", "--name", "crowded"}).json().size() == 16);
  CHECK(integrity_ok(t));
}

namespace {

// Under AddressSanitizer a process starts at about 150 MiB (shadow memory, a large binary) and
// freed blocks wait in its quarantine (256 MiB by default) before memory is reused.
#if defined(__SANITIZE_ADDRESS__)
#define AMLEMU_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define AMLEMU_TEST_ASAN 1
#endif
#endif
#ifdef AMLEMU_TEST_ASAN
constexpr long kPeakLimitKiB = (64 + 256 + 192) * 1024;
constexpr long kGrowthLimitKiB = (64 + 256) * 1024;
#else
constexpr long kPeakLimitKiB = 64 * 1024;
constexpr long kGrowthLimitKiB = 64 * 1024;
#endif

/// Peak resident memory of a live process in KiB (VmHWM), or 0 once it is gone.
long peak_rss_kib(long pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
  }
  return 0;
}

}  // namespace

TEST_CASE("a script printing a gigabyte grows neither the supervisor nor the console, and the "
          "stream keeps up",
          "[e2e][reliability]") {
  namespace bp = boost::process;
  TempHome t;
  standard_workspace(t, kWorkspace);
  // The console's baseline: the same job printing one megabyte (and the set-up's commands).
  const auto small = write_spec(t, "quiet.json", "loud",
                                {{"entry_script", "loud.py"},
                                 {"compute_target", "cpu-cluster"},
                                 {"script_params", {{"--megabytes", 1}}}});
  const auto quiet = cli(t, {"job", "create", "--stream", "--file", small});
  REQUIRE(quiet.code == 0);
  const auto quiet_id = run_id_of(quiet);
  struct rusage baseline {};
  ::getrusage(RUSAGE_CHILDREN, &baseline);
  const auto spec = write_spec(t, "loud.json", "loud",
                               {{"entry_script", "loud.py"},
                                {"compute_target", "cpu-cluster"},
                                {"script_params", {{"--megabytes", 1024}}}});
  bp::ipstream pipe;
  bp::child c(bp::exe = AMLEMU_CLI, bp::args = {"job", "create", "--stream", "--file", spec},
              bp::start_dir = t.work().string(), bp::std_in<bp::null, bp::std_out> pipe,
              bp::std_err > bp::null);
  // Watch the supervisor's peak memory while the console output is read.
  std::atomic<bool> done{false};
  std::atomic<long> supervisor_peak{0};
  std::thread watcher([&] {
    long pid = 0;
    while (!done && pid == 0) {
      amlemu::storage::Database db(state_dir(t) / "workspace.db");
      auto st = db.prepare(
          "SELECT supervisor_pid FROM runs WHERE supervisor_pid IS NOT NULL AND run_id != ?");
      st.bind(1, quiet_id);
      if (st.step()) pid = st.integer(0);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    while (!done) {
      supervisor_peak = std::max(supervisor_peak.load(), peak_rss_kib(pid));
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  std::vector<char> buf(1 << 16);
  std::uint64_t bytes = 0;
  std::string tail;
  while (pipe.read(buf.data(), static_cast<std::streamsize>(buf.size())) || pipe.gcount() > 0) {
    const auto n = static_cast<size_t>(pipe.gcount());
    bytes += n;
    tail.append(buf.data(), n);
    if (tail.size() > 8192) tail.erase(0, tail.size() - 8192);
  }
  c.wait();
  done = true;
  watcher.join();
  struct rusage usage {};
  ::getrusage(RUSAGE_CHILDREN, &usage);
  INFO(tail);
  CHECK(c.exit_code() == 0);
  CHECK(bytes > (1024ull << 20));  // every byte printed reached the console
  CHECK_THAT(tail, Contains("printed everything") && Contains("Execution Summary"));
  // Both stream: the supervisor never reads the log, the console reads it through one 1 MiB
  // buffer. Reading what the log gained in one piece took the console to 700 MiB.
  CHECK(supervisor_peak > 0);
  CHECK(supervisor_peak < kPeakLimitKiB);
  // The largest child so far is the console of this run, or the baseline when it grew none.
  CHECK(usage.ru_maxrss - baseline.ru_maxrss < kGrowthLimitKiB);
}

TEST_CASE("a disk that fills while outputs are collected fails the run clearly and leaves the "
          "registry untouched",
          "[e2e][reliability]") {
  TempHome t;
  standard_workspace(t, kWorkspace);
  CliResult r;
  {
    // The sixth of eight 1 MiB outputs does not fit: its copy into run history fails with ENOSPC
    // half-way (fault point fs.copy_file, common/fault.hpp).
    ScopedEnv full("AMLEMU_FAULT_AT", "fs.copy_file:outputs/part-005.bin");
    r = cli(t, {"job", "create", "--stream", "--file",
                write_spec(t, "big.json", "full",
                           {{"entry_script", "big_outputs.py"},
                            {"compute_target", "cpu-cluster"},
                            {"script_params", {{"--megabytes", 8}}}})});
  }
  INFO(r.out << r.err);
  CHECK(r.code != 0);
  const auto id = run_id_of(r);
  const auto show = cli(t, {"job", "show", "--name", id}).json();
  CHECK(show["status"] == "Failed");
  const auto history = state_dir(t) / "runs" / id / "artifacts" / "outputs";
  CHECK(show["error"]["error"]["message"] ==
        "Collecting the run's outputs into run history failed: cannot write " +
            (history / "part-005.bin").string() + ": No space left on device");
  // The half-written file is removed; the five files copied before it stay, whole, in history.
  CHECK_FALSE(stdfs::exists(history / "part-005.bin"));
  CHECK_FALSE(stdfs::exists(history / "part-006.bin"));
  const auto dl = cli(t, {"job", "download", "--name", id, "--download-path", "dl", "--prefix",
                          "outputs/", "-o", "json"});
  REQUIRE(dl.code == 0);
  CHECK(dl.json()["files"] == 5);
  for (int i = 0; i < 5; ++i) {
    const auto part = t.work() / "dl" / "outputs" / ("part-00" + std::to_string(i) + ".bin");
    CHECK(stdfs::file_size(part) == 1u << 20);
  }
  CHECK(cli(t, {"model", "list"}).json().empty());
  CHECK(integrity_ok(t));
}

TEST_CASE("a real filesystem that fills while outputs are collected fails the run the same way",
          "[e2e][reliability]") {
  // The kernel's ENOSPC, and every other write to run history failing too (the post-job logs),
  // on a tmpfs mounted under run history; mounting needs root.
  AMLEMU_SKIP_UNLESS(::geteuid() == 0, "root (to mount a tmpfs)", kCiRunsAsRoot);
  TempHome t;
  standard_workspace(t, kWorkspace);
  // Run history (runs/) on an 8 MiB filesystem; the database and the nodes stay where they are.
  const auto runs = state_dir(t) / "runs";
  stdfs::create_directories(runs);
  REQUIRE(::mount("tmpfs", runs.c_str(), "tmpfs", 0, "size=8m") == 0);
  struct Unmount {
    stdfs::path p;
    ~Unmount() { ::umount2(p.c_str(), MNT_DETACH); }
  } unmount{runs};

  const auto r = cli(t, {"job", "create", "--stream", "--file",
                         write_spec(t, "big.json", "full",
                                    {{"entry_script", "big_outputs.py"},
                                     {"compute_target", "cpu-cluster"},
                                     {"script_params", {{"--megabytes", 16}}}})});
  CHECK(r.code != 0);
  const auto show = cli(t, {"job", "show", "--name", run_id_of(r)}).json();
  CHECK(show["status"] == "Failed");
  CHECK_THAT(show["error"]["error"]["message"].get<std::string>(),
             Contains("Collecting the run's outputs into run history failed: cannot write ") &&
                 Contains(": No space left on device"));
  CHECK(cli(t, {"model", "list"}).json().empty());
  CHECK(integrity_ok(t));
}
