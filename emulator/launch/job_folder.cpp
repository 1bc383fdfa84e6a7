#include "launch/job_folder.hpp"

#include <sched.h>

#include <algorithm>
#include <string_view>
#include <thread>

#include "amlemu/mirror.hpp"
#include "common/fs.hpp"
#include "common/text.hpp"
#include "compute/gpu.hpp"
#include "datastore/framework_caches.hpp"
#include "datastore/mount.hpp"
#include "workspace/layout.hpp"

namespace amlemu::launch {

namespace stdfs = std::filesystem;

namespace {

// The names a job folder's skeleton is made of, below the job folder.
constexpr const char* kWd = "wd";
constexpr const char* kAzureml = "azureml";
constexpr const char* kKeras = "keras";
constexpr const char* kSpareWd = "spare";  // the working directory's name in the spare

// A node's retired job folder, taken over (renamed) for this run, with its working directory
// renamed to this run's; false when there is none (or another run took it first).
bool take_spare(const stdfs::path& node_root, const stdfs::path& job_dir, const stdfs::path& wd) {
  std::error_code ec;
  stdfs::create_directories(job_dir.parent_path(), ec);
  stdfs::rename(layout::node_spare_job_dir(node_root), job_dir, ec);
  if (ec) return false;
  stdfs::rename(job_dir / kWd / kAzureml / kSpareWd, wd, ec);
  if (!ec) return true;
  stdfs::remove_all(job_dir, ec);
  return false;
}

// Removes every entry of `dir` but the folders named in `keep`, which must be plain folders
// (not links); false when one is not, or something cannot be removed.
bool keep_only(const stdfs::path& dir, std::initializer_list<std::string_view> keep) {
  std::error_code ec;
  size_t kept = 0;
  for (stdfs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const auto name = it->path().filename().string();
    if (std::find(keep.begin(), keep.end(), name) != keep.end()) {
      if (!it->is_directory(ec) || it->is_symlink(ec)) return false;
      ++kept;
      continue;
    }
    stdfs::remove_all(it->path(), ec);
    if (ec) return false;
  }
  return !ec && kept == keep.size();
}

// The CPUs this process may use, by id (a cpuset may leave gaps).
std::vector<int> machine_cpus() {
  std::vector<int> ids;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) == 0) {
    for (int c = 0; c < CPU_SETSIZE; ++c) {
      if (CPU_ISSET(c, &set)) ids.push_back(c);
    }
  }
  if (ids.empty()) {
    for (unsigned c = 0; c < std::thread::hardware_concurrency(); ++c) {
      ids.push_back(static_cast<int>(c));
    }
  }
  return ids;
}

// What the node is, in the execution log: placement, priority, GPUs, CPUs.
void describe_node(const JobFolder& run, const compute::NodeInfo& node,
                   const std::vector<int>& cpus, size_t i, ServiceLogs& logs) {
  logs.execution(i, "Run " + run.run_id + " placed on node " + node.node_id + " (" +
                        node.address + ") of compute target " + run.target +
                        (node.size.name.empty() ? "" : " (" + node.size.name + ")"));
  logs.execution(i, node.dedicated
                        ? "IsDedicatedCompute == True, won't poll for Low Pri Preemption"
                        : "IsDedicatedCompute == False, polling for Low Pri Preemption");
  if (!node.size.name.empty() && node.size.gpus == 0) {
    logs.execution(i, "The vmsize " + to_lower(node.size.name) +
                          " is not a GPU VM, skipping get GPU count by running nvidia-smi "
                          "command.");
    if (run.use_gpu) {
      logs.execution(i, "Warning: use_gpu is set but " + node.size.name + " has no GPU");
    }
  } else if (node.size.gpus > 0 && node.gpus.empty()) {
    std::string why;
    compute::machine_gpus(&why);
    logs.execution(i, "Warning: no GPU on this machine (" + why + "); running " +
                          node.size.name + " in virtual GPU mode with " +
                          std::to_string(node.size.gpus) +
                          " virtual GPU(s) and an empty CUDA_VISIBLE_DEVICES");
  } else if (!node.gpus.empty()) {
    logs.execution(i, "GPUs of this node: " + join(node.gpus, ","));
  }
  if (!cpus.empty()) {
    std::vector<std::string> c;
    for (int x : cpus) c.push_back(std::to_string(x));
    logs.execution(i, "CPUs of this node: " + join(c, ","));
  }
}

}  // namespace

NodeContext prepare_job_folder(const JobFolder& run, const compute::NodeInfo& node, size_t i,
                               ServiceLogs& logs) {
  NodeContext c;
  c.node = node;
  if (run.target != "local") {
    const auto ids = machine_cpus();
    for (int position :
         compute::node_cpus(node.index, node.size.vcpus, static_cast<int>(ids.size()))) {
      c.cpus.push_back(ids[static_cast<size_t>(position)]);
    }
  }
  describe_node(run, node, c.cpus, i, logs);
  c.job_dir = layout::node_job_dir(node.root, run.workspace_name, run.run_id);
  c.wd = layout::node_job_working_dir(c.job_dir, run.run_id);
  take_spare(node.root, c.job_dir, c.wd);
  fs::copy_tree(run.snapshot, c.wd);
  logs.preparation(i, "Extracted snapshot " + run.snapshot_id + " (" +
                          std::to_string(fs::list_files(c.wd).size()) + " files) to " +
                          c.wd.string());
  auto data = datastore::materialise(run.data_references, run.workspace_state,
                                     layout::run_mounts(run.workspace_state, run.run_id), c.wd);
  for (const auto& l : data.execution_lines) logs.execution(i, l);
  for (const auto& l : data.preparation_lines) logs.preparation(i, l);
  c.binds = data.binds;
  c.placeholders = data.paths;
  auto caches = datastore::prepare_framework_caches(Mirror::open(), c.job_dir);
  for (const auto& l : caches.preparation_lines) logs.preparation(i, l);
  c.cache_variables = std::move(caches.variables);
  stdfs::create_directories(c.wd / layout::kOutputsDir);
  stdfs::create_directories(c.wd / layout::kUserLogsDir);
  logs.preparation(i, "Job preparation finished");
  return c;
}

void retire_job_folder(const NodeContext& node) {
  // Emptied to its skeleton, renamed out of the run's name: a node's runs then make and remove
  // no folder of their own (on ext4 without a journal, each inode made skips every inode of its
  // group removed in the last minute, so removing fewer makes every later file cheaper too).
  const auto& job = node.job_dir;
  const auto& wd = node.wd;
  std::error_code ec;
  const bool skeleton = keep_only(job, {kWd, kKeras}) && keep_only(job / kKeras, {}) &&
                        keep_only(job / kWd, {kAzureml}) &&
                        keep_only(job / kWd / kAzureml, {wd.filename().string()}) &&
                        keep_only(wd, {layout::kOutputsDir, layout::kUserLogsDir}) &&
                        keep_only(wd / layout::kOutputsDir, {}) &&
                        keep_only(wd / layout::kUserLogsDir, {});
  if (skeleton) {
    stdfs::rename(wd, job / kWd / kAzureml / kSpareWd, ec);
    // Onto a spare that exists (another run's, on a shared node) the rename fails: not empty.
    if (!ec) stdfs::rename(job, layout::node_spare_job_dir(node.node.root), ec);
    if (!ec) return;
  }
  stdfs::remove_all(job, ec);
}

}  // namespace amlemu::launch
