#include "registry/code_store.hpp"

#include "storage/database.hpp"
#include "workspace/workspace_impl.hpp"

namespace amlemu::registry {

namespace {

constexpr const char* kColumns = "name, version, hash, container, path, definition, created_time";

CodeVersion read_row(storage::Statement& st) {
  CodeVersion c;
  c.name = st.text(0);
  c.version = st.text(1);
  c.hash = st.optional_text(2).value_or("");
  c.container = st.text(3);
  c.path = st.text(4);
  c.definition = nlohmann::json::parse(st.text(5));
  c.created_time = st.text(6);
  return c;
}

}  // namespace

std::optional<CodeVersion> CodeStore::find(const std::string& name, const std::string& version) {
  auto st = detail::database(ws_).prepare(std::string("SELECT ") + kColumns +
                                          " FROM code_versions WHERE name = ?1 AND version = ?2");
  st.bind(1, name).bind(2, version);
  if (!st.step()) return std::nullopt;
  return read_row(st);
}

std::optional<CodeVersion> CodeStore::find_by_hash(const std::string& hash) {
  auto st = detail::database(ws_).prepare(
      std::string("SELECT ") + kColumns +
      " FROM code_versions WHERE hash = ?1 ORDER BY created_time DESC LIMIT 1");
  st.bind(1, hash);
  if (!st.step()) return std::nullopt;
  return read_row(st);
}

std::vector<CodeVersion> CodeStore::list(const std::optional<std::string>& name) {
  std::string sql = std::string("SELECT ") + kColumns + " FROM code_versions";
  if (name) sql += " WHERE name = ?1";
  sql += " ORDER BY created_time DESC, name, version DESC";
  auto st = detail::database(ws_).prepare(sql);
  if (name) st.bind(1, *name);
  std::vector<CodeVersion> out;
  while (st.step()) out.push_back(read_row(st));
  return out;
}

CodeVersion CodeStore::insert_or_get(const CodeVersion& c) {
  auto& db = detail::database(ws_);
  storage::Transaction tx(db);
  if (auto existing = find(c.name, c.version)) return *existing;
  db.prepare("INSERT INTO code_versions (name, version, hash, container, path, definition, "
             "created_time) VALUES (?, ?, ?, ?, ?, ?, ?)")
      .bind(1, c.name)
      .bind(2, c.version)
      .bind(3, c.hash.empty() ? std::optional<std::string>() : std::optional<std::string>(c.hash))
      .bind(4, c.container)
      .bind(5, c.path)
      .bind(6, c.definition.dump())
      .bind(7, c.created_time)
      .run();
  tx.commit();
  return c;
}

}  // namespace amlemu::registry
