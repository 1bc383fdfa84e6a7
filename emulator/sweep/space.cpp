#include "sweep/space.hpp"

#include <algorithm>
#include <cmath>

#include "amlemu/errors.hpp"

namespace amlemu::sweep {

using nlohmann::json;

namespace {

struct KindInfo {
  Kind kind;
  const char* name;
};
constexpr KindInfo kKinds[] = {
    {Kind::choice, "choice"},         {Kind::randint, "randint"},
    {Kind::uniform, "uniform"},       {Kind::quniform, "quniform"},
    {Kind::loguniform, "loguniform"}, {Kind::qloguniform, "qloguniform"},
    {Kind::normal, "normal"},         {Kind::qnormal, "qnormal"},
    {Kind::lognormal, "lognormal"},   {Kind::qlognormal, "qlognormal"}};

std::optional<Kind> kind_of(const std::string& name) {
  for (const auto& k : kKinds) {
    if (name == k.name) return k.kind;
  }
  return std::nullopt;
}

[[noreturn]] void fail(const std::string& path, const std::string& message) {
  throw UserErrorException(path + ": " + message);
}

bool quantized(Kind k) {
  return k == Kind::quniform || k == Kind::qloguniform || k == Kind::qnormal ||
         k == Kind::qlognormal;
}
bool normal_family(Kind k) {
  return k == Kind::normal || k == Kind::qnormal || k == Kind::lognormal || k == Kind::qlognormal;
}

// A number argument, with the SDK's message for one that is not ("uniform expects min_value to be
// a float"); an int is a float too, a bool is not.
double number(const json& v, Kind k, const char* arg, const std::string& path) {
  if (!v.is_number()) fail(path, std::string(kind_name(k)) + " expects " + arg + " to be a float");
  return v.get<double>();
}

// The checks of the SDK's expression functions, in its order, on numbers already read.
void check(Expression& e, const std::string& path) {
  const std::string name = kind_name(e.kind);
  if (e.kind == Kind::choice) {
    if (e.options.empty()) {
      fail(path, "choice expects non-empty single list, non-empty single range() or a positive "
                 "number of arbitrary comma separated inputs.");
    }
    return;
  }
  if (e.kind == Kind::randint) {
    if (e.low != std::floor(e.low) || e.low <= 0) fail(path, "randint expects a positive number as input");
    return;
  }
  if (quantized(e.kind) && (e.q != std::floor(e.q) || e.q <= 0)) {
    fail(path, name + " expects q to be an int");
  }
  if (normal_family(e.kind)) {
    if (e.high < 0) fail(path, name + " expects sigma to be non negative");
    return;
  }
  const bool log = e.kind == Kind::loguniform || e.kind == Kind::qloguniform;
  if (log ? e.low > e.high : e.low >= e.high) {
    fail(path, name + " expects min_value " + (log ? "<=" : "<") + " max_value");
  }
}

std::size_t arity(Kind k) {
  if (k == Kind::randint) return 1;
  return quantized(k) ? 3 : 2;
}

}  // namespace

const char* kind_name(Kind kind) {
  for (const auto& k : kKinds) {
    if (k.kind == kind) return k.name;
  }
  return "?";
}

Expression parse_v1(const json& doc, const std::string& path) {
  if (!doc.is_array() || doc.size() != 2 || !doc[0].is_string() || !doc[1].is_array()) {
    fail(path, "expected [\"<expression>\", [arguments]], such as [\"uniform\", [0.05, 0.1]]");
  }
  const auto kind = kind_of(doc[0].get<std::string>());
  if (!kind) fail(path, "unknown parameter expression '" + doc[0].get<std::string>() + "'");
  Expression e;
  e.kind = *kind;
  const auto& args = doc[1];
  if (e.kind == Kind::choice) {
    if (args.empty()) fail(path, "Please specify an input for choice.");
    const auto& values = args.size() == 1 && args[0].is_array() ? args[0] : args;
    for (const auto& v : values) {
      if (!v.is_number() && !v.is_string() && !v.is_boolean()) {
        fail(path, "choice values must be numbers, strings or booleans");
      }
      e.options.push_back(v);
    }
  } else {
    if (args.size() != arity(e.kind)) {
      fail(path, std::string(kind_name(e.kind)) + " takes " + std::to_string(arity(e.kind)) +
                     " arguments, got " + std::to_string(args.size()));
    }
    if (e.kind == Kind::randint) {
      if (!args[0].is_number_integer()) fail(path, "randint expects a positive number as input");
      e.low = args[0].get<double>();
    } else {
      const bool normal = normal_family(e.kind);
      e.low = number(args[0], e.kind, normal ? "mu" : "min_value", path);
      e.high = number(args[1], e.kind, normal ? "sigma" : "max_value", path);
      if (args.size() == 3) {
        if (!args[2].is_number()) fail(path, std::string(kind_name(e.kind)) + " expects q to be an int");
        e.q = args[2].get<double>();
      }
    }
  }
  check(e, path);
  return e;
}

Expression parse_v2(const json& doc, const std::string& path) {
  if (!doc.is_object() || !doc.contains("type") || !doc["type"].is_string()) {
    fail(path, "expected a mapping with a type (choice, randint, uniform, quniform, loguniform, "
               "qloguniform, normal, qnormal, lognormal, qlognormal)");
  }
  const auto type = doc["type"].get<std::string>();
  const auto kind = kind_of(type);
  if (!kind) fail(path + ".type", "unknown type '" + type + "'");
  Expression e;
  e.kind = *kind;
  const auto field = [&](const char* key) -> const json& {
    if (!doc.contains(key)) fail(path + "." + key, "is required for type " + type);
    return doc[key];
  };
  std::vector<std::string> known = {"type"};
  if (e.kind == Kind::choice) {
    known.push_back("values");
    const auto& values = field("values");
    if (!values.is_array()) fail(path + ".values", "must be a list");
    for (const auto& v : values) {
      if (!v.is_number() && !v.is_string() && !v.is_boolean()) {
        fail(path + ".values", "values must be numbers, strings or booleans (nested search "
                               "spaces are not supported)");
      }
      e.options.push_back(v);
    }
  } else if (e.kind == Kind::randint) {
    known.push_back("upper");
    const auto& upper = field("upper");
    if (!upper.is_number_integer()) fail(path + ".upper", "randint expects a positive number as input");
    e.low = upper.get<double>();
  } else {
    const bool normal = normal_family(e.kind);
    const char* a = normal ? "mu" : "min_value";
    const char* b = normal ? "sigma" : "max_value";
    known.insert(known.end(), {a, b});
    e.low = number(field(a), e.kind, a, path + "." + a);
    e.high = number(field(b), e.kind, b, path + "." + b);
    if (quantized(e.kind)) {
      known.push_back("q");
      const auto& q = field("q");
      if (!q.is_number()) fail(path + ".q", std::string(kind_name(e.kind)) + " expects q to be an int");
      e.q = q.get<double>();
    }
  }
  for (const auto& [k, _] : doc.items()) {
    if (std::find(known.begin(), known.end(), k) == known.end()) fail(path + "." + k, "unknown key");
  }
  check(e, path);
  return e;
}

Space parse_space(const json& doc, bool v2, const std::string& path) {
  if (!doc.is_object() || doc.empty()) fail(path, "must be a non-empty mapping of parameter names to expressions");
  Space space;
  for (const auto& [name, expr] : doc.items()) {
    // A sweep job's REST body writes its expressions in the v1 list form.
    const bool v1_form = !v2 || expr.is_array();
    space.push_back({name, v1_form ? parse_v1(expr, path + "." + name) : parse_v2(expr, path + "." + name)});
  }
  std::sort(space.begin(), space.end(), [](const Parameter& a, const Parameter& b) { return a.name < b.name; });
  return space;
}

json draw(const Expression& e, std::mt19937_64& rng) {
  const auto quantize = [&](double x) -> json {
    const double v = std::round(x / e.q) * e.q;
    // An integer q gives integers (as JSON integers while they are exact in a double).
    if (e.q == std::floor(e.q) && std::fabs(v) < 9.0e15) return static_cast<std::int64_t>(v);
    return v;
  };
  switch (e.kind) {
    case Kind::choice:
      return e.options[std::uniform_int_distribution<std::size_t>(0, e.options.size() - 1)(rng)];
    case Kind::randint:
      return std::uniform_int_distribution<std::int64_t>(0, static_cast<std::int64_t>(e.low) - 1)(rng);
    case Kind::uniform:
      return std::uniform_real_distribution<double>(e.low, e.high)(rng);
    case Kind::quniform:
      return quantize(std::uniform_real_distribution<double>(e.low, e.high)(rng));
    case Kind::loguniform:
      return std::exp(e.low == e.high ? e.low : std::uniform_real_distribution<double>(e.low, e.high)(rng));
    case Kind::qloguniform:
      return quantize(std::exp(e.low == e.high ? e.low : std::uniform_real_distribution<double>(e.low, e.high)(rng)));
    case Kind::normal:
      return e.high == 0 ? e.low : std::normal_distribution<double>(e.low, e.high)(rng);
    case Kind::qnormal:
      return quantize(e.high == 0 ? e.low : std::normal_distribution<double>(e.low, e.high)(rng));
    case Kind::lognormal:
      return std::exp(e.high == 0 ? e.low : std::normal_distribution<double>(e.low, e.high)(rng));
    case Kind::qlognormal:
      return quantize(std::exp(e.high == 0 ? e.low : std::normal_distribution<double>(e.low, e.high)(rng)));
  }
  return nullptr;
}

RandomSampler::RandomSampler(Space space, std::optional<std::uint64_t> seed)
    : space_(std::move(space)), rng_(seed ? *seed : std::random_device{}()) {}

Point RandomSampler::next() {
  Point p;
  for (const auto& param : space_) p[param.name] = draw(param.expression, rng_);
  return p;
}

GridSampler::GridSampler(Space space) : space_(std::move(space)), index_(space_.size(), 0) {
  for (const auto& param : space_) {
    if (param.expression.kind != Kind::choice) {
      throw UserErrorException("search_space." + param.name + ": grid sampling takes choice only, not " +
                               kind_name(param.expression.kind));
    }
    size_ *= param.expression.options.size();
  }
}

std::optional<Point> GridSampler::next() {
  if (given_ == size_) return std::nullopt;
  Point p;
  for (std::size_t i = 0; i < space_.size(); ++i) p[space_[i].name] = space_[i].expression.options[index_[i]];
  ++given_;
  for (std::size_t i = space_.size(); i-- > 0;) {  // the last parameter varies fastest
    if (++index_[i] < space_[i].expression.options.size()) break;
    index_[i] = 0;
  }
  return p;
}

}  // namespace amlemu::sweep
