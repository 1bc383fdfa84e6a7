// Azure Storage's credentials, checked the way the storage service does: Shared Key
// (`Authorization: SharedKey <account>:<signature>` over the canonicalized request) and shared
// access signatures (service SAS for a container or a blob, `sig` in the query), both keyed with
// the account key the server hands out (Authority::account_key). Also mints the container SAS of
// a code upload.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "server/http.hpp"

namespace amlemu::server {

class Authority;

/// What a storage request asks to do, for the SAS permission check.
enum class StorageAccess { read, list, write, create, remove };

struct StorageRequest {
  const Request& req;
  std::string account;
  std::string raw_path;      // the request's path as sent (percent-encoded), for Shared Key
  bool path_style = false;   // /<account>/<container>/... (the account is in raw_path too)
  std::string container;     // decoded
  std::string blob;          // decoded; "" for container operations
  const std::map<std::string, std::string>& query;  // decoded, keys lower-case
  StorageAccess access;
};

/// Empty when the request carries a valid Shared Key, SAS or bearer token for its account and
/// operation; otherwise why not (for a 403 AuthenticationFailed / AuthorizationPermissionMismatch).
/// `*permission` is set when the credential is valid but does not allow the operation.
std::string check_storage_credential(const StorageRequest& r, const Authority& authority,
                                     std::int64_t now, bool* permission);

/// A service SAS query string for a container: sr=c, permissions `sp`, valid until `expiry`.
std::string container_sas(const Authority& authority, const std::string& account,
                          const std::string& container, const std::string& sp,
                          std::int64_t expiry);

/// A service SAS query string for one blob: sr=b, permissions `sp`, valid until `expiry`.
std::string blob_sas(const Authority& authority, const std::string& account,
                     const std::string& container, const std::string& blob, const std::string& sp,
                     std::int64_t expiry);

/// Seconds since the epoch for "YYYY-MM-DDTHH:MM:SS[.fff]Z" (or a date alone); -1 if malformed.
std::int64_t parse_iso_utc(const std::string& s);
/// "YYYY-MM-DDTHH:MM:SSZ".
std::string iso_utc(std::int64_t epoch_s);

}  // namespace amlemu::server
