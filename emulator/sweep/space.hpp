// Room: sweep. The search space of a sweep: parameter expressions as HyperDrive (SDK v1) and
// sweep jobs (SDK v2) write them, their validation, and the samplers that draw from them (random,
// with an optional seed, and grid). Pure: no workspace, no clock; randomness comes from the
// generator the caller passes, so a seeded sweep draws the same values everywhere.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace amlemu::sweep {

enum class Kind {
  choice, randint, uniform, quniform, loguniform, qloguniform, normal, qnormal, lognormal,
  qlognormal
};

/// The SDK's name of a kind ("choice", "qloguniform"...).
const char* kind_name(Kind kind);

/// One parameter expression. Its numbers by kind: randint (upper); uniform, loguniform
/// (low, high); quniform, qloguniform (low, high, q); normal, lognormal (mu, sigma); qnormal,
/// qlognormal (mu, sigma, q). For loguniform the bounds are exponents: exp(uniform(low, high)).
struct Expression {
  Kind kind = Kind::choice;
  std::vector<nlohmann::json> options;  // choice: the values, in order
  double low = 0, high = 0, q = 0;      // mu and sigma are low and high
};

/// A named expression; the name is what the trial's script gets (an argument such as "--lr" for
/// HyperDrive, a name used as ${{search_space.lr}} in a sweep job).
struct Parameter {
  std::string name;
  Expression expression;
};

/// The search space, ordered by name.
using Space = std::vector<Parameter>;

/// One drawn point: parameter name -> value (a JSON number, string or bool).
using Point = std::map<std::string, nlohmann::json>;

/// The expression of HyperDrive's JSON (the SDK v1 serialization): ["uniform", [0.05, 0.1]],
/// ["choice", [[16, 32]]]. Throws UserErrorException naming `path` and the SDK's rule when it is
/// not valid.
Expression parse_v1(const nlohmann::json& doc, const std::string& path);

/// The expression of a sweep job's search_space entry (YAML or REST, SDK v2):
/// {type: choice, values: [...]}, {type: uniform, min_value, max_value}, {type: randint, upper},
/// {type: normal, mu, sigma}, {type: quniform, min_value, max_value, q}... Throws
/// UserErrorException naming `path` (e.g. "search_space.lr.max_value") when it is not valid.
Expression parse_v2(const nlohmann::json& doc, const std::string& path);

/// A whole space from {name: expression}, in the v1 or v2 shape (with `v2`, an expression that is
/// a list is read in the v1 form, as a sweep job's REST body writes it). An empty space is an error.
Space parse_space(const nlohmann::json& doc, bool v2, const std::string& path);

/// One value of `e` drawn with `rng`. Integers (randint, and the q- kinds with an integer q) are
/// JSON integers; choice returns one of its options as given.
nlohmann::json draw(const Expression& e, std::mt19937_64& rng);

/// Random sampling: every draw is independent; `seed` makes the sequence reproducible.
class RandomSampler {
 public:
  RandomSampler(Space space, std::optional<std::uint64_t> seed);
  /// The next point (a random space is never exhausted).
  Point next();
 private:
  Space space_;
  std::mt19937_64 rng_;
};

/// Grid sampling: every combination of the choices, in order (the last parameter varies
/// fastest); choice is the only expression allowed (UserErrorException naming the parameter
/// otherwise).
class GridSampler {
 public:
  explicit GridSampler(Space space);
  /// The next point, or nullopt once every combination has been given.
  std::optional<Point> next();
  /// How many points the grid has.
  std::size_t size() const { return size_; }
 private:
  Space space_;
  std::vector<std::size_t> index_;
  std::size_t size_ = 1, given_ = 0;
};

}  // namespace amlemu::sweep
