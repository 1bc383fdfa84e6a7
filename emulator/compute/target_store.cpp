#include "compute/target_store.hpp"

#include "history/run_store.hpp"
#include "storage/database.hpp"
#include "workspace/workspace_impl.hpp"

namespace amlemu::compute {

namespace {

constexpr const char* kColumns =
    "rowid, name, vm_size, vm_priority, min_nodes, max_nodes, idle_seconds_before_scaledown, "
    "provisioning_state, created_time";

TargetRow read_row(storage::Statement& st) {
  TargetRow r;
  r.number = static_cast<int>(st.integer(0));
  r.name = st.text(1);
  r.config.vm_size = st.text(2);
  r.config.vm_priority = st.text(3);
  r.config.min_nodes = static_cast<int>(st.integer(4));
  r.config.max_nodes = static_cast<int>(st.integer(5));
  r.config.idle_seconds_before_scaledown = static_cast<int>(st.integer(6));
  r.provisioning_state = st.text(7);
  r.created_time = st.text(8);
  return r;
}

}  // namespace

std::optional<TargetRow> TargetStore::find(const std::string& name) {
  auto st = detail::database(ws_).prepare(std::string("SELECT ") + kColumns +
                                          " FROM compute_targets WHERE name = ?");
  st.bind(1, name);
  if (!st.step()) return std::nullopt;
  return read_row(st);
}

std::optional<TargetRow> TargetStore::insert_unless_exists(const std::string& name,
                                                           const ProvisioningConfiguration& c,
                                                           const std::string& time) {
  auto& db = detail::database(ws_);
  storage::Transaction tx(db);
  if (auto existing = find(name)) return existing;
  db.prepare("INSERT INTO compute_targets VALUES (?, 'AmlCompute', ?, ?, ?, ?, ?, "
             "'Succeeded', ?, ?)")
      .bind(1, name)
      .bind(2, c.vm_size)
      .bind(3, c.vm_priority)
      .bind(4, c.min_nodes)
      .bind(5, c.max_nodes.value_or(0))
      .bind(6, c.idle_seconds_before_scaledown)
      .bind(7, time)
      .bind(8, time)
      .run();
  tx.commit();
  return std::nullopt;
}

std::vector<std::string> TargetStore::names() {
  auto st = detail::database(ws_).prepare("SELECT name FROM compute_targets ORDER BY name");
  std::vector<std::string> out;
  while (st.step()) out.push_back(st.text(0));
  return out;
}

bool TargetStore::remove_unless_in_use(const std::string& name) {
  auto& db = detail::database(ws_);
  storage::Transaction tx(db);
  if (history::RunStore(ws_).live_runs_on(name) > 0) return false;
  db.prepare("DELETE FROM compute_targets WHERE name = ?").bind(1, name).run();
  tx.commit();
  return true;
}

}  // namespace amlemu::compute
