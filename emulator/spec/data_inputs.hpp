// Data inputs of v2 jobs, read the same way from a YAML file and from a REST job body.
// (Implemented in job_rest.cpp.)
#pragma once

#include <optional>
#include <string>
#include <utility>

#include "amlemu/datastore.hpp"
#include "amlemu/workspace.hpp"

namespace amlemu::spec {

/// `azureml:<name>:<version>` or `azureml:<name>@latest` as {name, version ("" for latest)};
/// nullopt for anything else.
std::optional<std::pair<std::string, std::string>> short_asset(const std::string& ref);

/// A data input's URI as the datastore data it names: a datastore URI (short or long form), or
/// a data asset (short form or ARM id) resolved to its URI. UserErrorException "<path>: ..." for
/// an unknown asset or datastore, run history, or any other URI.
DataReference data_input(const Workspace& ws, std::string uri, const std::string& path);

}  // namespace amlemu::spec
