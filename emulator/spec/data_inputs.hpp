// Data inputs of v2 jobs, read the same way from a YAML file and from a REST job body.
// (Implemented in data_inputs.cpp.)
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

/// The input modes of a v2 job (ro_mount, download, direct, eval_mount, eval_download) as a data
/// reference's mode (mount, download, direct): the eval_ modes are mltable's, whose folder is
/// mounted or downloaded (the user's mltable package reads the table from it).
std::string reference_mode(const std::string& input_mode);

/// Makes `ref` of `mode` ("mount", "download" or "direct") for input `name`: a download goes to
/// inputs/<name>; a direct input gets its URI (the datastore URI in its long form, or the web URL).
void set_input_mode(const Workspace& ws, DataReference& ref, const std::string& name,
                    const std::string& mode);

/// A data input's URI as the datastore data it names: a datastore URI (short or long form), or
/// a data asset (short form or ARM id) resolved to its URI. UserErrorException "<path>: ..." for
/// an unknown asset or datastore, run history, or any other URI.
DataReference data_input(const Workspace& ws, std::string uri, const std::string& path);

}  // namespace amlemu::spec
