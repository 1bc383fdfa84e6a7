// What a Workspace handle holds. Internal to the library: only the workspace room and the
// repositories (the files that own a table) include it; tests/check_ownership.py enforces that.
#pragma once

#include <filesystem>
#include <string>

#include "amlemu/workspace.hpp"
#include "storage/database.hpp"

namespace amlemu::detail {

struct WorkspaceImpl {
  WorkspaceConfig config;
  std::filesystem::path dir;
  std::string id;
  std::string created_time;
  storage::Database db;

  WorkspaceImpl(WorkspaceConfig c, std::filesystem::path d, bool create)
      : config(std::move(c)), dir(std::move(d)), db(dir / "workspace.db", create) {}
};

/// The workspace's database connection, for the repositories.
inline storage::Database& database(const Workspace& ws) { return impl_of(ws).db; }

}  // namespace amlemu::detail
