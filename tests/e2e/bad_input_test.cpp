// End to end: the corpus of broken inputs in tests/bad_input/cases.yaml. Each case must give its
// exact one-line error, exit non-zero and leave the workspace as it was (files and database).
#include <yaml-cpp/yaml.h>

#include <catch2/catch.hpp>
#include <map>
#include <sstream>

#include "e2e/cli.hpp"

using namespace amlemu::testing;
namespace stdfs = std::filesystem;

namespace {

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
    s.replace(at, from.size(), to);
  }
  return s;
}

// "%0A" -> newline, "%FF" -> byte 0xff: names a YAML file cannot hold as they are.
std::string percent_decode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// What a workspace is: its database's content and its files' names, sizes and times.
std::string fingerprint(const TempHome& t, const stdfs::path& state) {
  std::ostringstream out;
  // A busy timeout, as amlemu's own connections have: a process that just ended may still be
  // checkpointing the write-ahead log.
  out << run_program("/usr/bin/sqlite3",
                     {"-cmd", ".timeout 10000", (state / "workspace.db").string(), ".dump"},
                     t.work())
             .out;
  std::error_code ec;
  for (auto it = stdfs::recursive_directory_iterator(t.home(), ec);
       it != stdfs::recursive_directory_iterator(); it.increment(ec)) {
    const auto name = it->path().filename().string();
    if (name.rfind("workspace.db", 0) == 0 || it->path().extension() == ".lock") continue;
    out << it->path().string();
    if (it->is_regular_file(ec) && !it->is_symlink(ec)) {
      out << " " << it->file_size(ec) << " "
          << it->last_write_time(ec).time_since_epoch().count();
    }
    out << "\n";
  }
  return out.str();
}

}  // namespace

TEST_CASE("every broken input in the corpus gives its one-line error and changes nothing",
          "[e2e][bad-input]") {
  TempHome t;
  standard_workspace(t, "bad-ws");
  const auto state = t.home() / "workspaces" / "sub-1" / "rg-1" / "bad-ws";
  REQUIRE(cli(t, {"compute", "create", "--name", "one", "--size", "STANDARD_D2_V2",
                  "--max-instances", "1"}).code == 0);
  const auto done = cli(t, {"job", "create", "--stream", "--file",
                            write_spec(t, "train.json", "bad-input",
                                       {{"entry_script", "train_ok.py"},
                                        {"compute_target", "cpu-cluster"},
                                        {"script_params",
                                         {{"--data-folder", {{"datastore", "workspaceblobstore"},
                                                             {"path_on_datastore", "nums"}}}}}})});
  REQUIRE(done.code == 0);
  const auto run = run_id_of(done);
  const auto outside = t.root() / "outside";
  TempHome::write(outside / "secret.txt", "not the workspace's\n");
  stdfs::create_directory_symlink(outside, state / "datastores" / "workspaceblobstore" / "escape");

  const auto cases = YAML::LoadFile(std::string(AMLEMU_TEST_DATA) + "/bad_input/cases.yaml");
  REQUIRE(cases.size() >= 30);
  int index = 0;
  for (const auto& c : cases) {
    const auto name = c["name"].as<std::string>();
    const auto dir = t.work() / ("case-" + std::to_string(++index));
    const auto expand = [&](const std::string& s) {
      return replace_all(replace_all(replace_all(replace_all(s, "{run}", run), "{root}",
                                                 t.root().string()),
                                     "{outside}", outside.string()),
                         "{case}", dir.string());
    };
    stdfs::create_directories(dir);
    for (const auto& d : c["dirs"]) stdfs::create_directories(dir / d.as<std::string>());
    for (const auto& f : c["files"]) {
      const stdfs::path file = dir / percent_decode(f.first.as<std::string>());
      stdfs::create_directories(file.parent_path());
      if (f.second.IsMap() && f.second["size"]) {
        TempHome::write(file, "");
        stdfs::resize_file(file, f.second["size"].as<std::uintmax_t>());
      } else if (f.second.IsMap() && f.second["symlink"]) {
        stdfs::create_symlink(expand(f.second["symlink"].as<std::string>()), file);
      } else {
        TempHome::write(file, f.second.as<std::string>());
      }
    }
    std::vector<std::string> args;
    for (const auto& a : c["command"]) args.push_back(expand(a.as<std::string>()));
    const auto before = fingerprint(t, state);
    const auto r = run_program(AMLEMU_CLI, args, dir);
    const auto after = fingerprint(t, state);
    std::string err = r.err;
    if (!err.empty() && err.back() == '\n') err.pop_back();
    INFO("case " << index << ": " << name);
    CHECK(r.code != 0);
    CHECK(err.find('\n') == std::string::npos);
    CHECK(err == expand(c["error"].as<std::string>()));
    CHECK(before == after);
  }
}
