// The blob service of each workspace's storage account, Azurite's way: path-style
// (/<account>/<container>/<blob>) or host-style through the proxy (<account>.blob.<suffix>).
// Each operation is one BlobContainer call (include/amlemu/blob.hpp); answers and errors are
// shaped as Azure Storage shapes them (XML, x-ms-* headers).
#include <openssl/evp.h>

#include <boost/property_tree/ptree.hpp>
#include <boost/property_tree/xml_parser.hpp>
#include <ctime>
#include <sstream>

#include "amlemu/blob.hpp"
#include "server/auth.hpp"
#include "server/errors.hpp"
#include "server/service.hpp"
#include "server/state.hpp"
#include "server/storage_auth.hpp"

namespace amlemu::server {

namespace {

constexpr const char* kDefaultVersion = "2026-10-06";

std::string rfc1123(std::int64_t epoch_ms) {
  const std::time_t t = static_cast<std::time_t>(epoch_ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

std::string xml(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string md5_base64(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(data.data(), data.size(), md, &n, EVP_md5(), nullptr);
  return base64_encode(std::string_view(reinterpret_cast<const char*>(md), n));
}

struct StorageFailure {
  int status;
  std::string code;
};

StorageFailure failure_of(const BlobException& e) {
  switch (e.kind()) {
    case BlobException::Kind::blob_not_found: return {404, "BlobNotFound"};
    case BlobException::Kind::exists: return {409, "BlobAlreadyExists"};
    case BlobException::Kind::read_only: return {403, "AuthorizationPermissionMismatch"};
    case BlobException::Kind::invalid_name: return {400, "InvalidResourceName"};
    case BlobException::Kind::conflict: return {409, "PathConflict"};
    case BlobException::Kind::invalid_block_list: return {400, "InvalidBlockList"};
  }
  return {500, "InternalError"};
}

Response base(const Call& call, int status) {
  Response res{static_cast<http::status>(status), call.req.version()};
  const std::string v(call.req["x-ms-version"]);
  res.set("x-ms-version", v.empty() ? kDefaultVersion : v);
  res.set(http::field::date, rfc1123(ServerState::now_s() * 1000));
  const std::string client_id(call.req["x-ms-client-request-id"]);
  if (!client_id.empty()) res.set("x-ms-client-request-id", client_id);
  return res;
}

void describe(Response& res, const BlobInfo& b) {
  res.set(http::field::etag, b.etag);
  res.set(http::field::last_modified, rfc1123(b.modified_ms));
  res.set("x-ms-creation-time", rfc1123(b.modified_ms));
  res.set("x-ms-blob-type", "BlockBlob");
  res.set("x-ms-lease-state", "available");
  res.set("x-ms-lease-status", "unlocked");
  res.set("x-ms-server-encrypted", "true");
  res.set(http::field::accept_ranges, "bytes");
  res.set(http::field::content_type, b.content_type);
  if (!b.content_md5.empty()) res.set("Content-MD5", b.content_md5);
  for (const auto& [k, v] : b.metadata) res.set("x-ms-meta-" + k, v);
}

BlobWrite write_of(const Request& req) {
  BlobWrite w;
  w.content_type = std::string(req["x-ms-blob-content-type"]);
  if (w.content_type.empty()) w.content_type = std::string(req[http::field::content_type]);
  w.content_md5 = std::string(req["x-ms-blob-content-md5"]);
  w.only_if_absent = std::string(req[http::field::if_none_match]) == "*";
  for (const auto& f : req) {
    // x-ms-meta-<name>: the name keeps the case it was sent in, as Azure returns it.
    const std::string name(f.name_string());
    if (name.size() <= 10) continue;
    std::string head = name.substr(0, 10);
    for (auto& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (head == "x-ms-meta-") w.metadata[name.substr(10)] = std::string(f.value());
  }
  return w;
}

// Content-MD5 of the request, when given, must be the body's.
void check_md5(const Call& call) {
  const std::string given(call.req["Content-MD5"]);
  if (!given.empty() && given != md5_base64(call.req.body())) {
    throw HttpError(400, "Md5Mismatch", "The MD5 value specified in the request did not match the body");
  }
}

// The most one response carries: a larger read must ask for ranges (the storage SDK reads a large
// blob in ranges anyway), so no request makes the server hold more than this in memory.
constexpr std::uint64_t kMaxRead = 256u << 20;
// A block list as Azure limits it: at most 50,000 blocks; its XML is two levels deep.
constexpr std::size_t kMaxBlocks = 50000;
constexpr std::size_t kMaxBlockListBytes = 8u << 20;

// The deepest element nesting of an XML text, counted without parsing it (the parser recurses
// once per level: a deep document must be refused before it reaches it).
int xml_depth(const std::string& text) {
  int depth = 0, deepest = 0;
  for (std::size_t i = 0; i + 1 < text.size(); ++i) {
    if (text[i] != '<') continue;
    const char next = text[i + 1];
    if (next == '/') {
      --depth;
    } else if (next != '?' && next != '!') {
      const auto close = text.find('>', i);
      if (close == std::string::npos) break;
      if (text[close - 1] != '/') deepest = std::max(deepest, ++depth);
      i = close;
    }
  }
  return deepest;
}

// <BlockList><Latest|Committed|Uncommitted>id</...>...</BlockList>, in order.
std::vector<std::string> block_ids(const std::string& body) {
  namespace pt = boost::property_tree;
  if (body.size() > kMaxBlockListBytes) {
    throw HttpError(413, "RequestBodyTooLarge", "The block list is larger than 8 MiB");
  }
  if (xml_depth(body) > 8) {
    throw HttpError(400, "InvalidXmlDocument", "The block list nests elements deeper than a block list does");
  }
  pt::ptree tree;
  std::istringstream in(body);
  try {
    pt::read_xml(in, tree);
  } catch (const pt::xml_parser_error& e) {
    throw HttpError(400, "InvalidXmlDocument", std::string("The block list is not XML: ") + e.message());
  }
  const auto list = tree.get_child_optional("BlockList");
  if (!list) throw HttpError(400, "InvalidXmlDocument", "The block list has no <BlockList> element");
  std::vector<std::string> ids;
  for (const auto& [tag, node] : *list) {
    if (tag == "Latest" || tag == "Committed" || tag == "Uncommitted") ids.push_back(node.data());
  }
  if (ids.size() > kMaxBlocks) {
    throw HttpError(400, "InvalidBlockList", "A blob has at most 50000 blocks");
  }
  return ids;
}

std::string listing_xml(const std::string& endpoint, const std::string& container,
                        const std::map<std::string, std::string>& query, const BlobListing& l,
                        bool with_metadata) {
  std::ostringstream x;
  x << "<?xml version=\"1.0\" encoding=\"utf-8\"?><EnumerationResults ServiceEndpoint=\""
    << xml(endpoint) << "\" ContainerName=\"" << xml(container) << "\">";
  auto qv = [&](const char* k) {
    const auto it = query.find(k);
    return it == query.end() ? std::string() : it->second;
  };
  x << "<Prefix>" << xml(qv("prefix")) << "</Prefix>";
  if (!qv("marker").empty()) x << "<Marker>" << xml(qv("marker")) << "</Marker>";
  if (!qv("maxresults").empty()) x << "<MaxResults>" << xml(qv("maxresults")) << "</MaxResults>";
  if (!qv("delimiter").empty()) x << "<Delimiter>" << xml(qv("delimiter")) << "</Delimiter>";
  x << "<Blobs>";
  size_t p = 0;
  auto emit_prefix = [&](const std::string& name) {
    x << "<BlobPrefix><Name>" << xml(name) << "</Name></BlobPrefix>";
  };
  for (const auto& b : l.blobs) {
    while (p < l.prefixes.size() && l.prefixes[p] < b.name) emit_prefix(l.prefixes[p++]);
    x << "<Blob><Name>" << xml(b.name) << "</Name><Properties>"
      << "<Creation-Time>" << rfc1123(b.modified_ms) << "</Creation-Time>"
      << "<Last-Modified>" << rfc1123(b.modified_ms) << "</Last-Modified>"
      << "<Etag>" << xml(b.etag) << "</Etag>"
      << "<Content-Length>" << b.size << "</Content-Length>"
      << "<Content-Type>" << xml(b.content_type) << "</Content-Type>"
      << "<Content-MD5>" << xml(b.content_md5) << "</Content-MD5>"
      << "<BlobType>BlockBlob</BlobType><AccessTier>Hot</AccessTier><AccessTierInferred>true"
      << "</AccessTierInferred><LeaseStatus>unlocked</LeaseStatus><LeaseState>available</LeaseState>"
      << "<ServerEncrypted>true</ServerEncrypted></Properties>";
    if (with_metadata) {
      x << "<Metadata>";
      for (const auto& [k, v] : b.metadata) x << "<" << xml(k) << ">" << xml(v) << "</" << xml(k) << ">";
      x << "</Metadata>";
    }
    x << "</Blob>";
  }
  while (p < l.prefixes.size()) emit_prefix(l.prefixes[p++]);
  x << "</Blobs><NextMarker>" << xml(l.next_marker) << "</NextMarker></EnumerationResults>";
  return x.str();
}

// Range from x-ms-range (or Range): "bytes=s-e" or "bytes=s-". nullopt when absent.
std::optional<std::pair<std::uint64_t, std::optional<std::uint64_t>>> range_of(const Request& req) {
  std::string r(req["x-ms-range"]);
  if (r.empty()) r = std::string(req[http::field::range]);
  if (r.empty()) return std::nullopt;
  if (r.rfind("bytes=", 0) != 0) throw HttpError(400, "InvalidRange", "The range '" + r + "' is not bytes=start-end");
  const auto spec = r.substr(6);
  const auto dash = spec.find('-');
  try {
    if (dash == std::string::npos || dash == 0) throw std::invalid_argument("range");
    const auto start = std::stoull(spec.substr(0, dash));
    const auto end_text = spec.substr(dash + 1);
    if (end_text.empty()) return std::make_pair(start, std::optional<std::uint64_t>());
    const auto end = std::stoull(end_text);
    if (end < start) throw std::invalid_argument("range");
    return std::make_pair(start, std::optional<std::uint64_t>(end));
  } catch (const std::logic_error&) {
    throw HttpError(400, "InvalidRange", "The range '" + r + "' is not bytes=start-end");
  }
}

Response get_blob(Call& call, const BlobContainer& c, const std::string& name, bool head) {
  const auto info = c.stat(name);
  if (!info) throw BlobException(BlobException::Kind::blob_not_found, "The specified blob does not exist.");
  const std::string if_match(call.req[http::field::if_match]);
  if (!if_match.empty() && if_match != "*" && if_match != info->etag) {
    throw HttpError(412, "ConditionNotMet", "The condition specified using HTTP conditional header(s) is not met.");
  }
  const std::string if_none(call.req[http::field::if_none_match]);
  if (!if_none.empty() && (if_none == "*" || if_none == info->etag)) {
    auto res = base(call, 304);
    describe(res, *info);
    return res;
  }
  auto res = base(call, 200);
  describe(res, *info);
  const auto range = head ? std::nullopt : range_of(call.req);
  if (range) {
    if (range->first >= info->size) {
      throw HttpError(416, "InvalidRange", "The range specified is invalid for the current size of the resource.");
    }
    const std::uint64_t last = std::min<std::uint64_t>(range->second.value_or(info->size - 1), info->size - 1);
    res.result(http::status::partial_content);
    res.set(http::field::content_range, "bytes " + std::to_string(range->first) + "-" +
                                            std::to_string(last) + "/" + std::to_string(info->size));
    if (!info->content_md5.empty()) res.set("x-ms-blob-content-md5", info->content_md5);
    res.erase("Content-MD5");
    if (last - range->first + 1 > kMaxRead) {
      throw HttpError(416, "InvalidRange", "amlemu returns at most 256 MiB per request: ask for a smaller range");
    }
    res.body() = c.read(name, range->first, last - range->first + 1);
    return res;
  }
  if (head) {
    res.content_length(info->size);
    return res;
  }
  if (info->size > kMaxRead) {
    throw HttpError(416, "InvalidRange", "The blob is larger than 256 MiB, the most amlemu returns per request: "
                                         "read it in ranges (x-ms-range)");
  }
  res.body() = c.read(name, 0, info->size);
  return res;
}

Response serve(Call& call, const Workspace& ws, const std::string& account,
               const std::string& container_name, const std::string& blob) {
  const auto method = call.req.method();
  const std::string comp = call.query_value("comp");
  const std::string restype = call.query_value("restype");
  auto container = BlobContainer::open(ws, container_name);

  // Container operations.
  if (blob.empty()) {
    if (restype != "container") {
      throw HttpError(400, "InvalidQueryParameterValue",
                      "amlemu's blob service answers container and blob operations (restype=container)");
    }
    if (method == http::verb::put && comp.empty()) {
      if (container) throw HttpError(409, "ContainerAlreadyExists", "The specified container already exists.");
      throw HttpError(403, "AuthorizationPermissionMismatch",
                      "amlemu makes containers itself (datastores and code uploads); "
                      "container '" + container_name + "' cannot be created");
    }
    if (!container) throw HttpError(404, "ContainerNotFound", "The specified container does not exist.");
    if ((method == http::verb::get || method == http::verb::head) && comp == "list") {
      int max_results = 0;
      const auto mr = call.query_value("maxresults");
      if (!mr.empty()) {
        try {
          max_results = std::stoi(mr);
        } catch (const std::exception&) {
          throw HttpError(400, "InvalidQueryParameterValue", "maxresults: '" + mr + "' is not a number");
        }
      }
      const bool with_metadata = call.query_value("include").find("metadata") != std::string::npos;
      const auto listing = container->list(call.query_value("prefix"), call.query_value("delimiter"),
                                           call.query_value("marker"), max_results, with_metadata);
      auto res = base(call, 200);
      res.set(http::field::content_type, "application/xml");
      res.body() = listing_xml("https://" + account + ".blob." + kServiceStorageSuffix + "/",
                               container_name, call.query, listing, with_metadata);
      return res;
    }
    if ((method == http::verb::get || method == http::verb::head) && comp.empty()) {
      auto res = base(call, 200);
      res.set(http::field::etag, "\"0x8DC0000000000000\"");
      res.set(http::field::last_modified, rfc1123(0));
      res.set("x-ms-lease-state", "available");
      res.set("x-ms-lease-status", "unlocked");
      res.set("x-ms-has-immutability-policy", "false");
      res.set("x-ms-has-legal-hold", "false");
      return res;
    }
    throw HttpError(501, "NotImplemented",
                    "amlemu does not implement " + std::string(call.req.method_string()) +
                        " on a container with comp=" + comp);
  }

  if (!container) throw HttpError(404, "ContainerNotFound", "The specified container does not exist.");
  if (method == http::verb::head) return get_blob(call, *container, blob, true);
  if (method == http::verb::get && comp.empty()) return get_blob(call, *container, blob, false);
  if (method == http::verb::put && comp.empty()) {
    const std::string type(call.req["x-ms-blob-type"]);
    if (type != "BlockBlob") {
      throw HttpError(400, "InvalidHeaderValue",
                      "x-ms-blob-type: '" + type + "' is not supported; amlemu stores block blobs");
    }
    check_md5(call);
    auto w = write_of(call.req);
    if (w.content_md5.empty()) w.content_md5 = md5_base64(call.req.body());
    const auto info = container->put(blob, call.req.body(), w);
    auto res = base(call, 201);
    res.set(http::field::etag, info.etag);
    res.set(http::field::last_modified, rfc1123(info.modified_ms));
    res.set("Content-MD5", w.content_md5);
    res.set("x-ms-request-server-encrypted", "true");
    return res;
  }
  if (method == http::verb::put && comp == "block") {
    check_md5(call);
    const auto id = call.query_value("blockid");
    container->put_block(blob, id, call.req.body());
    auto res = base(call, 201);
    res.set("Content-MD5", md5_base64(call.req.body()));
    res.set("x-ms-request-server-encrypted", "true");
    return res;
  }
  if (method == http::verb::put && comp == "blocklist") {
    check_md5(call);
    auto w = write_of(call.req);
    w.content_type = std::string(call.req["x-ms-blob-content-type"]);  // Content-Type is the XML's
    const auto info = container->put_block_list(blob, block_ids(call.req.body()), w);
    auto res = base(call, 201);
    res.set(http::field::etag, info.etag);
    res.set(http::field::last_modified, rfc1123(info.modified_ms));
    const std::string md5(call.req["Content-MD5"]);
    if (!md5.empty()) res.set("Content-MD5", md5);  // the block list's own, never the blob's
    res.set("x-ms-request-server-encrypted", "true");
    return res;
  }
  if (method == http::verb::put && comp == "metadata") {
    const auto info = container->set_metadata(blob, write_of(call.req).metadata);
    auto res = base(call, 200);
    res.set(http::field::etag, info.etag);
    res.set(http::field::last_modified, rfc1123(info.modified_ms));
    res.set("x-ms-request-server-encrypted", "true");
    return res;
  }
  if (method == http::verb::delete_ && comp.empty()) {
    container->remove(blob);
    auto res = base(call, 202);
    res.set("x-ms-delete-type-permanent", "true");
    return res;
  }
  throw HttpError(501, "NotImplemented",
                  "amlemu does not implement " + std::string(call.req.method_string()) +
                      " on a blob" + (comp.empty() ? "" : " with comp=" + comp));
}

StorageAccess access_of(const Call& call, bool container_level) {
  const auto m = call.req.method();
  const auto comp = call.query_value("comp");
  if (m == http::verb::get || m == http::verb::head) {
    return container_level && comp == "list" ? StorageAccess::list : StorageAccess::read;
  }
  if (m == http::verb::delete_) return StorageAccess::remove;
  if (m == http::verb::put && comp.empty()) return StorageAccess::create;
  return StorageAccess::write;
}

// "/<container>/<blob>" (decoded) as {container, blob}; the blob is "" for the container itself.
std::pair<std::string, std::string> container_and_blob(const std::string& path) {
  const auto slash = path.find('/', 1);
  std::string container = path.size() < 2 ? "" : path.substr(1, slash == std::string::npos ? std::string::npos : slash - 1);
  if (container.empty()) {
    throw HttpError(400, "InvalidUri", "amlemu's blob service needs a container in the path");
  }
  return {std::move(container), slash == std::string::npos ? "" : path.substr(slash + 1)};
}

}  // namespace

void check_blob_credential(Call& call, const std::string& account, const std::string& path) {
  const auto [container, blob] = container_and_blob(path);
  const std::string target(call.req.target());
  const std::string raw_path = target.substr(0, target.find('?'));
  StorageRequest sr{call.req, account, raw_path, false, container, blob, call.query,
                    access_of(call, blob.empty())};
  bool permission = false;
  const auto why = check_storage_credential(sr, call.server.authority(), ServerState::now_s(), &permission);
  if (!why.empty()) {
    throw HttpError(403, permission ? "AuthorizationPermissionMismatch" : "AuthenticationFailed",
                    "Server failed to authenticate the request: " + why);
  }
}

Response handle_blob(Call& call, const std::string& account, const std::string& path) {
  try {
    const auto cfg = call.server.workspace_of_account(account);
    if (!cfg) throw HttpError(404, "ResourceNotFound", "No workspace has the storage account " + account);
    const auto& ws = call.server.workspace(cfg->subscription_id, cfg->resource_group, cfg->workspace_name);
    const auto [container, blob] = container_and_blob(path);
    check_blob_credential(call, account, path);
    return serve(call, ws, account, container, blob);
  } catch (const BlobException& e) {
    const auto f = failure_of(e);
    return storage_error(call.req, f.status, f.code, e.what());
  } catch (const std::exception& e) {
    auto res = error_for(call.req, e, /*storage=*/true);
    return res;
  }
}

}  // namespace amlemu::server
