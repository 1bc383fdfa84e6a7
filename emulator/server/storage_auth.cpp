#include "server/storage_auth.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <vector>

#include "server/auth.hpp"

namespace amlemu::server {

namespace {

constexpr std::int64_t kSkew = 300;  // client clocks may run five minutes ahead or behind
constexpr const char* kSasVersion = "2026-10-06";

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string header(const Request& req, const char* name) { return std::string(req[name]); }

// The Shared Key string to sign (Blob service, version 2009-09-19 and later).
std::string shared_key_string(const StorageRequest& r, bool collate_hyphens) {
  const auto& req = r.req;
  std::string s = std::string(req.method_string()) + "\n";
  for (const char* h : {"Content-Encoding", "Content-Language", "Content-Length", "Content-MD5",
                        "Content-Type", "Date", "If-Modified-Since", "If-Match", "If-None-Match",
                        "If-Unmodified-Since", "Range"}) {
    auto v = header(req, h);
    if (std::string(h) == "Content-Length" && v == "0") v.clear();
    s += v + "\n";
  }
  std::vector<std::pair<std::string, std::string>> ms;
  for (const auto& f : req) {
    auto name = lower(std::string(f.name_string()));
    if (name.rfind("x-ms-", 0) == 0) ms.emplace_back(name, std::string(f.value()));
  }
  // The documented order is lexicographic; the service's own collation ignores '-' first.
  auto key = [&](const std::string& n) {
    if (!collate_hyphens) return n;
    std::string k;
    for (char c : n) if (c != '-') k += c;
    return k + '\x01' + n;
  };
  std::sort(ms.begin(), ms.end(), [&](const auto& a, const auto& b) { return key(a.first) < key(b.first); });
  for (const auto& [n, v] : ms) s += n + ":" + v + "\n";
  s += "/" + r.account + r.raw_path;
  // Query parameters, by name, values decoded.
  const std::string target(req.target());
  const auto q = target.find('?');
  std::vector<std::pair<std::string, std::string>> params;
  if (q != std::string::npos) {
    std::string rest = target.substr(q + 1);
    size_t start = 0;
    while (start <= rest.size()) {
      const auto amp = rest.find('&', start);
      const auto part = rest.substr(start, amp == std::string::npos ? std::string::npos : amp - start);
      if (!part.empty()) {
        const auto eq = part.find('=');
        const auto v = percent_decode(eq == std::string::npos ? "" : part.substr(eq + 1), false);
        params.emplace_back(part.substr(0, eq), v.value_or(""));
      }
      if (amp == std::string::npos) break;
      start = amp + 1;
    }
  }
  std::sort(params.begin(), params.end());
  for (const auto& [n, v] : params) s += "\n" + lower(n) + ":" + v;
  return s;
}

std::string q(const std::map<std::string, std::string>& query, const char* k) {
  const auto it = query.find(k);
  return it == query.end() ? "" : it->second;
}

// The service SAS string to sign for the signed version `sv`.
std::string sas_string(const std::map<std::string, std::string>& query,
                       const std::string& resource) {
  const auto sv = q(query, "sv");
  std::vector<std::string> f = {q(query, "sp"), q(query, "st"), q(query, "se"), resource,
                                q(query, "si"), q(query, "sip"), q(query, "spr"), sv};
  if (sv >= "2018-11-09") {
    f.push_back(q(query, "sr"));
    f.push_back(q(query, "sst"));  // signed snapshot time
  }
  if (sv >= "2020-12-06") f.push_back(q(query, "ses"));
  for (const char* k : {"rscc", "rscd", "rsce", "rscl", "rsct"}) f.push_back(q(query, k));
  std::string s;
  for (size_t i = 0; i < f.size(); ++i) s += (i ? "\n" : "") + f[i];
  return s;
}

std::string sign(const Authority& a, const std::string& account, const std::string& text) {
  return base64_encode(hmac_sha256(*base64_decode(a.account_key(account)), text));
}

char permission_letter(StorageAccess access) {
  switch (access) {
    case StorageAccess::read: return 'r';
    case StorageAccess::list: return 'l';
    case StorageAccess::write: return 'w';
    case StorageAccess::create: return 'c';
    case StorageAccess::remove: return 'd';
  }
  return '?';
}

}  // namespace

std::int64_t parse_iso_utc(const std::string& s) {
  std::tm tm{};
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  const int n = std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d", &y, &mo, &d, &h, &mi, &sec);
  if (n != 6 && n != 3) return -1;
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  return static_cast<std::int64_t>(timegm(&tm));
}

std::string iso_utc(std::int64_t epoch_s) {
  const std::time_t t = static_cast<std::time_t>(epoch_s);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

namespace {

std::string service_sas(const Authority& authority, const std::string& account,
                        const std::string& resource, const std::string& sr, const std::string& sp,
                        std::int64_t expiry) {
  std::map<std::string, std::string> query = {
      {"sv", kSasVersion}, {"sr", sr}, {"sp", sp}, {"se", iso_utc(expiry)}, {"spr", "https"}};
  const auto sig = sign(authority, account, sas_string(query, resource));
  return "sv=" + std::string(kSasVersion) + "&sr=" + sr + "&sp=" + sp + "&se=" +
         percent_encode(query["se"], false) + "&spr=https&sig=" + percent_encode(sig, false);
}

}  // namespace

std::string container_sas(const Authority& authority, const std::string& account,
                          const std::string& container, const std::string& sp,
                          std::int64_t expiry) {
  return service_sas(authority, account, "/blob/" + account + "/" + container, "c", sp, expiry);
}

std::string blob_sas(const Authority& authority, const std::string& account,
                     const std::string& container, const std::string& blob, const std::string& sp,
                     std::int64_t expiry) {
  return service_sas(authority, account, "/blob/" + account + "/" + container + "/" + blob, "b", sp,
                     expiry);
}

namespace {
// An HTTP date (RFC 1123, "Mon, 07 Dec 2026 02:50:00 GMT") as epoch seconds; -1 when it is not one.
std::int64_t parse_http_date(const std::string& text) {
  std::tm tm{};
  const char* end = ::strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (end == nullptr || *end != '\0') return -1;
  return static_cast<std::int64_t>(::timegm(&tm));
}
}  // namespace

std::string check_storage_credential(const StorageRequest& r, const Authority& authority,
                                     std::int64_t now, bool* permission) {
  *permission = false;
  const std::string auth = header(r.req, "Authorization");
  if (auth.rfind("SharedKey ", 0) == 0) {
    const auto colon = auth.find(':');
    if (colon == std::string::npos || auth.substr(10, colon - 10) != r.account) {
      return "the Shared Key names another account";
    }
    // A signed request is good for 15 minutes around its date, as on Azure: a copy of it cannot
    // be replayed later.
    std::string date = header(r.req, "x-ms-date");
    if (date.empty()) date = header(r.req, "Date");
    const auto when = parse_http_date(date);
    if (when < 0) return "a Shared Key request needs an x-ms-date (or Date) header in RFC 1123 form";
    if (when < now - 15 * 60 || when > now + 15 * 60) {
      return "the request's x-ms-date is more than 15 minutes from the server's time";
    }
    const auto given = auth.substr(colon + 1);
    for (bool collate : {false, true}) {
      if (equal_secret(given, sign(authority, r.account, shared_key_string(r, collate)))) return "";
    }
    return "the Shared Key signature does not match (use the key from the datastore's listSecrets)";
  }
  if (auth.rfind("Bearer ", 0) == 0) {
    std::string why;
    if (authority.verify_token(auth.substr(7), now, &why)) return "";
    return "the bearer token is not valid: " + why;
  }
  if (r.query.count("sig")) {
    if (r.query.count("skoid")) return "user delegation SAS tokens are not issued by amlemu";
    const auto sr = q(r.query, "sr");
    std::string resource = "/blob/" + r.account + "/" + r.container;
    if (sr == "b" || sr == "bs" || sr == "bv") {
      if (r.blob.empty()) return "a blob SAS cannot list or change a container";
      resource += "/" + r.blob;
    } else if (sr != "c") {
      return "the SAS resource type sr='" + sr + "' is not a container or blob";
    }
    if (!equal_secret(q(r.query, "sig"), sign(authority, r.account, sas_string(r.query, resource)))) {
      return "the SAS signature does not match";
    }
    const auto se = parse_iso_utc(q(r.query, "se"));
    if (se < 0 || se + kSkew < now) return "the SAS has expired";
    const auto st = q(r.query, "st");
    if (!st.empty() && parse_iso_utc(st) - kSkew > now) return "the SAS is not valid yet";
    const auto sp = q(r.query, "sp");
    const char need = permission_letter(r.access);
    const bool ok = sp.find(need) != std::string::npos ||
                    (r.access == StorageAccess::create && sp.find('w') != std::string::npos);
    if (!ok) {
      *permission = true;
      return "the SAS does not grant permission '" + std::string(1, need) + "' (sp=" + sp + ")";
    }
    return "";
  }
  return "the request carries no Shared Key, SAS or bearer token";
}

}  // namespace amlemu::server
