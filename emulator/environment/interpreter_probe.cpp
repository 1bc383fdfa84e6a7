#include "environment/interpreter_probe.hpp"

#include <unistd.h>

#include <atomic>
#include <fstream>

namespace amlemu::environment {

namespace stdfs = std::filesystem;

std::vector<std::string> probe(Launcher& launcher, const stdfs::path& python,
                               const std::string& code, const std::vector<std::string>& args) {
  static std::atomic<int> probes{0};
  const auto answer = stdfs::temp_directory_path() /
                      ("amlemu-probe-" + std::to_string(::getpid()) + "-" + std::to_string(++probes));
  ProcessSpec spec;
  spec.program = python;
  spec.args = {"-c", code};
  spec.args.insert(spec.args.end(), args.begin(), args.end());
  spec.env = current_environment();
  spec.cwd = stdfs::temp_directory_path();
  spec.output_file = answer;
  std::vector<std::string> lines;
  try {
    if (run_to_end(launcher, spec) == 0) {
      std::ifstream in(answer);
      for (std::string line; std::getline(in, line);) lines.push_back(line);
    }
  } catch (const std::runtime_error&) {
  }
  std::error_code ec;
  stdfs::remove(answer, ec);
  return lines;
}

std::map<std::string, std::string> met_by_interpreter(Launcher& launcher, const stdfs::path& python,
                                                      const std::vector<std::string>& reqs) {
  const std::string code =
      "import sys\n"
      "try:\n"
      "    import importlib.metadata as m\n"
      "    from packaging.requirements import Requirement\n"
      "except ImportError:\n"
      "    try:\n"
      "        import importlib.metadata as m\n"
      "        from pip._vendor.packaging.requirements import Requirement\n"
      "    except ImportError:\n"
      "        sys.exit(0)\n"
      "for line in sys.argv[1:]:\n"
      "    try: r = Requirement(line)\n"
      "    except Exception: continue\n"
      "    if r.url or r.extras or r.marker: continue\n"
      "    name = r.name.lower().replace('_', '-')\n"
      "    for d in ([name, name + '-cpu', name + '-intel'] if name == 'tensorflow' else [name]):\n"
      "        try: v = m.version(d)\n"
      "        except m.PackageNotFoundError: continue\n"
      "        if r.specifier.contains(v, prereleases=True):\n"
      "            print(line + '\\t' + d + ' ' + v); break\n";
  std::map<std::string, std::string> met;
  for (const auto& line : probe(launcher, python, code, reqs)) {
    const auto tab = line.find('\t');
    if (tab != std::string::npos) met[line.substr(0, tab)] = line.substr(tab + 1);
  }
  return met;
}

std::optional<DefaultInterpreter> probe_default(Launcher& launcher, const stdfs::path& python) {
  const std::string code =
      "import sys\n"
      "print(sys.executable)\n"
      "print('%d.%d.%d' % sys.version_info[:3])\n"
      "try:\n"
      "    import importlib.metadata as m\n"
      "    for d in ('tensorflow', 'tensorflow-cpu', 'tensorflow-intel'):\n"
      "        try: print(m.version(d)); break\n"
      "        except m.PackageNotFoundError: pass\n"
      "except ImportError: pass\n";
  const auto lines = probe(launcher, python, code, {});
  if (lines.size() < 2) return std::nullopt;
  DefaultInterpreter d{{lines[0], lines[1], "default"}, lines.size() > 2 ? lines[2] : ""};
  return d;
}

}  // namespace amlemu::environment
