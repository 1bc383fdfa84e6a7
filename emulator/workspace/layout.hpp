// Every on-disk name of a workspace, in one place.
//
//   <AMLEMU_HOME>/workspaces/<subscription>/<resource group>/<workspace>/
//     workspace.db                   run history, compute targets, model registry (SQLite, WAL)
//     datastores/<datastore>/        the files of each datastore
//     runs/<run id>/artifacts/       run history files: azureml-logs/, logs/, outputs/
//     runs/<run id>/mounts/          mount points of the run's datastores, shared by its nodes
//     runs/<run id>/launch/          the hostfile and node contexts of a distributed run
//     runs/<run id>/supervisor.log   what the detached supervisor itself printed
//     snapshots/<id>/                source directories as submitted, stored once per content
//     environments/<id>/             built environments (virtual environments), one per spec
//     environments/<id>.lock         shared by runs using it, exclusive to a build or delete
//     models/<name>/<version>/       registered model files
//     models/.staging/<pid>-<hex>/   registrations in flight (never visible as a version)
//     staging/<pid>-<hex>            datastore uploads in flight (never visible in a datastore)
//     staging/blocks/<hash>/         blocks of a blob staged by Put Block, until Put Block List
//     containers/<name>/             blob containers of code uploads (amlemu serve)
#pragma once

#include <filesystem>
#include <string>

#include "common/text.hpp"

namespace amlemu::layout {

namespace stdfs = std::filesystem;

inline stdfs::path workspace_dir(const stdfs::path& home, const std::string& subscription,
                                 const std::string& resource_group, const std::string& name) {
  return home / "workspaces" / subscription / resource_group / name;
}
inline stdfs::path database(const stdfs::path& ws) { return ws / "workspace.db"; }
inline stdfs::path datastores(const stdfs::path& ws) { return ws / "datastores"; }
inline stdfs::path datastore(const stdfs::path& ws, const std::string& name) {
  return datastores(ws) / name;
}
inline stdfs::path run_dir(const stdfs::path& ws, const std::string& run_id) {
  return ws / "runs" / run_id;
}
inline stdfs::path artifacts(const stdfs::path& ws, const std::string& run_id) {
  return run_dir(ws, run_id) / "artifacts";
}
inline stdfs::path run_mounts(const stdfs::path& ws, const std::string& run_id) {
  return run_dir(ws, run_id) / "mounts";
}
inline stdfs::path run_launch(const stdfs::path& ws, const std::string& run_id) {
  return run_dir(ws, run_id) / "launch";
}
inline stdfs::path supervisor_log(const stdfs::path& ws, const std::string& run_id) {
  return run_dir(ws, run_id) / "supervisor.log";
}
inline stdfs::path snapshots(const stdfs::path& ws) { return ws / "snapshots"; }
inline stdfs::path environments(const stdfs::path& ws) { return ws / "environments"; }
inline stdfs::path models(const stdfs::path& ws) { return ws / "models"; }
inline stdfs::path model_version(const stdfs::path& ws, const std::string& name, int version) {
  return models(ws) / name / std::to_string(version);
}
inline stdfs::path model_staging(const stdfs::path& ws) { return models(ws) / ".staging"; }
inline stdfs::path staging(const stdfs::path& ws) { return ws / "staging"; }
// Blob containers that are not a datastore's folder (upload containers of code assets).
inline stdfs::path containers(const stdfs::path& ws) { return ws / "containers"; }
// Staged blocks of blobs not yet committed, one folder per blob.
inline stdfs::path blob_blocks(const stdfs::path& ws) { return ws / "staging" / "blocks"; }

// Names inside a run's artifacts folder, as the service lays them out.
inline constexpr const char* kLogsDir = "azureml-logs";
inline constexpr const char* kOutputsDir = "outputs";
inline constexpr const char* kUserLogsDir = "logs";

// A node's folders, as on Azure Batch: the job of run R lives under
// <node root>/shared/LS_root/jobs/<workspace>/azureml/<r>/ with wd/azureml/<R> (the working
// directory).
inline stdfs::path node_job_dir(const stdfs::path& node_root, const std::string& workspace,
                                const std::string& run_id) {
  return node_root / "shared" / "LS_root" / "jobs" / workspace / "azureml" / to_lower(run_id);
}
inline stdfs::path node_job_working_dir(const stdfs::path& job_dir, const std::string& run_id) {
  return job_dir / "wd" / "azureml" / run_id;
}
// A node's spare job folder: the last run's, emptied, kept for the next (launch/job_folder).
inline stdfs::path node_spare_job_dir(const stdfs::path& node_root) {
  return node_root / "shared" / "LS_root" / "jobs" / ".spare";
}

}  // namespace amlemu::layout
