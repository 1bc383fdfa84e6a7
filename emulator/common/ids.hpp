// Identifiers: random hex, GUIDs and run ids in the service's formats.
#pragma once

#include <cstdint>
#include <string>

namespace amlemu {

/// `n` random lower-case hex digits from the OS's entropy source.
std::string random_hex(int n);
/// `n` lower-case hex digits straight from the kernel's random source (getrandom), for secrets:
/// keys, passwords. Slower than random_hex; throws std::runtime_error when the source fails.
std::string secret_hex(int n);
/// A random version-4 GUID, hyphenated.
std::string new_guid();
/// A script run's id: `<experiment>_<epoch seconds>_<8 hex>`; no two made by one process repeat.
std::string make_run_id(const std::string& experiment, std::int64_t epoch_seconds);

}  // namespace amlemu
