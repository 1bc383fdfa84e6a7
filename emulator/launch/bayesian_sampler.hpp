// Bayesian sampling for a sweep's parent: the next point comes from Optuna's TPE sampler, run as
// a short helper process (share/amlemu/python/amlemu_sweep/bayesian.py) in an environment with
// Optuna, given every trial so far. The helper keeps no state between points: the history is run
// history's, passed whole each time.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/launcher.hpp"
#include "sweep/policy.hpp"
#include "sweep/space.hpp"

namespace amlemu::launch {

/// The requirement of the helper's environment (Preparing builds it once and caches it).
inline constexpr const char* kBayesianRequirement = "optuna==5.1.0";

/// The helper's request: the space as the sweep wrote it, the goal, the seed, the trials that
/// ended with their best value of the metric (as `best_trial` scores them), and the points of
/// the live ones as pending. Trials that ended without a value are left out. Pure.
nlohmann::json bayesian_request(const nlohmann::json& search_space, sweep::Goal goal,
                                std::optional<std::uint64_t> seed,
                                const std::vector<sweep::Trial>& trials,
                                const std::map<std::string, sweep::Point>& points);

class BayesianSampler {
 public:
  /// `python` has Optuna; request and response files go in `work_dir`, the helper's output to
  /// `log` (appended).
  BayesianSampler(std::filesystem::path python, std::filesystem::path python_package,
                  std::filesystem::path work_dir, std::filesystem::path log, Launcher& launcher);
  /// The next point for `request` (bayesian_request's). Throws std::runtime_error naming the
  /// log when the helper fails.
  sweep::Point next(const nlohmann::json& request);

 private:
  std::filesystem::path python_, package_, dir_, log_;
  Launcher& launcher_;
};

}  // namespace amlemu::launch
