// CLI v2 command-job YAML, read with yaml-cpp into the same Estimator a JSON spec gives.
#include "amlemu/job_yaml.hpp"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <map>
#include <regex>
#include <set>

#include "amlemu/errors.hpp"
#include "common/clock.hpp"
#include "common/fs.hpp"
#include "common/hash.hpp"
#include "common/text.hpp"
#include "spec/job_yaml_io.hpp"
#include "spec/yaml_reader.hpp"
#include "sweep/policy.hpp"
#include "sweep/space.hpp"

namespace amlemu {

namespace stdfs = std::filesystem;

using spec::apply_override;
using spec::Reader;

nlohmann::json spec::environment_node(const Reader& r, const YAML::Node& node,
                                      const stdfs::path& base, std::vector<std::string>& warnings) {
  const auto& env = node;
  if (env.IsScalar()) {
    return env.as<std::string>();
  } else if (env.IsMap()) {
    r.keys(env, "environment", {"image", "conda_file", "name", "version", "description", "tags"},
           {"build", "os_type", "inference_config"}, warnings);
    nlohmann::json inline_env = nlohmann::json::object();
    if (env["image"]) inline_env["image"] = r.str(env["image"], "environment.image");
    if (env["conda_file"]) {
      const auto& cf = env["conda_file"];
      YAML::Node conda;
      if (cf.IsScalar()) {
        try {
          conda = YAML::LoadFile((base / cf.as<std::string>()).string());
        } catch (const YAML::Exception& ex) {
          r.fail(cf, "environment.conda_file", "cannot read '" + cf.as<std::string>() + "': " + ex.msg);
        }
      } else {
        conda = cf;
      }
      const auto deps = spec::conda_dependencies(conda);
      inline_env["pipPackages"] = deps["pipPackages"];
      inline_env["condaPackages"] = deps["condaPackages"];
      inline_env["condaChannels"] = deps["condaChannels"];
    }
    if (!inline_env.contains("image") && !inline_env.contains("pipPackages")) {
      r.fail(env, "environment", "an inline environment needs image or conda_file");
    }
    return inline_env;
  } else {
    r.fail(env, "environment", "must be azureml:<name>:<version>, azureml:<name>@latest, a "
                               "registry URI, or a mapping with image/conda_file");
  }
}

nlohmann::json spec::conda_dependencies(const YAML::Node& conda) {
  // Conda packages go to Preparing as written (python=3.X included), where they become PyPI
  // requirements; `pip` itself is not a package to install.
  nlohmann::json pip = nlohmann::json::array(), other = nlohmann::json::array(),
                 channels = nlohmann::json::array();
  for (const auto& d : conda["dependencies"]) {
    if (d.IsMap() && d["pip"]) {
      for (const auto& p : d["pip"]) pip.push_back(p.as<std::string>());
    } else if (d.IsScalar()) {
      const auto name = d.as<std::string>();
      static const std::regex installer(R"(^pip([=<>!~ ].*)?$)");
      if (!std::regex_match(name, installer)) other.push_back(name);
    }
  }
  for (const auto& c : conda["channels"]) {
    if (c.IsScalar()) channels.push_back(c.as<std::string>());
  }
  return {{"pipPackages", pip}, {"condaPackages", other}, {"condaChannels", channels}};
}

std::string spec::substitute_expressions(const std::string& command,
                                         const std::map<std::string, std::string>& replacement,
                                         std::string* unknown) {
  // Each ${{ name }} (spaces around the name optional); scanned by hand: a std::regex costs
  // every `job create` a tenth of a millisecond to compile.
  const auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  std::string out;
  size_t last = 0;
  for (size_t open = command.find("${{"); open != std::string::npos;
       open = command.find("${{", last)) {
    const size_t close = command.find("}}", open + 3);
    if (close == std::string::npos) break;
    const size_t brace = command.find('}', open + 3);
    if (brace < close) {  // a lone '}' inside: not an expression
      out += command.substr(last, brace + 1 - last);
      last = brace + 1;
      continue;
    }
    size_t b = open + 3, e = close;
    while (b < e && is_space(command[b])) ++b;
    while (e > b && is_space(command[e - 1])) --e;
    const std::string what = command.substr(b, e - b);
    const auto found = replacement.find(what);
    if (found == replacement.end()) {
      *unknown = what;
      return "";
    }
    out += command.substr(last, open - last) + found->second;
    last = close + 2;
  }
  unknown->clear();
  return out + command.substr(last);
}

namespace {

// A YAML value as JSON: quoted scalars stay strings; plain ones become null, booleans, integers
// or numbers when they read as such.
nlohmann::json yaml_json(const YAML::Node& n) {
  if (!n || n.IsNull()) return nullptr;
  if (n.IsSequence()) {
    nlohmann::json a = nlohmann::json::array();
    for (const auto& x : n) a.push_back(yaml_json(x));
    return a;
  }
  if (n.IsMap()) {
    nlohmann::json o = nlohmann::json::object();
    for (const auto& kv : n) o[kv.first.as<std::string>()] = yaml_json(kv.second);
    return o;
  }
  const auto text = n.Scalar();
  if (n.Tag() == "!") return text;
  if (text == "true" || text == "True") return true;
  if (text == "false" || text == "False") return false;
  try {
    size_t used = 0;
    const long long i = std::stoll(text, &used);
    if (used == text.size()) return i;
    const double d = std::stod(text, &used);
    if (used == text.size()) return d;
  } catch (const std::exception&) {
  }
  return text;
}

long long positive(const Reader& r, const YAML::Node& n, const std::string& key, long long low,
                   long long high) {
  const auto v = yaml_json(n);
  if (!v.is_number_integer() || v.get<long long>() < low || v.get<long long>() > high) {
    r.fail(n, key, "must be an integer from " + std::to_string(low) + " to " + std::to_string(high));
  }
  return v.get<long long>();
}

}  // namespace

nlohmann::json spec::sweep_definition(const Reader& r, const YAML::Node& root, const std::string& file,
                                      std::vector<std::string>& warnings) {
  r.keys(root, "",
         {"$schema", "type", "name", "display_name", "experiment_name", "description", "tags",
          "trial", "search_space", "sampling_algorithm", "objective", "early_termination", "limits",
          "inputs", "outputs", "compute"},
         {"services", "queue_settings", "identity", "properties"}, warnings);
  if (!root["trial"] || !root["trial"].IsMap()) r.fail(root, "trial", "is required: the command job each trial runs");
  if (!root["search_space"]) r.fail(root, "search_space", "is required");
  if (!root["objective"]) r.fail(root, "objective", "is required (goal and primary_metric)");
  if (!root["limits"]) r.fail(root, "limits", "is required (max_total_trials at least)");
  nlohmann::json sweep;
  const auto prefix = [&](const std::exception& e) { return file + ": " + e.what(); };
  try {
    sweep["searchSpace"] = yaml_json(root["search_space"]);
    for (const auto& [name, _] : sweep["searchSpace"].items()) {
      if (!matches(name, kIdentifier)) {
        r.fail(root["search_space"], "search_space." + name,
               "names are made of letters, digits and underscores, not starting with a digit");
      }
    }
    const auto space = sweep::parse_space(sweep["searchSpace"], true, "search_space");
    // sampling_algorithm: random (the default), grid, or {type: random, seed, rule, logbase}.
    nlohmann::json sampling = {{"type", "random"}};
    if (const auto& sa = root["sampling_algorithm"]; sa) {
      if (sa.IsScalar()) {
        sampling["type"] = sa.Scalar();
      } else if (sa.IsMap()) {
        r.keys(sa, "sampling_algorithm", {"type", "seed", "rule", "logbase"}, {}, warnings);
        if (!sa["type"]) r.fail(sa, "sampling_algorithm.type", "is required");
        sampling["type"] = r.str(sa["type"], "sampling_algorithm.type");
        if (sa["seed"]) sampling["seed"] = positive(r, sa["seed"], "sampling_algorithm.seed", 0, 4294967295LL);
        if (sa["rule"] && r.str(sa["rule"], "sampling_algorithm.rule") != "random") {
          r.fail(sa["rule"], "sampling_algorithm.rule", "only random is supported (sobol is not)");
        }
        if (sa["logbase"]) warnings.push_back("sampling_algorithm.logbase is accepted but ignored by amlemu");
      } else {
        r.fail(sa, "sampling_algorithm", "must be random, grid or a mapping with a type");
      }
      const auto t = sampling["type"].get<std::string>();
      if (t != "random" && t != "grid" && t != "bayesian") {
        r.fail(sa, "sampling_algorithm", "'" + t + "' is not random, grid or bayesian");
      }
    }
    sweep["sampling"] = sampling;
    const auto& obj = root["objective"];
    r.keys(obj, "objective", {"goal", "primary_metric"}, {}, warnings);
    if (!obj["goal"]) r.fail(obj, "objective.goal", "is required (maximize or minimize)");
    if (!obj["primary_metric"]) r.fail(obj, "objective.primary_metric", "is required");
    const auto goal = sweep::parse_goal(r.str(obj["goal"], "objective.goal"), "objective.goal");
    sweep["objective"] = {{"goal", goal == sweep::Goal::maximize ? "maximize" : "minimize"},
                          {"primaryMetric", r.str(obj["primary_metric"], "objective.primary_metric")}};
    sweep["earlyTermination"] = yaml_json(root["early_termination"]);
    const auto policy = sweep::parse_policy_v2(sweep["earlyTermination"], "early_termination");
    sweep::check_sampling(sampling["type"].get<std::string>(), space, policy, "early_termination");
    const auto& lim = root["limits"];
    r.keys(lim, "limits", {"max_total_trials", "max_concurrent_trials", "timeout", "trial_timeout"}, {}, warnings);
    if (!lim["max_total_trials"]) r.fail(lim, "limits.max_total_trials", "is required");
    const auto total = positive(r, lim["max_total_trials"], "limits.max_total_trials", 1, 1000);
    const auto concurrent = lim["max_concurrent_trials"]
                                ? positive(r, lim["max_concurrent_trials"], "limits.max_concurrent_trials", 1, 100)
                                : total;
    // Seconds; the SDK raises a timeout under 60 to 60.
    const auto timeout = lim["timeout"] ? std::max(60LL, positive(r, lim["timeout"], "limits.timeout", 1, 2592000)) : 604800LL;
    const auto trial_timeout =
        lim["trial_timeout"] ? std::max(60LL, positive(r, lim["trial_timeout"], "limits.trial_timeout", 1, 2592000)) : 0LL;
    sweep["limits"] = {{"maxTotalTrials", total},
                       {"maxConcurrentTrials", concurrent},
                       {"timeoutSeconds", timeout},
                       {"trialTimeoutSeconds", trial_timeout}};
  } catch (const UserErrorException& e) {
    const std::string what = e.what();
    if (what.rfind(file, 0) == 0) throw;
    throw UserErrorException(prefix(e));
  }
  return sweep;
}

CommandJob load_command_job(const stdfs::path& file, const std::vector<std::string>& overrides) {
  std::error_code ec;
  if (!stdfs::is_regular_file(file, ec)) {
    throw UserErrorException("job file not found: " + file.string());
  }
  auto root = spec::load_yaml_file(file.string(), "job");
  Reader r(file.string());
  if (!root.IsMap()) r.fail(root, "(document)", "must be a mapping of job keys");
  for (const auto& o : overrides) apply_override(root, o, file.string());

  CommandJob job;
  job.file = file;
  Estimator& e = job.spec.estimator;
  const auto base = stdfs::absolute(file).parent_path();
  // The type first: a pipeline, automl, spark or parallel job is refused for what it is, not for
  // the first key a command job lacks (jobs:, task:...).
  const std::string type = root["type"] ? r.str(root["type"], "type") : "command";
  std::set<std::string> search_names;
  if (type == "sweep") {
    // A sweep: its own keys become job.sweep; its trial, on top of the keys it shares with the
    // trials (code, inputs, compute...), is read as the command job each trial runs.
    job.sweep = sweep_definition(r, root, file.string(), e.warnings);
    for (const auto& [name, _] : job.sweep["searchSpace"].items()) search_names.insert(name);
    YAML::Node command_job(YAML::NodeType::Map);
    for (const auto& kv : root) {
      const auto k = kv.first.as<std::string>();
      if (k == "trial" || k == "search_space" || k == "sampling_algorithm" || k == "objective" ||
          k == "early_termination" || k == "limits" || k == "type") {
        continue;
      }
      command_job[kv.first] = kv.second;
    }
    const auto& trial = root["trial"];
    r.keys(trial, "trial", {"command", "code", "environment", "environment_variables", "distribution",
                            "resources", "type", "$schema"},
           {}, e.warnings);
    if (trial["type"] && r.str(trial["type"], "trial.type") != "command") {
      r.fail(trial["type"], "trial.type", "must be command");
    }
    for (const auto& kv : trial) {
      if (kv.first.as<std::string>() != "type" && kv.first.as<std::string>() != "$schema") {
        command_job[kv.first] = kv.second;
      }
    }
    root = command_job;
  } else if (type != "command") {
    r.fail(root["type"], "type", "'" + type + "' jobs are not supported; amlemu runs command and sweep jobs");
  }
  r.keys(root, "",
         {"$schema", "type", "name", "display_name", "experiment_name", "description", "tags",
          "command", "code", "environment", "environment_variables", "distribution", "compute",
          "resources", "limits", "inputs", "outputs"},
         {"services", "queue_settings", "identity", "properties", "is_deterministic"},
         e.warnings);

  if (!root["command"]) r.fail(root, "command", "is required");
  std::string command = r.str(root["command"], "command");
  if (root["name"]) {
    e.run_name = r.str(root["name"], "name");
    if (!matches(e.run_name, kRunName)) {
      r.fail(root["name"], "name", "'" + e.run_name + "' must be 1-255 letters, digits, '_' or '-'");
    }
  }
  if (root["display_name"]) e.display_name = r.str(root["display_name"], "display_name");
  if (root["description"]) e.description = r.str(root["description"], "description");
  if (root["experiment_name"]) {
    job.spec.experiment_name = r.str(root["experiment_name"], "experiment_name");
  } else {
    // Azure's default: the name of the folder the job was created from.
    job.spec.experiment_name = stdfs::current_path().filename().string();
    std::replace_if(job.spec.experiment_name.begin(), job.spec.experiment_name.end(),
                    [](char c) { return !std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-'; },
                    '_');
  }
  if (root["tags"]) {
    if (!root["tags"].IsMap()) r.fail(root["tags"], "tags", "must be a mapping");
    for (const auto& kv : root["tags"]) {
      e.tags[r.key(kv.first, "tags")] = kv.second.IsScalar() ? kv.second.as<std::string>() : "";
    }
  }
  if (root["code"]) {
    const auto code = r.str(root["code"], "code");
    e.source_directory = (base / code).lexically_normal();
    if (e.source_directory.filename().empty()) e.source_directory = e.source_directory.parent_path();
    if (!stdfs::is_directory(e.source_directory, ec)) {
      r.fail(root["code"], "code", "'" + code + "' is not a folder (relative to " + base.string() + ")");
    }
  }
  if (!root["environment"]) r.fail(root, "environment", "is required");
  job.environment = spec::environment_node(r, root["environment"], base, e.warnings);
  if (root["environment_variables"]) {
    const auto& vars = root["environment_variables"];
    if (!vars.IsMap()) r.fail(vars, "environment_variables", "must be a mapping");
    for (const auto& kv : vars) {
      const auto k = r.key(kv.first, "environment_variables");
      if (!matches(k, kIdentifier)) {
        r.fail(kv.first, "environment_variables." + k, "is not a valid variable name");
      }
      if (!kv.second.IsScalar()) {
        r.fail(kv.second, "environment_variables." + k, "must be a string, got " + Reader::kind(kv.second));
      }
      e.environment_variables[k] = kv.second.as<std::string>();
    }
  }
  if (root["compute"]) {
    const auto compute = r.str(root["compute"], "compute");
    if (compute == "local") {
      e.compute_target = "local";
    } else {
      // azureml:<name>, or the bare name, which the service accepts too.
      e.compute_target = compute.rfind("azureml:", 0) == 0 ? compute.substr(8) : compute;
      if (e.compute_target.empty()) {
        r.fail(root["compute"], "compute", "'" + compute + "' names no compute target");
      }
    }
  }
  if (root["resources"]) {
    const auto& res = root["resources"];
    if (!res.IsMap()) r.fail(res, "resources", "must be a mapping");
    r.keys(res, "resources", {"instance_count"},
           {"shm_size", "instance_type", "docker_args", "properties", "locations"}, e.warnings);
    if (res["instance_count"]) e.node_count = r.integer(res["instance_count"], "resources.instance_count", 1);
  }
  if (root["limits"]) {
    const auto& lim = root["limits"];
    if (!lim.IsMap()) r.fail(lim, "limits", "must be a mapping");
    r.keys(lim, "limits", {"timeout"}, {}, e.warnings);
    if (lim["timeout"]) e.max_run_duration_seconds = r.integer(lim["timeout"], "limits.timeout", 1);
  }
  if (root["distribution"]) {
    const auto& d = root["distribution"];
    if (!d.IsMap()) r.fail(d, "distribution", "must be a mapping");
    if (!d["type"]) r.fail(d, "distribution.type", "is required (mpi, tensorflow or pytorch)");
    DistributedTraining dt;
    dt.type = r.str(d["type"], "distribution.type");
    if (dt.type == "mpi") {
      r.keys(d, "distribution", {"type", "process_count_per_instance"}, {}, e.warnings);
      if (!d["process_count_per_instance"]) {
        r.fail(d, "distribution.process_count_per_instance", "is required for type mpi");
      }
      dt.process_count_per_node =
          r.integer(d["process_count_per_instance"], "distribution.process_count_per_instance", 1);
    } else if (dt.type == "pytorch") {
      r.keys(d, "distribution", {"type", "process_count_per_instance"}, {}, e.warnings);
      dt.process_count_per_node =
          d["process_count_per_instance"]
              ? r.integer(d["process_count_per_instance"], "distribution.process_count_per_instance", 1)
              : 1;
    } else if (dt.type == "tensorflow") {
      r.keys(d, "distribution", {"type", "worker_count", "parameter_server_count"}, {}, e.warnings);
      dt.worker_count = d["worker_count"] ? r.integer(d["worker_count"], "distribution.worker_count", 1)
                                          : e.node_count;  // v2: instance_count
      dt.parameter_server_count =
          d["parameter_server_count"]
              ? r.integer(d["parameter_server_count"], "distribution.parameter_server_count", 0)
              : 0;
    } else {
      r.fail(d["type"], "distribution.type",
             "'" + dt.type + "' is not supported (mpi, tensorflow or pytorch)");
    }
    e.distributed_training = dt;
  }

  if (e.node_count > 1 && !e.distributed_training) {
    r.fail(root["resources"]["instance_count"], "resources.instance_count",
           "several instances need a distribution (mpi, tensorflow or pytorch) to say what runs "
           "on each");
  }

  // Inputs: literals are written into the command; data inputs become each node's path.
  std::map<std::string, std::string> replacement;
  if (root["inputs"]) spec::read_job_inputs(r, root["inputs"], base, job, replacement);
  if (root["outputs"]) spec::read_job_outputs(r, root["outputs"], job, replacement);
  // A sweep's trial keeps ${{search_space.x}}: each trial gets its own values.
  for (const auto& name : search_names) {
    replacement["search_space." + name] = "${{search_space." + name + "}}";
  }
  std::string unknown;
  e.command = spec::substitute_expressions(command, replacement, &unknown);
  if (!unknown.empty()) {
    r.fail(root["command"], "command", "${{" + unknown + "}} names no declared input or output");
  }
  e.entry_script = "";
  return job;
}

}  // namespace amlemu
