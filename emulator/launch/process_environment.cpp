#include "launch/process_environment.hpp"

#include <algorithm>

#include "common/text.hpp"

namespace amlemu::launch {

namespace {

// The Azure Batch variables of a node running the run's single task.
void batch_variables(Environment& env, const RunFacts& run, const NodeFacts& n) {
  const auto& node = n.node;
  env["AZ_BATCH_NODE_ID"] = node.node_id;
  env["AZ_BATCH_NODE_IS_DEDICATED"] = node.dedicated ? "true" : "false";
  env["AZ_BATCH_NODE_ROOT_DIR"] = node.root.string();
  env["AZ_BATCH_NODE_SHARED_DIR"] = (node.root / "shared").string();
  env["AZ_BATCH_NODE_STARTUP_DIR"] = (node.root / "startup").string();
  env["AZ_BATCH_NODE_MOUNTS_DIR"] = (node.root / "fsmounts").string();
  env["AZ_BATCH_TASK_WORKING_DIR"] = n.working_dir.string();
  env["AZ_BATCH_JOB_ID"] = run.run_id;
  env["AZ_BATCH_TASK_ID"] = "task-0";
  env["AMLEMU_NODE_ADDRESS"] = node.address;
  const auto& all = n.run_addresses.empty() ? std::vector<std::string>{node.address}
                                            : n.run_addresses;
  env["AZ_BATCH_MASTER_NODE"] = all.front() + ":6000";
  env["AZ_BATCH_HOST_LIST"] = join(all, ",");
  env["AZ_BATCH_NODE_LIST"] = all.size() > 1 ? join(all, ";") : all.front();
  env["AZ_BATCH_IS_CURRENT_NODE_MASTER"] = all.front() == node.address ? "true" : "false";
  // A cluster node sees only its own GPUs; CPU sizes and virtual GPU mode see none. The local
  // target is the machine itself, with whatever GPUs it has.
  if (node.target != "local") env["CUDA_VISIBLE_DEVICES"] = join(node.gpus, ",");
  if (node.size.gpus > 0 && node.gpus.empty()) {
    env["AMLEMU_VIRTUAL_GPUS"] = std::to_string(node.size.gpus);
  }
}

bool proxy_variable(const std::string& name) {
  const auto lower = to_lower(name);
  return lower == "http_proxy" || lower == "https_proxy" || lower == "all_proxy" ||
         lower == "no_proxy" || lower == "ftp_proxy" || lower == "grpc_proxy";
}

// No route out but loopback: Python (urllib, requests), pip and curl send web requests to a
// port that refuses them. Only the upper-case names are set: gRPC reads the lower-case ones,
// and a distributed run's gRPC between its nodes must stay direct.
void no_route_out(Environment& env, const NodeFacts& n) {
  std::string local = "localhost,127.0.0.1,::1";
  for (const auto& a : n.run_addresses) local += "," + a;
  if (!n.node.address.empty() &&
      std::find(n.run_addresses.begin(), n.run_addresses.end(), n.node.address) == n.run_addresses.end()) {
    local += "," + n.node.address;
  }
  env["HTTP_PROXY"] = kNoRouteProxy;
  env["HTTPS_PROXY"] = kNoRouteProxy;
  env["NO_PROXY"] = local;
  env["HF_HUB_OFFLINE"] = "1";
  env["HF_DATASETS_OFFLINE"] = "1";
  env["TRANSFORMERS_OFFLINE"] = "1";
}

}  // namespace

Environment compose_environment(const Environment& inherited, const RunFacts& run,
                                const NodeFacts& node) {
  Environment env;
  // Variables of the caller that would confuse the run's own context are left out.
  auto allowed = [&](const Environment& vars) {
    const auto it = vars.find("AMLEMU_RUN_NETWORK");
    return it != vars.end() && it->second == "allow";
  };
  const bool network = allowed(inherited) || allowed(run.job_variables);
  for (const auto& [k, v] : inherited) {
    if (k.rfind("AZUREML_", 0) == 0 || k.rfind("MLFLOW_", 0) == 0) continue;
    if (!network && proxy_variable(k)) continue;
    env.emplace(k, v);
  }
  if (!network) no_route_out(env, node);
  for (const auto& [k, v] : node.cache_variables) env[k] = v;
  const std::string py = run.python_package.string();
  env["PYTHONPATH"] = env.count("PYTHONPATH") ? py + ":" + env["PYTHONPATH"] : py;
  env["PYTHONUNBUFFERED"] = "1";
  if (run.virtual_environment) {
    // A built environment: its bin first on PATH, as activation does.
    const auto bin = run.python.parent_path();
    env["PATH"] = bin.string() + (env.count("PATH") ? ":" + env["PATH"] : "");
    env["VIRTUAL_ENV"] = bin.parent_path().string();
  }
  env["AZUREML_RUN_ID"] = run.run_id;
  env["AZUREML_ARM_SUBSCRIPTION"] = run.subscription_id;
  env["AZUREML_ARM_RESOURCEGROUP"] = run.resource_group;
  env["AZUREML_ARM_WORKSPACE_NAME"] = run.workspace_name;
  env["AZUREML_ARM_PROJECT_NAME"] = run.experiment_name;
  env["AZUREML_EXPERIMENT_ID"] = run.experiment_id;
  env["AZUREML_WORKSPACE_ID"] = run.workspace_id;
  env["AZUREML_SERVICE_ENDPOINT"] = "http://localhost";
  env["AZUREML_RUN_TOKEN"] = "amlemu-local";
  env["AZUREML_RUN_TOKEN_EXPIRY"] = std::to_string(run.token_expiry);
  env["AMLEMU_DATABASE"] = run.database.string();
  env["AMLEMU_RUN_ARTIFACTS"] = run.artifacts.string();
  if (!run.cli.empty()) env["AMLEMU_CLI"] = run.cli.string();
  // MLflow, as Azure ML sets it in a job: start_run() attaches to this run. The tracking URI
  // names amlemu's own store (amlemu_mlflow in the Python package), not the service's
  // azureml:// one, so no server is needed; the token is the run's, unused by that store.
  if (!run.workspace_dir.empty()) {
    env["MLFLOW_TRACKING_URI"] = "amlemu://" + run.workspace_dir.string();
  }
  env["MLFLOW_RUN_ID"] = run.run_id;
  env["MLFLOW_EXPERIMENT_ID"] = run.experiment_id;
  env["MLFLOW_EXPERIMENT_NAME"] = run.experiment_name;
  env["MLFLOW_TRACKING_TOKEN"] = env["AZUREML_RUN_TOKEN"];
  for (const auto& [name, path] : node.data_paths) env["AZUREML_DATAREFERENCE_" + name] = path;
  for (const auto& [k, v] : run.job_variables) env[k] = v;
  batch_variables(env, run, node);
  for (const auto& [name, path] : node.data_paths) env["AZURE_ML_INPUT_" + name] = path;
  for (const auto& [name, dir] : node.output_paths) env["AZURE_ML_OUTPUT_" + name] = dir;
  return env;
}

}  // namespace amlemu::launch
