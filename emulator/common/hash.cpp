#include "common/hash.hpp"

#include <fmt/format.h>

namespace amlemu {

std::string Sha1::hex() {
  boost::uuids::detail::sha1::digest_type digest;
  impl_.get_digest(digest);
  std::string out;
  for (auto word : digest) out += fmt::format("{:08x}", word);
  return out;
}

}  // namespace amlemu
