#include "amlemu/workspace.hpp"

#include <algorithm>

#include "amlemu/errors.hpp"
#include "common/clock.hpp"
#include "common/fs.hpp"
#include "common/ids.hpp"
#include "common/text.hpp"
#include "workspace/layout.hpp"
#include "workspace/upkeep.hpp"
#include "workspace/workspace_impl.hpp"

namespace amlemu {

namespace stdfs = std::filesystem;

detail::WorkspaceImpl& detail::impl_of(const Workspace& ws) { return *ws.impl_; }

namespace {

void validate_workspace_name(const std::string& name) {
  if (!matches(name, {.rest_extra = "_-", .min = 2, .max = 32})) {
    throw UserErrorException("workspace_name '" + name +
                             "' is invalid: it must be 2 to 32 characters, start with a letter "
                             "or digit and contain only letters, digits, '-' and '_'");
  }
}

// Subscription and resource group become folder names: keep them to one safe path segment.
void validate_segment(const char* field, const std::string& value) {
  if (!matches(value, {.rest_extra = "._()-", .max = 90})) {
    throw UserErrorException(std::string(field) + " '" + value +
                             "' is invalid: use up to 90 letters, digits, '-', '_', '.', '(' "
                             "or ')', starting with a letter or digit");
  }
}

void load_identity(detail::WorkspaceImpl& impl) {
  auto st = impl.db.prepare("SELECT id, created_time FROM workspace LIMIT 1");
  if (st.step()) {
    impl.id = st.text(0);
    impl.created_time = st.text(1);
  }
}

}  // namespace

Workspace Workspace::create(const std::string& name, const std::string& subscription_id,
                            const std::string& resource_group, bool exist_ok) {
  validate_workspace_name(name);
  validate_segment("subscription_id", subscription_id);
  validate_segment("resource_group", resource_group);
  const auto dir = layout::workspace_dir(amlemu_home(), subscription_id, resource_group, name);
  const bool existed = stdfs::exists(layout::database(dir));
  if (existed && !exist_ok) {
    throw UserErrorException("Workspace with name '" + name + "' already exists under " +
                             dir.string());
  }
  stdfs::create_directories(layout::datastore(dir, "workspaceblobstore"));
  stdfs::create_directories(layout::datastore(dir, "workspacefilestore"));
  stdfs::create_directories(dir / "runs");
  stdfs::create_directories(layout::model_staging(dir));
  WorkspaceConfig cfg{subscription_id, resource_group, name, {}};
  auto impl = std::make_shared<detail::WorkspaceImpl>(cfg, dir, /*create=*/true);
  {
    storage::Transaction tx(impl->db);
    auto count = impl->db.prepare("SELECT COUNT(*) FROM workspace");
    count.step();
    if (count.integer(0) == 0) {
      impl->db.prepare("INSERT INTO workspace VALUES (?, ?, ?, ?, ?)")
          .bind(1, new_guid())
          .bind(2, name)
          .bind(3, subscription_id)
          .bind(4, resource_group)
          .bind(5, now_iso())
          .run();
    }
    tx.commit();
  }
  load_identity(*impl);
  return Workspace(impl);
}

Workspace Workspace::get(const std::string& name, const std::string& subscription_id,
                         const std::string& resource_group) {
  validate_workspace_name(name);
  validate_segment("subscription_id", subscription_id);
  validate_segment("resource_group", resource_group);
  const auto dir = layout::workspace_dir(amlemu_home(), subscription_id, resource_group, name);
  if (!stdfs::exists(layout::database(dir))) {
    throw NotFoundException("Workspace '" + name + "' not found in resource group '" +
                            resource_group + "' of subscription '" + subscription_id +
                            "' (no state under " + dir.string() +
                            "); create it with 'amlemu workspace create'");
  }
  WorkspaceConfig cfg{subscription_id, resource_group, name, {}};
  auto impl = std::make_shared<detail::WorkspaceImpl>(cfg, dir, /*create=*/false);
  load_identity(*impl);
  return Workspace(impl);
}

Workspace Workspace::open_state_dir(const stdfs::path& state_dir) {
  if (!stdfs::exists(layout::database(state_dir))) {
    throw NotFoundException("no workspace state in " + state_dir.string());
  }
  auto impl = std::make_shared<detail::WorkspaceImpl>(WorkspaceConfig{}, state_dir, false);
  auto st = impl->db.prepare("SELECT name, subscription_id, resource_group FROM workspace");
  if (!st.step()) throw NotFoundException("no workspace record in " + state_dir.string());
  impl->config = WorkspaceConfig{st.text(1), st.text(2), st.text(0), {}};
  load_identity(*impl);
  return Workspace(impl);
}

Workspace Workspace::from_config(const std::optional<stdfs::path>& path) {
  const auto cfg = find_workspace_config(path);
  Workspace ws = get(cfg.workspace_name, cfg.subscription_id, cfg.resource_group);
  ws.impl_->config.source = cfg.source;
  return ws;
}

const std::string& Workspace::name() const { return impl_->config.workspace_name; }
const std::string& Workspace::subscription_id() const { return impl_->config.subscription_id; }
const std::string& Workspace::resource_group() const { return impl_->config.resource_group; }
const stdfs::path& Workspace::state_dir() const { return impl_->dir; }

nlohmann::json Workspace::get_details() const {
  const std::string arm_id = "/subscriptions/" + subscription_id() + "/resourceGroups/" +
                             resource_group() +
                             "/providers/Microsoft.MachineLearningServices/workspaces/" + name();
  return {{"id", arm_id},
          {"name", name()},
          {"location", "local"},
          {"workspaceid", impl_->id},
          {"friendlyName", name()},
          {"creationTime", impl_->created_time},
          {"subscriptionId", subscription_id()},
          {"resourceGroup", resource_group()},
          {"stateDir", state_dir().string()}};
}

void Workspace::write_config(const std::optional<stdfs::path>& path) const {
  const stdfs::path dir = (path ? *path : stdfs::current_path()) / ".azureml";
  stdfs::create_directories(dir);
  const nlohmann::json doc = {{"Id", nullptr}, {"Scope", get_details()["id"]}};
  fs::atomic_write(dir / "config.json", doc.dump(4) + "\n");
}

std::vector<WorkspaceConfig> list_workspaces() {
  std::vector<WorkspaceConfig> out;
  const auto root = amlemu_home() / "workspaces";
  std::error_code ec;
  auto children = [&](const stdfs::path& dir) {
    std::vector<stdfs::path> v;
    for (stdfs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      if (it->is_directory(ec)) v.push_back(it->path());
    }
    std::sort(v.begin(), v.end());
    return v;
  };
  for (const auto& sub : children(root)) {
    for (const auto& rg : children(sub)) {
      for (const auto& ws : children(rg)) {
        if (stdfs::exists(layout::database(ws), ec)) {
          out.push_back({sub.filename().string(), rg.filename().string(), ws.filename().string(), {}});
        }
      }
    }
  }
  return out;
}

}  // namespace amlemu

namespace amlemu::upkeep {

void fold_log(const stdfs::path& state_dir) noexcept {
  // Reading back a log costs about a millisecond per MiB; folding one costs two syncs.
  constexpr std::uintmax_t kFoldAbove = 256 << 10;
  std::error_code ec;
  const auto wal = stdfs::path(layout::database(state_dir).string() + "-wal");
  const auto size = stdfs::file_size(wal, ec);
  if (ec || size <= kFoldAbove) return;
  storage::fold_log(layout::database(state_dir));
}

}  // namespace amlemu::upkeep
