// CLI v2 command-job YAML, read with yaml-cpp into the same Estimator a JSON spec gives.
#include "amlemu/job_yaml.hpp"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <map>
#include <regex>
#include <set>

#include "amlemu/datastore.hpp"
#include "amlemu/errors.hpp"
#include "common/clock.hpp"
#include "common/fs.hpp"
#include "common/hash.hpp"
#include "environment/environment.hpp"
#include "environment/registered_store.hpp"

namespace amlemu {

namespace stdfs = std::filesystem;

namespace {

// Reads nodes and reports problems as "<file>:<line>: <key path>: <problem>".
class Reader {
 public:
  explicit Reader(std::string file) : file_(std::move(file)) {}

  [[noreturn]] void fail(const YAML::Node& at, const std::string& key,
                         const std::string& problem) const {
    const int line = at.Mark().line >= 0 ? at.Mark().line + 1 : 0;
    throw UserErrorException(file_ + (line ? ":" + std::to_string(line) : "") + ": " + key + ": " +
                             problem);
  }

  static std::string kind(const YAML::Node& n) {
    switch (n.Type()) {
      case YAML::NodeType::Map: return "a mapping";
      case YAML::NodeType::Sequence: return "a list";
      case YAML::NodeType::Null: return "null";
      default: return "a scalar";
    }
  }

  // A mapping's key as a string; YAML allows lists and mappings as keys, a job file does not.
  std::string key(const YAML::Node& k, const std::string& where) const {
    if (!k.IsScalar()) {
      fail(k, where.empty() ? "(top level)" : where, "keys must be plain names, got " + kind(k));
    }
    return k.as<std::string>();
  }

  void keys(const YAML::Node& map, const std::string& where, const std::set<std::string>& known,
            const std::set<std::string>& ignored, std::vector<std::string>& warnings) const {
    for (const auto& kv : map) {
      const auto key = this->key(kv.first, where);
      const auto path = where.empty() ? key : where + "." + key;
      if (ignored.count(key)) {
        warnings.push_back(path + " is accepted but ignored by amlemu");
      } else if (!known.count(key)) {
        std::string list;
        for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
        fail(kv.first, path, "unknown key (expected one of: " + list + ")");
      }
    }
  }

  std::string str(const YAML::Node& n, const std::string& key) const {
    if (!n.IsScalar()) fail(n, key, "must be a string, got " + kind(n));
    return n.as<std::string>();
  }

  int integer(const YAML::Node& n, const std::string& key, int min) const {
    if (!n.IsScalar()) fail(n, key, "must be an integer, got " + kind(n));
    long long v = 0;
    try {
      size_t used = 0;
      const auto text = n.as<std::string>();
      v = std::stoll(text, &used);
      if (used != text.size()) throw std::invalid_argument(text);
    } catch (const std::exception&) {
      fail(n, key, "must be an integer, got '" + n.as<std::string>() + "'");
    }
    if (v < min || v > 1000000000) {
      fail(n, key, "must be an integer >= " + std::to_string(min) + ", got " + std::to_string(v));
    }
    return static_cast<int>(v);
  }

  const std::string& file() const { return file_; }

 private:
  std::string file_;
};

// `--set a.b.c=value`: the value is read as YAML, so numbers stay numbers.
void apply_override(YAML::Node& root, const std::string& assignment, const std::string& file) {
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0) {
    throw UserErrorException("--set '" + assignment + "' must be key.path=value");
  }
  std::vector<std::string> path;
  std::stringstream ss(assignment.substr(0, eq));
  for (std::string part; std::getline(ss, part, '.');) {
    if (part.empty()) throw UserErrorException("--set '" + assignment + "': empty key in the path");
    path.push_back(part);
  }
  YAML::Node value;
  try {
    value = YAML::Load(assignment.substr(eq + 1));
  } catch (const YAML::Exception& e) {
    throw UserErrorException("--set '" + assignment + "': " + e.what());
  }
  // Walk down, making maps where needed (nodes are references into the tree).
  std::vector<YAML::Node> chain = {root};
  for (size_t i = 0; i + 1 < path.size(); ++i) {
    YAML::Node next = chain.back()[path[i]];
    if (!next.IsDefined() || next.IsNull()) {
      chain.back()[path[i]] = YAML::Node(YAML::NodeType::Map);
      next = chain.back()[path[i]];
    } else if (!next.IsMap()) {
      throw UserErrorException(file + ": --set '" + assignment + "': '" + path[i] +
                               "' is not a mapping");
    }
    chain.push_back(next);
  }
  chain.back()[path.back()] = value;
}

const std::regex kName("^[A-Za-z0-9][A-Za-z0-9_-]{0,254}$");
const std::regex kIdentifier("^[A-Za-z_][A-Za-z0-9_]*$");

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

CommandJob load_command_job(const stdfs::path& file, const std::vector<std::string>& overrides) {
  std::error_code ec;
  if (!stdfs::is_regular_file(file, ec)) {
    throw UserErrorException("job file not found: " + file.string());
  }
  YAML::Node root;
  try {
    root = YAML::LoadFile(file.string());
  } catch (const YAML::Exception& e) {
    throw UserErrorException(file.string() + ":" + std::to_string(e.mark.line + 1) +
                             ": not valid YAML: " + e.msg);
  }
  Reader r(file.string());
  if (!root.IsMap()) r.fail(root, "(document)", "must be a mapping of job keys");
  for (const auto& o : overrides) apply_override(root, o, file.string());

  CommandJob job;
  job.file = file;
  Estimator& e = job.spec.estimator;
  const auto base = stdfs::absolute(file).parent_path();
  r.keys(root, "",
         {"$schema", "type", "name", "display_name", "experiment_name", "description", "tags",
          "command", "code", "environment", "environment_variables", "distribution", "compute",
          "resources", "limits", "inputs", "outputs"},
         {"services", "queue_settings", "identity", "properties", "is_deterministic"},
         e.warnings);

  const std::string type = root["type"] ? r.str(root["type"], "type") : "command";
  if (type != "command") {
    r.fail(root["type"], "type", "'" + type + "' jobs are not supported; amlemu runs command jobs");
  }
  if (!root["command"]) r.fail(root, "command", "is required");
  std::string command = r.str(root["command"], "command");
  if (root["name"]) {
    e.run_name = r.str(root["name"], "name");
    if (!std::regex_match(e.run_name, kName)) {
      r.fail(root["name"], "name", "'" + e.run_name + "' must be 1-255 letters, digits, '_' or '-'");
    }
  }
  if (root["display_name"]) e.display_name = r.str(root["display_name"], "display_name");
  if (root["description"]) e.description = r.str(root["description"], "description");
  if (root["experiment_name"]) {
    job.spec.experiment_name = r.str(root["experiment_name"], "experiment_name");
  } else {
    // Azure's default: the name of the folder the job was created from.
    job.spec.experiment_name = stdfs::current_path().filename().string();
    std::replace_if(job.spec.experiment_name.begin(), job.spec.experiment_name.end(),
                    [](char c) { return !std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-'; },
                    '_');
  }
  if (root["tags"]) {
    if (!root["tags"].IsMap()) r.fail(root["tags"], "tags", "must be a mapping");
    for (const auto& kv : root["tags"]) {
      e.tags[r.key(kv.first, "tags")] = kv.second.IsScalar() ? kv.second.as<std::string>() : "";
    }
  }
  if (root["code"]) {
    const auto code = r.str(root["code"], "code");
    e.source_directory = (base / code).lexically_normal();
    if (e.source_directory.filename().empty()) e.source_directory = e.source_directory.parent_path();
    if (!stdfs::is_directory(e.source_directory, ec)) {
      r.fail(root["code"], "code", "'" + code + "' is not a folder (relative to " + base.string() + ")");
    }
  }
  if (!root["environment"]) r.fail(root, "environment", "is required");
  {
    const auto& env = root["environment"];
    if (env.IsScalar()) {
      job.environment = env.as<std::string>();
    } else if (env.IsMap()) {
      r.keys(env, "environment", {"image", "conda_file", "name", "version", "description", "tags"},
             {"build", "os_type", "inference_config"}, e.warnings);
      nlohmann::json inline_env = nlohmann::json::object();
      if (env["image"]) inline_env["image"] = r.str(env["image"], "environment.image");
      if (env["conda_file"]) {
        const auto& cf = env["conda_file"];
        YAML::Node conda;
        if (cf.IsScalar()) {
          try {
            conda = YAML::LoadFile((base / cf.as<std::string>()).string());
          } catch (const YAML::Exception& ex) {
            r.fail(cf, "environment.conda_file", "cannot read '" + cf.as<std::string>() + "': " + ex.msg);
          }
        } else {
          conda = cf;
        }
        nlohmann::json pip = nlohmann::json::array(), other = nlohmann::json::array();
        for (const auto& d : conda["dependencies"]) {
          if (d.IsMap() && d["pip"]) {
            for (const auto& p : d["pip"]) pip.push_back(p.as<std::string>());
          } else if (d.IsScalar()) {
            const auto name = d.as<std::string>();
            static const std::regex interpreter(R"(^(python|pip)([=<>!~ ].*)?$)");
            if (!std::regex_match(name, interpreter)) other.push_back(name);
          }
        }
        inline_env["pipPackages"] = pip;
        inline_env["condaPackages"] = other;
      }
      if (!inline_env.contains("image") && !inline_env.contains("pipPackages")) {
        r.fail(env, "environment", "an inline environment needs image or conda_file");
      }
      job.environment = inline_env;
    } else {
      r.fail(env, "environment", "must be azureml:<name>:<version>, azureml:<name>@latest, a "
                                 "registry URI, or a mapping with image/conda_file");
    }
  }
  if (root["environment_variables"]) {
    const auto& vars = root["environment_variables"];
    if (!vars.IsMap()) r.fail(vars, "environment_variables", "must be a mapping");
    for (const auto& kv : vars) {
      const auto k = r.key(kv.first, "environment_variables");
      if (!std::regex_match(k, kIdentifier)) {
        r.fail(kv.first, "environment_variables." + k, "is not a valid variable name");
      }
      if (!kv.second.IsScalar()) {
        r.fail(kv.second, "environment_variables." + k, "must be a string, got " + Reader::kind(kv.second));
      }
      e.environment_variables[k] = kv.second.as<std::string>();
    }
  }
  if (root["compute"]) {
    const auto compute = r.str(root["compute"], "compute");
    if (compute == "local") {
      e.compute_target = "local";
    } else {
      // azureml:<name>, or the bare name, which the service accepts too.
      e.compute_target = compute.rfind("azureml:", 0) == 0 ? compute.substr(8) : compute;
      if (e.compute_target.empty()) {
        r.fail(root["compute"], "compute", "'" + compute + "' names no compute target");
      }
    }
  }
  if (root["resources"]) {
    const auto& res = root["resources"];
    if (!res.IsMap()) r.fail(res, "resources", "must be a mapping");
    r.keys(res, "resources", {"instance_count"},
           {"shm_size", "instance_type", "docker_args", "properties", "locations"}, e.warnings);
    if (res["instance_count"]) e.node_count = r.integer(res["instance_count"], "resources.instance_count", 1);
  }
  if (root["limits"]) {
    const auto& lim = root["limits"];
    if (!lim.IsMap()) r.fail(lim, "limits", "must be a mapping");
    r.keys(lim, "limits", {"timeout"}, {}, e.warnings);
    if (lim["timeout"]) e.max_run_duration_seconds = r.integer(lim["timeout"], "limits.timeout", 1);
  }
  if (root["distribution"]) {
    const auto& d = root["distribution"];
    if (!d.IsMap()) r.fail(d, "distribution", "must be a mapping");
    if (!d["type"]) r.fail(d, "distribution.type", "is required (mpi, tensorflow or pytorch)");
    DistributedTraining dt;
    dt.type = r.str(d["type"], "distribution.type");
    if (dt.type == "mpi") {
      r.keys(d, "distribution", {"type", "process_count_per_instance"}, {}, e.warnings);
      if (!d["process_count_per_instance"]) {
        r.fail(d, "distribution.process_count_per_instance", "is required for type mpi");
      }
      dt.process_count_per_node =
          r.integer(d["process_count_per_instance"], "distribution.process_count_per_instance", 1);
    } else if (dt.type == "pytorch") {
      r.keys(d, "distribution", {"type", "process_count_per_instance"}, {}, e.warnings);
      dt.process_count_per_node =
          d["process_count_per_instance"]
              ? r.integer(d["process_count_per_instance"], "distribution.process_count_per_instance", 1)
              : 1;
    } else if (dt.type == "tensorflow") {
      r.keys(d, "distribution", {"type", "worker_count", "parameter_server_count"}, {}, e.warnings);
      dt.worker_count = d["worker_count"] ? r.integer(d["worker_count"], "distribution.worker_count", 1)
                                          : e.node_count;  // v2: instance_count
      dt.parameter_server_count =
          d["parameter_server_count"]
              ? r.integer(d["parameter_server_count"], "distribution.parameter_server_count", 0)
              : 0;
    } else {
      r.fail(d["type"], "distribution.type",
             "'" + dt.type + "' is not supported (mpi, tensorflow or pytorch)");
    }
    e.distributed_training = dt;
  }

  if (e.node_count > 1 && !e.distributed_training) {
    r.fail(root["resources"]["instance_count"], "resources.instance_count",
           "several instances need a distribution (mpi, tensorflow or pytorch) to say what runs "
           "on each");
  }

  // Inputs: literals are written into the command; data inputs become each node's path.
  std::map<std::string, std::string> replacement;
  if (root["inputs"]) {
    if (!root["inputs"].IsMap()) r.fail(root["inputs"], "inputs", "must be a mapping");
    for (const auto& kv : root["inputs"]) {
      const auto name = r.key(kv.first, "inputs");
      const auto key = "inputs." + name;
      if (!std::regex_match(name, kIdentifier)) r.fail(kv.first, key, "is not a valid input name");
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
          itype != "mlflow_model") {
        r.fail(v["type"], key + ".type", "'" + itype + "' is not supported (uri_folder, uri_file, custom_model, mlflow_model)");
      }
      if (!v["path"]) r.fail(v, key + ".path", "is required");
      const auto path = r.str(v["path"], key + ".path");
      const std::string mode = v["mode"] ? r.str(v["mode"], key + ".mode") : "ro_mount";
      if (mode != "ro_mount" && mode != "download") {
        r.fail(v["mode"], key + ".mode", "'" + mode + "' is not supported (ro_mount or download)");
      }
      if (path.rfind("azureml://datastores/", 0) == 0) {
        DataReference ref = datastore_uri(r, v["path"], key + ".path", path);
        ref.data_reference_name = name;
        ref.mode = mode == "download" ? "download" : "mount";
        if (ref.mode == "download") ref.path_on_compute = "inputs/" + name;
        e.script_params.emplace_back("", ref);
      } else if (path.rfind("azureml:", 0) == 0 || path.find("://") != std::string::npos) {
        r.fail(v["path"], key + ".path", "'" + path + "' is not available offline; use a local "
                                          "path or azureml://datastores/<name>/paths/<path>");
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
  if (root["outputs"]) {
    if (!root["outputs"].IsMap()) r.fail(root["outputs"], "outputs", "must be a mapping");
    for (const auto& kv : root["outputs"]) {
      const auto name = r.key(kv.first, "outputs");
      const auto key = "outputs." + name;
      if (!std::regex_match(name, kIdentifier)) r.fail(kv.first, key, "is not a valid output name");
      std::string mode = "rw_mount";
      const auto& v = kv.second;
      if (v.IsMap()) {
        r.keys(v, key, {"type", "mode", "description"}, {"path", "name", "version"}, e.warnings);
        const std::string otype = v["type"] ? r.str(v["type"], key + ".type") : "uri_folder";
        if (otype != "uri_folder" && otype != "uri_file" && otype != "custom_model" && otype != "mlflow_model") {
          r.fail(v["type"], key + ".type", "'" + otype + "' is not supported");
        }
        if (v["mode"]) mode = r.str(v["mode"], key + ".mode");
        if (mode != "rw_mount" && mode != "upload") {
          r.fail(v["mode"], key + ".mode", "'" + mode + "' is not supported (rw_mount or upload)");
        }
      } else if (!v.IsNull()) {
        r.fail(v, key, "must be a mapping (or empty)");
      }
      e.outputs[name] = mode;
      replacement["outputs." + name] = "\"${AZURE_ML_OUTPUT_" + name + "}\"";
    }
  }
  static const std::regex expr(R"(\$\{\{\s*([^}]*?)\s*\}\})");
  std::string out;
  auto begin = std::sregex_iterator(command.begin(), command.end(), expr);
  size_t last = 0;
  for (auto it = begin; it != std::sregex_iterator(); ++it) {
    const auto what = (*it)[1].str();
    const auto found = replacement.find(what);
    if (found == replacement.end()) {
      r.fail(root["command"], "command", "${{" + what + "}} names no declared input or output");
    }
    out += command.substr(last, static_cast<size_t>(it->position()) - last) + found->second;
    last = static_cast<size_t>(it->position() + it->length());
  }
  e.command = out + command.substr(last);
  e.entry_script = "";
  return job;
}

namespace {

// A registered, curated or inline environment, as what Preparing needs.
void apply_environment(const Workspace& ws, const nlohmann::json& ref, Estimator& e) {
  auto use_definition = [&](const nlohmann::json& def, const std::string& what) {
    e.pip_packages = def.value("pipPackages", std::vector<std::string>{});
    e.conda_packages = def.value("condaPackages", std::vector<std::string>{});
    if (def.contains("image")) {
      if (e.pip_packages.empty() && e.conda_packages.empty()) {
        e.user_managed_dependencies = true;
        e.warnings.push_back(what + ": image " + def["image"].get<std::string>() +
                             " is not pulled (no container engine); the job runs on the local "
                             "interpreter as it is");
      } else {
        e.warnings.push_back(what + ": image " + def["image"].get<std::string>() +
                             " is not pulled (no container engine); its conda_file is built on "
                             "the local interpreter");
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
  // Azure; offline they stand for "the machine's Python, as it is".
  if (from_registry || name.rfind("AzureML-", 0) == 0) {
    e.user_managed_dependencies = true;
    e.environment_note = "Curated environment " + name +
                         " runs on the local interpreter as it is (its image is not available "
                         "offline); install what it provides, e.g. tensorflow-cpu, there";
    return;
  }
  throw UserErrorException("environment: '" + s + "' is not registered in workspace '" +
                           ws.name() + "'; register it with 'amlemu environment create --file "
                           "env.yml'");
}

}  // namespace

Estimator resolve_command_job(const Workspace& ws, const CommandJob& job) {
  Estimator e = job.spec.estimator;
  apply_environment(ws, job.environment, e);
  for (const auto& in : job.local_inputs) {
    // Local data is uploaded once per content, as the service does (LocalUpload/<hash>/).
    Sha1 h;
    std::error_code ec;
    if (stdfs::is_directory(in.path, ec)) {
      for (const auto& f : fs::list_files(in.path)) {
        h.update(f);
        h.update(fs::read_file(in.path / f));
      }
    } else {
      h.update(fs::read_file(in.path));
    }
    const std::string folder = "LocalUpload/" + h.hex().substr(0, 32);
    const std::string target = folder + "/" + in.path.filename().string();
    const auto ds = Datastore::get_default(ws);
    std::ostringstream quiet;
    if (stdfs::is_directory(in.path, ec)) {
      ds.upload(in.path, target, false, false, quiet);
    } else {
      stdfs::create_directories(ds.root() / folder);
      stdfs::copy_file(in.path, ds.root() / target, stdfs::copy_options::skip_existing);
    }
    DataReference ref;
    ref.datastore_name = ds.name();
    ref.data_reference_name = in.name;
    ref.path_on_datastore = target;
    ref.mode = in.mode == "download" ? "download" : "mount";
    if (ref.mode == "download") ref.path_on_compute = "inputs/" + in.name;
    e.script_params.emplace_back("", ref);
  }
  if (e.source_directory.empty()) {
    // No `code`: the job ships no files; an empty folder stands for it.
    e.source_directory = ws.state_dir() / "snapshots" / ".empty-source";
    stdfs::create_directories(e.source_directory);
  }
  return e;
}

nlohmann::json create_environment(const Workspace& ws, const stdfs::path& file) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(file.string());
  } catch (const YAML::BadFile&) {
    throw UserErrorException("environment file not found: " + file.string());
  } catch (const YAML::Exception& e) {
    throw UserErrorException(file.string() + ":" + std::to_string(e.mark.line + 1) +
                             ": not valid YAML: " + e.msg);
  }
  Reader r(file.string());
  if (!root.IsMap()) r.fail(root, "(document)", "must be a mapping");
  std::vector<std::string> warnings;
  r.keys(root, "", {"$schema", "name", "version", "image", "conda_file", "description", "tags"},
         {"build", "os_type", "inference_config", "properties"}, warnings);
  if (!root["name"]) r.fail(root, "name", "is required");
  const auto name = r.str(root["name"], "name");
  if (!std::regex_match(name, std::regex("^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$"))) {
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
  nlohmann::json def = parsed.environment;
  if (root["description"]) def["description"] = r.str(root["description"], "description");
  const std::string wanted = root["version"] ? r.str(root["version"], "version") : "";
  const auto version = environment::RegisteredStore(ws).insert(name, wanted, def, now_iso());
  if (!version) {
    r.fail(root["version"], "version", "environment " + name + ":" + wanted + " already exists");
  }
  return {{"name", name}, {"version", *version}, {"id", "azureml:" + name + ":" + *version},
          {"definition", def}, {"warnings", warnings}};
}

}  // namespace amlemu
