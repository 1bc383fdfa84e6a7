// Content hashes for cache identities (environments, snapshots, node ids).
#pragma once

#include <string>
#include <string_view>

#include <boost/uuid/detail/sha1.hpp>

namespace amlemu {

/// Incremental SHA-1, hex output. Identity only, not security.
class Sha1 {
 public:
  void update(std::string_view bytes) { impl_.process_bytes(bytes.data(), bytes.size()); }
  /// 40 lower-case hex digits. Call once.
  std::string hex();

 private:
  boost::uuids::detail::sha1 impl_;
};

inline std::string sha1_hex(std::string_view bytes) {
  Sha1 h;
  h.update(bytes);
  return h.hex();
}

}  // namespace amlemu
