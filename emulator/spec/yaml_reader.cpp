#include "spec/yaml_reader.hpp"

#include <sstream>

namespace amlemu::spec {

YAML::Node load_yaml_file(const std::string& file, const std::string& what) {
  try {
    return YAML::LoadFile(file);
  } catch (const YAML::BadFile&) {
    throw UserErrorException(what + " file not found: " + file);
  } catch (const YAML::Exception& e) {
    throw UserErrorException(file + ":" + std::to_string(e.mark.line + 1) + ": not valid YAML: " +
                             e.msg);
  }
}

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

}  // namespace amlemu::spec
