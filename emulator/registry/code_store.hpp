// The code-asset repository: every SQL statement about the `code_versions` table lives here.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "amlemu/assets.hpp"

namespace amlemu::registry {

class CodeStore {
 public:
  explicit CodeStore(const Workspace& ws) : ws_(ws) {}
  std::optional<CodeVersion> find(const std::string& name, const std::string& version);
  std::optional<CodeVersion> find_by_hash(const std::string& hash);
  /// Newest first.
  std::vector<CodeVersion> list(const std::optional<std::string>& name);
  /// Records it unless (name, version) exists; returns what is recorded under that key.
  CodeVersion insert_or_get(const CodeVersion& code);

 private:
  Workspace ws_;
};

}  // namespace amlemu::registry
