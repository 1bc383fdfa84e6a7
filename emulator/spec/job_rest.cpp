// Command and sweep jobs from the REST API (`PUT .../jobs/<name>`, what azure-ai-ml's
// `jobs.create_or_update(command(...))` and `...(command(...).sweep(...))` send) into the same
// CommandJob the YAML loader makes. One mapping: camelCase properties to the estimator and the
// sweep definition, with every problem named by its property path.
#include <map>
#include <regex>

#include "amlemu/assets.hpp"
#include "amlemu/datastore.hpp"
#include "amlemu/endpoints.hpp"
#include "amlemu/errors.hpp"
#include "amlemu/job_yaml.hpp"
#include "amlemu/mirror.hpp"
#include "amlemu/run.hpp"
#include "common/clock.hpp"
#include "common/fs.hpp"
#include "common/text.hpp"
#include "spec/data_inputs.hpp"
#include "spec/yaml_reader.hpp"
#include "sweep/policy.hpp"
#include "sweep/space.hpp"

namespace amlemu {

namespace stdfs = std::filesystem;

namespace {

using nlohmann::json;

[[noreturn]] void fail(const std::string& path, const std::string& problem) {
  throw UserErrorException(path + ": " + problem);
}

std::string kind_of(const json& v) {
  if (v.is_object()) return "an object";
  if (v.is_array()) return "a list";
  if (v.is_null()) return "null";
  if (v.is_string()) return "a string";
  if (v.is_boolean()) return "a boolean";
  return "a number";
}

// A string property, or "" when absent or null.
std::string str(const json& obj, const std::string& key, const std::string& path) {
  if (!obj.contains(key) || obj[key].is_null()) return "";
  if (!obj[key].is_string()) fail(path + "." + key, "must be a string, got " + kind_of(obj[key]));
  return obj[key].get<std::string>();
}

const json& object(const json& obj, const std::string& key, const std::string& path) {
  static const json empty = json::object();
  if (!obj.contains(key) || obj[key].is_null()) return empty;
  if (!obj[key].is_object()) fail(path + "." + key, "must be an object, got " + kind_of(obj[key]));
  return obj[key];
}

int integer(const json& obj, const std::string& key, const std::string& path, int min, int fallback) {
  if (!obj.contains(key) || obj[key].is_null()) return fallback;
  const auto& v = obj[key];
  if (!v.is_number_integer()) fail(path + "." + key, "must be an integer, got " + kind_of(v));
  const auto n = v.get<long long>();
  if (n < min || n > 1000000000) {
    fail(path + "." + key, "must be an integer >= " + std::to_string(min) + ", got " + std::to_string(n));
  }
  return static_cast<int>(n);
}

// ISO 8601 durations as the service writes timeouts: PT1H, PT30M, P1DT2H3M4S.
int duration_seconds(const std::string& text, const std::string& path) {
  const auto s = iso8601_duration_seconds(text);
  if (!s) fail(path, "'" + printable(text) + "' is not an ISO 8601 duration such as PT1H");
  if (*s < 1 || *s > 1e9) fail(path, "'" + text + "' must be between one second and 30 years");
  return static_cast<int>(*s);
}

// The last segments of an ARM id:
// /subscriptions/<s>/resourceGroups/<g>/providers/Microsoft.MachineLearningServices/workspaces/<w>/<kind>/<name>[/versions/<version>]
// (case-insensitive but for the names).
std::optional<std::pair<std::string, std::string>> arm_asset(const std::string& id,
                                                             const std::string& kind) {
  if (id.empty() || id[0] != '/') return std::nullopt;
  std::vector<std::string> parts;
  for (size_t start = 1;;) {
    const auto slash = id.find('/', start);
    parts.push_back(id.substr(start, slash == std::string::npos ? std::string::npos : slash - start));
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  if (parts.size() != 10 && parts.size() != 12) return std::nullopt;
  const std::string fixed[] = {"subscriptions", "", "resourcegroups", "", "providers",
                               "microsoft.machinelearningservices", "workspaces", "", to_lower(kind)};
  for (size_t i = 0; i < std::size(fixed); ++i) {
    if (fixed[i].empty() ? parts[i].empty() : to_lower(parts[i]) != fixed[i]) return std::nullopt;
  }
  if (parts[9].empty()) return std::nullopt;
  if (parts.size() == 12 && (to_lower(parts[10]) != "versions" || parts[11].empty())) {
    return std::nullopt;
  }
  return std::make_pair(parts[9], parts.size() == 12 ? parts[11] : std::string());
}

}  // namespace

std::optional<std::pair<std::string, std::string>> spec::short_asset(const std::string& ref) {
  static const std::regex versioned(R"(^azureml:([A-Za-z0-9._-]+):([A-Za-z0-9._-]+)$)");
  static const std::regex latest(R"(^azureml:([A-Za-z0-9._-]+)@latest$)");
  std::smatch m;
  if (std::regex_match(ref, m, versioned)) return std::make_pair(m[1].str(), m[2].str());
  if (std::regex_match(ref, m, latest)) return std::make_pair(m[1].str(), std::string());
  return std::nullopt;
}

namespace {

using spec::short_asset;

std::string environment_reference(const std::string& id, const std::string& path) {
  if (id.empty()) fail(path, "is required (an environment: azureml:<name>@latest, azureml:<name>:<version> or its ARM id)");
  if (id.rfind("azureml:", 0) == 0) return id;  // short forms and registry URIs, resolved later
  if (const auto a = arm_asset(id, "environments")) {
    return "azureml:" + a->first + (a->second.empty() ? "@latest" : ":" + a->second);
  }
  fail(path, "'" + printable(id) + "' is not an environment reference of this workspace");
}

stdfs::path code_folder(const Workspace& ws, const std::string& id, const std::string& path) {
  auto ref = arm_asset(id, "codes");
  if (!ref) ref = short_asset(id);
  if (!ref || ref->second.empty()) {
    fail(path, "'" + printable(id) + "' is not a code version (.../codes/<name>/versions/<version>)");
  }
  const auto code = get_code_version(ws, ref->first, ref->second);
  if (!code) fail(path, "code " + ref->first + ":" + ref->second + " does not exist in workspace " + ws.name());
  return code_directory(ws, *code);
}

}  // namespace

std::string spec::reference_mode(const std::string& input_mode) {
  if (input_mode == "download" || input_mode == "eval_download") return "download";
  if (input_mode == "direct") return "direct";
  return "mount";
}

void spec::set_input_mode(const Workspace& ws, DataReference& ref, const std::string& name,
                          const std::string& mode) {
  ref.data_reference_name = name;
  ref.mode = mode;
  if (mode == "download") ref.path_on_compute = "inputs/" + name;
  if (mode == "direct") {
    ref.direct_uri = !ref.mirror_url.empty()
                         ? ref.mirror_url
                         : long_form_uri(ws, "azureml://datastores/" + ref.datastore_name + "/paths/" +
                                                 ref.path_on_datastore);
  }
}

DataReference spec::data_input(const Workspace& ws, std::string uri, const std::string& path) {
  for (int hops = 0; hops < 4; ++hops) {
    // Another job's named output: azureml://jobs/<job>/outputs/<output>/paths/<path>, kept on the
    // default datastore under azureml/<job>/<output>/ once that job has ended.
    if (uri.rfind("azureml://jobs/", 0) == 0) {
      const auto rest = uri.substr(15);
      const auto outputs = rest.find("/outputs/");
      const auto job = rest.substr(0, outputs);
      const auto tail = outputs == std::string::npos ? std::string() : rest.substr(outputs + 9);
      const auto slash = tail.find('/');
      const auto output = tail.substr(0, slash);
      const auto after = slash == std::string::npos ? std::string() : tail.substr(slash);
      if (outputs == std::string::npos || !matches(job, kRunName) || !matches(output, kIdentifier) ||
          !(after.empty() || after == "/paths" || after.rfind("/paths/", 0) == 0)) {
        fail(path, "'" + printable(uri) + "' is not azureml://jobs/<job>/outputs/<output>/paths/<path>");
      }
      if (output == "artifacts") {
        fail(path, "'" + printable(uri) + "': run history (outputs/artifacts) cannot be a job input "
                   "yet; name an output of the job instead");
      }
      std::string inner;
      try {
        inner = fs::clean_relative(after.size() > 7 ? after.substr(7) : "");
      } catch (const std::invalid_argument& e) {
        fail(path, "'" + printable(uri) + "': " + e.what());
      }
      // Where that job wrote the output: its `path`, else the default place.
      auto ds = Datastore::get_default(ws);
      std::string folder = "azureml/" + job + "/" + output;
      try {
        const auto def = Run(ws, job).get_details().value("runDefinition", nlohmann::json::object());
        const auto settings = output_settings_from_json(def.value("outputSettings", nlohmann::json::object()));
        if (const auto it = settings.find(output); it != settings.end() && !it->second.datastore.empty()) {
          ds = Datastore::get(ws, it->second.datastore);
          folder = it->second.path_on_datastore;
          if (it->second.type == "uri_file") folder = stdfs::path(folder).parent_path().string();
        }
      } catch (const NotFoundException&) {
      }
      const auto on_ds = folder + (inner.empty() ? "" : "/" + inner);
      std::error_code ec;
      if (!stdfs::exists(ds.root() / on_ds, ec)) {
        fail(path, "'" + printable(uri) + "': job " + job + " has no output '" + output +
                   "' (it does not exist, has not ended, or wrote nothing there)");
      }
      DataReference ref;
      ref.datastore_name = ds.name();
      ref.path_on_datastore = on_ds;
      return ref;
    }
    // A URL of the workspace's own storage account is its datastore's data.
    std::optional<std::pair<std::string, std::string>> storage;
    try {
      storage = parse_storage_url(ws, uri);
    } catch (const UserErrorException& e) {
      fail(path, e.what());
    }
    if (storage) {
      DataReference ref;
      ref.datastore_name = storage->first;
      ref.path_on_datastore = storage->second;
      return ref;
    }
    if (is_web_url(uri)) {
      // A web URL (or a storage account's): served from the offline mirror, or refused now,
      // before anything is recorded, with the command that fixes it.
      std::optional<MirrorEntry> entry;
      try {
        entry = Mirror::open().find(uri);
      } catch (const UserErrorException& e) {
        fail(path, e.what());
      }
      if (!entry) {
        fail(path, "'" + printable(uri) + "' is not in the offline mirror (runs have no network); add "
                   "it with: " + mirror_add_command(uri));
      }
      DataReference ref;
      ref.mirror_url = entry->url;
      return ref;
    }
    if (auto ds = parse_datastore_uri(ws, uri)) {
      if (ds->first == "workspaceartifactstore") {
        fail(path, "'" + printable(uri) + "': run history (workspaceartifactstore) cannot be a job "
                   "input yet; copy the files to a datastore");
      }
      DataReference ref;
      ref.datastore_name = ds->first;
      ref.path_on_datastore = ds->second;
      Datastore::get(ws, ref.datastore_name);  // an unknown datastore is this input's problem
      return ref;
    }
    auto asset = arm_asset(uri, "data");
    // azure-ai-ml builds the id of an input "azureml:<name>@latest" with "azureml:<name>" as
    // the asset's name segment: the name is what follows the prefix.
    if (asset && asset->first.rfind("azureml:", 0) == 0) asset->first.erase(0, 8);
    if (!asset) asset = short_asset(uri);
    if (!asset) break;
    const auto d = get_data_version(ws, asset->first, asset->second);
    if (!d) {
      fail(path, "data asset " + asset->first + (asset->second.empty() ? "" : ":" + asset->second) +
                     " does not exist in workspace " + ws.name());
    }
    uri = d->uri;
  }
  fail(path, "'" + printable(uri) + "' is not available offline; use a data asset or "
             "azureml://datastores/<name>/paths/<path>");
}


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

// ---- Online endpoints and deployments from their REST bodies (the ARM shapes). ----

namespace amlemu {

namespace {

// An ISO-8601 duration of the probes and request settings ("PT5S", "PT1M30S", "PT0.5S") in
// milliseconds.
long long duration_ms(const json& v, const std::string& path) {
  if (!v.is_string()) fail(path, "must be an ISO-8601 duration such as PT10S");
  const auto s = v.get<std::string>();
  if (s.rfind("PT", 0) != 0 || s.size() < 4) fail(path, "'" + s + "' must be an ISO-8601 duration such as PT10S");
  double total = 0, number = 0, scale = 0;
  bool seen = false;
  for (size_t i = 2; i < s.size(); ++i) {
    const char c = s[i];
    if (std::isdigit(static_cast<unsigned char>(c))) {
      if (scale > 0) {
        number += (c - '0') * scale;
        scale /= 10;
      } else {
        number = number * 10 + (c - '0');
      }
      seen = true;
    } else if (c == '.' && scale == 0) {
      scale = 0.1;
    } else if ((c == 'H' || c == 'M' || c == 'S') && seen) {
      total += number * (c == 'H' ? 3600 : c == 'M' ? 60 : 1);
      number = 0;
      scale = 0;
      seen = false;
    } else {
      fail(path, "'" + s + "' must be an ISO-8601 duration such as PT10S");
    }
  }
  if (seen) fail(path, "'" + s + "' must be an ISO-8601 duration such as PT10S");
  return static_cast<long long>(total * 1000 + 0.5);
}

int seconds_of(const json& obj, const std::string& key, const std::string& path, int fallback) {
  if (!obj.contains(key) || obj[key].is_null()) return fallback;
  return static_cast<int>(duration_ms(obj[key], path + "." + key) / 1000);
}

ProbeSettings probe_from_rest(const json& p, const std::string& path) {
  ProbeSettings s;
  if (!p.is_object()) return s;
  s.initial_delay = seconds_of(p, "initialDelay", path, s.initial_delay);
  s.period = std::max(1, seconds_of(p, "period", path, s.period));
  s.timeout = std::max(1, seconds_of(p, "timeout", path, s.timeout));
  if (p.contains("failureThreshold") && p["failureThreshold"].is_number_integer()) {
    s.failure_threshold = std::max(1, p["failureThreshold"].get<int>());
  }
  return s;
}

std::string iso_seconds(long long ms) {
  if (ms % 1000 == 0) return "PT" + std::to_string(ms / 1000) + "S";
  return "PT" + std::to_string(ms / 1000) + "." + std::to_string(ms % 1000 / 100) + "S";
}

json probe_rest(const ProbeSettings& p) {
  return {{"initialDelay", iso_seconds(p.initial_delay * 1000LL)},
          {"period", iso_seconds(p.period * 1000LL)},
          {"timeout", iso_seconds(p.timeout * 1000LL)},
          {"successThreshold", p.success_threshold},
          {"failureThreshold", p.failure_threshold}};
}

std::string auth_mode_from_rest(const std::string& mode, const std::string& path) {
  const auto m = to_lower(mode);
  if (m.empty() || m == "key") return "key";
  if (m == "amltoken") return "aml_token";
  if (m == "aadtoken") fail(path, "'AADToken' needs Microsoft Entra ID, which amlemu does not have offline; use Key or AMLToken");
  fail(path, "'" + mode + "' is not supported (Key or AMLToken)");
}

std::map<std::string, int> shares_from_rest(const json& p, const std::string& key, const std::string& path) {
  std::map<std::string, int> out;
  for (const auto& [name, v] : object(p, key, path).items()) {
    if (!v.is_number_integer()) fail(path + "." + key + "." + name, "must be an integer percent");
    out[name] = v.get<int>();
  }
  return out;
}

}  // namespace

OnlineEndpoint endpoint_from_rest(const std::string& name, const nlohmann::json& body) {
  if (!body.is_object()) fail("(body)", "must be an object with properties");
  const auto& p = object(body, "properties", "");
  const std::string root = "properties";
  OnlineEndpoint e;
  e.name = name;
  e.auth_mode = auth_mode_from_rest(str(p, "authMode", root), root + ".authMode");
  e.description = str(p, "description", root);
  e.traffic = shares_from_rest(p, "traffic", root);
  e.mirror_traffic = shares_from_rest(p, "mirrorTraffic", root);
  for (const auto& [k, v] : object(body, "tags", "").items()) e.tags[k] = v.is_string() ? v.get<std::string>() : v.dump();
  return e;
}

nlohmann::json endpoint_to_rest(const OnlineEndpoint& e) {
  return {{"authMode", e.auth_mode == "aml_token" ? "AMLToken" : "Key"},
          {"description", e.description.empty() ? json(nullptr) : json(e.description)},
          {"scoringUri", e.scoring_uri},
          {"swaggerUri", e.swagger_uri},
          {"traffic", e.traffic},
          {"mirrorTraffic", e.mirror_traffic},
          {"publicNetworkAccess", "Disabled"},
          {"provisioningState", e.provisioning_state == "NotRunning" ? "Failed" : "Succeeded"},
          {"properties", json::object()}};
}

OnlineDeployment deployment_from_rest(const Workspace& ws, const std::string& endpoint, const std::string& name,
                                      const nlohmann::json& body) {
  if (!body.is_object()) fail("(body)", "must be an object with properties");
  const auto& p = object(body, "properties", "");
  const std::string root = "properties";
  OnlineDeployment d;
  d.endpoint = endpoint;
  d.name = name;
  const auto compute = to_lower(str(p, "endpointComputeType", root));
  if (!compute.empty() && compute != "managed") {
    fail(root + ".endpointComputeType", "'" + str(p, "endpointComputeType", root) + "' is not supported (Managed)");
  }
  const auto model = str(p, "model", root);
  if (model.empty()) fail(root + ".model", "is required (a model version of this workspace)");
  if (const auto a = arm_asset(model, "models"); a && !a->second.empty()) {
    d.model = "azureml:" + a->first + ":" + a->second;
  } else if (short_asset(model)) {
    d.model = model;
  } else {
    fail(root + ".model", "'" + printable(model) + "' is not a model version of this workspace (.../models/<name>/versions/<version>)");
  }
  const auto& cc = object(p, "codeConfiguration", root);
  const auto code_id = str(cc, "codeId", root + ".codeConfiguration");
  if (code_id.empty()) fail(root + ".codeConfiguration.codeId", "is required: amlemu runs a scoring script");
  d.code = code_folder(ws, code_id, root + ".codeConfiguration.codeId");
  d.scoring_script = str(cc, "scoringScript", root + ".codeConfiguration");
  if (d.scoring_script.empty()) fail(root + ".codeConfiguration.scoringScript", "is required");
  d.environment = environment_reference(str(p, "environmentId", root), root + ".environmentId");
  for (const auto& [k, v] : object(p, "environmentVariables", root).items()) {
    if (!v.is_string()) fail(root + ".environmentVariables." + k, "must be a string, got " + kind_of(v));
    d.environment_variables[k] = v.get<std::string>();
  }
  d.instance_type = str(p, "instanceType", root);
  d.description = str(p, "description", root);
  const auto& sku = object(body, "sku", "");
  if (sku.contains("capacity") && sku["capacity"].is_number_integer()) {
    d.instance_count = sku["capacity"].get<int>();
    if (d.instance_count < 1 || d.instance_count > 20) fail("sku.capacity", "must be 1 to 20");
  }
  const auto& rs = object(p, "requestSettings", root);
  if (rs.contains("requestTimeout") && !rs["requestTimeout"].is_null()) {
    d.request_timeout_ms = static_cast<int>(duration_ms(rs["requestTimeout"], root + ".requestSettings.requestTimeout"));
  }
  if (rs.contains("maxConcurrentRequestsPerInstance") && rs["maxConcurrentRequestsPerInstance"].is_number_integer()) {
    d.max_concurrent_requests_per_instance = std::max(1, rs["maxConcurrentRequestsPerInstance"].get<int>());
  }
  d.liveness = probe_from_rest(object(p, "livenessProbe", root), root + ".livenessProbe");
  d.readiness = probe_from_rest(object(p, "readinessProbe", root), root + ".readinessProbe");
  return d;
}

nlohmann::json deployment_to_rest(const Workspace& ws, const OnlineDeployment& d) {
  // A versioned asset reference as its ARM id (what the service answers with); others as given.
  const auto arm_id = [&](const std::string& ref, const std::string& kind) {
    const auto a = short_asset(ref);
    if (!a || a->second.empty()) return ref;
    return "/subscriptions/" + ws.subscription_id() + "/resourceGroups/" + ws.resource_group() +
           "/providers/Microsoft.MachineLearningServices/workspaces/" + ws.name() + "/" + kind + "/" +
           a->first + "/versions/" + a->second;
  };
  const auto model = arm_id(d.model.empty() ? d.model_path.string() : d.model, "models");
  const auto environment =
      arm_id(d.environment.is_string() ? d.environment.get<std::string>() : d.environment.dump(), "environments");
  const std::string state = d.provisioning_state.empty() ? "Succeeded" : d.provisioning_state;
  return {{"endpointComputeType", "Managed"},
          {"model", model},
          {"codeConfiguration", {{"codeId", nullptr}, {"scoringScript", d.scoring_script}}},
          {"environmentId", environment},
          {"environmentVariables", d.environment_variables},
          {"instanceType", d.instance_type.empty() ? json(nullptr) : json(d.instance_type)},
          {"description", d.description.empty() ? json(nullptr) : json(d.description)},
          {"requestSettings",
           {{"requestTimeout", iso_seconds(d.request_timeout_ms)},
            {"maxConcurrentRequestsPerInstance", d.max_concurrent_requests_per_instance},
            {"maxQueueWait", "PT0.5S"}}},
          {"livenessProbe", probe_rest(d.liveness)},
          {"readinessProbe", probe_rest(d.readiness)},
          {"scaleSettings", {{"scaleType", "Default"}}},
          {"appInsightsEnabled", false},
          {"egressPublicNetworkAccess", "Disabled"},
          {"provisioningState", state},
          {"properties", json::object()}};
}

}  // namespace amlemu
