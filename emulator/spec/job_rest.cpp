// Command and sweep jobs from the REST API (`PUT .../jobs/<name>`, what azure-ai-ml's
// `jobs.create_or_update(command(...))` and `...(command(...).sweep(...))` send) into the same
// CommandJob the YAML loader makes. One mapping: camelCase properties to the estimator and the
// sweep definition, with every problem named by its property path.
#include <map>

#include "amlemu/assets.hpp"
#include "amlemu/datastore.hpp"
#include "amlemu/errors.hpp"
#include "amlemu/job_yaml.hpp"
#include "amlemu/run.hpp"
#include "common/clock.hpp"
#include "common/fs.hpp"
#include "common/text.hpp"
#include "spec/data_inputs.hpp"
#include "spec/yaml_reader.hpp"
#include "sweep/policy.hpp"
#include "sweep/space.hpp"
#include "spec/rest_reader.hpp"

namespace amlemu {

using nlohmann::json;
using namespace spec::rest;
using spec::short_asset;

namespace {

long long bounded(const json& obj, const std::string& key, const std::string& path, long long low,
                  long long high) {
  const auto& v = obj[key];
  if (!v.is_number_integer() || v.get<long long>() < low || v.get<long long>() > high) {
    fail(path + "." + key, "must be an integer from " + std::to_string(low) + " to " + std::to_string(high));
  }
  return v.get<long long>();
}

// A Sweep job's own properties into the sweep definition Experiment::submit_sweep takes (the same
// document a sweep YAML gives).
json sweep_from_rest(const json& p, const std::string& root) {
  json sweep;
  const auto& space = object(p, "searchSpace", root);
  if (space.empty()) fail(root + ".searchSpace", "is required");
  for (const auto& [name, _] : space.items()) {
    if (!matches(name, kIdentifier)) {
      fail(root + ".searchSpace." + printable(name),
           "names are made of letters, digits and underscores, not starting with a digit");
    }
  }
  const auto parsed = sweep::parse_space(space, true, root + ".searchSpace");
  sweep["searchSpace"] = space;

  const auto spath = root + ".samplingAlgorithm";
  const auto& sa = object(p, "samplingAlgorithm", root);
  const auto type = sa.empty() ? std::string("random") : to_lower(str(sa, "samplingAlgorithmType", spath));
  if (type != "random" && type != "grid" && type != "bayesian") {
    fail(spath + ".samplingAlgorithmType", "'" + printable(type) + "' is not Random, Grid or Bayesian");
  }
  json sampling = {{"type", type}};
  if (sa.contains("seed") && !sa["seed"].is_null()) sampling["seed"] = bounded(sa, "seed", spath, 0, 4294967295LL);
  if (const auto rule = to_lower(str(sa, "rule", spath)); !rule.empty() && rule != "random") {
    fail(spath + ".rule", "only Random is supported (Sobol is not)");
  }
  sweep["sampling"] = sampling;

  const auto opath = root + ".objective";
  const auto& objective = object(p, "objective", root);
  if (objective.empty()) fail(opath, "is required (goal and primaryMetric)");
  const auto goal = sweep::parse_goal(str(objective, "goal", opath), opath + ".goal");
  const auto metric = str(objective, "primaryMetric", opath);
  if (metric.empty()) fail(opath + ".primaryMetric", "is required");
  sweep["objective"] = {{"goal", goal == sweep::Goal::maximize ? "maximize" : "minimize"}, {"primaryMetric", metric}};

  sweep["earlyTermination"] = p.contains("earlyTermination") ? p["earlyTermination"] : json();
  const auto policy = sweep::parse_policy_v2(sweep["earlyTermination"], root + ".earlyTermination");
  sweep::check_sampling(type, parsed, policy, root + ".earlyTermination");

  const auto lpath = root + ".limits";
  const auto& limits = object(p, "limits", root);
  if (!limits.contains("maxTotalTrials") || limits["maxTotalTrials"].is_null()) {
    fail(lpath + ".maxTotalTrials", "is required");
  }
  const auto total = bounded(limits, "maxTotalTrials", lpath, 1, 1000);
  const auto concurrent = limits.contains("maxConcurrentTrials") && !limits["maxConcurrentTrials"].is_null()
                              ? bounded(limits, "maxConcurrentTrials", lpath, 1, 100)
                              : total;
  // Seconds; the SDK raises a timeout under 60 to 60, as the YAML reader does.
  const auto timeout = str(limits, "timeout", lpath);
  const auto trial_timeout = str(limits, "trialTimeout", lpath);
  sweep["limits"] = {
      {"maxTotalTrials", total},
      {"maxConcurrentTrials", concurrent},
      {"timeoutSeconds", timeout.empty() ? 604800 : std::max(60, duration_seconds(timeout, lpath + ".timeout"))},
      {"trialTimeoutSeconds",
       trial_timeout.empty() ? 0 : std::max(60, duration_seconds(trial_timeout, lpath + ".trialTimeout"))}};
  return sweep;
}

}  // namespace

CommandJob command_job_from_rest(const Workspace& ws, const std::string& name, const json& body) {
  if (!body.is_object()) fail("(body)", "must be a JSON object with properties");
  const json& p = object(body, "properties", "");
  if (p.empty()) fail("properties", "is required");
  const std::string root = "properties";
  const auto job_type = str(p, "jobType", root);
  const bool is_sweep = job_type == "Sweep";
  if (job_type != "Command" && !is_sweep) {
    fail(root + ".jobType", "'" + job_type + "' jobs are not supported; amlemu runs Command and Sweep jobs");
  }
  // A sweep's trial holds what a command job holds at the top (command, code, environment,
  // variables, distribution, resources); the rest (name, experiment, compute, inputs, outputs,
  // tags) is the sweep's and shared by its trials.
  const std::string troot = is_sweep ? root + ".trial" : root;
  const json& t = is_sweep ? object(p, "trial", root) : p;
  if (is_sweep && t.empty()) fail(troot, "is required: the command each trial runs");
  if (!matches(name, kRunName)) {
    fail("name", "'" + printable(name) + "' must be 1-255 letters, digits, '_' or '-'");
  }

  CommandJob job;
  Estimator& e = job.spec.estimator;
  e.run_name = name;
  e.display_name = str(p, "displayName", root);
  e.description = str(p, "description", root);
  job.spec.experiment_name = str(p, "experimentName", root);
  if (job.spec.experiment_name.empty()) job.spec.experiment_name = "Default";
  for (const auto& [k, v] : object(p, "tags", root).items()) {
    e.tags[k] = v.is_string() ? v.get<std::string>() : v.dump();
  }
  const auto command = str(t, "command", troot);
  if (command.empty()) fail(troot + ".command", "is required");

  const auto code_id = str(t, "codeId", troot);
  if (!code_id.empty()) e.source_directory = code_folder(ws, code_id, troot + ".codeId");
  job.environment = environment_reference(str(t, "environmentId", troot), troot + ".environmentId");

  for (const auto& [k, v] : object(t, "environmentVariables", troot).items()) {
    if (!matches(k, kIdentifier)) fail(troot + ".environmentVariables." + k, "is not a valid variable name");
    if (!v.is_string()) fail(troot + ".environmentVariables." + k, "must be a string, got " + kind_of(v));
    e.environment_variables[k] = v.get<std::string>();
  }

  const auto compute_id = str(p, "computeId", root);
  if (compute_id.empty() || compute_id == "local") {
    e.compute_target = "local";
  } else if (const auto c = arm_asset(compute_id, "computes"); c && c->second.empty()) {
    e.compute_target = c->first;
  } else if (compute_id.rfind("azureml:", 0) == 0) {
    e.compute_target = compute_id.substr(8);
  } else {
    fail(root + ".computeId", "'" + printable(compute_id) + "' is not a compute of this workspace");
  }

  const auto& resources = object(t, "resources", troot);
  e.node_count = integer(resources, "instanceCount", troot + ".resources", 1, 1);
  if (is_sweep) {
    job.sweep = sweep_from_rest(p, root);
  } else if (const auto& limits = object(p, "limits", root); !str(limits, "timeout", root + ".limits").empty()) {
    e.max_run_duration_seconds = duration_seconds(str(limits, "timeout", root + ".limits"), root + ".limits.timeout");
  }

  const auto& dist = object(t, "distribution", troot);
  if (!dist.empty()) {
    const auto dpath = troot + ".distribution";
    const auto type = to_lower(str(dist, "distributionType", dpath));
    DistributedTraining dt;
    if (type == "mpi") {
      dt.type = "mpi";
      dt.process_count_per_node = integer(dist, "processCountPerInstance", dpath, 1, 1);
    } else if (type == "pytorch") {
      dt.type = "pytorch";
      dt.process_count_per_node = integer(dist, "processCountPerInstance", dpath, 1, 1);
    } else if (type == "tensorflow") {
      dt.type = "tensorflow";
      dt.worker_count = integer(dist, "workerCount", dpath, 1, e.node_count);
      dt.parameter_server_count = integer(dist, "parameterServerCount", dpath, 0, 0);
    } else {
      fail(dpath + ".distributionType", "'" + type + "' is not supported (Mpi, TensorFlow or PyTorch)");
    }
    e.distributed_training = dt;
  }
  if (e.node_count > 1 && !e.distributed_training) {
    fail(troot + ".resources.instanceCount",
         "several instances need a distribution (Mpi, TensorFlow or PyTorch) to say what runs on each");
  }

  std::map<std::string, std::string> replacement;
  for (const auto& [in_name, in] : object(p, "inputs", root).items()) {
    const auto path = root + ".inputs." + in_name;
    if (!matches(in_name, kIdentifier)) fail(path, "is not a valid input name");
    if (!in.is_object()) fail(path, "must be an object with jobInputType, got " + kind_of(in));
    const auto type = to_lower(str(in, "jobInputType", path));
    if (type == "literal") {
      if (!in.contains("value") || in["value"].is_null()) fail(path + ".value", "is required for a literal input");
      replacement["inputs." + in_name] = in["value"].is_string() ? in["value"].get<std::string>() : in["value"].dump();
      continue;
    }
    if (type != "uri_folder" && type != "uri_file" && type != "custom_model" && type != "mlflow_model" &&
        type != "mltable") {
      fail(path + ".jobInputType", "'" + type + "' is not supported (uri_folder, uri_file, mltable, custom_model, mlflow_model, literal)");
    }
    const auto mode = to_lower(str(in, "mode", path));
    static const std::map<std::string, std::string> modes = {
        {"", "ro_mount"},         {"readonlymount", "ro_mount"}, {"download", "download"},
        {"direct", "direct"},     {"evalmount", "eval_mount"},   {"evaldownload", "eval_download"}};
    const auto known = modes.find(mode);
    if (known == modes.end()) {
      fail(path + ".mode", "'" + str(in, "mode", path) + "' is not supported for an input (ReadOnlyMount, Download, Direct, EvalMount or EvalDownload)");
    }
    if (known->second.rfind("eval_", 0) == 0 && type != "mltable") {
      fail(path + ".mode", "'" + str(in, "mode", path) + "' is for mltable inputs only");
    }
    DataReference ref = spec::data_input(ws, str(in, "uri", path), path + ".uri");
    spec::set_input_mode(ws, ref, in_name, spec::reference_mode(known->second));
    e.script_params.emplace_back("", ref);
    replacement["inputs." + in_name] = "\"${AZURE_ML_INPUT_" + in_name + "}\"";
  }
  for (const auto& [out_name, out] : object(p, "outputs", root).items()) {
    if (out_name == "default") continue;  // the service's own output: run history
    const auto path = root + ".outputs." + out_name;
    if (!matches(out_name, kIdentifier)) fail(path, "is not a valid output name");
    if (!out.is_null() && !out.is_object()) fail(path, "must be an object, got " + kind_of(out));
    const auto type = out.is_object() ? to_lower(str(out, "jobOutputType", path)) : "";
    if (!type.empty() && type != "uri_folder" && type != "uri_file" && type != "custom_model" &&
        type != "mlflow_model") {
      fail(path + ".jobOutputType", "'" + type + "' is not supported");
    }
    const auto mode = out.is_object() ? to_lower(str(out, "mode", path)) : "";
    if (!mode.empty() && mode != "readwritemount" && mode != "upload" && mode != "direct") {
      fail(path + ".mode", "'" + str(out, "mode", path) + "' is not supported for an output (ReadWriteMount or Upload)");
    }
    e.outputs[out_name] = mode == "upload" ? "upload" : "rw_mount";
    if (out.is_object()) {
      OutputSettings s;
      if (!type.empty()) s.type = type;
      if (const auto uri = str(out, "uri", path); !uri.empty()) {
        std::optional<std::pair<std::string, std::string>> ds;
        try {
          ds = parse_datastore_uri(ws, uri);
        } catch (const UserErrorException& e) {
          fail(path + ".uri", e.what());
        }
        if (!ds || ds->second.empty()) {
          fail(path + ".uri", "'" + printable(uri) + "' is not azureml://datastores/<name>/paths/<folder>");
        }
        s.datastore = ds->first;
        s.path_on_datastore = ds->second;
      }
      s.asset_name = str(out, "assetName", path);
      s.asset_version = str(out, "assetVersion", path);
      if (!s.asset_version.empty() && s.asset_name.empty()) fail(path + ".assetVersion", "needs an assetName");
      if (!s.asset_name.empty() && !matches(s.asset_name, kAssetName)) {
        fail(path + ".assetName", "'" + s.asset_name + "' must be letters, digits, '.', '_' or '-'");
      }
      if (!s.asset_version.empty() && !matches(s.asset_version, kAssetName)) {
        fail(path + ".assetVersion", "'" + s.asset_version + "' must be letters, digits, '.', '_' or '-'");
      }
      e.output_settings[out_name] = s;
    }
    replacement["outputs." + out_name] = "\"${AZURE_ML_OUTPUT_" + out_name + "}\"";
  }
  // A sweep's trial keeps ${{search_space.x}}: each trial gets its own values.
  if (is_sweep) {
    for (const auto& [param, _] : job.sweep["searchSpace"].items()) {
      replacement["search_space." + param] = "${{search_space." + param + "}}";
    }
  }
  std::string unknown;
  e.command = spec::substitute_expressions(command, replacement, &unknown);
  if (!unknown.empty()) fail(troot + ".command", "${{" + unknown + "}} names no declared input or output" +
                                          (is_sweep ? " or search_space parameter" : ""));
  e.entry_script = "";
  e.job_definition = p;
  return job;
}

}  // namespace amlemu
