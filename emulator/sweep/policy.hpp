// Room: sweep. Early termination: which live trials a policy ends, given every trial's primary
// metric so far. Pure: the parent's driver feeds the values read from run history and cancels
// what comes back.
//
// One logged value of the primary metric is one interval. A policy applies to a trial at its
// interval N when N is a multiple of evaluation_interval and N >= delay_evaluation:
// - Bandit: ends the trial when its value at N is outside the slack of the best value any trial
//   reached up to N: below best / (1 + slack_factor) or best - slack_amount when maximizing;
//   above best * (1 + slack_factor) or best + slack_amount when minimizing (the SDK documents
//   maximize only; minimize mirrors it).
// - MedianStopping: ends it when its best value up to N is worse than the median, over the trials
//   that reached N, of their running averages over intervals 1..N.
// - TruncationSelection: at N, ranks the trials that reached N (finished ones included, as the
//   SDK's exclude_finished_jobs: false) by their value at N and ends the trial if it is among the
//   worst truncation_percentage % (rounded down).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sweep/space.hpp"

namespace amlemu::sweep {

enum class Goal { maximize, minimize };

/// "maximize" or "minimize" (any case); UserErrorException naming `path` otherwise.
Goal parse_goal(const std::string& goal, const std::string& path);

struct Policy {
  enum class Type { none, bandit, median_stopping, truncation_selection };
  Type type = Type::none;
  int evaluation_interval = 1;
  int delay_evaluation = 0;
  std::optional<double> slack_factor;
  std::optional<double> slack_amount;
  int truncation_percentage = 0;
};

/// The service's name of a policy: "Bandit", "MedianStopping", "TruncationSelection", "Default".
const char* policy_name(Policy::Type type);

/// HyperDrive's JSON (SDK v1): {"name": "Bandit", "properties": {"evaluation_interval": 2,
/// "delay_evaluation": 0, "slack_factor": 0.1}}; null or {"name": "Default"} is no policy.
Policy parse_policy_v1(const nlohmann::json& doc, const std::string& path);
/// A sweep job's early_termination (SDK v2 YAML): {type: bandit, slack_factor, slack_amount,
/// evaluation_interval, delay_evaluation}, {type: median_stopping, ...},
/// {type: truncation_selection, truncation_percentage, ...}; and its REST form
/// ({"policyType": "Bandit", "slackFactor": ...}). A Bandit's zero slack counts as not given.
Policy parse_policy_v2(const nlohmann::json& doc, const std::string& path);

/// `policy` in the REST form parse_policy_v2 reads ({"policyType": "Bandit", "evaluationInterval",
/// "delayEvaluation", "slackFactor" | "slackAmount", "truncationPercentage"}); null for none.
nlohmann::json to_rest(const Policy& policy);

/// Bayesian sampling's rules, Azure ML's: the space holds choice, uniform and quniform only, and
/// no early-termination policy applies. UserErrorException naming "search_space.<name>" or
/// `policy_path` otherwise.
void check_bayesian(const Space& space, const Policy& policy, const std::string& policy_path);

/// The rules a sampling `type` ("random", "grid", "bayesian") puts on the space and the policy:
/// grid takes choice only (GridSampler's message), bayesian check_bayesian's. The one check
/// every way into a sweep makes.
void check_sampling(const std::string& type, const Space& space, const Policy& policy,
                    const std::string& policy_path);

/// The best of a trial's values for `goal`; nullopt when it logged none.
std::optional<double> best_value(const std::vector<double>& values, Goal goal);

/// One trial's primary metric so far, in logging order.
struct Trial {
  std::string id;
  std::vector<double> values;
  bool finished = false;  // ended by itself (or otherwise): compared with, never terminated
};

struct Termination {
  std::string id;
  int interval = 0;      // N, where the policy applied
  std::string reason;    // one line for hyperdrive.txt and the child's status, naming the policy
};

/// The live trials `policy` ends now, each evaluated at its latest interval.
std::vector<Termination> evaluate(const Policy& policy, Goal goal, const std::vector<Trial>& trials);

}  // namespace amlemu::sweep
