#include "common/ids.hpp"

#include <sys/random.h>

#include <atomic>
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

namespace {
// A bijection of 32-bit values (the finaliser of MurmurHash3): distinct inputs give distinct
// outputs, and consecutive inputs give outputs that look unrelated.
std::uint32_t mix32(std::uint32_t h) {
  h ^= h >> 16;
  h *= 0x85ebca6bU;
  h ^= h >> 13;
  h *= 0xc2b2ae35U;
  h ^= h >> 16;
  return h;
}
}  // namespace

std::string make_run_id(const std::string& experiment, std::int64_t epoch_seconds) {
  // The suffix is 8 hex digits, as in the service. Drawn independently, two of 10,000 ids made
  // in one second would share one about once in a hundred tries; a process-wide counter from a
  // random start, passed through a bijection, makes every id a process creates distinct (the
  // server creates many runs per second) while separate processes still start far apart.
  static std::atomic<std::uint32_t> counter{static_cast<std::uint32_t>(generator()())};
  const std::uint32_t suffix = mix32(counter.fetch_add(1, std::memory_order_relaxed));
  static const char* digits = "0123456789abcdef";
  std::string hex(8, '0');
  for (int i = 0; i < 8; ++i) hex[static_cast<size_t>(i)] = digits[(suffix >> (28 - 4 * i)) & 0xf];
  return experiment + "_" + std::to_string(epoch_seconds) + "_" + hex;
}

}  // namespace amlemu
