#include "environment/environment.hpp"

#include <cstdlib>
#include <ostream>
#include <sstream>

#include <boost/process.hpp>

#include "amlemu/errors.hpp"

namespace amlemu::environment {

namespace stdfs = std::filesystem;
namespace bp = boost::process;

std::filesystem::path base_python() {
  if (const char* env = std::getenv("AMLEMU_PYTHON"); env && *env) return env;
  const auto found = bp::search_path("python3");
  if (found.empty()) {
    throw UserErrorException("no python3 interpreter found on PATH (set AMLEMU_PYTHON)");
  }
  return stdfs::path(found.string());
}

namespace {

// "tensorflow==2.16.1" -> "tensorflow"; "scikit-learn>=1" -> "scikit_learn".
std::string module_of(const std::string& requirement) {
  std::string name;
  for (char c : requirement) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.') {
      name += (c == '-' ? '_' : c);
    } else {
      break;
    }
  }
  return name;
}

}  // namespace

PreparedEnvironment prepare(const nlohmann::json& def, std::ostream& log) {
  PreparedEnvironment env;
  env.python = base_python();
  log << "Using the interpreter " << env.python.string() << "\n";
  std::vector<std::string> modules;
  if (def.contains("pipPackages")) {
    for (const auto& p : def["pipPackages"]) modules.push_back(module_of(p.get<std::string>()));
  }
  if (modules.empty()) return env;
  // One interpreter start checks every package: cheap, and it runs only when packages are asked.
  std::ostringstream code;
  code << "import importlib.util,sys\n"
       << "missing=[m for m in sys.argv[1:] if importlib.util.find_spec(m) is None]\n"
       << "print(' '.join(missing))\n";
  std::vector<std::string> args = {"-c", code.str()};
  args.insert(args.end(), modules.begin(), modules.end());
  bp::ipstream out;
  bp::child c(env.python.string(), bp::args(args), bp::std_out > out, bp::std_err > bp::null);
  std::string missing;
  std::getline(out, missing);
  c.wait();
  if (!missing.empty()) {
    throw UserErrorException("pip packages not installed in " + env.python.string() +
                             " and amlemu installs nothing offline: " + missing);
  }
  log << "pip packages present in the base interpreter:";
  for (const auto& m : modules) log << " " << m;
  log << "\n";
  return env;
}

}  // namespace amlemu::environment
