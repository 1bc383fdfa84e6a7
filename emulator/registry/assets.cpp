// Code and data assets (include/amlemu/assets.hpp): validation, and the files behind a code
// version.
#include <regex>

#include "amlemu/assets.hpp"
#include "amlemu/blob.hpp"
#include "amlemu/datastore.hpp"
#include "amlemu/errors.hpp"
#include "common/clock.hpp"
#include "common/text.hpp"
#include "registry/code_store.hpp"
#include "registry/data_store.hpp"

namespace amlemu {

namespace {

void check_asset_name(const std::string& what, const std::string& name, const std::string& version) {
  if (!matches(name, kAssetName)) {
    throw UserErrorException(what + " name '" + printable(name) +
                             "' must be 1-255 letters, digits, '.', '_' or '-', starting with a "
                             "letter or digit");
  }
  if (!version.empty() && !matches(version, kAssetName)) {
    throw UserErrorException(what + " version '" + printable(version) +
                             "' must be letters, digits, '.', '_' or '-'");
  }
}

}  // namespace

std::optional<CodeVersion> find_code_by_hash(const Workspace& ws, const std::string& hash) {
  if (hash.empty()) return std::nullopt;
  return registry::CodeStore(ws).find_by_hash(hash);
}

std::optional<CodeVersion> get_code_version(const Workspace& ws, const std::string& name,
                                            const std::string& version) {
  return registry::CodeStore(ws).find(name, version);
}

std::vector<CodeVersion> list_code_versions(const Workspace& ws,
                                            const std::optional<std::string>& name) {
  return registry::CodeStore(ws).list(name);
}

std::filesystem::path code_directory(const Workspace& ws, const CodeVersion& code) {
  const auto c = BlobContainer::open(ws, code.container);
  if (!c) {
    throw NotFoundException("code " + code.name + ":" + code.version + ": its container " +
                            code.container + " no longer exists");
  }
  return c->local_path(code.path);
}

CodeVersion create_code_version(const Workspace& ws, const CodeVersion& code) {
  check_asset_name("code", code.name, code.version);
  if (code.version.empty()) throw UserErrorException("code " + code.name + ": version is required");
  const auto c = BlobContainer::open(ws, code.container);
  if (!c) {
    throw UserErrorException("codeUri: container '" + code.container +
                             "' is not a blob container of workspace " + ws.name());
  }
  std::error_code ec;
  if (!std::filesystem::exists(c->local_path(code.path), ec)) {
    throw UserErrorException("codeUri: nothing was uploaded to '" + code.container + "/" +
                             code.path + "'");
  }
  CodeVersion row = code;
  row.created_time = now_iso();
  const auto stored = registry::CodeStore(ws).insert_or_get(row);
  if (stored.container != code.container || stored.path != code.path) {
    throw UserErrorException("code " + code.name + ":" + code.version +
                             " already exists with other files");
  }
  return stored;
}

std::optional<DataVersion> get_data_version(const Workspace& ws, const std::string& name,
                                            const std::string& version) {
  return registry::DataStore(ws).find(name, version);
}

std::vector<DataVersion> list_data_versions(const Workspace& ws,
                                            const std::optional<std::string>& name,
                                            bool include_archived) {
  return registry::DataStore(ws).list(name, include_archived);
}

int archive_data_version(const Workspace& ws, const std::string& name, const std::string& version,
                         bool archived) {
  registry::DataStore store(ws);
  if (version.empty() ? store.list(name, true).empty() : !store.find(name, version)) {
    throw NotFoundException("data asset " + name + (version.empty() ? "" : ":" + version) +
                            " not found in workspace " + ws.name());
  }
  return store.set_archived(name, version, archived);
}

DataVersion create_data_version(const Workspace& ws, const DataVersion& data) {
  check_asset_name("data", data.name, data.version);
  if (data.type != "uri_file" && data.type != "uri_folder" && data.type != "mltable") {
    throw UserErrorException("data " + data.name + ": type '" + data.type +
                             "' is not uri_file, uri_folder or mltable");
  }
  if (data.uri.empty() || data.uri.find('\n') != std::string::npos) {
    throw UserErrorException("data " + data.name + ": the path (dataUri) is empty or not one line");
  }
  // A URI, as the service requires (clients upload local paths first): a scheme, then "://".
  static const std::regex uri_form(R"(^[A-Za-z][A-Za-z0-9+.-]*://\S+$)");
  if (!std::regex_match(data.uri, uri_form)) {
    throw UserErrorException("data " + data.name + ": path '" + printable(data.uri) +
                             "' is not a URI (azureml://datastores/<datastore>/paths/<path>, "
                             "https://...); upload local files with 'amlemu datastore upload' first");
  }
  // A datastore URI must name a datastore of this workspace and stay inside it.
  if (const auto ds = parse_datastore_uri(ws, data.uri)) Datastore::get(ws, ds->first);
  DataVersion row = data;
  row.created_time = now_iso();
  const auto stored = registry::DataStore(ws).insert_or_get(row);
  if (stored.uri != data.uri || stored.type != data.type) {
    throw UserErrorException("data " + data.name + ":" + stored.version +
                             " already exists with another path or type");
  }
  return stored;
}

}  // namespace amlemu
