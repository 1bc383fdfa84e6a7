// Credentials the service plane issues and checks: bearer tokens from its managed-identity
// endpoint (JWTs signed with HMAC-SHA256 under the server's signing key), the account keys it
// hands out for storage, and the shared access signatures made from them. Authentication is a
// layer in front of every route: see router.cpp.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "amlemu/service.hpp"

namespace amlemu::server {

std::string base64_encode(std::string_view bytes);
/// nullopt when `text` is not base64.
std::optional<std::string> base64_decode(std::string_view text);
std::string base64url_encode(std::string_view bytes);
std::optional<std::string> base64url_decode(std::string_view text);
/// HMAC-SHA256 of `message` under `key` (raw bytes).
std::string hmac_sha256(std::string_view key, std::string_view message);
/// Compares in time independent of where the strings differ.
bool equal_secret(std::string_view a, std::string_view b);

class Authority {
 public:
  explicit Authority(ServiceCredentials creds);

  /// A token for `resource` (the audience), valid for `lifetime_s` from `now` (epoch seconds):
  /// a JWT with aud, iss, iat, nbf, exp, tid, oid, appid and sub.
  std::string issue_token(const std::string& resource, std::int64_t now,
                          std::int64_t lifetime_s) const;
  /// The token's claims when its signature is ours and it has not expired; nullopt otherwise.
  /// `why` gets the reason on failure.
  std::optional<std::map<std::string, std::string>> verify_token(std::string_view token,
                                                                 std::int64_t now,
                                                                 std::string* why) const;

  /// The storage account key handed out for `account` (base64 of 64 bytes), derived from the
  /// signing key, so it is stable across restarts and never stored.
  std::string account_key(const std::string& account) const;

  const ServiceCredentials& credentials() const { return creds_; }

 private:
  ServiceCredentials creds_;
  std::string key_;  // the signing key's raw bytes
};

}  // namespace amlemu::server
