#include "sweep/policy.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fmt/format.h>

#include "amlemu/errors.hpp"

namespace amlemu::sweep {

using nlohmann::json;

namespace {

[[noreturn]] void fail(const std::string& path, const std::string& message) {
  throw UserErrorException(path + ": " + message);
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

int int_field(const json& doc, const char* key, int fallback, const std::string& path) {
  if (!doc.contains(key) || doc[key].is_null()) return fallback;
  if (!doc[key].is_number_integer()) fail(path + "." + key, std::string("Expected type int for ") + key);
  const auto v = doc[key].get<long long>();
  if (v < 0) fail(path + "." + key, "must be 0 or more");
  return static_cast<int>(v);
}

std::optional<double> slack(const json& doc, const char* key, const std::string& path) {
  if (!doc.contains(key) || doc[key].is_null()) return std::nullopt;
  if (!doc[key].is_number()) fail(path + "." + key, "must be a number");
  const double v = doc[key].get<double>();
  if (v < 0) fail(path + "." + key, "must be 0 or more");
  if (v == 0) return std::nullopt;  // the SDK tests slack by truthiness
  return v;
}

void finish(Policy& p, const std::string& path) {
  if (p.evaluation_interval == 0) p.evaluation_interval = 1;  // v2 entities default it to 0
  if (p.type == Policy::Type::bandit && p.slack_factor.has_value() == p.slack_amount.has_value()) {
    fail(path, "Bandit termination policy expects exactly one of slack factor or slack amount to "
               "be set.");
  }
  if (p.type == Policy::Type::truncation_selection &&
      (p.truncation_percentage < 1 || p.truncation_percentage > 99)) {
    fail(path + ".truncation_percentage", "truncation_percentage expects value to be between 1 and 99.");
  }
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const auto n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// Whether a is worse than b for the goal.
bool worse(double a, double b, Goal goal) { return goal == Goal::maximize ? a < b : a > b; }

}  // namespace

Goal parse_goal(const std::string& goal, const std::string& path) {
  const auto g = lower(goal);
  if (g == "maximize") return Goal::maximize;
  if (g == "minimize") return Goal::minimize;
  fail(path, "The primary metric goal expects either 'maximize' or 'minimize'.");
}

const char* policy_name(Policy::Type type) {
  switch (type) {
    case Policy::Type::bandit: return "Bandit";
    case Policy::Type::median_stopping: return "MedianStopping";
    case Policy::Type::truncation_selection: return "TruncationSelection";
    case Policy::Type::none: break;
  }
  return "Default";
}

Policy parse_policy_v1(const json& doc, const std::string& path) {
  Policy p;
  if (doc.is_null()) return p;
  if (!doc.is_object() || !doc.contains("name") || !doc["name"].is_string()) {
    fail(path, "expected {\"name\": \"Bandit\" | \"MedianStopping\" | \"TruncationSelection\" | "
               "\"Default\", \"properties\": {...}}");
  }
  const auto name = doc["name"].get<std::string>();
  const auto props = doc.value("properties", json::object());
  const auto where = path + ".properties";
  if (name == "Default") return p;
  if (name == "Bandit") p.type = Policy::Type::bandit;
  else if (name == "MedianStopping") p.type = Policy::Type::median_stopping;
  else if (name == "TruncationSelection") p.type = Policy::Type::truncation_selection;
  else fail(path + ".name", "unknown policy '" + name + "'");
  p.evaluation_interval = int_field(props, "evaluation_interval", 1, where);
  p.delay_evaluation = int_field(props, "delay_evaluation", 0, where);
  p.slack_factor = slack(props, "slack_factor", where);
  p.slack_amount = slack(props, "slack_amount", where);
  p.truncation_percentage = int_field(props, "truncation_percentage", 0, where);
  finish(p, path);
  return p;
}

json to_rest(const Policy& p) {
  if (p.type == Policy::Type::none) return nullptr;
  json out = {{"policyType", policy_name(p.type)},
              {"evaluationInterval", p.evaluation_interval},
              {"delayEvaluation", p.delay_evaluation}};
  if (p.slack_factor) out["slackFactor"] = *p.slack_factor;
  if (p.slack_amount) out["slackAmount"] = *p.slack_amount;
  if (p.type == Policy::Type::truncation_selection) out["truncationPercentage"] = p.truncation_percentage;
  return out;
}

void check_bayesian(const Space& space, const Policy& policy, const std::string& policy_path) {
  for (const auto& p : space) {
    const auto k = p.expression.kind;
    if (k != Kind::choice && k != Kind::uniform && k != Kind::quniform) {
      fail("search_space." + p.name, std::string("bayesian sampling takes choice, uniform and quniform only, not ") +
                                         kind_name(k));
    }
  }
  if (policy.type != Policy::Type::none) {
    fail(policy_path, "bayesian sampling takes no early-termination policy (Azure ML's rule); remove it "
                      "or use random sampling");
  }
}

void check_sampling(const std::string& type, const Space& space, const Policy& policy,
                    const std::string& policy_path) {
  if (type == "grid") GridSampler check(space);
  if (type == "bayesian") check_bayesian(space, policy, policy_path);
}

std::optional<double> best_value(const std::vector<double>& values, Goal goal) {
  std::optional<double> best;
  for (double v : values) {
    if (!best || worse(*best, v, goal)) best = v;
  }
  return best;
}

Policy parse_policy_v2(const json& doc, const std::string& path) {
  Policy p;
  if (doc.is_null()) return p;
  if (!doc.is_object()) fail(path, "must be a mapping");
  const bool rest = doc.contains("policyType");
  const auto type_key = rest ? "policyType" : "type";
  if (!doc.contains(type_key) || !doc[type_key].is_string()) fail(path + "." + type_key, "is required");
  const auto type = lower(doc[type_key].get<std::string>());
  const auto key = [&](const char* yaml, const char* camel) { return rest ? camel : yaml; };
  std::vector<std::string> known = {type_key, key("evaluation_interval", "evaluationInterval"),
                                    key("delay_evaluation", "delayEvaluation")};
  if (type == "bandit") {
    p.type = Policy::Type::bandit;
    known.insert(known.end(), {key("slack_factor", "slackFactor"), key("slack_amount", "slackAmount")});
  } else if (type == "median_stopping" || type == "medianstopping") {
    p.type = Policy::Type::median_stopping;
  } else if (type == "truncation_selection" || type == "truncationselection") {
    p.type = Policy::Type::truncation_selection;
    known.push_back(key("truncation_percentage", "truncationPercentage"));
  } else {
    fail(path + "." + type_key, "unknown policy '" + doc[type_key].get<std::string>() +
                                    "' (bandit, median_stopping, truncation_selection)");
  }
  for (const auto& [k, _] : doc.items()) {
    if (std::find(known.begin(), known.end(), k) == known.end()) fail(path + "." + k, "unknown key");
  }
  p.evaluation_interval = int_field(doc, key("evaluation_interval", "evaluationInterval"), 1, path);
  p.delay_evaluation = int_field(doc, key("delay_evaluation", "delayEvaluation"), 0, path);
  p.slack_factor = slack(doc, key("slack_factor", "slackFactor"), path);
  p.slack_amount = slack(doc, key("slack_amount", "slackAmount"), path);
  p.truncation_percentage = int_field(doc, key("truncation_percentage", "truncationPercentage"), 0, path);
  finish(p, path);
  return p;
}

std::vector<Termination> evaluate(const Policy& policy, Goal goal, const std::vector<Trial>& trials) {
  std::vector<Termination> out;
  if (policy.type == Policy::Type::none) return out;
  const int every = std::max(1, policy.evaluation_interval);
  const char* name = policy_name(policy.type);
  for (const auto& t : trials) {
    const int n = static_cast<int>(t.values.size());
    if (t.finished || n == 0 || n % every != 0 || n < policy.delay_evaluation) continue;
    const double value = t.values[static_cast<std::size_t>(n - 1)];
    // The trials that reached interval N, each cut to its first N values.
    std::vector<const Trial*> peers;
    for (const auto& o : trials) {
      if (static_cast<int>(o.values.size()) >= n) peers.push_back(&o);
    }
    if (policy.type == Policy::Type::bandit) {
      double best = value;
      for (const auto& o : trials) {
        for (std::size_t i = 0; i < o.values.size() && static_cast<int>(i) < n; ++i) {
          if (worse(best, o.values[i], goal)) best = o.values[i];
        }
      }
      double cutoff;
      if (policy.slack_factor) {
        cutoff = goal == Goal::maximize ? best / (1 + *policy.slack_factor) : best * (1 + *policy.slack_factor);
      } else {
        cutoff = goal == Goal::maximize ? best - *policy.slack_amount : best + *policy.slack_amount;
      }
      if (worse(value, cutoff, goal)) {
        out.push_back({t.id, n, fmt::format("{} policy: at interval {} the primary metric {:.6g} is {} "
                                            "the cutoff {:.6g} (best {:.6g}, slack {} {:.6g})",
                                            name, n, value, goal == Goal::maximize ? "below" : "above",
                                            cutoff, best, policy.slack_factor ? "factor" : "amount",
                                            policy.slack_factor ? *policy.slack_factor : *policy.slack_amount)});
      }
    } else if (policy.type == Policy::Type::median_stopping) {
      std::vector<double> averages;
      for (const auto* o : peers) {
        double sum = 0;
        for (int i = 0; i < n; ++i) sum += o->values[static_cast<std::size_t>(i)];
        averages.push_back(sum / n);
      }
      double best = t.values[0];
      for (int i = 1; i < n; ++i) {
        if (worse(best, t.values[static_cast<std::size_t>(i)], goal)) best = t.values[static_cast<std::size_t>(i)];
      }
      const double m = median(averages);
      if (worse(best, m, goal)) {
        out.push_back({t.id, n, fmt::format("{} policy: at interval {} the best primary metric so far "
                                            "{:.6g} is worse than the median of running averages {:.6g}",
                                            name, n, best, m)});
      }
    } else {
      std::vector<std::pair<double, std::string>> ranked;
      for (const auto* o : peers) ranked.emplace_back(o->values[static_cast<std::size_t>(n - 1)], o->id);
      // Worst first; ties by id, so the decision does not depend on the order given.
      std::sort(ranked.begin(), ranked.end(), [&](const auto& a, const auto& b) {
        if (a.first != b.first) return worse(a.first, b.first, goal);
        return a.second < b.second;
      });
      const auto cut = ranked.size() * static_cast<std::size_t>(policy.truncation_percentage) / 100;
      for (std::size_t i = 0; i < cut; ++i) {
        if (ranked[i].second == t.id) {
          out.push_back({t.id, n, fmt::format("{} policy: at interval {} the primary metric {:.6g} is "
                                              "in the worst {}% of the {} trials that reached it",
                                              name, n, value, policy.truncation_percentage,
                                              ranked.size())});
        }
      }
    }
  }
  return out;
}

}  // namespace amlemu::sweep
