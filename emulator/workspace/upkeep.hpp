// Upkeep of a workspace's state that belongs to no run and no table.
#pragma once

#include <filesystem>

namespace amlemu::upkeep {

/// Folds the workspace database's write-ahead log into the database and empties it, when the
/// log has grown past a few hundred KiB and no other connection is reading or writing (else
/// nothing). A command that opens the workspace while no other connection has it open reads
/// the whole log back first, so a short log keeps every command's start short. Never throws.
void fold_log(const std::filesystem::path& state_dir) noexcept;

}  // namespace amlemu::upkeep
