// The inputs and outputs of a CLI v2 command job's YAML (implemented in job_yaml_io.cpp).
#pragma once

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <map>
#include <string>

#include "amlemu/job_yaml.hpp"
#include "spec/yaml_reader.hpp"

namespace amlemu::spec {

/// Reads `inputs:` into `job`: data inputs become data references, local inputs or asset inputs
/// (paths relative to `base`, the YAML's folder); `replacement` gets what each ${{inputs.x}}
/// stands for in the command (a literal, or the node's "${AZURE_ML_INPUT_x}").
void read_job_inputs(const Reader& r, const YAML::Node& inputs, const std::filesystem::path& base,
                     CommandJob& job, std::map<std::string, std::string>& replacement);

/// Reads `outputs:` into `job` (modes and output settings); `replacement` gets
/// "${AZURE_ML_OUTPUT_x}" for each ${{outputs.x}}.
void read_job_outputs(const Reader& r, const YAML::Node& outputs, CommandJob& job,
                      std::map<std::string, std::string>& replacement);

}  // namespace amlemu::spec
