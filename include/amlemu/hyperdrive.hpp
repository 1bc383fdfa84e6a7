// HyperDrive, SDK v1's sweeps: HyperDriveConfig and its submission, with the SDK's names. The
// search space's keys are the entry script's argument names ("--batch-size"); each child run
// gets the estimator's arguments with the swept ones given the sampled values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "amlemu/estimator.hpp"
#include "amlemu/experiment.hpp"
#include "amlemu/run.hpp"

namespace amlemu {

/// `HyperDriveConfig(estimator=, hyperparameter_sampling, policy, primary_metric_name,
/// primary_metric_goal, max_total_runs, max_concurrent_runs, max_duration_minutes)`.
struct HyperDriveConfig {
  Estimator estimator;
  /// RandomParameterSampling ("random"), GridParameterSampling ("grid") or
  /// BayesianParameterSampling ("bayesian").
  std::string sampling = "random";
  /// The sampling's space as the SDK serializes it: {"--lr": ["loguniform", [-6, -1]],
  /// "--batch-size": ["choice", [[32, 64]]]}.
  nlohmann::json parameter_space;
  std::optional<std::uint64_t> seed;  // RandomParameterSampling(properties={"seed": N})
  /// The policy as the SDK serializes it: {"name": "Bandit", "properties": {"evaluation_interval":
  /// 2, "slack_factor": 0.1}}, MedianStopping, TruncationSelection; null for none.
  nlohmann::json policy;
  std::string primary_metric_name;
  std::string primary_metric_goal = "maximize";  // PrimaryMetricGoal: maximize or minimize
  int max_total_runs = 0;                        // 1 to 1000
  int max_concurrent_runs = 0;                   // 1 to 100; 0: all at once
  int max_duration_minutes = 10080;
};

/// The sweep definition Experiment::submit_sweep takes, from `config`: the SDK's rules checked
/// (UserErrorException naming the argument: "max_total_runs: ...", "parameter_space.--lr: ...").
/// Pure.
nlohmann::json hyperdrive_definition(const HyperDriveConfig& config);

/// `experiment.submit(hyperdrive_config)`: a HyperDrive parent run named HD_<guid>, its children
/// HD_<guid>_<n>. Throws UserErrorException with nothing recorded on bad input.
Run submit_hyperdrive(const Experiment& experiment, const HyperDriveConfig& config);

/// Reads a spec's "hyperdrive" section (the HyperDriveConfig arguments by their SDK names:
/// hyperparameter_sampling {"name": "RANDOM" | "GRID" | "BayesianOptimization",
/// "parameter_space", "properties"}, policy, primary_metric_name, primary_metric_goal,
/// max_total_runs, max_concurrent_runs, max_duration_minutes) around `estimator`.
/// UserErrorException naming "hyperdrive.<key>".
HyperDriveConfig parse_hyperdrive(const nlohmann::ordered_json& section, const Estimator& estimator);

}  // namespace amlemu
