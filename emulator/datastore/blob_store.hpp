// The blob-properties repository: every SQL statement about the `blob_properties` table lives
// here, and nowhere else. A blob's bytes are its file; this keeps what Azure Storage keeps beside
// them (content type, MD5, user metadata).
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "amlemu/workspace.hpp"

namespace amlemu::datastore {

class BlobStore {
 public:
  explicit BlobStore(const Workspace& ws) : ws_(ws) {}

  /// The properties of one blob ({"contentType", "contentMd5", "metadata"}), or nullopt.
  std::optional<nlohmann::json> find(const std::string& container, const std::string& name);
  /// Every blob of the container whose name starts with `prefix` that has properties.
  std::map<std::string, nlohmann::json> under(const std::string& container, const std::string& prefix);
  /// Replaces (or, with nullopt, removes) a blob's properties.
  void put(const std::string& container, const std::string& name,
           const std::optional<nlohmann::json>& properties);
  /// In one transaction: records the properties (removes them for nullopt), then calls `place`,
  /// which moves the blob's file into place. Nothing is recorded when `place` throws, so a blob's
  /// properties never describe bytes that did not land.
  void replace(const std::string& container, const std::string& name,
               const std::optional<nlohmann::json>& properties, const std::function<void()>& place);

 private:
  Workspace ws_;
};

}  // namespace amlemu::datastore
