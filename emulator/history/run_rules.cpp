// The run rules that need no database: the order a run's statuses go in, and the shape the
// service gives a run's metrics (rows and tables merged, lists flattened, non-finite floats).
#include <algorithm>
#include <map>

#include "history/run_store.hpp"

namespace amlemu::history {

namespace {

// The service's order; a run only moves forward through it (CancelRequested may come from any
// live status).
const std::vector<std::string>& order() {
  static const std::vector<std::string> o = {
      RunStatus::NotStarted, RunStatus::Starting,        RunStatus::Preparing,
      RunStatus::Queued,     RunStatus::Running,         RunStatus::Finalizing,
      RunStatus::CancelRequested, RunStatus::Completed};
  return o;
}

int rank(const std::string& s) {
  const auto& o = order();
  auto it = std::find(o.begin(), o.end(), s);
  return it == o.end() ? -1 : static_cast<int>(it - o.begin());
}

}  // namespace

bool is_valid_transition(const std::string& from, const std::string& to) {
  if (RunStatus::is_terminal(from)) return false;
  if (to == RunStatus::Failed) return true;
  if (to == RunStatus::CancelRequested) return from != RunStatus::CancelRequested;
  if (to == RunStatus::Canceled) return true;
  if (from == RunStatus::CancelRequested) return false;  // only Canceled or Failed follow
  const int a = rank(from);
  const int b = rank(to);
  return a >= 0 && b > a && to != RunStatus::NotStarted;
}

nlohmann::json shape_metrics(const std::vector<MetricRow>& rows) {
  using nlohmann::json;
  // Kinds that merge under one name: a row is one row of a table.
  const auto family = [](const std::string& kind) {
    return kind == "row" ? std::string("table") : kind;
  };
  // A stored non-finite float, {"$float": "NaN"}, is shown as the string "NaN".
  const auto decode = [](const json& v) -> json {
    if (v.is_object() && v.size() == 1 && v.contains("$float") && v["$float"].is_string()) {
      return v["$float"];
    }
    return v;
  };
  // Merges the rows and tables logged under one name; missing cells are null.
  const auto merge_table = [&decode](const std::vector<const MetricRow*>& entries) {
    std::map<std::string, json> columns;  // column -> one cell per row so far
    std::size_t count = 0;                // rows so far
    for (const auto* r : entries) {
      if (!r->value.is_object()) continue;
      std::map<std::string, json> block;
      std::size_t added = 0;
      for (auto it = r->value.begin(); it != r->value.end(); ++it) {
        json cells = r->kind == "row" || !it.value().is_array() ? json::array({it.value()})
                                                                : it.value();
        added = std::max(added, cells.size());
        block[it.key()] = std::move(cells);
      }
      if (r->kind == "row") added = 1;
      for (const auto& [col, cells] : block) {
        if (columns.count(col) == 0) {
          auto& fresh = columns[col] = json::array();
          for (std::size_t i = 0; i < count; ++i) fresh.push_back(nullptr);
        }
      }
      for (auto& [col, cells] : columns) {
        const auto found = block.find(col);
        std::size_t given = 0;
        if (found != block.end()) {
          for (const auto& c : found->second) cells.push_back(decode(c));
          given = found->second.size();
        }
        for (; given < added; ++given) cells.push_back(nullptr);
      }
      count += added;
    }
    json table = json::object();
    for (auto& [col, cells] : columns) table[col] = count == 1 ? cells[0] : cells;
    return table;
  };

  std::map<std::string, std::vector<const MetricRow*>> by_name;
  std::vector<std::string> names;
  for (const auto& r : rows) {
    auto& v = by_name[r.name];
    if (v.empty()) names.push_back(r.name);
    v.push_back(&r);
  }
  json out = json::object();
  for (const auto& name : names) {
    // The first kind logged under the name decides; other families are ignored.
    const auto& all = by_name[name];
    const std::string fam = family(all.front()->kind);
    std::vector<const MetricRow*> values;
    for (const auto* r : all) {
      if (family(r->kind) == fam) values.push_back(r);
    }
    if (fam == "list") {
      json list = json::array();
      for (const auto* r : values) {
        if (r->value.is_array()) {
          for (const auto& x : r->value) list.push_back(decode(x));
        } else {
          list.push_back(decode(r->value));
        }
      }
      out[name] = std::move(list);
    } else if (fam == "table") {
      out[name] = merge_table(values);
    } else if (values.size() == 1) {
      out[name] = decode(values[0]->value);
    } else {
      json list = json::array();
      for (const auto* r : values) list.push_back(decode(r->value));
      out[name] = std::move(list);
    }
  }
  return out;
}

}  // namespace amlemu::history
