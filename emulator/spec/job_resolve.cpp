// CLI v2 job files against a workspace: a job's environment (registered, curated, inline) and
// local inputs resolved into what Preparing and the run need, and `environment create --file`.
#include <fstream>
#include <regex>

#include "amlemu/assets.hpp"
#include "amlemu/datastore.hpp"
#include "amlemu/errors.hpp"
#include "amlemu/job_yaml.hpp"
#include "common/clock.hpp"
#include "common/fs.hpp"
#include "common/hash.hpp"
#include "common/text.hpp"
#include "environment/registered_store.hpp"
#include "spec/data_inputs.hpp"
#include "spec/yaml_reader.hpp"

namespace amlemu {

namespace stdfs = std::filesystem;

namespace {

using spec::Reader;

// A registered, curated or inline environment, as what Preparing needs.
void apply_environment(const Workspace& ws, const nlohmann::json& ref, Estimator& e) {
  auto use_definition = [&](const nlohmann::json& def, const std::string& what) {
    e.pip_packages = def.value("pipPackages", std::vector<std::string>{});
    e.conda_packages = def.value("condaPackages", std::vector<std::string>{});
    e.conda_channels = def.value("condaChannels", std::vector<std::string>{});
    if (def.contains("image")) {
      if (e.pip_packages.empty() && e.conda_packages.empty()) {
        e.user_managed_dependencies = true;
        e.warnings.push_back(what + ": image " + def["image"].get<std::string>() +
                             " is not pulled (no container engine); the job runs on the local "
                             "interpreter as it is");
      } else {
        e.warnings.push_back(what + ": image " + def["image"].get<std::string>() +
                             " is not pulled (no container engine); its conda_file is built "
                             "into a local virtual environment (docs/environments.md)");
      }
    }
  };
  if (ref.is_object()) {
    use_definition(ref, "environment");
    return;
  }
  const std::string s = ref.get<std::string>();
  std::string name, version;
  std::smatch m;
  static const std::regex versioned(R"(^azureml:([A-Za-z0-9._-]+):([A-Za-z0-9._-]+)$)");
  static const std::regex latest(R"(^azureml:([A-Za-z0-9._-]+)@latest$)");
  static const std::regex registry(
      R"(^azureml://registries/([A-Za-z0-9_-]+)/environments/([A-Za-z0-9._-]+)/(versions/([A-Za-z0-9._-]+)|labels/latest)$)");
  bool from_registry = false;
  if (std::regex_match(s, m, versioned)) {
    name = m[1];
    version = m[2];
  } else if (std::regex_match(s, m, latest)) {
    name = m[1];
  } else if (std::regex_match(s, m, registry)) {
    name = m[2];
    version = m[4];
    from_registry = true;
  } else {
    throw UserErrorException("environment: '" + s + "' must be azureml:<name>:<version>, "
                             "azureml:<name>@latest or azureml://registries/<registry>/"
                             "environments/<name>/(versions/<v>|labels/latest)");
  }
  const auto registered =
      from_registry ? std::nullopt : environment::RegisteredStore(ws).find(name, version);
  if (registered) {
    use_definition(registered->definition, "environment " + name + ":" + registered->version);
    e.environment_note =
        "Environment " + name + ":" + registered->version + " (registered in this workspace)";
    return;
  }
  // Curated environments (AzureML-...) and registry environments are container images on
  // Azure; offline, Preparing gives them their image's Python and main packages from amlemu's
  // curated table (or, for a name the table lacks, the machine's Python as it is).
  if (from_registry || name.rfind("AzureML-", 0) == 0) {
    e.user_managed_dependencies = true;
    e.environment_name = name;
    e.environment_note = "Curated environment " + name +
                         ": Preparing gives it its image's Python and main packages from "
                         "amlemu's curated table";
    return;
  }
  throw UserErrorException("environment: '" + s + "' is not registered in workspace '" +
                           ws.name() + "'; register it with 'amlemu environment create --file "
                           "env.yml'");
}

}  // namespace

void check_outputs(const Workspace& ws, const Estimator& e) {
  for (const auto& [name, s] : e.output_settings) {
    if (!s.datastore.empty()) {
      try {
        Datastore::get(ws, s.datastore);
      } catch (const NotFoundException&) {
        throw UserErrorException("outputs." + name + ".path: datastore '" + s.datastore +
                                 "' not found in workspace '" + ws.name() + "'");
      }
    }
    if (!s.asset_name.empty() && !s.asset_version.empty() &&
        get_data_version(ws, s.asset_name, s.asset_version)) {
      throw UserErrorException("outputs." + name + ".version: data asset " + s.asset_name + ":" +
                               s.asset_version + " already exists");
    }
  }
}

Estimator resolve_command_job(const Workspace& ws, const CommandJob& job) {
  Estimator e = job.spec.estimator;
  apply_environment(ws, job.environment, e);
  for (const auto& in : job.local_inputs) {
    const auto ds = Datastore::get_default(ws);
    const auto target = Datastore::upload_local(ws, in.path);
    DataReference ref;
    ref.datastore_name = ds.name();
    ref.path_on_datastore = target;
    spec::set_input_mode(ws, ref, in.name, spec::reference_mode(in.mode));
    e.script_params.emplace_back("", ref);
  }
  for (const auto& in : job.asset_inputs) {
    // A data asset stands for its URI, which names datastore data.
    DataReference ref = spec::data_input(ws, in.reference, "inputs." + in.name + ".path");
    spec::set_input_mode(ws, ref, in.name, spec::reference_mode(in.mode));
    e.script_params.emplace_back("", ref);
  }
  for (auto& [key, value] : e.script_params) {
    // A datastore input in direct mode: its URI, which names this workspace.
    auto* ref = std::get_if<DataReference>(&value);
    if (ref && ref->mode == "direct" && ref->direct_uri.empty()) {
      spec::set_input_mode(ws, *ref, ref->data_reference_name, "direct");
    }
  }
  check_outputs(ws, e);
  if (e.source_directory.empty()) {
    // No `code`: the job ships no files; an empty folder stands for it.
    e.source_directory = ws.state_dir() / "snapshots" / ".empty-source";
    stdfs::create_directories(e.source_directory);
  }
  return e;
}

namespace {

// An environment YAML read as a job's inline environment would be: its name, the wanted
// version, the definition (image, pipPackages, condaPackages, ...) and the warnings.
struct EnvironmentFile {
  std::string name, version;
  nlohmann::json definition;
  std::vector<std::string> warnings;
};

EnvironmentFile read_environment_file(const stdfs::path& file) {
  const auto root = spec::load_yaml_file(file.string(), "environment");
  Reader r(file.string());
  if (!root.IsMap()) r.fail(root, "(document)", "must be a mapping");
  std::vector<std::string> warnings;
  r.keys(root, "", {"$schema", "name", "version", "image", "conda_file", "description", "tags"},
         {"build", "os_type", "inference_config", "properties"}, warnings);
  if (!root["name"]) r.fail(root, "name", "is required");
  const auto name = r.str(root["name"], "name");
  if (!matches(name, kAssetName)) {
    r.fail(root["name"], "name", "'" + name + "' must be letters, digits, '.', '_' or '-'");
  }
  // The same reading as an inline environment of a job.
  YAML::Node job;
  job["command"] = "true";
  job["environment"] = YAML::Node(YAML::NodeType::Map);
  if (root["image"]) job["environment"]["image"] = root["image"];
  if (root["conda_file"]) {
    job["environment"]["conda_file"] =
        root["conda_file"].IsScalar()
            ? YAML::Node((stdfs::absolute(file).parent_path() / root["conda_file"].as<std::string>()).string())
            : root["conda_file"];
  }
  const auto tmp = stdfs::temp_directory_path() / ("amlemu-env-" + sha1_hex(file.string()) + ".yml");
  {
    std::ofstream out(tmp);
    out << job;
  }
  CommandJob parsed;
  try {
    parsed = load_command_job(tmp);
  } catch (const UserErrorException& e) {
    stdfs::remove(tmp);
    throw UserErrorException(std::string(e.what()).replace(0, tmp.string().size(), file.string()));
  }
  stdfs::remove(tmp);
  EnvironmentFile out{name, root["version"] ? r.str(root["version"], "version") : "",
                      parsed.environment, warnings};
  if (root["description"]) out.definition["description"] = r.str(root["description"], "description");
  return out;
}

}  // namespace

nlohmann::json create_environment(const Workspace& ws, const stdfs::path& file) {
  auto f = read_environment_file(file);
  const auto& name = f.name;
  const auto& wanted = f.version;
  const auto& def = f.definition;
  const auto& warnings = f.warnings;
  const auto version = environment::RegisteredStore(ws).insert(name, wanted, def, now_iso());
  if (!version) {
    throw UserErrorException(file.string() + ": version: environment " + name + ":" + wanted +
                             " already exists");
  }
  return {{"name", name}, {"version", *version}, {"id", "azureml:" + name + ":" + *version},
          {"definition", def}, {"warnings", warnings}};
}

Estimator environment_estimator_from(const Workspace& ws, const nlohmann::json& environment) {
  Estimator e;
  apply_environment(ws, environment, e);
  return e;
}

Estimator environment_estimator(const Workspace& ws, const std::string& file_or_reference) {
  Estimator e;
  std::error_code ec;
  if (stdfs::is_regular_file(file_or_reference, ec)) {
    auto f = read_environment_file(file_or_reference);
    e.warnings = f.warnings;
    apply_environment(ws, f.definition, e);
  } else if (file_or_reference.rfind("azureml:", 0) == 0) {
    apply_environment(ws, file_or_reference, e);
  } else {
    throw UserErrorException("environment: '" + file_or_reference + "' is neither an environment "
                             "file nor azureml:<name>:<version>, azureml:<name>@latest or a "
                             "registry URI");
  }
  return e;
}

}  // namespace amlemu

namespace amlemu {

namespace {

EnvironmentVersion to_version(const environment::RegisteredEnvironment& r) {
  return {r.name, r.version, r.definition, r.created_time};
}

}  // namespace

std::optional<EnvironmentVersion> get_environment_version(const Workspace& ws,
                                                          const std::string& name,
                                                          const std::string& version) {
  const auto r = environment::RegisteredStore(ws).find(name, version);
  if (!r) return std::nullopt;
  return to_version(*r);
}

std::vector<EnvironmentVersion> list_environment_versions(const Workspace& ws,
                                                          const std::optional<std::string>& name) {
  std::vector<EnvironmentVersion> out;
  for (const auto& r : environment::RegisteredStore(ws).list()) {
    if (!name || r.name == *name) out.push_back(to_version(r));
  }
  return out;
}

EnvironmentVersion register_environment_version(const Workspace& ws, const std::string& name,
                                                const std::string& version,
                                                const std::string& image,
                                                const std::string& conda_file,
                                                const std::string& description,
                                                const nlohmann::json& tags) {
  if (!matches(name, kAssetName)) {
    throw UserErrorException("environment name '" + name +
                             "' must be letters, digits, '.', '_' or '-'");
  }
  nlohmann::json def = nlohmann::json::object();
  if (!image.empty()) def["image"] = image;
  if (!conda_file.empty()) {
    YAML::Node conda;
    try {
      conda = YAML::Load(conda_file);
    } catch (const YAML::Exception& e) {
      throw UserErrorException("condaFile: line " + std::to_string(e.mark.line + 1) +
                               ": not valid YAML: " + e.msg);
    }
    if (!conda.IsMap()) throw UserErrorException("condaFile: must be a conda environment mapping");
    const auto deps = spec::conda_dependencies(conda);
    def["pipPackages"] = deps["pipPackages"];
    def["condaPackages"] = deps["condaPackages"];
    if (!deps["condaChannels"].empty()) def["condaChannels"] = deps["condaChannels"];
    def["condaFile"] = conda_file;
  }
  if (def.empty()) throw UserErrorException("environment " + name + ": needs an image or a conda file");
  if (!description.empty()) def["description"] = description;
  if (tags.is_object() && !tags.empty()) def["tags"] = tags;
  environment::RegisteredStore store(ws);
  const auto recorded = store.insert(name, version, def, now_iso());
  if (recorded) return *get_environment_version(ws, name, *recorded);
  auto existing = *get_environment_version(ws, name, version);
  auto strip = [](nlohmann::json d) {
    d.erase("description");
    d.erase("tags");
    return d;
  };
  if (strip(existing.definition) != strip(def)) {
    throw UserErrorException("environment " + name + ":" + version +
                             " already exists with another definition");
  }
  return existing;
}

}  // namespace amlemu
