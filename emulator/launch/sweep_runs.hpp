// A sweep's parent drives its trials: they come from the sweep's sampler (the ChildSource of
// child_runs.hpp), each a copy of the trial with its ${{search_space.x}} replaced, and the
// parent watches their primary metric to apply the early-termination policy and to name the
// best trial. The pieces the supervisor's drive_sweep puts together.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "launch/child_runs.hpp"
#include "sweep/policy.hpp"
#include "sweep/space.hpp"

namespace amlemu::launch {

/// The trials of a sweep's run definition ({"trial", "sweep"}), named <parent>_0, _1...:
/// at most maxTotalTrials, fewer when a grid runs out. A sweep job's trial gets its values in its
/// command; a HyperDrive trial ("arguments": true) as script arguments.
class SweepTrials : public ChildSource {
 public:
  SweepTrials(const nlohmann::json& definition, std::string parent_run_id,
              std::string experiment_name);
  std::optional<JobSpec> next() override;
  bool exhausted() const override;
  /// The values each submitted trial got, by its run id.
  const std::map<std::string, sweep::Point>& points() const { return points_; }
  /// Whether the sweep samples by Bayesian optimization: its points come from `sampler`, which
  /// the parent sets (it needs the trials' results), instead of the space's random sampler.
  bool bayesian() const { return bayesian_; }
  /// The sampling's seed, if it has one.
  std::optional<std::uint64_t> seed() const { return seed_; }
  void set_sampler(std::function<sweep::Point()> sampler) { sampler_ = std::move(sampler); }

 private:
  Estimator trial_;
  std::string parent_, experiment_;
  std::optional<sweep::RandomSampler> random_;
  std::optional<sweep::GridSampler> grid_;
  long long total_ = 0, trial_timeout_ = 0;
  long long given_ = 0;
  bool grid_done_ = false;
  bool bayesian_ = false;
  std::optional<std::uint64_t> seed_;
  bool arguments_ = false;  // HyperDrive: the space's names are script arguments
  std::function<sweep::Point()> sampler_;
  std::map<std::string, sweep::Point> points_;
};

/// HyperDrive's child arguments: the estimator's script parameters without the swept ones, then
/// each swept name with its value, in name order.
std::vector<std::pair<std::string, ScriptParamValue>> with_arguments(
    const std::vector<std::pair<std::string, ScriptParamValue>>& params, const sweep::Point& point);

/// `command` with each ${{search_space.<name>}} replaced by the value of `point` (shell-quoted
/// when it is a string).
std::string substitute_point(const std::string& command, const sweep::Point& point);

/// A value as the trial's command gets it: numbers and booleans as JSON writes them, strings as
/// they are.
std::string value_text(const nlohmann::json& value);

/// The best trial: the one whose best value of the metric (highest when maximizing) is best;
/// trials that never logged it are left out. nullopt when none logged it.
struct BestTrial {
  std::string run_id;
  double score = 0;
};
std::optional<BestTrial> best_trial(const std::vector<sweep::Trial>& trials, sweep::Goal goal);

/// One entry of azureml-logs/hyperdrive.txt, as the service writes it:
/// "<START>[<time>][<source>][INFO]<message><END>\n" (quoted, the \n written as two characters).
std::string hyperdrive_line(const std::string& iso_time, const std::string& source,
                            const std::string& message);

}  // namespace amlemu::launch
