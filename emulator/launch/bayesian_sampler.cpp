#include "launch/bayesian_sampler.hpp"

#include <stdexcept>

#include "common/fs.hpp"
#include "sweep/policy.hpp"

namespace amlemu::launch {

namespace stdfs = std::filesystem;
using nlohmann::json;

json bayesian_request(const json& search_space, sweep::Goal goal, std::optional<std::uint64_t> seed,
                      const std::vector<sweep::Trial>& trials, const std::map<std::string, sweep::Point>& points) {
  json done = json::array(), pending = json::array();
  for (const auto& t : trials) {
    const auto p = points.find(t.id);
    if (p == points.end()) continue;
    if (!t.finished) {
      pending.push_back(p->second);
      continue;
    }
    if (const auto best = sweep::best_value(t.values, goal)) done.push_back({{"point", p->second}, {"value", *best}});
  }
  return {{"space", search_space},
          {"goal", goal == sweep::Goal::maximize ? "maximize" : "minimize"},
          {"seed", seed ? json(*seed) : json(nullptr)},
          {"trials", done},
          {"pending", pending}};
}

BayesianSampler::BayesianSampler(stdfs::path python, stdfs::path python_package, stdfs::path work_dir,
                                 stdfs::path log, Launcher& launcher)
    : python_(std::move(python)),
      package_(std::move(python_package)),
      dir_(std::move(work_dir)),
      log_(std::move(log)),
      launcher_(launcher) {
  stdfs::create_directories(dir_);
}

sweep::Point BayesianSampler::next(const json& request) {
  const auto in = dir_ / "bayesian_request.json";
  const auto out = dir_ / "bayesian_response.json";
  fs::atomic_write(in, request.dump());
  std::error_code ec;
  stdfs::remove(out, ec);
  ProcessSpec spec;
  spec.program = python_;
  spec.args = {"-m", "amlemu_sweep.bayesian", in.string(), out.string()};
  spec.env = current_environment();
  spec.env["PYTHONPATH"] = package_.string();
  spec.env.erase("PYTHONHOME");
  spec.cwd = dir_;
  spec.output_file = log_;
  const int code = run_to_end(launcher_, spec);
  if (code != 0 || !stdfs::exists(out)) {
    throw std::runtime_error("Bayesian sampling failed (exit " + std::to_string(code) + "); see " + log_.string());
  }
  sweep::Point point;
  const auto response = json::parse(fs::read_file(out));  // kept: items() refers into it
  for (const auto& [k, v] : response.at("point").items()) point[k] = v;
  return point;
}

}  // namespace amlemu::launch
