#include "registry/data_store.hpp"

#include "storage/database.hpp"
#include "workspace/workspace_impl.hpp"

namespace amlemu::registry {

namespace {

constexpr const char* kColumns = "name, version, data_type, uri, definition, created_time, archived";

DataVersion read_row(storage::Statement& st) {
  DataVersion d;
  d.name = st.text(0);
  d.version = st.text(1);
  d.type = st.text(2);
  d.uri = st.text(3);
  d.definition = nlohmann::json::parse(st.text(4));
  d.created_time = st.text(5);
  d.archived = st.integer(6) != 0;
  return d;
}

}  // namespace

std::optional<DataVersion> DataStore::find(const std::string& name, const std::string& version) {
  std::string sql = std::string("SELECT ") + kColumns + " FROM data_versions WHERE name = ?1";
  sql += version.empty() ? " AND archived = 0 ORDER BY created_time DESC, rowid DESC LIMIT 1"
                         : " AND version = ?2";
  auto st = detail::database(ws_).prepare(sql);
  st.bind(1, name);
  if (!version.empty()) st.bind(2, version);
  if (!st.step()) return std::nullopt;
  return read_row(st);
}

std::vector<DataVersion> DataStore::list(const std::optional<std::string>& name,
                                        bool include_archived) {
  std::string sql = std::string("SELECT ") + kColumns + " FROM data_versions WHERE 1";
  if (name) sql += " AND name = ?1";
  if (!include_archived) sql += " AND archived = 0";
  sql += " ORDER BY created_time DESC, rowid DESC";
  auto st = detail::database(ws_).prepare(sql);
  if (name) st.bind(1, *name);
  std::vector<DataVersion> out;
  while (st.step()) out.push_back(read_row(st));
  return out;
}

int DataStore::set_archived(const std::string& name, const std::string& version, bool archived) {
  auto& db = detail::database(ws_);
  auto st = db.prepare(version.empty()
                           ? "UPDATE data_versions SET archived = ?1 WHERE name = ?2"
                           : "UPDATE data_versions SET archived = ?1 WHERE name = ?2 AND version = ?3");
  st.bind(1, archived ? 1 : 0).bind(2, name);
  if (!version.empty()) st.bind(3, version);
  st.run();
  return db.changes();
}

DataVersion DataStore::insert_or_get(DataVersion d) {
  auto& db = detail::database(ws_);
  storage::Transaction tx(db);
  if (d.version.empty()) {
    auto next = db.prepare(
        "SELECT COALESCE(MAX(CAST(version AS INTEGER)), 0) + 1 FROM data_versions "
        "WHERE name = ?1 AND version GLOB '[0-9]*' AND version NOT GLOB '*[^0-9]*'");
    next.bind(1, d.name);
    next.step();
    d.version = std::to_string(next.integer(0));
  } else if (auto existing = find(d.name, d.version)) {
    return *existing;
  }
  db.prepare("INSERT INTO data_versions (name, version, data_type, uri, definition, created_time) "
             "VALUES (?, ?, ?, ?, ?, ?)")
      .bind(1, d.name)
      .bind(2, d.version)
      .bind(3, d.type)
      .bind(4, d.uri)
      .bind(5, d.definition.dump())
      .bind(6, d.created_time)
      .run();
  tx.commit();
  return d;
}

}  // namespace amlemu::registry
