#include "environment/registered_store.hpp"

#include "amlemu/job_yaml.hpp"
#include "storage/database.hpp"
#include "workspace/workspace_impl.hpp"

namespace amlemu::environment {

namespace {

RegisteredEnvironment read_row(storage::Statement& st) {
  return {st.text(0), st.text(1), nlohmann::json::parse(st.text(2)), st.text(3)};
}

}  // namespace

std::optional<RegisteredEnvironment> RegisteredStore::find(const std::string& name,
                                                           const std::string& version) {
  std::string sql =
      "SELECT name, version, definition, created_time FROM environments WHERE name = ?1";
  sql += version.empty() ? " ORDER BY created_time DESC LIMIT 1" : " AND version = ?2";
  auto st = detail::database(ws_).prepare(sql);
  st.bind(1, name);
  if (!version.empty()) st.bind(2, version);
  if (!st.step()) return std::nullopt;
  return read_row(st);
}

std::optional<std::string> RegisteredStore::insert(const std::string& name,
                                                   const std::string& version,
                                                   const nlohmann::json& definition,
                                                   const std::string& time) {
  auto& db = detail::database(ws_);
  storage::Transaction tx(db);
  std::string v = version;
  if (!v.empty()) {
    auto exists = db.prepare("SELECT 1 FROM environments WHERE name = ? AND version = ?");
    exists.bind(1, name).bind(2, v);
    if (exists.step()) return std::nullopt;
  } else {
    auto next = db.prepare(
        "SELECT COALESCE(MAX(CAST(version AS INTEGER)), 0) + 1 FROM environments WHERE name = ?");
    next.bind(1, name);
    next.step();
    v = std::to_string(next.integer(0));
  }
  db.prepare("INSERT INTO environments (name, version, definition, created_time) VALUES (?, ?, ?, ?)")
      .bind(1, name)
      .bind(2, v)
      .bind(3, definition.dump())
      .bind(4, time)
      .run();
  tx.commit();
  return v;
}

std::vector<RegisteredEnvironment> RegisteredStore::list() {
  auto st = detail::database(ws_).prepare(
      "SELECT name, version, definition, created_time FROM environments ORDER BY created_time DESC");
  std::vector<RegisteredEnvironment> out;
  while (st.step()) out.push_back(read_row(st));
  return out;
}

}  // namespace amlemu::environment

namespace amlemu {

nlohmann::json list_registered_environments(const Workspace& ws) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& e : environment::RegisteredStore(ws).list()) {
    out.push_back({{"name", e.name}, {"version", e.version}, {"definition", e.definition},
                   {"createdTime", e.created_time}});
  }
  return out;
}

}  // namespace amlemu
