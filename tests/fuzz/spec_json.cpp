// Fuzz target: the JSON job spec parser. Any input must either parse or be refused with a
// UserErrorException; any other exception, crash or sanitizer report is a bug.
#include <cstddef>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "amlemu/errors.hpp"
#include "amlemu/estimator.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const auto doc = nlohmann::ordered_json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return 0;  // not JSON: the loader's own message, tested elsewhere
  try {
    amlemu::parse_job_spec(doc, "/nonexistent/amlemu-fuzz", "fuzz.json");
  } catch (const amlemu::UserErrorException&) {
  }
  return 0;
}
