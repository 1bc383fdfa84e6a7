#include "server/auth.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <nlohmann/json.hpp>
#include <vector>

#include "common/ids.hpp"

namespace amlemu::server {

std::string base64_encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out(3 * text.size() / 4, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  size_t len = static_cast<size_t>(n);
  // EVP_DecodeBlock counts the padding as zero bytes.
  if (!text.empty() && text.back() == '=') --len;
  if (text.size() > 1 && text[text.size() - 2] == '=') --len;
  out.resize(len);
  return out;
}

std::string base64url_encode(std::string_view bytes) {
  std::string s = base64_encode(bytes);
  while (!s.empty() && s.back() == '=') s.pop_back();
  for (auto& c : s) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  return s;
}

std::optional<std::string> base64url_decode(std::string_view text) {
  std::string s(text);
  for (auto& c : s) {
    if (c == '-') c = '+';
    else if (c == '_') c = '/';
    else if (c == '+' || c == '/' || c == '=') return std::nullopt;
  }
  while (s.size() % 4 != 0) s += '=';
  return base64_decode(s);
}

std::string hmac_sha256(std::string_view key, std::string_view message) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

bool equal_secret(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

namespace {
std::string hex_to_bytes(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  }
  return out;
}
}  // namespace

Authority::Authority(ServiceCredentials creds)
    : creds_(std::move(creds)), key_(hex_to_bytes(creds_.signing_key)) {}

std::string Authority::issue_token(const std::string& resource, std::int64_t now,
                                   std::int64_t lifetime_s) const {
  const nlohmann::json header = {{"alg", "HS256"}, {"typ", "JWT"}, {"kid", "amlemu"}};
  const std::string object_id = "a1e0e0e0-0000-4000-8000-" + creds_.tenant_id.substr(24);
  const nlohmann::json claims = {
      {"aud", resource},
      {"iss", "https://sts.amlemu.test/" + creds_.tenant_id + "/"},
      {"iat", now},
      {"nbf", now - 300},
      {"exp", now + lifetime_s},
      {"tid", creds_.tenant_id},
      {"oid", object_id},
      {"sub", object_id},
      {"appid", object_id},
      {"idtyp", "app"},
      {"jti", random_hex(16)},
  };
  const std::string signing_input =
      base64url_encode(header.dump()) + "." + base64url_encode(claims.dump());
  return signing_input + "." + base64url_encode(hmac_sha256(key_, signing_input));
}

std::optional<std::map<std::string, std::string>> Authority::verify_token(std::string_view token,
                                                                          std::int64_t now,
                                                                          std::string* why) const {
  auto fail = [&](const char* reason) {
    if (why) *why = reason;
    return std::nullopt;
  };
  const auto dot1 = token.find('.');
  const auto dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos) return fail("the token is not a JWT");
  const auto signing_input = token.substr(0, dot2);
  const auto sig = base64url_decode(token.substr(dot2 + 1));
  if (!sig || !equal_secret(*sig, hmac_sha256(key_, signing_input))) {
    return fail("the token was not issued by this amlemu server");
  }
  const auto payload = base64url_decode(token.substr(dot1 + 1, dot2 - dot1 - 1));
  if (!payload) return fail("the token's claims are not base64url");
  nlohmann::json claims;
  try {
    claims = nlohmann::json::parse(*payload);
  } catch (const nlohmann::json::exception&) {
    return fail("the token's claims are not JSON");
  }
  if (!claims.contains("exp") || !claims["exp"].is_number_integer() ||
      claims["exp"].get<std::int64_t>() <= now) {
    return fail("the token has expired");
  }
  std::map<std::string, std::string> out;
  for (const auto& [k, v] : claims.items()) out[k] = v.is_string() ? v.get<std::string>() : v.dump();
  return out;
}

std::string Authority::account_key(const std::string& account) const {
  const auto a = hmac_sha256(key_, "account-key-1:" + account);
  const auto b = hmac_sha256(key_, "account-key-2:" + account);
  return base64_encode(a + b);
}

}  // namespace amlemu::server
