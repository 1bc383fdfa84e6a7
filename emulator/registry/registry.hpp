// The model registry's internal entry point, shared by Model::register_model and
// Run::register_model.
#pragma once

#include <filesystem>
#include <map>
#include <string>

#include "amlemu/model.hpp"

namespace amlemu::registry {

struct Origin {
  std::string run_id;
  std::string experiment_name;
};

/// Copies `source` (file or folder) into staging, then, in one transaction, takes the next
/// version of `name`, moves the files into place and records the row. On any failure the
/// staging copy is removed and no version exists.
Model register_files(const Workspace& ws, const std::filesystem::path& source,
                     const std::string& name, const std::map<std::string, std::string>& tags,
                     const std::string& description, const Origin& origin);

/// The same for an SDK v2 registration (explicit version, type, source URI, properties).
Model register_files(const Workspace& ws, const std::filesystem::path& source,
                     const ModelRegistration& registration, const Origin& origin);

}  // namespace amlemu::registry
