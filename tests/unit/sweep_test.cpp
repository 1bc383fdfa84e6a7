// Room: sweep. Parameter expressions (both shapes, the SDK's validation messages), their seeded
// distributions, random and grid sampling, and each early-termination policy's decisions on
// hand-worked tables (the SDK docs' Bandit example among them, and minimize).
#include <catch2/catch.hpp>

#include <cmath>
#include <map>
#include <set>

#include "amlemu/errors.hpp"
#include "launch/bayesian_sampler.hpp"
#include "launch/sweep_runs.hpp"
#include "spec/estimator_json.hpp"
#include "sweep/policy.hpp"
#include "sweep/space.hpp"

using namespace amlemu::sweep;
using nlohmann::json;
using Catch::Matchers::Contains;

namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const amlemu::UserErrorException& e) {
    return e.what();
  }
  return "";
}

std::vector<double> draws(const json& v1, std::uint64_t seed, int n = 20000) {
  const auto e = parse_v1(v1, "p");
  std::mt19937_64 rng(seed);
  std::vector<double> out;
  for (int i = 0; i < n; ++i) out.push_back(draw(e, rng).get<double>());
  return out;
}

double mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size());
}

Trial trial(const std::string& id, std::vector<double> values, bool finished = false) {
  return {id, std::move(values), finished};
}

std::set<std::string> ended(const Policy& p, Goal g, const std::vector<Trial>& trials) {
  std::set<std::string> out;
  for (const auto& t : evaluate(p, g, trials)) out.insert(t.id);
  return out;
}

}  // namespace

TEST_CASE("v1 and v2 expressions parse to the same thing", "[sweep]") {
  const auto a = parse_v1(json::parse(R"(["uniform", [0.05, 0.1]])"), "p");
  const auto b = parse_v2(json::parse(R"({"type": "uniform", "min_value": 0.05, "max_value": 0.1})"), "p");
  CHECK(a.kind == Kind::uniform);
  CHECK(b.kind == Kind::uniform);
  CHECK(a.low == b.low);
  CHECK(a.high == b.high);
  const auto c = parse_v1(json::parse(R"(["choice", [[16, 32, "x"]]])"), "p");
  CHECK(c.options == std::vector<json>{16, 32, "x"});
  const auto d = parse_v2(json::parse(R"({"type": "choice", "values": [16, 32, "x"]})"), "p");
  CHECK(d.options == c.options);
  CHECK(parse_v2(json::parse(R"({"type": "qlognormal", "mu": 0, "sigma": 1.5, "q": 1})"), "p").q == 1);
  CHECK(parse_v2(json::parse(R"({"type": "randint", "upper": 5})"), "p").low == 5);
  // A space is ordered by name.
  const auto space = parse_space(json::parse(R"({"--lr": ["uniform", [0, 1]], "--bs": ["choice", [[1]]]})"), false, "space");
  REQUIRE(space.size() == 2);
  CHECK(space[0].name == "--bs");
}

TEST_CASE("bad expressions get the SDK's message with the field's path, one line", "[sweep]") {
  const std::map<std::string, std::string> v1 = {
      {R"(["choice", []])", "Please specify an input for choice."},
      {R"(["choice", [[]]])", "choice expects non-empty single list"},
      {R"(["randint", [0]])", "randint expects a positive number as input"},
      {R"(["randint", [2.5]])", "randint expects a positive number as input"},
      {R"(["uniform", [1, 1]])", "uniform expects min_value < max_value"},
      {R"(["uniform", ["a", 1]])", "uniform expects min_value to be a float"},
      {R"(["quniform", [0, 10, 0.5]])", "quniform expects q to be an int"},
      {R"(["loguniform", [-1, -6]])", "loguniform expects min_value <= max_value"},
      {R"(["normal", [0, -1]])", "normal expects sigma to be non negative"},
      {R"(["qnormal", [0, 1, 1.5]])", "qnormal expects q to be an int"},
      {R"(["gamma", [1, 2]])", "unknown parameter expression 'gamma'"},
      {R"(["uniform", [1]])", "uniform takes 2 arguments, got 1"},
  };
  for (const auto& [doc, message] : v1) {
    INFO(doc);
    const auto e = error_of([&] { parse_v1(json::parse(doc), "hyperdrive.parameter_space.--lr"); });
    CHECK_THAT(e, Contains("hyperdrive.parameter_space.--lr: ") && Contains(message));
    CHECK(e.find('\n') == std::string::npos);
  }
  // Equal loguniform bounds are allowed (a constant), as in the SDK.
  CHECK_NOTHROW(parse_v1(json::parse(R"(["loguniform", [-2, -2]])"), "p"));
  const std::map<std::string, std::string> v2 = {
      {R"({"type": "uniform", "min_value": 1})", "search_space.lr.max_value: is required for type uniform"},
      {R"({"type": "uniform", "min_value": 1, "max_value": 2, "q": 1})", "search_space.lr.q: unknown key"},
      {R"({"type": "choice", "values": []})", "choice expects non-empty single list"},
      {R"({"type": "beta"})", "search_space.lr.type: unknown type 'beta'"},
      {R"({"type": "choice", "values": [{"type": "uniform"}]})", "nested search spaces are not supported"},
  };
  for (const auto& [doc, message] : v2) {
    INFO(doc);
    CHECK_THAT(error_of([&] { parse_v2(json::parse(doc), "search_space.lr"); }), Contains(message));
  }
  CHECK_THAT(error_of([] { parse_space(json::object(), true, "search_space"); }),
             Contains("search_space: must be a non-empty mapping"));
}

TEST_CASE("each expression's seeded draws lie in range with the right distribution", "[sweep]") {
  SECTION("uniform(0.05, 0.1): in range, mean 0.075") {
    const auto v = draws(json::parse(R"(["uniform", [0.05, 0.1]])"), 1);
    for (double x : v) REQUIRE((x >= 0.05 && x < 0.1));
    CHECK(mean(v) == Approx(0.075).margin(0.0005));
  }
  SECTION("loguniform(-6, -1): in [e^-6, e^-1], its log uniform with mean -3.5") {
    const auto v = draws(json::parse(R"(["loguniform", [-6, -1]])"), 2);
    std::vector<double> logs;
    for (double x : v) {
      REQUIRE((x >= std::exp(-6.0) && x <= std::exp(-1.0)));
      logs.push_back(std::log(x));
    }
    CHECK(mean(logs) == Approx(-3.5).margin(0.03));
  }
  SECTION("randint(5): 0..4, each about a fifth") {
    std::map<int, int> count;
    for (double x : draws(json::parse(R"(["randint", [5]])"), 3)) ++count[static_cast<int>(x)];
    REQUIRE(count.size() == 5);
    for (const auto& [k, n] : count) {
      CHECK((k >= 0 && k < 5));
      CHECK(n == Approx(4000).margin(250));
    }
  }
  SECTION("choice: each option about equally often, values as given") {
    const auto e = parse_v1(json::parse(R"(["choice", [[32, 64, "x"]]])"), "p");
    std::mt19937_64 rng(4);
    std::map<std::string, int> count;
    for (int i = 0; i < 30000; ++i) ++count[draw(e, rng).dump()];
    CHECK(count.size() == 3);
    for (const auto& [k, n] : count) CHECK(n == Approx(10000).margin(400));
    CHECK(count.count("\"x\"") == 1);
  }
  SECTION("normal(10, 2): mean 10, standard deviation 2") {
    const auto v = draws(json::parse(R"(["normal", [10, 2]])"), 5);
    const double m = mean(v);
    double var = 0;
    for (double x : v) var += (x - m) * (x - m);
    CHECK(m == Approx(10).margin(0.05));
    CHECK(std::sqrt(var / static_cast<double>(v.size())) == Approx(2).margin(0.05));
  }
  SECTION("quniform(0, 10, 2): even integers from 0 to 10; lognormal is positive") {
    const auto e = parse_v1(json::parse(R"(["quniform", [0, 10, 2]])"), "p");
    std::mt19937_64 rng(6);
    std::set<std::int64_t> seen;
    for (int i = 0; i < 5000; ++i) {
      const auto x = draw(e, rng);
      REQUIRE(x.is_number_integer());
      seen.insert(x.get<std::int64_t>());
    }
    CHECK(seen == std::set<std::int64_t>{0, 2, 4, 6, 8, 10});
    for (double x : draws(json::parse(R"(["lognormal", [0, 1]])"), 7, 2000)) REQUIRE(x > 0);
  }
}

TEST_CASE("random sampling is reproducible with a seed, and grid enumerates exactly the product", "[sweep]") {
  const auto space = parse_space(json::parse(R"({"lr": {"type": "loguniform", "min_value": -6, "max_value": -1},
                                                 "bs": {"type": "choice", "values": [16, 32]}})"), true, "search_space");
  RandomSampler a(space, 42), b(space, 42), c(space, 43);
  bool differs = false;
  for (int i = 0; i < 20; ++i) {
    const auto x = a.next();
    CHECK(x == b.next());
    differs = differs || x != c.next();
  }
  CHECK(differs);

  const auto grid_space = parse_space(json::parse(R"({"a": ["choice", [[1, 2, 3]]], "b": ["choice", [["x", "y"]]],
                                                      "c": ["choice", [[0.5, 1.5]]]})"), false, "space");
  GridSampler grid(grid_space);
  CHECK(grid.size() == 12);
  std::set<std::string> points;
  std::vector<Point> order;
  while (auto p = grid.next()) {
    points.insert(json(*p).dump());
    order.push_back(*p);
  }
  CHECK(points.size() == 12);
  CHECK_FALSE(grid.next());
  // The last parameter varies fastest.
  CHECK(order[0] == Point{{"a", 1}, {"b", "x"}, {"c", 0.5}});
  CHECK(order[1] == Point{{"a", 1}, {"b", "x"}, {"c", 1.5}});
  CHECK(order[2] == Point{{"a", 1}, {"b", "y"}, {"c", 0.5}});
  CHECK_THAT(error_of([&] { GridSampler refused(space); }), Contains("search_space.lr: grid sampling takes choice only, not loguniform"));
}

TEST_CASE("Bandit: the docs' example, slack amount, minimize, evaluation interval and delay", "[sweep]") {
  Policy factor;
  factor.type = Policy::Type::bandit;
  factor.slack_factor = 0.2;
  // Best 0.8 with slack factor 0.2: the cutoff is 0.8 / 1.2 = 0.667.
  CHECK(ended(factor, Goal::maximize, {trial("best", {0.8}), trial("low", {0.66}), trial("ok", {0.67})}) ==
        std::set<std::string>{"low"});
  Policy amount = factor;
  amount.slack_factor.reset();
  amount.slack_amount = 0.2;
  // With slack amount 0.2 the cutoff is 0.6.
  CHECK(ended(amount, Goal::maximize, {trial("best", {0.8}), trial("low", {0.59}), trial("ok", {0.61})}) ==
        std::set<std::string>{"low"});
  // Minimize mirrors it: best 0.2, cutoff 0.2 * 1.2 = 0.24, or 0.2 + 0.2 = 0.4.
  CHECK(ended(factor, Goal::minimize, {trial("best", {0.2}), trial("high", {0.25}), trial("ok", {0.23})}) ==
        std::set<std::string>{"high"});
  CHECK(ended(amount, Goal::minimize, {trial("best", {0.2}), trial("high", {0.41}), trial("ok", {0.39})}) ==
        std::set<std::string>{"high"});
  // The best is the best any trial reached up to N, finished ones included; finished trials are
  // never ended.
  CHECK(ended(factor, Goal::maximize, {trial("done", {0.9, 0.1}, true), trial("live", {0.5, 0.7})}) ==
        std::set<std::string>{"live"});
  CHECK(ended(factor, Goal::maximize, {trial("done", {0.3}, true), trial("live", {0.9})}).empty());
  // evaluation_interval 2: interval 1 and 3 are not evaluated.
  Policy every2 = factor;
  every2.evaluation_interval = 2;
  CHECK(ended(every2, Goal::maximize, {trial("best", {0.8, 0.8, 0.8}), trial("low", {0.1})}).empty());
  CHECK(ended(every2, Goal::maximize, {trial("best", {0.8, 0.8, 0.8}), trial("low", {0.1, 0.1, 0.1})}).empty());
  CHECK(ended(every2, Goal::maximize, {trial("best", {0.8, 0.8}), trial("low", {0.1, 0.1})}) ==
        std::set<std::string>{"low"});
  // delay_evaluation 3: interval 2 is too early, 4 is not.
  Policy delayed = every2;
  delayed.delay_evaluation = 3;
  CHECK(ended(delayed, Goal::maximize, {trial("best", {0.8, 0.8}), trial("low", {0.1, 0.1})}).empty());
  CHECK(ended(delayed, Goal::maximize, {trial("best", {0.8, 0.8, 0.8, 0.8}), trial("low", {0.1, 0.1, 0.1, 0.1})}) ==
        std::set<std::string>{"low"});
  const auto why = evaluate(factor, Goal::maximize, {trial("best", {0.8}), trial("low", {0.5})});
  REQUIRE(why.size() == 1);
  CHECK_THAT(why[0].reason, Contains("Bandit policy") && Contains("cutoff 0.666667"));
}

TEST_CASE("MedianStopping and TruncationSelection on hand-worked tables", "[sweep]") {
  Policy median;
  median.type = Policy::Type::median_stopping;
  // At N=3 the running averages are A 2, B 1, C 0.4667: median 1. C's best (0.5) is below it; B's
  // best (1) is not.
  const std::vector<Trial> t = {trial("A", {1, 2, 3}), trial("B", {1, 1, 1}), trial("C", {0.5, 0.5, 0.4})};
  CHECK(ended(median, Goal::maximize, t) == std::set<std::string>{"C"});
  // Minimize: A's best (1) is above the median of the averages... of loss-like values.
  const std::vector<Trial> loss = {trial("A", {3, 2, 1.5}), trial("B", {1, 1, 1}), trial("C", {0.5, 0.4, 0.3})};
  // Averages A 2.1667, B 1, C 0.4: median 1. A's best 1.5 is worse (above) -> ended.
  CHECK(ended(median, Goal::minimize, loss) == std::set<std::string>{"A"});

  Policy trunc;
  trunc.type = Policy::Type::truncation_selection;
  trunc.truncation_percentage = 50;
  // Four trials at N=2, values 0.9, 0.5, 0.7, 0.3: the worst two are 0.3 and 0.5.
  const std::vector<Trial> four = {trial("a", {0.1, 0.9}), trial("b", {0.1, 0.5}), trial("c", {0.1, 0.7}),
                                   trial("d", {0.1, 0.3})};
  CHECK(ended(trunc, Goal::maximize, four) == std::set<std::string>{"b", "d"});
  CHECK(ended(trunc, Goal::minimize, four) == std::set<std::string>{"a", "c"});
  // A finished trial counts in the ranking but is not ended.
  auto with_done = four;
  with_done[3].finished = true;
  CHECK(ended(trunc, Goal::maximize, with_done) == std::set<std::string>{"b"});
  // 20% of 4 trials is less than one: nobody.
  trunc.truncation_percentage = 20;
  CHECK(ended(trunc, Goal::maximize, four).empty());
  // Trials compare only with those that reached the same interval.
  trunc.truncation_percentage = 50;
  CHECK(ended(trunc, Goal::maximize, {trial("early", {0.1}), trial("x", {0.9, 0.8}), trial("y", {0.9, 0.2})}) ==
        std::set<std::string>{"early", "y"});
  Policy none;
  CHECK(evaluate(none, Goal::maximize, four).empty());
}

TEST_CASE("policies parse from both shapes with the SDK's rules", "[sweep]") {
  const auto v1 = parse_policy_v1(json::parse(R"({"name": "Bandit", "properties": {"evaluation_interval": 2,
                                                  "delay_evaluation": 0, "slack_factor": 0.1}})"), "policy");
  CHECK(v1.type == Policy::Type::bandit);
  CHECK(v1.evaluation_interval == 2);
  CHECK(*v1.slack_factor == 0.1);
  CHECK(parse_policy_v1(json::parse(R"({"name": "Default"})"), "policy").type == Policy::Type::none);
  CHECK(parse_policy_v1(nullptr, "policy").type == Policy::Type::none);
  const auto rest = parse_policy_v2(json::parse(R"({"policyType": "Bandit", "evaluationInterval": 0,
                                                    "delayEvaluation": 3, "slackFactor": 0, "slackAmount": 0.2})"), "earlyTermination");
  CHECK(rest.type == Policy::Type::bandit);
  CHECK(rest.evaluation_interval == 1);  // 0 is the SDK entity's default: every interval
  CHECK(rest.delay_evaluation == 3);
  CHECK_FALSE(rest.slack_factor.has_value());
  CHECK(*rest.slack_amount == 0.2);
  CHECK(parse_policy_v2(json::parse(R"({"type": "truncation_selection", "truncation_percentage": 20})"), "e")
            .truncation_percentage == 20);
  CHECK_THAT(error_of([] { parse_policy_v2(json::parse(R"({"type": "bandit", "slack_factor": 0.1, "slack_amount": 0.2})"), "early_termination"); }),
             Contains("early_termination: Bandit termination policy expects exactly one of slack factor or slack amount to be set."));
  CHECK_THAT(error_of([] { parse_policy_v2(json::parse(R"({"type": "bandit"})"), "early_termination"); }),
             Contains("exactly one of slack factor or slack amount"));
  CHECK_THAT(error_of([] { parse_policy_v2(json::parse(R"({"type": "truncation_selection", "truncation_percentage": 100})"), "early_termination"); }),
             Contains("early_termination.truncation_percentage: truncation_percentage expects value to be between 1 and 99."));
  CHECK_THAT(error_of([] { parse_policy_v2(json::parse(R"({"type": "bandit", "slack_factor": 0.1, "every": 2})"), "early_termination"); }),
             Contains("early_termination.every: unknown key"));
  CHECK_THAT(error_of([] { parse_goal("up", "objective.goal"); }),
             Contains("objective.goal: The primary metric goal expects either 'maximize' or 'minimize'."));
  CHECK(parse_goal("Maximize", "g") == Goal::maximize);
}

TEST_CASE("a trial's Estimator survives its parent's run definition, every field", "[sweep]") {
  amlemu::Estimator e;
  e.source_directory = "/src";
  e.entry_script = "train.py";
  e.script_params = {{"--lr", json(0.1)}, {"--data", amlemu::DataReference{"ds", "ref", "mnist", "download", "/d", true, "", ""}}};
  e.arguments = {"-v"};
  e.compute_target = "cpu";
  e.use_gpu = true;
  e.pip_packages = {"numpy"};
  e.conda_packages = {"python=3.11"};
  e.conda_channels = {"conda-forge"};
  e.environment_name = "AzureML-sklearn-1.5";
  e.framework = "TensorFlow";
  e.framework_version = "2.2";
  e.environment_variables = {{"A", "1"}};
  e.node_count = 2;
  e.process_count_per_node = 3;
  e.distributed_training = amlemu::DistributedTraining{"tensorflow", 2, 1, true, 0, "Gloo"};
  e.max_run_duration_seconds = 60;
  e.user_managed_dependencies = true;
  e.command = "python train.py --lr ${{search_space.lr}}";
  e.outputs = {{"model", "upload"}};
  e.run_name = "r";
  e.display_name = "d";
  e.description = "x";
  e.tags = {{"t", "v"}};
  e.warnings = {"w"};
  e.environment_note = "n";
  e.job_definition = {{"jobType", "Command"}};
  const auto doc = amlemu::spec::estimator_to_json(e);
  const auto back = amlemu::spec::estimator_from_json(json::parse(doc.dump()));
  CHECK(amlemu::spec::estimator_to_json(back) == doc);
  const auto& ref = std::get<amlemu::DataReference>(back.script_params[1].second);
  CHECK(ref.mode == "download");
  CHECK(ref.overwrite);
  CHECK(back.distributed_training->chief);
  CHECK(back.command == e.command);
}

TEST_CASE("Bayesian sampling: its rules, and the history its helper gets", "[sweep]") {
  const auto space = parse_space(json::parse(R"({"lr": {"type": "uniform", "min_value": 0, "max_value": 1},
                                                 "bs": {"type": "choice", "values": [16, 32]},
                                                 "q": {"type": "quniform", "min_value": 0, "max_value": 8, "q": 2}})"),
                                 true, "search_space");
  CHECK_NOTHROW(check_bayesian(space, Policy{}, "early_termination"));
  Policy bandit;
  bandit.type = Policy::Type::bandit;
  bandit.slack_factor = 0.1;
  CHECK_THAT(error_of([&] { check_bayesian(space, bandit, "early_termination"); }),
             Contains("early_termination: bayesian sampling takes no early-termination policy"));
  const auto logspace = parse_space(json::parse(R"({"lr": ["loguniform", [-6, -1]]})"), true, "search_space");
  CHECK_THAT(error_of([&] { check_bayesian(logspace, Policy{}, "p"); }),
             Contains("search_space.lr: bayesian sampling takes choice, uniform and quniform only, not loguniform"));

  // Ended trials with their best value (by the goal), live ones pending, ended ones without a
  // value left out.
  const std::map<std::string, Point> points = {{"p_0", {{"lr", 0.1}}}, {"p_1", {{"lr", 0.2}}},
                                               {"p_2", {{"lr", 0.3}}}};
  const std::vector<Trial> trials = {trial("p_0", {0.5, 0.9, 0.7}, true), trial("p_1", {0.4}, false),
                                     trial("p_2", {}, true)};
  const auto maximize = amlemu::launch::bayesian_request(json::object(), Goal::maximize, 7, trials, points);
  CHECK(maximize["trials"] == json::parse(R"([{"point": {"lr": 0.1}, "value": 0.9}])"));
  CHECK(maximize["pending"] == json::parse(R"([{"lr": 0.2}])"));
  CHECK(maximize["seed"] == 7);
  CHECK(maximize["goal"] == "maximize");
  const auto minimize = amlemu::launch::bayesian_request(json::object(), Goal::minimize, std::nullopt, trials, points);
  CHECK(minimize["trials"][0]["value"] == 0.5);
  CHECK(minimize["seed"].is_null());
}

TEST_CASE("a sweep's trials: the total limit, the grid's end, the trial timeout, commands and arguments", "[sweep]") {
  amlemu::Estimator trial;
  trial.command = "python train.py --lr ${{search_space.lr}} --name ${{search_space.name}}";
  const json sweep = {{"searchSpace", {{"lr", {{"type", "uniform"}, {"min_value", 0}, {"max_value", 1}}},
                                        {"name", {{"type", "choice"}, {"values", {"a b"}}}}}},
                      {"sampling", {{"type", "random"}, {"seed", 1}}},
                      {"objective", {{"goal", "maximize"}, {"primaryMetric", "acc"}}},
                      {"limits", {{"maxTotalTrials", 3}, {"maxConcurrentTrials", 2}, {"timeoutSeconds", 600},
                                  {"trialTimeoutSeconds", 90}}}};
  amlemu::launch::SweepTrials random({{"trial", amlemu::spec::estimator_to_json(trial)}, {"sweep", sweep}}, "p", "exp");
  std::vector<amlemu::JobSpec> specs;
  while (auto s = random.next()) specs.push_back(*s);
  REQUIRE(specs.size() == 3);  // maxTotalTrials
  CHECK(random.exhausted());
  CHECK(specs[2].estimator.run_name == "p_2");
  CHECK(specs[0].experiment_name == "exp");
  CHECK(specs[0].estimator.max_run_duration_seconds == 90);  // trialTimeoutSeconds
  CHECK_THAT(specs[0].estimator.command, Contains("--name 'a b'"));
  CHECK(specs[0].estimator.command.find("${{") == std::string::npos);

  // A grid ends with its product, before the total.
  json grid = sweep;
  grid["searchSpace"] = {{"lr", {{"type", "choice"}, {"values", {1, 2}}}}, {"name", {{"type", "choice"}, {"values", {"x"}}}}};
  grid["sampling"] = {{"type", "grid"}};
  grid["limits"]["maxTotalTrials"] = 10;
  amlemu::launch::SweepTrials g({{"trial", amlemu::spec::estimator_to_json(trial)}, {"sweep", grid}}, "p", "exp");
  int n = 0;
  while (g.next()) ++n;
  CHECK(n == 2);
  CHECK(g.exhausted());

  // HyperDrive: the swept values as script arguments, replacing the estimator's own.
  amlemu::Estimator script;
  script.entry_script = "train.py";
  script.script_params = {{"--lr", json(0.5)}, {"--epochs", json(3)}};
  json hd = sweep;
  hd["searchSpace"] = {{"--lr", {"choice", {{0.1}}}}};
  hd["arguments"] = true;
  amlemu::launch::SweepTrials a({{"trial", amlemu::spec::estimator_to_json(script)}, {"sweep", hd}}, "HD_x", "exp");
  const auto first = a.next();
  REQUIRE(first);
  REQUIRE(first->estimator.script_params.size() == 2);
  CHECK(first->estimator.script_params[0].first == "--epochs");
  CHECK(first->estimator.script_params[1].first == "--lr");
  CHECK(std::get<json>(first->estimator.script_params[1].second) == 0.1);
  CHECK(first->estimator.command.empty());
}
