#include "registry/model_store.hpp"

#include <nlohmann/json.hpp>

#include "storage/database.hpp"
#include "workspace/workspace_impl.hpp"

namespace amlemu::registry {

namespace {

constexpr const char* kColumns =
    "name, version, path, run_id, experiment_name, description, tags, created_time, model_type, "
    "source_uri, properties";

ModelRow read_row(storage::Statement& st) {
  ModelRow m;
  m.name = st.text(0);
  m.version = static_cast<int>(st.integer(1));
  m.path = st.text(2);
  m.run_id = st.optional_text(3).value_or("");
  m.experiment_name = st.optional_text(4).value_or("");
  m.description = st.text(5);
  m.tags = nlohmann::json::parse(st.text(6)).get<std::map<std::string, std::string>>();
  m.created_time = st.text(7);
  m.model_type = st.text(8);
  m.source_uri = st.optional_text(9).value_or("");
  m.properties = nlohmann::json::parse(st.text(10)).get<std::map<std::string, std::string>>();
  return m;
}

std::optional<std::string> unless_empty(const std::string& s) {
  return s.empty() ? std::nullopt : std::optional<std::string>(s);
}

void insert_row(storage::Database& db, const ModelRow& row) {
  db.prepare("INSERT INTO models (name, version, path, run_id, experiment_name, description, "
             "tags, created_time, model_type, source_uri, properties) "
             "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
      .bind(1, row.name)
      .bind(2, row.version)
      .bind(3, row.path)
      .bind(4, unless_empty(row.run_id))
      .bind(5, unless_empty(row.experiment_name))
      .bind(6, row.description)
      .bind(7, nlohmann::json(row.tags).dump())
      .bind(8, row.created_time)
      .bind(9, row.model_type)
      .bind(10, unless_empty(row.source_uri))
      .bind(11, nlohmann::json(row.properties).dump())
      .run();
}

}  // namespace

std::optional<ModelRow> ModelStore::find(const std::string& name, std::optional<int> version) {
  std::string sql = std::string("SELECT ") + kColumns + " FROM models WHERE name = ?1";
  sql += version ? " AND version = ?2" : " ORDER BY version DESC LIMIT 1";
  auto st = detail::database(ws_).prepare(sql);
  st.bind(1, name);
  if (version) st.bind(2, *version);
  if (!st.step()) return std::nullopt;
  return read_row(st);
}

std::vector<ModelRow> ModelStore::list(const std::optional<std::string>& name, bool latest) {
  std::string sql = std::string("SELECT ") + kColumns + " FROM models m";
  std::vector<std::string> where;
  if (name) where.push_back("name = ?1");
  if (latest) where.push_back("version = (SELECT MAX(version) FROM models x WHERE x.name = m.name)");
  for (size_t i = 0; i < where.size(); ++i) sql += (i ? " AND " : " WHERE ") + where[i];
  sql += " ORDER BY created_time DESC, name, version DESC";
  auto st = detail::database(ws_).prepare(sql);
  if (name) st.bind(1, *name);
  std::vector<ModelRow> out;
  while (st.step()) out.push_back(read_row(st));
  return out;
}

int ModelStore::insert_next_version(ModelRow row, const std::function<void(int)>& place) {
  auto& db = detail::database(ws_);
  storage::Transaction tx(db);
  auto next = db.prepare("SELECT COALESCE(MAX(version), 0) + 1 FROM models WHERE name = ?");
  next.bind(1, row.name);
  next.step();
  row.version = static_cast<int>(next.integer(0));
  place(row.version);
  insert_row(db, row);
  tx.commit();
  return row.version;
}

bool ModelStore::insert_version(const ModelRow& row, const std::function<void()>& place) {
  auto& db = detail::database(ws_);
  storage::Transaction tx(db);
  if (find(row.name, row.version)) return false;
  place();
  insert_row(db, row);
  tx.commit();
  return true;
}

void ModelStore::update_metadata(const ModelRow& row) {
  detail::database(ws_)
      .prepare("UPDATE models SET description = ?3, tags = ?4, properties = ?5 "
               "WHERE name = ?1 AND version = ?2")
      .bind(1, row.name)
      .bind(2, row.version)
      .bind(3, row.description)
      .bind(4, nlohmann::json(row.tags).dump())
      .bind(5, nlohmann::json(row.properties).dump())
      .run();
}

}  // namespace amlemu::registry
