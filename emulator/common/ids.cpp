#include "common/ids.hpp"

#include <sys/random.h>

#include <cerrno>
#include <random>
#include <stdexcept>
#include <vector>

namespace amlemu {

namespace {
std::mt19937_64& generator() {
  thread_local std::mt19937_64 gen{[] {
    std::random_device rd;
    return (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
  }()};
  return gen;
}
}  // namespace

std::string random_hex(int n) {
  static const char* digits = "0123456789abcdef";
  std::string out(static_cast<size_t>(n), '0');
  auto& gen = generator();
  for (auto& c : out) c = digits[gen() & 0xf];
  return out;
}

std::string secret_hex(int n) {
  std::vector<unsigned char> bytes(static_cast<size_t>((n + 1) / 2));
  size_t got = 0;
  while (got < bytes.size()) {
    const ssize_t r = ::getrandom(bytes.data() + got, bytes.size() - got, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error("cannot read the kernel's random source (getrandom)");
    }
    got += static_cast<size_t>(r);
  }
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out += digits[b >> 4];
    out += digits[b & 0xf];
  }
  out.resize(static_cast<size_t>(n));
  return out;
}

std::string new_guid() {
  std::string h = random_hex(32);
  h[12] = '4';
  h[16] = "89ab"[generator()() & 3];
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) +
         "-" + h.substr(20);
}

std::string make_run_id(const std::string& experiment, std::int64_t epoch_seconds) {
  return experiment + "_" + std::to_string(epoch_seconds) + "_" + random_hex(8);
}

}  // namespace amlemu
