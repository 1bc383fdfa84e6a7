// The estimator-style JSON spec: keys are the SDK's argument names. Strict: unknown keys, wrong
// types and out-of-range numbers are errors that name the key.
#include <cmath>
#include <fstream>
#include <set>

#include "amlemu/errors.hpp"
#include "amlemu/hyperdrive.hpp"
#include "amlemu/estimator.hpp"
#include "common/fs.hpp"
#include "common/ids.hpp"
#include "common/text.hpp"

namespace amlemu {

namespace stdfs = std::filesystem;
using ojson = nlohmann::ordered_json;

namespace {

class SpecReader {
 public:
  explicit SpecReader(std::string origin) : origin_(std::move(origin)) {}

  [[noreturn]] void fail(const std::string& key, const std::string& problem) const {
    throw UserErrorException(origin_ + ": " + key + ": " + problem);
  }
  [[noreturn]] void fail_line(const std::string& message) const {
    throw UserErrorException(origin_ + ": " + message);
  }

  static std::string type_name(const ojson& v) {
    return v.is_null() ? "null" : std::string(v.type_name());
  }

  void reject_unknown(const ojson& obj, const std::string& where,
                      const std::set<std::string>& known) const {
    for (const auto& [k, v] : obj.items()) {
      if (!known.count(k)) {
        std::string list;
        for (const auto& name : known) list += (list.empty() ? "" : ", ") + name;
        fail(where.empty() ? k : where + "." + k, "unknown key (expected one of: " + list + ")");
      }
    }
  }

  std::string string(const ojson& v, const std::string& key) const {
    if (!v.is_string()) fail(key, "must be a string, got " + type_name(v));
    return v.get<std::string>();
  }

  bool boolean(const ojson& v, const std::string& key) const {
    if (!v.is_boolean()) fail(key, "must be true or false, got " + type_name(v));
    return v.get<bool>();
  }

  int integer(const ojson& v, const std::string& key, int min) const {
    if (!v.is_number_integer()) fail(key, "must be an integer, got " + type_name(v));
    const auto n = v.get<long long>();
    if (n < min || n > 1000000000) {
      fail(key, "must be an integer >= " + std::to_string(min) + ", got " + std::to_string(n));
    }
    return static_cast<int>(n);
  }

  std::vector<std::string> strings(const ojson& v, const std::string& key) const {
    if (!v.is_array()) fail(key, "must be a list of strings, got " + type_name(v));
    std::vector<std::string> out;
    for (size_t i = 0; i < v.size(); ++i) {
      out.push_back(string(v[i], key + "[" + std::to_string(i) + "]"));
    }
    return out;
  }

  DataReference data_reference(const ojson& v, const std::string& key) const {
    reject_unknown(v, key, {"datastore", "path_on_datastore", "mode", "path_on_compute", "overwrite"});
    if (!v.contains("datastore")) fail(key + ".datastore", "is required in a data reference");
    DataReference ref;
    ref.datastore_name = string(v["datastore"], key + ".datastore");
    if (ref.datastore_name.empty()) fail(key + ".datastore", "must not be empty");
    if (v.contains("path_on_datastore")) {
      const auto p = string(v["path_on_datastore"], key + ".path_on_datastore");
      try {
        ref.path_on_datastore = fs::clean_relative(p);
      } catch (const std::invalid_argument& e) {
        fail(key + ".path_on_datastore", std::string("'") + p + "' is invalid: " + e.what());
      }
    }
    if (v.contains("mode")) {
      ref.mode = string(v["mode"], key + ".mode");
      if (ref.mode != "mount" && ref.mode != "download") {
        fail(key + ".mode", "must be 'mount' or 'download', got '" + ref.mode + "'");
      }
    }
    if (v.contains("path_on_compute")) {
      const auto p = string(v["path_on_compute"], key + ".path_on_compute");
      try {
        ref.path_on_compute = fs::clean_relative(p);
      } catch (const std::invalid_argument& e) {
        fail(key + ".path_on_compute", std::string("'") + p + "' is invalid: " + e.what());
      }
    }
    if (v.contains("overwrite")) ref.overwrite = boolean(v["overwrite"], key + ".overwrite");
    // ds.as_mount() is named after the datastore; references to a path get a random name.
    ref.data_reference_name = ref.path_on_datastore.empty() && ref.path_on_compute.empty()
                                  ? ref.datastore_name
                                  : random_hex(32);
    return ref;
  }

  ScriptParamValue param(const ojson& v, const std::string& key) const {
    if (v.is_object()) return data_reference(v, key);
    if (v.is_array()) fail(key, "must be a scalar or a data reference object, got array");
    if (v.is_number_float() && !std::isfinite(v.get<double>())) fail(key, "must be finite");
    return nlohmann::json::parse(v.dump());
  }

  DistributedTraining distributed(const ojson& v, const std::string& key) const {
    if (!v.is_object()) fail(key, "must be an object, got " + type_name(v));
    reject_unknown(v, key, {"type", "worker_count", "parameter_server_count", "chief",
                            "process_count_per_node", "communication_backend"});
    if (!v.contains("type")) fail(key + ".type", "is required ('mpi', 'tensorflow' or 'pytorch')");
    DistributedTraining d;
    d.type = string(v["type"], key + ".type");
    if (d.type != "mpi" && d.type != "tensorflow" && d.type != "pytorch") {
      fail(key + ".type", "must be 'mpi', 'tensorflow' or 'pytorch', got '" + d.type + "'");
    }
    for (const char* only_tf : {"worker_count", "parameter_server_count", "chief"}) {
      if (v.contains(only_tf) && d.type != "tensorflow") {
        fail(key + "." + only_tf, "applies to type 'tensorflow' only");
      }
    }
    for (const char* not_tf : {"process_count_per_node", "communication_backend"}) {
      if (v.contains(not_tf) && d.type == "tensorflow") {
        fail(key + "." + not_tf, "applies to types 'mpi' and 'pytorch' only");
      }
    }
    if (v.contains("worker_count")) d.worker_count = integer(v["worker_count"], key + ".worker_count", 1);
    if (v.contains("parameter_server_count")) {
      d.parameter_server_count =
          integer(v["parameter_server_count"], key + ".parameter_server_count", 0);
    }
    if (v.contains("chief")) d.chief = boolean(v["chief"], key + ".chief");
    if (v.contains("process_count_per_node")) {
      d.process_count_per_node =
          integer(v["process_count_per_node"], key + ".process_count_per_node", 1);
    }
    if (v.contains("communication_backend")) {
      d.communication_backend = string(v["communication_backend"], key + ".communication_backend");
    }
    return d;
  }

 private:
  std::string origin_;
};

}  // namespace

JobSpec parse_job_spec(const ojson& doc, const stdfs::path& base_dir, const std::string& origin) {
  SpecReader r(origin);
  if (!doc.is_object()) r.fail("(document)", "must be a JSON object");
  r.reject_unknown(doc, "",
                   {"experiment_name", "estimator", "source_directory", "entry_script",
                    "script_params", "arguments", "compute_target", "use_gpu", "pip_packages",
                    "conda_packages", "framework_version", "environment_variables", "node_count",
                    "process_count_per_node", "distributed_training", "max_run_duration_seconds",
                    "user_managed", "hyperdrive"});
  JobSpec spec;
  Estimator& e = spec.estimator;
  if (!doc.contains("experiment_name")) r.fail("experiment_name", "is required");
  spec.experiment_name = r.string(doc["experiment_name"], "experiment_name");
  if (doc.contains("estimator")) {
    const auto kind = r.string(doc["estimator"], "estimator");
    if (kind != "Estimator" && kind != "TensorFlow") {
      r.fail("estimator", "must be 'Estimator' or 'TensorFlow', got '" + kind + "'");
    }
    e.framework = kind == "TensorFlow" ? "TensorFlow" : "Python";
  }
  const std::string src =
      doc.contains("source_directory") ? r.string(doc["source_directory"], "source_directory")
                                       : ".";
  e.source_directory = (base_dir / src).lexically_normal();
  if (e.source_directory.filename().empty()) e.source_directory = e.source_directory.parent_path();
  if (!doc.contains("entry_script")) r.fail("entry_script", "is required");
  e.entry_script = r.string(doc["entry_script"], "entry_script");
  if (e.entry_script.empty()) r.fail("entry_script", "must not be empty");
  try {
    e.entry_script = fs::clean_relative(e.entry_script);
  } catch (const std::invalid_argument& ex) {
    r.fail("entry_script", "'" + e.entry_script + "' is invalid: " + ex.what());
  }
  if (doc.contains("script_params")) {
    const auto& params = doc["script_params"];
    if (!params.is_object()) {
      r.fail("script_params", "must be an object, got " + SpecReader::type_name(params));
    }
    for (const auto& [k, v] : params.items()) {
      e.script_params.emplace_back(k, r.param(v, "script_params." + k));
    }
  }
  if (doc.contains("arguments")) {
    const auto& args = doc["arguments"];
    if (!args.is_array()) r.fail("arguments", "must be a list, got " + SpecReader::type_name(args));
    for (size_t i = 0; i < args.size(); ++i) {
      const auto key = "arguments[" + std::to_string(i) + "]";
      if (args[i].is_structured() || args[i].is_null()) r.fail(key, "must be a scalar");
      e.arguments.push_back(args[i].is_string() ? args[i].get<std::string>() : args[i].dump());
    }
  }
  if (doc.contains("compute_target")) {
    e.compute_target = r.string(doc["compute_target"], "compute_target");
    if (e.compute_target.empty()) r.fail("compute_target", "must not be empty");
  }
  if (doc.contains("use_gpu")) e.use_gpu = r.boolean(doc["use_gpu"], "use_gpu");
  if (doc.contains("pip_packages")) e.pip_packages = r.strings(doc["pip_packages"], "pip_packages");
  if (doc.contains("conda_packages")) {
    e.conda_packages = r.strings(doc["conda_packages"], "conda_packages");
  }
  if (doc.contains("framework_version")) {
    e.framework_version = r.string(doc["framework_version"], "framework_version");
  }
  if (doc.contains("environment_variables")) {
    const auto& env = doc["environment_variables"];
    if (!env.is_object()) {
      r.fail("environment_variables", "must be an object, got " + SpecReader::type_name(env));
    }
    for (const auto& [k, v] : env.items()) {
      const auto key = "environment_variables." + k;
      if (k.empty() || k.find('=') != std::string::npos || k.find('\0') != std::string::npos) {
        r.fail(key, "is not a valid variable name");
      }
      if (v.is_string()) {
        e.environment_variables[k] = v.get<std::string>();
      } else if (v.is_number() || v.is_boolean()) {
        e.environment_variables[k] = v.dump();
      } else {
        r.fail(key, "must be a string, number or boolean, got " + SpecReader::type_name(v));
      }
    }
  }
  if (doc.contains("node_count")) e.node_count = r.integer(doc["node_count"], "node_count", 1);
  if (doc.contains("process_count_per_node")) {
    e.process_count_per_node =
        r.integer(doc["process_count_per_node"], "process_count_per_node", 1);
  }
  if (doc.contains("distributed_training")) {
    e.distributed_training = r.distributed(doc["distributed_training"], "distributed_training");
  }
  if (doc.contains("max_run_duration_seconds")) {
    e.max_run_duration_seconds =
        r.integer(doc["max_run_duration_seconds"], "max_run_duration_seconds", 1);
  }
  if (doc.contains("user_managed")) {
    e.user_managed_dependencies = r.boolean(doc["user_managed"], "user_managed");
  }
  if (doc.contains("hyperdrive")) {
    try {
      parse_hyperdrive(doc["hyperdrive"], e);  // checked now: a bad section is the spec's error
    } catch (const UserErrorException& ex) {
      r.fail_line(ex.what());
    }
    spec.hyperdrive = doc["hyperdrive"];
  }
  return spec;
}

JobSpec load_job_spec(const stdfs::path& file) {
  std::error_code ec;
  if (!stdfs::is_regular_file(file, ec)) {
    throw UserErrorException("spec file not found: " + file.string());
  }
  std::ifstream in(file);
  ojson doc;
  try {
    doc = ojson::parse(in);
  } catch (const nlohmann::json::parse_error& e) {
    throw UserErrorException(file.string() + ": not valid JSON: " + json_error(e));
  }
  auto spec = parse_job_spec(doc, stdfs::absolute(file).parent_path(), file.string());
  spec.file = file;
  return spec;
}

}  // namespace amlemu
