// A parent run (children listed by its job) and a sweep's parent (trials sampled, submitted,
// ended early, the best one recorded): Running while their children run.
#include "launch/driver.hpp"
#include "launch/supervisor.hpp"

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>

#include "amlemu/assets.hpp"
#include "amlemu/errors.hpp"
#include "amlemu/run.hpp"
#include "collection/collect.hpp"
#include "collection/live_sync.hpp"
#include "common/fs.hpp"
#include "common/paths.hpp"
#include "common/proc.hpp"
#include "compute/node_source.hpp"
#include "environment/environment.hpp"
#include "history/run_store.hpp"
#include "launch/bayesian_sampler.hpp"
#include "launch/child_runs.hpp"
#include "launch/sweep_runs.hpp"
#include "launch/process_environment.hpp"
#include "launch/run_tasks.hpp"
#include "launch/service_logs.hpp"
#include "workspace/layout.hpp"

namespace amlemu::launch {

namespace stdfs = std::filesystem;

void Driver::drive_parent(const history::RunRecord& rec) {
  const auto& def = rec.definition;
  target_ = rec.target;
  if (!status(RunStatus::Running) || canceled()) return;
  const auto parent_log = logs_dir_ / "parent_log.txt";
  const int max_seconds = def.value("maxRunDurationSeconds", 2592000);
  const auto deadline = clock_.now() + std::chrono::seconds(max_seconds);
  auto source = listed_children(def);
  const auto result = run_children(
      ws_, id_, *source, def.value("maxConcurrentRuns", 0), launcher_, clock_, policy_.poll,
      policy_.grace,
      [&]() -> std::optional<StopRequest> {
        if (interrupts_.cancel) return StopRequest{StopReason::Canceled, graceful_stop(policy_.grace)};
        if (clock_.now() >= deadline) {
          status(RunStatus::CancelRequested);
          return StopRequest{StopReason::TimedOut, graceful_stop(policy_.grace)};
        }
        return std::nullopt;
      },
      [&](const std::string& child) { logs_.close_primary(parent_log, "Child run " + child + " submitted"); });
  const auto outcome = roll_up_children(result.reason, result.failed, result.children, max_seconds);
  logs_.close_primary(parent_log, outcome.closing_line);
  register_files();
  status(outcome.status.c_str(), outcome.error);
}

void Driver::drive_sweep(const history::RunRecord& rec) {
  const auto& def = rec.definition;
  const auto& sw = def.at("sweep");
  target_ = rec.target;
  if (!status(RunStatus::Running) || canceled()) return;
  const auto log_file = logs_dir_ / "hyperdrive.txt";
  const auto say = [&](const char* source, const std::string& message) {
    std::ofstream(log_file, std::ios::app)
        << hyperdrive_line(iso_utc(clock_.wall()), source, message) << "\n" << std::flush;
  };
  const auto goal = sweep::parse_goal(sw.at("objective").at("goal").get<std::string>(), "goal");
  const auto metric = sw.at("objective").at("primaryMetric").get<std::string>();
  const auto policy = sweep::parse_policy_v2(sw.value("earlyTermination", nlohmann::json()), "early_termination");
  const auto& limits = sw.at("limits");
  SweepTrials source(def, id_, rec.experiment_name);
  say("API", "Experiment created");
  std::vector<std::string> children;
  std::set<std::string> terminated;
  bool metric_missing = false;
  auto last_look = clock_.now() - std::chrono::seconds(1);
  // Every trial's primary metric so far (numbers only), and whether it has ended.
  const auto look = [&] {
    std::vector<sweep::Trial> trials;
    for (const auto& c : children) {
      sweep::Trial t;
      t.id = c;
      t.finished = RunStatus::is_terminal(store_.status(c).value_or(RunStatus::Failed));
      for (const auto& p : store_.metric_history(c, metric)) {
        if (p.value.is_number()) t.values.push_back(p.value.get<double>());
      }
      trials.push_back(std::move(t));
    }
    return trials;
  };
  // hyperdrive.txt says when each trial ends (job stream shows it as it happens).
  std::set<std::string> announced;
  const auto announce_ends = [&](const std::vector<sweep::Trial>& trials) {
    for (const auto& t : trials) {
      if (!t.finished || !announced.insert(t.id).second) continue;
      say("SCHEDULER", "Run '" + t.id + "' ended " + store_.status(t.id).value_or("?") +
                           (t.values.empty() ? "" : ", " + metric + " " + nlohmann::json(t.values.back()).dump()));
    }
  };
  // Bayesian sampling: each point from Optuna's TPE given the trials so far, in an
  // environment with Optuna that Preparing builds once and caches.
  std::optional<environment::Prepared> sampler_env;
  std::optional<BayesianSampler> bayesian;
  if (source.bayesian()) {
    say("GENERATOR", std::string("Bayesian sampling: Optuna's TPE sampler (") + kBayesianRequirement + ")");
    sampler_env = prepare_environment(
        {{"environment", {{"python", {{"pipPackages", nlohmann::json::array({kBayesianRequirement})}}}}}});
    if (!sampler_env) return;  // failed (Preparing says why) or canceled
    say("GENERATOR", "The sampler's environment " + sampler_env->id +
                         (sampler_env->built ? " was built (azureml-logs/20_image_build_log.txt)"
                                             : " was found in the cache"));
    bayesian.emplace(sampler_env->python, share_dir() / "python", layout::run_dir(ws_.state_dir(), id_) / "sampler",
                     logs_dir_ / "bayesian_sampler.txt", launcher_);
    source.set_sampler([&] {
      return bayesian->next(bayesian_request(sw.at("searchSpace"), goal, source.seed(), look(), source.points()));
    });
  }
  // Two trials (or all, if fewer) completed without the primary metric: it is misnamed.
  const auto check_missing = [&](const std::vector<sweep::Trial>& trials) {
    int completed = 0, with_metric = 0;
    for (const auto& t : trials) {
      if (!t.values.empty()) ++with_metric;
      if (t.finished && store_.status(t.id) == std::optional<std::string>(RunStatus::Completed)) ++completed;
    }
    if (with_metric == 0 && completed >= std::min<long long>(2, limits.at("maxTotalTrials").get<long long>())) {
      metric_missing = true;
    }
  };
  const auto on_poll = [&] {
    if (clock_.now() - last_look < std::chrono::milliseconds(250)) return;
    last_look = clock_.now();
    const auto trials = look();
    announce_ends(trials);
    for (const auto& end : sweep::evaluate(policy, goal, trials)) {
      if (!terminated.insert(end.id).second) continue;
      say("SCHEDULER", "Run '" + end.id + "' is being canceled by the early termination policy: " + end.reason);
      store_.merge_properties(end.id, {{"azureml.earlyTermination", end.reason}});
      Run(ws_, end.id).cancel();
    }
    check_missing(trials);
  };
  // Trials seen ended; a trial that ends is looked at before the next one starts (the scheduler
  // tops up right after an end), so a misnamed metric stops the sweep after its first trials.
  std::set<std::string> ended;
  const auto newly_ended = [&] {
    bool any = false;
    for (const auto& c : children) {
      if (ended.count(c)) continue;
      if (RunStatus::is_terminal(store_.status(c).value_or(RunStatus::Failed))) {
        ended.insert(c);
        any = true;
      }
    }
    return any;
  };
  const long long max_seconds = def.value("maxRunDurationSeconds", 604800LL);
  const auto deadline = clock_.now() + std::chrono::seconds(max_seconds);
  say("GENERATOR", "Trying to sample '" + std::to_string(limits.at("maxConcurrentTrials").get<int>()) +
                       "' jobs from the hyperparameter space");
  const auto result = run_children(
      ws_, id_, source, limits.at("maxConcurrentTrials").get<int>(), launcher_, clock_, policy_.poll,
      policy_.grace,
      [&]() -> std::optional<StopRequest> {
        if (interrupts_.cancel) return StopRequest{StopReason::Canceled, graceful_stop(policy_.grace)};
        if (!metric_missing && newly_ended()) check_missing(look());
        if (metric_missing) return StopRequest{StopReason::Canceled, graceful_stop(policy_.grace)};
        if (clock_.now() >= deadline) {
          status(RunStatus::CancelRequested);
          return StopRequest{StopReason::TimedOut, graceful_stop(policy_.grace)};
        }
        return std::nullopt;
      },
      [&](const std::string& child) {
        children.push_back(child);
        say("SCHEDULER", "Scheduling job, id='" + child + "', hyperparameters " +
                             nlohmann::json(source.points().at(child)).dump());
      },
      on_poll);
  const auto trials = look();
  announce_ends(trials);
  const auto best = best_trial(trials, goal);
  int failed = 0;
  for (const auto& c : children) failed += store_.status(c) == std::optional<std::string>(RunStatus::Failed) ? 1 : 0;
  register_files();
  if (best) {
    store_.merge_properties(id_, {{"best_child_run_id", best->run_id},
                                  {"score", nlohmann::json(best->score).dump()},
                                  {"best_metric_status", "Succeeded"}});
    say("SCHEDULER", "Best trial '" + best->run_id + "', " + metric + " " + nlohmann::json(best->score).dump());
  }
  if (result.reason == StopReason::TimedOut || (result.reason == StopReason::Canceled && !metric_missing)) {
    say("SCHEDULER", result.reason == StopReason::TimedOut ? "The sweep's timeout was reached; its trials were canceled"
                                                           : "The sweep was canceled; its trials were canceled");
    status(RunStatus::Canceled);
    return;
  }
  if (metric_missing || !best) {
    const auto message = "The primary metric '" + metric + "' was logged by none of the " +
                         std::to_string(children.size()) +
                         " trials that ran: objective.primary_metric must name a metric the trial logs";
    say("SCHEDULER", message);
    status(RunStatus::Failed, service_error("UserError", message));
    return;
  }
  if (failed == static_cast<int>(children.size())) {
    const auto message = "All " + std::to_string(failed) + " trials failed" +
                         (result.failed ? "; the first: " + result.failed->run_id + ": " + result.failed->message : "");
    status(RunStatus::Failed, service_error("UserError", message));
    return;
  }
  say("SCHEDULER", "The sweep completed: " + std::to_string(children.size()) + " trials, " +
                       std::to_string(terminated.size()) + " ended by the early termination policy");
  status(RunStatus::Completed);
}

}  // namespace amlemu::launch
