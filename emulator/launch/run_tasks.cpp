#include "launch/run_tasks.hpp"

#include <unistd.h>

#include <boost/process.hpp>
#include <climits>
#include <fstream>

#include "amlemu/errors.hpp"
#include "common/fs.hpp"
#include "common/paths.hpp"
#include "launch/supervisor.hpp"
#include "workspace/layout.hpp"

namespace amlemu::launch {

namespace stdfs = std::filesystem;

namespace {

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string cpu_list(const std::vector<int>& cpus) {
  std::string out;
  for (int c : cpus) out += (out.empty() ? "" : ",") + std::to_string(c);
  return out;
}

std::vector<std::string> addresses_of(const std::vector<NodeContext>& nodes) {
  std::vector<std::string> out;
  for (const auto& n : nodes) out.push_back(n.node.address);
  return out;
}

ProcessSpec spec_on(const NodeContext& node, const std::vector<std::string>& command,
                    const stdfs::path& log) {
  ProcessSpec s;
  s.program = command.front();
  s.args = substitute_data_references({command.begin() + 1, command.end()}, node.placeholders);
  s.env = node.env;
  s.cwd = node.wd;
  s.cpus = node.cpus;
  s.read_only_binds = node.binds;
  s.output_file = log;
  return s;
}

bool has_module(const std::string& python, const std::string& module) {
  std::error_code ec;
  boost::process::child c(python, boost::process::args({"-c", "import " + module}),
                          boost::process::std_out > boost::process::null,
                          boost::process::std_err > boost::process::null, ec);
  if (ec) return false;
  c.wait(ec);
  return c.exit_code() == 0;
}

TaskPlan plan_mpi(const nlohmann::json& dist, const std::vector<NodeContext>& nodes,
                  const std::vector<std::string>& command, const stdfs::path& logs,
                  const stdfs::path& scratch) {
  const auto mpirun = find_program("mpirun");
  if (mpirun.empty()) {
    throw UserErrorException("distributed_training mpi needs Open MPI's mpirun on PATH (Debian: "
                             "apt-get install openmpi-bin)");
  }
  const int per_node = dist.value("processCountPerNode", 1);
  const auto addresses = addresses_of(nodes);
  const int np = static_cast<int>(nodes.size()) * per_node;
  stdfs::create_directories(scratch / "contexts");
  const auto statuses = scratch / "ranks";
  stdfs::create_directories(statuses);
  fs::atomic_write(scratch / "hostfile", mpi_hostfile(addresses, per_node),
                   fs::Durability::unsynced);

  // mpirun runs in node 0's context; each node's daemon is started by amlemu-rsh in its own.
  auto base = nodes.front().env;
  for (size_t i = 0; i < nodes.size(); ++i) {
    auto env = nodes[i].env;
    for (const auto& [k, v] : mpi_node_variables(addresses, static_cast<int>(i), per_node)) env[k] = v;
    if (i == 0) base = env;
    std::string text = "# node context of " + nodes[i].node.node_id + "\n";
    for (const auto& [k, v] : env) {
      if (k.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") ==
          std::string::npos) {
        text += "export " + k + "=" + shell_quote(v) + "\n";
      }
    }
    // Each node's daemon gets its own session folder: daemons sharing one race on the shared
    // memory topology file hwloc writes there and crash.
    const auto tmp = nodes[i].job_dir / "tmp";
    stdfs::create_directories(tmp);
    text += "export OMPI_MCA_orte_tmpdir_base=" + shell_quote(tmp.string()) + "\n";
    text += "export AMLEMU_NODE_WD=" + shell_quote(nodes[i].wd.string()) + "\n";
    text += "export AMLEMU_NODE_CPUS=" + shell_quote(cpu_list(nodes[i].cpus)) + "\n";
    text += "cd " + shell_quote(nodes[i].wd.string()) + "\n";
    fs::atomic_write(scratch / "contexts" / (nodes[i].node.address + ".sh"), text,
                     fs::Durability::unsynced);
  }
  base["AMLEMU_NODE_CONTEXT_DIR"] = (scratch / "contexts").string();
  base["AMLEMU_RANK_LOG_DIR"] = logs.string();
  base["AMLEMU_RANK_STATUS_DIR"] = statuses.string();
  base["AMLEMU_NODE_WD"] = nodes.front().wd.string();

  std::vector<std::string> cmd = {mpirun.string(),
                                  "--hostfile", (scratch / "hostfile").string(),
                                  "--mca", "plm_rsh_agent", (share_dir() / "bin" / "amlemu-rsh").string(),
                                  // Emulated hosts share one kernel: shared memory between them
                                  // crashes Open MPI, so ranks talk over loopback TCP.
                                  "--mca", "btl", "tcp,self",
                                  "--mca", "btl_tcp_if_include", "lo",
                                  "--mca", "oob_tcp_if_include", "lo",
                                  "-np", std::to_string(np),
                                  "--map-by", "slot", "--bind-to", "none"};
  if (::geteuid() == 0) cmd.push_back("--allow-run-as-root");
  cmd.push_back((share_dir() / "bin" / "amlemu-rank").string());
  // An uncaught Python exception would leave its rank blocked in MPI_Finalize (which waits for
  // every rank) and the job hanging; mpi4py's runner turns it into MPI_Abort, so the run fails
  // fast. Used whenever the interpreter has mpi4py.
  if (command.front() != "/bin/sh" && has_module(command.front(), "mpi4py")) {
    cmd.push_back(command.front());
    cmd.push_back("-m");
    cmd.push_back("mpi4py");
    cmd.insert(cmd.end(), command.begin() + 1, command.end());
  } else {
    cmd.insert(cmd.end(), command.begin(), command.end());
  }

  NodeContext launcher_node = nodes.front();
  launcher_node.env = base;
  launcher_node.cpus.clear();  // each node's daemon pins itself
  launcher_node.binds.clear();
  for (const auto& n : nodes) {
    launcher_node.binds.insert(launcher_node.binds.end(), n.binds.begin(), n.binds.end());
  }
  TaskPlan plan;
  plan.tasks.push_back({"mpirun", "70_mpi_log.txt", false, 0,
                        spec_on(launcher_node, cmd, logs / "70_mpi_log.txt")});
  plan.primary_log = "70_driver_log_0.txt";
  plan.rank_status_dir = statuses;
  plan.ranks = np;
  // Rank logs exist from the start, so streaming can follow rank 0 at once.
  for (int r = 0; r < np; ++r) std::ofstream(logs / ("70_driver_log_" + std::to_string(r) + ".txt"), std::ios::app);
  return plan;
}

TaskPlan plan_tensorflow(const nlohmann::json& dist, const std::vector<NodeContext>& nodes,
                         const std::vector<std::string>& command, const stdfs::path& logs,
                         const PortCheck& free) {
  const bool chief = dist.value("chief", false);
  const auto addresses = addresses_of(nodes);
  const auto tasks = place_tf_tasks(dist.value("workerCount", 1),
                                    dist.value("parameterServerCount", 0), chief, addresses, free);
  TaskPlan plan;
  for (const auto& t : tasks) {
    const std::string log = "70_driver_log_" + t.type + "_" + std::to_string(t.index) + ".txt";
    auto spec = spec_on(nodes[static_cast<size_t>(t.node)], command, logs / log);
    spec.env["TF_CONFIG"] = tf_config(tasks, t, addresses);
    // Parameter servers never exit on their own; with a chief, the workers serve too.
    const bool server = t.type == "ps" || (chief && t.type == "worker");
    plan.tasks.push_back({t.type + " " + std::to_string(t.index), log, server, t.node, spec});
  }
  plan.primary_log = chief ? "70_driver_log_chief_0.txt" : "70_driver_log_worker_0.txt";
  return plan;
}

TaskPlan plan_pytorch(const nlohmann::json& dist, const std::vector<NodeContext>& nodes,
                      const std::vector<std::string>& command, const stdfs::path& logs,
                      const PortCheck& free) {
  const int per_node = dist.value("processCountPerNode", 1);
  const auto addresses = addresses_of(nodes);
  int port = 6105;  // Azure ML's MASTER_PORT
  while (!free(addresses.front(), port)) ++port;
  TaskPlan plan;
  for (size_t n = 0; n < nodes.size(); ++n) {
    for (int l = 0; l < per_node; ++l) {
      const auto vars = pytorch_variables(addresses, static_cast<int>(n), l, per_node, port);
      const std::string rank = vars.at("RANK");
      const std::string log = "70_driver_log_" + rank + ".txt";
      auto spec = spec_on(nodes[n], command, logs / log);
      for (const auto& [k, v] : vars) spec.env[k] = v;
      plan.tasks.push_back({"rank " + rank, log, false, static_cast<int>(n), spec});
    }
  }
  plan.primary_log = "70_driver_log_0.txt";
  return plan;
}

}  // namespace

TaskPlan plan_tasks(const nlohmann::json& def, const std::vector<NodeContext>& nodes,
                    const std::vector<std::string>& command, const stdfs::path& logs,
                    const stdfs::path& scratch, const PortCheck& free) {
  const auto dist = def.value("distributed", nlohmann::json::object());
  const std::string type = dist.value("type", "");
  if (type == "mpi") return plan_mpi(dist, nodes, command, logs, scratch);
  if (type == "tensorflow" || type == "pytorch") {
    auto ports = std::make_shared<PortReservations>();
    const PortCheck check = free ? free : ports->checker();
    TaskPlan plan = type == "tensorflow" ? plan_tensorflow(dist, nodes, command, logs, check)
                                         : plan_pytorch(dist, nodes, command, logs, check);
    plan.ports = ports;
    return plan;
  }
  TaskPlan plan;
  plan.tasks.push_back({"", "70_driver_log.txt", false, 0,
                        spec_on(nodes.front(), command, logs / "70_driver_log.txt")});
  plan.primary_log = "70_driver_log.txt";
  return plan;
}

int rank_with_traceback(const stdfs::path& logs, int ranks) {
  int best = -1;
  stdfs::file_time_type first = stdfs::file_time_type::max();
  std::error_code ec;
  for (int r = 0; r < ranks; ++r) {
    const auto log = logs / ("70_driver_log_" + std::to_string(r) + ".txt");
    std::ifstream in(log);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (text.find("Traceback (most recent call last):") == std::string::npos) continue;
    const auto when = stdfs::last_write_time(log, ec);
    if (!ec && when < first) {
      first = when;
      best = r;
    }
  }
  return best;
}

int first_failed_rank(const stdfs::path& dir, int* exit_code) {
  int rank = -1;
  long long first = LLONG_MAX;
  std::error_code ec;
  for (const auto& name : fs::list_files(dir)) {
    if (name.find('.') != std::string::npos) continue;
    std::ifstream in(dir / name);
    int code = 0;
    long long when = 0;
    if (!(in >> code >> when) || code == 0) continue;
    if (when < first) {
      first = when;
      rank = std::stoi(name);
      if (exit_code) *exit_code = code;
    }
  }
  return rank;
}

}  // namespace amlemu::launch
