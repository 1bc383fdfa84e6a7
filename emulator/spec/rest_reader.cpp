#include "spec/rest_reader.hpp"

#include "amlemu/assets.hpp"
#include "amlemu/errors.hpp"
#include "common/clock.hpp"
#include "common/text.hpp"
#include "spec/data_inputs.hpp"

namespace amlemu::spec::rest {

namespace stdfs = std::filesystem;
using nlohmann::json;

[[noreturn]] void fail(const std::string& path, const std::string& problem) {
  throw UserErrorException(path + ": " + problem);
}

std::string kind_of(const json& v) {
  if (v.is_object()) return "an object";
  if (v.is_array()) return "a list";
  if (v.is_null()) return "null";
  if (v.is_string()) return "a string";
  if (v.is_boolean()) return "a boolean";
  return "a number";
}

// A string property, or "" when absent or null.
std::string str(const json& obj, const std::string& key, const std::string& path) {
  if (!obj.contains(key) || obj[key].is_null()) return "";
  if (!obj[key].is_string()) fail(path + "." + key, "must be a string, got " + kind_of(obj[key]));
  return obj[key].get<std::string>();
}

const json& object(const json& obj, const std::string& key, const std::string& path) {
  static const json empty = json::object();
  if (!obj.contains(key) || obj[key].is_null()) return empty;
  if (!obj[key].is_object()) fail(path + "." + key, "must be an object, got " + kind_of(obj[key]));
  return obj[key];
}

int integer(const json& obj, const std::string& key, const std::string& path, int min, int fallback) {
  if (!obj.contains(key) || obj[key].is_null()) return fallback;
  const auto& v = obj[key];
  if (!v.is_number_integer()) fail(path + "." + key, "must be an integer, got " + kind_of(v));
  const auto n = v.get<long long>();
  if (n < min || n > 1000000000) {
    fail(path + "." + key, "must be an integer >= " + std::to_string(min) + ", got " + std::to_string(n));
  }
  return static_cast<int>(n);
}

// ISO 8601 durations as the service writes timeouts: PT1H, PT30M, P1DT2H3M4S.
int duration_seconds(const std::string& text, const std::string& path) {
  const auto s = iso8601_duration_seconds(text);
  if (!s) fail(path, "'" + printable(text) + "' is not an ISO 8601 duration such as PT1H");
  if (*s < 1 || *s > 1e9) fail(path, "'" + text + "' must be between one second and 30 years");
  return static_cast<int>(*s);
}

// The last segments of an ARM id:
// /subscriptions/<s>/resourceGroups/<g>/providers/Microsoft.MachineLearningServices/workspaces/<w>/<kind>/<name>[/versions/<version>]
// (case-insensitive but for the names).
std::optional<std::pair<std::string, std::string>> arm_asset(const std::string& id,
                                                             const std::string& kind) {
  if (id.empty() || id[0] != '/') return std::nullopt;
  std::vector<std::string> parts;
  for (size_t start = 1;;) {
    const auto slash = id.find('/', start);
    parts.push_back(id.substr(start, slash == std::string::npos ? std::string::npos : slash - start));
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  if (parts.size() != 10 && parts.size() != 12) return std::nullopt;
  const std::string fixed[] = {"subscriptions", "", "resourcegroups", "", "providers",
                               "microsoft.machinelearningservices", "workspaces", "", to_lower(kind)};
  for (size_t i = 0; i < std::size(fixed); ++i) {
    if (fixed[i].empty() ? parts[i].empty() : to_lower(parts[i]) != fixed[i]) return std::nullopt;
  }
  if (parts[9].empty()) return std::nullopt;
  if (parts.size() == 12 && (to_lower(parts[10]) != "versions" || parts[11].empty())) {
    return std::nullopt;
  }
  return std::make_pair(parts[9], parts.size() == 12 ? parts[11] : std::string());
}

std::string environment_reference(const std::string& id, const std::string& path) {
  if (id.empty()) fail(path, "is required (an environment: azureml:<name>@latest, azureml:<name>:<version> or its ARM id)");
  if (id.rfind("azureml:", 0) == 0) return id;  // short forms and registry URIs, resolved later
  if (const auto a = arm_asset(id, "environments")) {
    return "azureml:" + a->first + (a->second.empty() ? "@latest" : ":" + a->second);
  }
  fail(path, "'" + printable(id) + "' is not an environment reference of this workspace");
}

stdfs::path code_folder(const Workspace& ws, const std::string& id, const std::string& path) {
  auto ref = arm_asset(id, "codes");
  if (!ref) ref = short_asset(id);
  if (!ref || ref->second.empty()) {
    fail(path, "'" + printable(id) + "' is not a code version (.../codes/<name>/versions/<version>)");
  }
  const auto code = get_code_version(ws, ref->first, ref->second);
  if (!code) fail(path, "code " + ref->first + ":" + ref->second + " does not exist in workspace " + ws.name());
  return code_directory(ws, *code);
}

}  // namespace amlemu::spec::rest
