// HyperDrive (SDK v1): a HyperDriveConfig into the sweep definition every sweep runs from, and
// a spec's "hyperdrive" section read with the SDK's names.
#include "amlemu/hyperdrive.hpp"

#include "amlemu/errors.hpp"
#include "common/text.hpp"
#include "sweep/policy.hpp"
#include "sweep/space.hpp"

#include <set>

namespace amlemu {

namespace {

using nlohmann::json;

[[noreturn]] void fail(const std::string& path, const std::string& problem) {
  throw UserErrorException(path + ": " + problem);
}

}  // namespace

json hyperdrive_definition(const HyperDriveConfig& c) {
  const auto space = sweep::parse_space(c.parameter_space, false, "parameter_space");
  const auto sampling = to_lower(c.sampling);
  if (sampling != "random" && sampling != "grid" && sampling != "bayesian") {
    fail("hyperparameter_sampling", "'" + c.sampling + "' is not RandomParameterSampling, GridParameterSampling "
                                    "or BayesianParameterSampling");
  }
  const auto policy = sweep::parse_policy_v1(c.policy, "policy");
  sweep::check_sampling(sampling, space, policy, "policy");
  if (c.primary_metric_name.empty()) fail("primary_metric_name", "is required");
  const auto goal = sweep::parse_goal(c.primary_metric_goal, "primary_metric_goal");
  if (c.max_total_runs < 1 || c.max_total_runs > 1000) fail("max_total_runs", "must be an integer from 1 to 1000");
  if (c.max_concurrent_runs < 0 || c.max_concurrent_runs > 100) {
    fail("max_concurrent_runs", "must be an integer from 1 to 100");
  }
  if (c.max_duration_minutes < 1 || c.max_duration_minutes > 43200) {
    fail("max_duration_minutes", "must be an integer from 1 to 43200");
  }
  json sampling_doc = {{"type", sampling}};
  if (c.seed) sampling_doc["seed"] = *c.seed;
  return {{"searchSpace", c.parameter_space},
          {"arguments", true},  // the space's names are script arguments
          {"sampling", sampling_doc},
          {"objective",
           {{"goal", goal == sweep::Goal::maximize ? "maximize" : "minimize"}, {"primaryMetric", c.primary_metric_name}}},
          {"earlyTermination", sweep::to_rest(policy)},
          {"limits",
           {{"maxTotalTrials", c.max_total_runs},
            {"maxConcurrentTrials", c.max_concurrent_runs == 0 ? c.max_total_runs : c.max_concurrent_runs},
            {"timeoutSeconds", static_cast<long long>(c.max_duration_minutes) * 60},
            {"trialTimeoutSeconds", 0}}}};
}

HyperDriveConfig parse_hyperdrive(const nlohmann::ordered_json& section, const Estimator& estimator) {
  const std::string root = "hyperdrive";
  if (!section.is_object()) fail(root, "must be an object");
  static const std::set<std::string> known = {"hyperparameter_sampling", "policy", "primary_metric_name",
                                              "primary_metric_goal", "max_total_runs", "max_concurrent_runs",
                                              "max_duration_minutes"};
  for (const auto& [k, _] : section.items()) {
    if (!known.count(k)) fail(root + "." + k, "unknown key");
  }
  const auto integer = [&](const char* key, int fallback) {
    if (!section.contains(key)) return fallback;
    const auto& v = section[key];
    if (!v.is_number_integer() || v.get<long long>() < -1 || v.get<long long>() > 1000000) {
      fail(root + "." + key, "must be an integer");
    }
    return v.get<int>();
  };
  const auto text = [&](const char* key) {
    if (!section.contains(key)) return std::string();
    if (!section[key].is_string()) fail(root + "." + key, "must be a string");
    return section[key].get<std::string>();
  };
  HyperDriveConfig c;
  c.estimator = estimator;
  if (!section.contains("hyperparameter_sampling")) fail(root + ".hyperparameter_sampling", "is required");
  const json sampling = json::parse(section["hyperparameter_sampling"].dump());
  const auto spath = root + ".hyperparameter_sampling";
  if (!sampling.is_object() || !sampling.contains("name") || !sampling["name"].is_string()) {
    fail(spath, "expected {\"name\": \"RANDOM\" | \"GRID\" | \"BayesianOptimization\", \"parameter_space\": {...}}");
  }
  const auto name = to_lower(sampling["name"].get<std::string>());
  if (name == "random") c.sampling = "random";
  else if (name == "grid") c.sampling = "grid";
  else if (name == "bayesianoptimization" || name == "bayesian") c.sampling = "bayesian";
  else fail(spath + ".name", "unknown sampling '" + sampling["name"].get<std::string>() + "'");
  if (!sampling.contains("parameter_space")) fail(spath + ".parameter_space", "is required");
  c.parameter_space = sampling["parameter_space"];
  const auto props = sampling.value("properties", json::object());
  if (props.contains("seed")) {
    if (!props["seed"].is_number_unsigned()) fail(spath + ".properties.seed", "must be a non-negative integer");
    c.seed = props["seed"].get<std::uint64_t>();
  }
  if (section.contains("policy")) c.policy = json::parse(section["policy"].dump());
  c.primary_metric_name = text("primary_metric_name");
  if (section.contains("primary_metric_goal")) c.primary_metric_goal = text("primary_metric_goal");
  c.max_total_runs = integer("max_total_runs", 0);
  c.max_concurrent_runs = integer("max_concurrent_runs", 0);
  c.max_duration_minutes = integer("max_duration_minutes", 10080);
  try {
    hyperdrive_definition(c);  // every rule, named under hyperdrive.
  } catch (const UserErrorException& e) {
    throw UserErrorException(root + "." + e.what());
  }
  return c;
}

}  // namespace amlemu
