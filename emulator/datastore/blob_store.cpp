#include "datastore/blob_store.hpp"

#include "storage/database.hpp"
#include "workspace/workspace_impl.hpp"

namespace amlemu::datastore {

std::optional<nlohmann::json> BlobStore::find(const std::string& container, const std::string& name) {
  auto st = detail::database(ws_).prepare(
      "SELECT properties FROM blob_properties WHERE container = ?1 AND name = ?2");
  st.bind(1, container).bind(2, name);
  if (!st.step()) return std::nullopt;
  return nlohmann::json::parse(st.text(0));
}

std::map<std::string, nlohmann::json> BlobStore::under(const std::string& container,
                                                       const std::string& prefix) {
  // Names in [prefix, prefix + U+10FFFF): a range scan of the primary key, no LIKE escaping.
  auto st = detail::database(ws_).prepare(
      "SELECT name, properties FROM blob_properties WHERE container = ?1 AND name >= ?2 AND "
      "name < ?3");
  st.bind(1, container).bind(2, prefix).bind(3, prefix + "\xf4\x8f\xbf\xbf");
  std::map<std::string, nlohmann::json> out;
  while (st.step()) out[st.text(0)] = nlohmann::json::parse(st.text(1));
  return out;
}

void BlobStore::put(const std::string& container, const std::string& name,
                    const std::optional<nlohmann::json>& properties) {
  auto& db = detail::database(ws_);
  if (!properties) {
    db.prepare("DELETE FROM blob_properties WHERE container = ?1 AND name = ?2")
        .bind(1, container)
        .bind(2, name)
        .run();
    return;
  }
  db.prepare("INSERT INTO blob_properties (container, name, properties) VALUES (?1, ?2, ?3) "
             "ON CONFLICT (container, name) DO UPDATE SET properties = excluded.properties")
      .bind(1, container)
      .bind(2, name)
      .bind(3, properties->dump())
      .run();
}

void BlobStore::replace(const std::string& container, const std::string& name,
                        const std::optional<nlohmann::json>& properties,
                        const std::function<void()>& place) {
  storage::Transaction tx(detail::database(ws_));
  put(container, name, properties);
  place();
  tx.commit();
}

}  // namespace amlemu::datastore
