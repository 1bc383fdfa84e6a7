#include "launch/sweep_runs.hpp"

#include "spec/estimator_json.hpp"

namespace amlemu::launch {

using nlohmann::json;

std::string value_text(const json& value) {
  return value.is_string() ? value.get<std::string>() : value.dump();
}

std::vector<std::pair<std::string, ScriptParamValue>> with_arguments(
    const std::vector<std::pair<std::string, ScriptParamValue>>& params, const sweep::Point& point) {
  std::vector<std::pair<std::string, ScriptParamValue>> out;
  for (const auto& p : params) {
    if (!point.count(p.first)) out.push_back(p);
  }
  for (const auto& [name, value] : point) out.emplace_back(name, ScriptParamValue(value));
  return out;
}

std::string substitute_point(const std::string& command, const sweep::Point& point) {
  std::string out = command;
  for (const auto& [name, value] : point) {
    const std::string placeholder = "${{search_space." + name + "}}";
    std::string text = value_text(value);
    if (value.is_string()) {  // one shell word, whatever it holds
      std::string quoted = "'";
      for (char c : text) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
      text = quoted + "'";
    }
    for (auto at = out.find(placeholder); at != std::string::npos; at = out.find(placeholder, at + text.size())) {
      out.replace(at, placeholder.size(), text);
    }
  }
  return out;
}

SweepTrials::SweepTrials(const json& def, std::string parent_run_id, std::string experiment_name)
    : trial_(spec::estimator_from_json(def.at("trial"))),
      parent_(std::move(parent_run_id)),
      experiment_(std::move(experiment_name)) {
  const auto& sweep = def.at("sweep");
  auto space = sweep::parse_space(sweep.at("searchSpace"), true, "search_space");
  const auto& sampling = sweep.at("sampling");
  const auto type = sampling.value("type", std::string("random"));
  if (sampling.contains("seed")) seed_ = sampling["seed"].get<std::uint64_t>();
  if (type == "grid") {
    grid_.emplace(std::move(space));
  } else if (type == "bayesian") {
    bayesian_ = true;
  } else {
    random_.emplace(std::move(space), seed_);
  }
  arguments_ = sweep.value("arguments", false);
  total_ = sweep.at("limits").at("maxTotalTrials").get<long long>();
  trial_timeout_ = sweep.at("limits").value("trialTimeoutSeconds", 0LL);
}

std::optional<JobSpec> SweepTrials::next() {
  if (exhausted()) return std::nullopt;
  std::optional<sweep::Point> point;
  if (grid_) {
    point = grid_->next();
    if (!point) {
      grid_done_ = true;
      return std::nullopt;
    }
  } else if (bayesian_) {
    if (!sampler_) throw std::logic_error("a Bayesian sweep's sampler is not set");
    point = sampler_();
  } else {
    point = random_->next();
  }
  JobSpec spec;
  spec.experiment_name = experiment_;
  spec.estimator = trial_;
  auto& e = spec.estimator;
  if (arguments_) {
    e.script_params = with_arguments(trial_.script_params, *point);
  } else {
    e.command = substitute_point(trial_.command, *point);
  }
  e.run_name = parent_ + "_" + std::to_string(given_);
  if (trial_timeout_ > 0) e.max_run_duration_seconds = static_cast<int>(trial_timeout_);
  e.tags["hyperparameters"] = json(*point).dump();
  points_[e.run_name] = *point;
  ++given_;
  return spec;
}

bool SweepTrials::exhausted() const {
  return given_ >= total_ || grid_done_ || (grid_ && given_ >= static_cast<long long>(grid_->size()));
}

std::optional<BestTrial> best_trial(const std::vector<sweep::Trial>& trials, sweep::Goal goal) {
  std::optional<BestTrial> best;
  for (const auto& t : trials) {
    const auto own = sweep::best_value(t.values, goal);
    if (!own) continue;
    if (!best || (goal == sweep::Goal::maximize ? *own > best->score : *own < best->score)) {
      best = BestTrial{t.id, *own};
    }
  }
  return best;
}

std::string hyperdrive_line(const std::string& iso_time, const std::string& source,
                            const std::string& message) {
  return "\"<START>[" + iso_time + "][" + source + "][INFO]" + message + "<END>\\n\"";
}

}  // namespace amlemu::launch
