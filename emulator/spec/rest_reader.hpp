// Reading a REST body (the JSON of an ARM PUT) with every problem named by its property path:
// "<path>: <problem>" as a UserErrorException. Shared by the job, data and endpoint mappings.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "amlemu/workspace.hpp"

namespace amlemu::spec::rest {

[[noreturn]] void fail(const std::string& path, const std::string& problem);

/// "an object", "a list", "a string"...: what a JSON value is, for messages.
std::string kind_of(const nlohmann::json& v);

/// A string property, or "" when absent or null.
std::string str(const nlohmann::json& obj, const std::string& key, const std::string& path);

/// An object property, or an empty object when absent or null.
const nlohmann::json& object(const nlohmann::json& obj, const std::string& key, const std::string& path);

/// An integer property of at least `min`, or `fallback` when absent or null.
int integer(const nlohmann::json& obj, const std::string& key, const std::string& path, int min, int fallback);

/// An ISO 8601 duration as the service writes timeouts (PT1H, PT30M, P1DT2H3M4S), in seconds.
int duration_seconds(const std::string& text, const std::string& path);

/// {name, version ("" when none)} from the ARM id of a workspace asset of `kind` ("codes",
/// "environments", "data"...), case-insensitive but for the names; nullopt for anything else.
std::optional<std::pair<std::string, std::string>> arm_asset(const std::string& id, const std::string& kind);

/// An environment reference (short form, registry URI or ARM id) as azureml:<name>:<version> or
/// azureml:<name>@latest.
std::string environment_reference(const std::string& id, const std::string& path);

/// The folder of a registered code version named by its ARM id or short form.
std::filesystem::path code_folder(const Workspace& ws, const std::string& id, const std::string& path);

}  // namespace amlemu::spec::rest
