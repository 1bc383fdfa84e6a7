// azureml:// URIs of a workspace's data: parsed, mapped to the files behind them, and written in
// the service's long form (include/amlemu/datastore.hpp); the workspace's storage account name
// and the storage URLs (wasbs, abfss, blob https) of its containers.
#include <regex>

#include "amlemu/blob.hpp"
#include "amlemu/datastore.hpp"
#include "amlemu/errors.hpp"
#include "common/fs.hpp"
#include "common/hash.hpp"
#include "common/text.hpp"

namespace amlemu {

namespace stdfs = std::filesystem;

namespace {

constexpr const char* kArtifactStore = "workspaceartifactstore";

std::string clean(const std::string& uri, const std::string& path) {
  try {
    return fs::clean_relative(path);
  } catch (const std::invalid_argument& e) {
    throw UserErrorException("'" + printable(uri) + "': " + e.what());
  }
}

// azureml://jobs/<run>/outputs/artifacts/paths/<path> -> the run id and the path.
std::optional<std::pair<std::string, std::string>> job_output(const std::string& uri) {
  static const std::regex form(R"(^azureml://jobs/([A-Za-z0-9_.-]+)/outputs/artifacts/paths/?(.*)$)");
  std::smatch m;
  if (!std::regex_match(uri, m, form)) return std::nullopt;
  return std::make_pair(m[1].str(), clean(uri, m[2].str()));
}

}  // namespace

std::string storage_account_name(const std::string& subscription_id,
                                 const std::string& resource_group, const std::string& workspace) {
  return "amlemu" + sha1_hex(subscription_id + "/" + resource_group + "/" + workspace).substr(0, 16);
}

std::string storage_account_name(const Workspace& ws) {
  return storage_account_name(ws.subscription_id(), ws.resource_group(), ws.name());
}

std::optional<std::pair<std::string, std::string>> parse_datastore_uri(const Workspace& ws,
                                                                       const std::string& uri) {
  static const std::regex short_form(R"(^azureml://datastores/([A-Za-z0-9_-]+)/paths/?(.*)$)");
  static const std::regex long_form(
      R"(^azureml://subscriptions/([^/]+)/resource[gG]roups/([^/]+)/workspaces/([^/]+)/datastores/([A-Za-z0-9_-]+)/paths/?(.*)$)");
  std::smatch m;
  if (std::regex_match(uri, m, short_form)) return std::make_pair(m[1].str(), clean(uri, m[2].str()));
  if (std::regex_match(uri, m, long_form)) {
    if (m[1].str() != ws.subscription_id() || to_lower(m[2].str()) != to_lower(ws.resource_group()) ||
        m[3].str() != ws.name()) {
      throw UserErrorException("'" + printable(uri) + "' names another workspace than " + ws.name());
    }
    return std::make_pair(m[4].str(), clean(uri, m[5].str()));
  }
  return std::nullopt;
}

std::optional<std::pair<std::string, std::string>> parse_storage_url(const Workspace& ws,
                                                                     const std::string& url) {
  const auto sep = url.find("://");
  if (sep == std::string::npos) return std::nullopt;
  const auto scheme = to_lower(url.substr(0, sep));
  const auto rest = url.substr(sep + 3);
  const auto slash = rest.find('/');
  const auto authority = to_lower(rest.substr(0, slash));
  std::string path = slash == std::string::npos ? "" : rest.substr(slash + 1);
  path = path.substr(0, path.find('?'));
  std::string account, container;
  const auto host_of = [&](const std::string& host, const std::string& suffix) {
    if (host.size() <= suffix.size() || !host.ends_with(suffix)) return false;
    account = host.substr(0, host.size() - suffix.size());
    return true;
  };
  if (scheme == "wasb" || scheme == "wasbs" || scheme == "abfs" || scheme == "abfss") {
    const auto at = authority.find('@');
    if (at == std::string::npos) return std::nullopt;
    container = authority.substr(0, at);
    const bool dfs = scheme.rfind("abfs", 0) == 0;
    if (!host_of(authority.substr(at + 1), dfs ? ".dfs.core.windows.net" : ".blob.core.windows.net")) {
      return std::nullopt;
    }
  } else if (scheme == "https" || scheme == "http") {
    if (!host_of(authority, ".blob.core.windows.net")) return std::nullopt;
    const auto cut = path.find('/');
    container = path.substr(0, cut);
    path = cut == std::string::npos ? "" : path.substr(cut + 1);
  } else {
    return std::nullopt;
  }
  if (account != to_lower(storage_account_name(ws))) return std::nullopt;
  const auto guid = ws.get_details().value("workspaceid", std::string());
  std::string datastore;
  if (container == "azureml-blobstore-" + guid) datastore = "workspaceblobstore";
  if (container == "azureml-filestore-" + guid) datastore = "workspacefilestore";
  if (datastore.empty()) {
    throw UserErrorException("'" + printable(url) + "' names container '" + printable(container) +
                             "' of workspace " + ws.name() + "'s storage account, which is no "
                             "datastore's (azureml-blobstore-" + guid + " is workspaceblobstore)");
  }
  return std::make_pair(datastore, clean(url, path));
}

stdfs::path local_path_of_uri(const Workspace& ws, const std::string& uri) {
  stdfs::path p;
  if (const auto job = job_output(uri)) {
    p = BlobContainer::open(ws, "azureml")->local_path("ExperimentRun/dcid." + job->first +
                                                      (job->second.empty() ? "" : "/" + job->second));
  } else if (const auto ds = parse_datastore_uri(ws, uri)) {
    if (ds->first == kArtifactStore) {
      if (ds->second.rfind("ExperimentRun/dcid.", 0) != 0 || ds->second.find('/', 19) == std::string::npos) {
        throw UserErrorException("'" + printable(uri) + "': workspaceartifactstore paths are "
                                 "ExperimentRun/dcid.<run id>/<file>");
      }
      p = BlobContainer::open(ws, "azureml")->local_path(ds->second);
    } else {
      const auto root = Datastore::get(ws, ds->first).root();
      p = ds->second.empty() ? root : root / ds->second;
    }
  } else {
    throw UserErrorException("'" + printable(uri) +
                             "' is not an azureml://datastores/<name>/paths/<path> or "
                             "azureml://jobs/<run>/outputs/artifacts/paths/<path> URI");
  }
  std::error_code ec;
  if (!stdfs::exists(p, ec)) {
    throw UserErrorException("'" + printable(uri) + "' names nothing that exists (" + p.string() + ")");
  }
  return p;
}

std::string long_form_uri(const Workspace& ws, const std::string& uri) {
  const std::string prefix = "azureml://subscriptions/" + ws.subscription_id() + "/resourceGroups/" +
                             ws.resource_group() + "/workspaces/" + ws.name() + "/datastores/";
  if (const auto job = job_output(uri)) {
    return prefix + kArtifactStore + "/paths/ExperimentRun/dcid." + job->first +
           (job->second.empty() ? "" : "/" + job->second);
  }
  try {
    if (const auto ds = parse_datastore_uri(ws, uri)) {
      return prefix + ds->first + "/paths/" + ds->second;
    }
  } catch (const UserErrorException&) {
  }
  return uri;
}

}  // namespace amlemu
