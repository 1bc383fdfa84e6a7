// The inputs and outputs of a CLI v2 command job's YAML: literals, datastore URIs, data assets,
// web URLs, other jobs' outputs and local paths in; output modes, places and data assets out.
#include "spec/job_yaml_io.hpp"

#include <regex>

#include "amlemu/datastore.hpp"
#include "amlemu/errors.hpp"
#include "amlemu/mirror.hpp"
#include "common/fs.hpp"
#include "common/text.hpp"
#include "spec/data_inputs.hpp"

namespace amlemu::spec {

namespace stdfs = std::filesystem;

namespace {

DataReference datastore_uri(const Reader& r, const YAML::Node& at, const std::string& key,
                            const std::string& uri) {
  static const std::regex form(R"(^azureml://datastores/([A-Za-z0-9_-]+)/paths/?(.*)$)");
  std::smatch m;
  if (!std::regex_match(uri, m, form)) {
    r.fail(at, key, "'" + uri + "' is not azureml://datastores/<name>/paths/<path>");
  }
  DataReference ref;
  ref.datastore_name = m[1];
  try {
    ref.path_on_datastore = fs::clean_relative(m[2]);
  } catch (const std::invalid_argument& e) {
    r.fail(at, key, "'" + uri + "': " + e.what());
  }
  return ref;
}

}  // namespace

void read_job_inputs(const Reader& r, const YAML::Node& inputs, const stdfs::path& base, CommandJob& job,
                     std::map<std::string, std::string>& replacement) {
  Estimator& e = job.spec.estimator;
  std::error_code ec;
  if (!inputs.IsMap()) r.fail(inputs, "inputs", "must be a mapping");
  for (const auto& kv : inputs) {
    const auto name = r.key(kv.first, "inputs");
    const auto key = "inputs." + name;
    if (!matches(name, kIdentifier)) r.fail(kv.first, key, "is not a valid input name");
    const auto& v = kv.second;
    if (v.IsScalar()) {
      // Written into the command as it is, as the service does.
      replacement["inputs." + name] = v.as<std::string>();
      continue;
    }
    if (!v.IsMap()) r.fail(v, key, "must be a literal or a mapping with type and path");
    r.keys(v, key, {"type", "path", "mode", "description", "optional", "default"}, {}, e.warnings);
    const std::string itype = v["type"] ? r.str(v["type"], key + ".type") : "uri_folder";
    if (itype == "string" || itype == "integer" || itype == "number" || itype == "boolean") {
      if (!v["default"]) r.fail(v, key + ".default", "is required for a literal input");
      replacement["inputs." + name] = v["default"].as<std::string>();
      continue;
    }
    if (itype != "uri_folder" && itype != "uri_file" && itype != "custom_model" &&
        itype != "mlflow_model" && itype != "mltable") {
      r.fail(v["type"], key + ".type", "'" + itype + "' is not supported (uri_folder, uri_file, mltable, custom_model, mlflow_model)");
    }
    if (!v["path"]) r.fail(v, key + ".path", "is required");
    const auto path = r.str(v["path"], key + ".path");
    const std::string mode = v["mode"] ? r.str(v["mode"], key + ".mode") : "ro_mount";
    if (mode != "ro_mount" && mode != "download" && mode != "direct" && mode != "eval_mount" &&
        mode != "eval_download") {
      r.fail(v["mode"], key + ".mode", "'" + mode + "' is not supported (ro_mount, download, direct, eval_mount or eval_download)");
    }
    if (mode.rfind("eval_", 0) == 0 && itype != "mltable") {
      r.fail(v["mode"], key + ".mode", "'" + mode + "' is for mltable inputs only");
    }
    if (path.rfind("azureml://datastores/", 0) == 0) {
      // Direct mode's URI (which names the workspace) is made at resolve, with the others.
      DataReference ref = datastore_uri(r, v["path"], key + ".path", path);
      ref.data_reference_name = name;
      ref.mode = reference_mode(mode);
      if (ref.mode == "download") ref.path_on_compute = "inputs/" + name;
      e.script_params.emplace_back("", ref);
    } else if ((path.size() <= 512 && short_asset(path)) || is_web_url(path) ||
               path.rfind("azureml://jobs/", 0) == 0) {
      // A data asset stands for its URI, another job's output for its place on the default
      // datastore; a web URL is served from the offline mirror (a malformed one, or one with
      // credentials, is refused here, at its line).
      if (is_web_url(path)) {
        try {
          normalize_web_url(path);
        } catch (const UserErrorException& e) {
          r.fail(v["path"], key + ".path", e.what());
        }
      }
      job.asset_inputs.push_back({name, path, mode});
    } else if (path.rfind("azureml:", 0) == 0 || path.find("://") != std::string::npos) {
      r.fail(v["path"], key + ".path", "'" + path + "' is not available offline; use a local "
                                        "path, a data asset (azureml:<name>:<version> or "
                                        "azureml:<name>@latest) or "
                                        "azureml://datastores/<name>/paths/<path>");
    } else {
      const auto local = (base / path).lexically_normal();
      if (!stdfs::exists(local, ec)) {
        r.fail(v["path"], key + ".path", "'" + path + "' does not exist (relative to " + base.string() + ")");
      }
      job.local_inputs.push_back({name, local, mode});
    }
    replacement["inputs." + name] = "\"${AZURE_ML_INPUT_" + name + "}\"";
  }
}

void read_job_outputs(const Reader& r, const YAML::Node& outputs, CommandJob& job,
                      std::map<std::string, std::string>& replacement) {
  Estimator& e = job.spec.estimator;
  if (!outputs.IsMap()) r.fail(outputs, "outputs", "must be a mapping");
  for (const auto& kv : outputs) {
    const auto name = r.key(kv.first, "outputs");
    const auto key = "outputs." + name;
    if (!matches(name, kIdentifier)) r.fail(kv.first, key, "is not a valid output name");
    std::string mode = "rw_mount";
    const auto& v = kv.second;
    if (v.IsMap()) {
      r.keys(v, key, {"type", "mode", "description", "path", "name", "version"}, {}, e.warnings);
      OutputSettings settings;
      settings.type = v["type"] ? r.str(v["type"], key + ".type") : "uri_folder";
      if (settings.type != "uri_folder" && settings.type != "uri_file" &&
          settings.type != "custom_model" && settings.type != "mlflow_model") {
        r.fail(v["type"], key + ".type", "'" + settings.type + "' is not supported (uri_folder, uri_file, custom_model, mlflow_model)");
      }
      if (v["mode"]) mode = r.str(v["mode"], key + ".mode");
      if (mode != "rw_mount" && mode != "upload") {
        r.fail(v["mode"], key + ".mode", "'" + mode + "' is not supported (rw_mount or upload)");
      }
      if (v["path"]) {
        const auto at = r.str(v["path"], key + ".path");
        const auto ref = datastore_uri(r, v["path"], key + ".path", at);
        if (ref.path_on_datastore.empty()) {
          r.fail(v["path"], key + ".path", "'" + at + "' is the datastore's root: name a folder in it");
        }
        settings.datastore = ref.datastore_name;
        settings.path_on_datastore = ref.path_on_datastore;
      }
      if (v["version"] && !v["name"]) r.fail(v["version"], key + ".version", "needs a name");
      if (v["name"]) {
        settings.asset_name = r.str(v["name"], key + ".name");
        if (!matches(settings.asset_name, kAssetName)) {
          r.fail(v["name"], key + ".name", "'" + settings.asset_name + "' must be letters, digits, '.', '_' or '-'");
        }
        if (v["version"]) {
          settings.asset_version = r.str(v["version"], key + ".version");
          if (!matches(settings.asset_version, kAssetName)) {
            r.fail(v["version"], key + ".version", "'" + settings.asset_version + "' must be letters, digits, '.', '_' or '-'");
          }
        }
      }
      e.output_settings[name] = settings;
    } else if (!v.IsNull()) {
      r.fail(v, key, "must be a mapping (or empty)");
    }
    e.outputs[name] = mode;
    replacement["outputs." + name] = "\"${AZURE_ML_OUTPUT_" + name + "}\"";
  }
}

}  // namespace amlemu::spec
