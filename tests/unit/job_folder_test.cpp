// Room: launch. A node's job folder over two runs: made, retired to the node's spare with
// nothing of its run left in it, and taken over by the node's next run. Real folders.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <fstream>

#include "common/clock.hpp"
#include "common/fs.hpp"
#include "launch/job_folder.hpp"
#include "support/temp_home.hpp"
#include "workspace/layout.hpp"

using namespace amlemu::launch;
namespace stdfs = std::filesystem;

namespace {

struct Node {
  amlemu::testing::TempHome t;
  amlemu::compute::NodeInfo info;
  stdfs::path snapshot = t.work() / "snapshot";
  ServiceLogs logs{t.work() / "logs", amlemu::real_clock()};

  Node() {
    info.target = "local";
    info.node_id = "tvmps_x_d";
    info.address = "127.0.0.1";
    info.root = t.work() / "node";
    stdfs::create_directories(snapshot);
    std::ofstream(snapshot / "train.py") << "print('hi')\n";
    stdfs::create_directories(t.work() / "logs");
    logs.open_nodes({info.node_id});
  }
  NodeContext prepare(const std::string& run_id) {
    JobFolder run;
    run.workspace_state = t.work() / "ws";
    run.workspace_name = "ws";
    run.run_id = run_id;
    run.target = "local";
    run.snapshot = snapshot;
    run.snapshot_id = "snap";
    run.data_references = nlohmann::json::object();
    return prepare_job_folder(run, info, 0, logs);
  }
  stdfs::path spare() const { return amlemu::layout::node_spare_job_dir(info.root); }
};

ino_t inode(const stdfs::path& p) {
  struct stat st {};
  REQUIRE(::lstat(p.c_str(), &st) == 0);
  return st.st_ino;
}

void write(const stdfs::path& p) {
  stdfs::create_directories(p.parent_path());
  std::ofstream(p) << "x";
}

}  // namespace

TEST_CASE("a retired job folder keeps nothing of its run, and the node's next run takes it over",
          "[launch][job_folder]") {
  Node n;
  const auto first = n.prepare("run_1");
  const auto outputs = inode(first.wd / "outputs");
  // What a run leaves: files in its working directory, outputs and logs, a cache, a folder.
  write(first.wd / "result.txt");
  write(first.wd / "outputs" / "model" / "weights.bin");
  write(first.wd / "logs" / "train.log");
  write(first.job_dir / "keras" / "datasets" / "x.npz");
  write(first.job_dir / "tmp" / "session");
  retire_job_folder(first);
  CHECK_FALSE(stdfs::exists(first.job_dir));
  REQUIRE(stdfs::is_directory(n.spare()));
  CHECK(amlemu::fs::list_files(n.spare()).empty());

  const auto second = n.prepare("run_2");
  CHECK_FALSE(stdfs::exists(n.spare()));
  CHECK(second.wd.filename() == "run_2");
  CHECK(inode(second.wd / "outputs") == outputs);  // the same folder, renamed, not made again
  CHECK(amlemu::fs::list_files(second.job_dir) == std::vector<std::string>{"wd/azureml/run_2/train.py"});
  CHECK(stdfs::is_directory(second.wd / "logs"));
  CHECK(stdfs::is_directory(second.job_dir / "keras"));
}

TEST_CASE("a job folder whose outputs folder is a link is removed whole, the link's target "
          "untouched", "[launch][job_folder]") {
  Node n;
  const auto run = n.prepare("run_1");
  const auto elsewhere = n.t.work() / "elsewhere";
  write(elsewhere / "keep.txt");
  stdfs::remove_all(run.wd / "outputs");
  stdfs::create_directory_symlink(elsewhere, run.wd / "outputs");
  retire_job_folder(run);
  CHECK_FALSE(stdfs::exists(run.job_dir));
  CHECK_FALSE(stdfs::exists(n.spare()));
  CHECK(stdfs::exists(elsewhere / "keep.txt"));
}

TEST_CASE("a node that has a spare already removes the next retired job folder",
          "[launch][job_folder]") {
  Node n;
  const auto a = n.prepare("run_a");
  const auto b = n.prepare("run_b");  // two runs at once on one node (the local target)
  retire_job_folder(a);
  write(b.wd / "left.txt");
  retire_job_folder(b);
  CHECK_FALSE(stdfs::exists(b.job_dir));
  CHECK(amlemu::fs::list_files(n.spare()).empty());
}
