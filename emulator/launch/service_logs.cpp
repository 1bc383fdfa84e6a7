#include "launch/service_logs.hpp"

#include <fstream>

#include <nlohmann/json.hpp>

#include "common/fs.hpp"
#include "workspace/layout.hpp"

namespace amlemu::launch {

namespace stdfs = std::filesystem;

namespace {

nlohmann::json entry(const Member& m, const std::vector<std::string>& node_ids,
                     const std::vector<std::string>& addresses) {
  const auto node = static_cast<size_t>(m.node);
  nlohmann::json cmd = nlohmann::json::array({m.spec.program.string()});
  for (const auto& a : m.spec.args) cmd.push_back(a);
  return {{"name", m.name.empty() ? "rank 0" : m.name},
          {"node", node < node_ids.size() ? node_ids[node] : ""},
          {"address", node < addresses.size() ? addresses[node] : ""},
          {"processId", m.process ? m.process->pid() : 0},
          {"command", cmd},
          {"workingDirectory", m.spec.cwd.string()},
          {"log", std::string(layout::kLogsDir) + "/" + m.log}};
}

}  // namespace

std::string ServiceLogs::stamped(const std::string& text) {
  return log_stamp(clock_.wall()) + "|" + text;
}

void ServiceLogs::append(const stdfs::path& file, const std::string& line) {
  std::ofstream(file, std::ios::app) << line << "\n";
}

void ServiceLogs::execution(const std::string& text) {
  const auto line = stamped(text);
  if (node_ids_.empty()) {
    pending_.push_back(line);
    return;
  }
  for (const auto& id : node_ids_) append(dir_ / ("55_azureml-execution-" + id + ".txt"), line);
}

void ServiceLogs::execution(size_t node, const std::string& text) {
  append(dir_ / ("55_azureml-execution-" + node_ids_.at(node) + ".txt"), stamped(text));
}

void ServiceLogs::preparation(size_t node, const std::string& text) {
  append(dir_ / ("65_job_prep-" + node_ids_.at(node) + ".txt"), stamped(text));
}

void ServiceLogs::open_nodes(const std::vector<std::string>& node_ids) {
  node_ids_ = node_ids;
  for (const auto& id : node_ids_) {
    std::ofstream out(dir_ / ("55_azureml-execution-" + id + ".txt"), std::ios::app);
    for (const auto& l : pending_) out << l << "\n";
    std::ofstream(dir_ / ("65_job_prep-" + id + ".txt"), std::ios::app);
  }
  pending_.clear();
}

void ServiceLogs::post(size_t node, const std::vector<std::string>& lines) {
  std::ofstream out(dir_ / ("75_job_post-" + node_ids_.at(node) + ".txt"), std::ios::app);
  for (const auto& l : lines) out << stamped(l) << "\n";
}

void ServiceLogs::close_primary(const stdfs::path& primary_log, const std::string& text) {
  append(primary_log, "[" + log_stamp(clock_.wall()) + "] " + text);
}

void ServiceLogs::process_info(const std::vector<Member>& members,
                               const std::vector<std::string>& node_ids,
                               const std::vector<std::string>& addresses, SystemTime started) {
  write_processes("process_info.json", members, node_ids, addresses, started, false);
}

void ServiceLogs::process_status(const std::vector<Member>& members,
                                 const std::vector<std::string>& node_ids,
                                 const std::vector<std::string>& addresses, SystemTime started) {
  write_processes("process_status.json", members, node_ids, addresses, started, true);
}

void ServiceLogs::write_processes(const std::string& file, const std::vector<Member>& members,
                                  const std::vector<std::string>& node_ids,
                                  const std::vector<std::string>& addresses, SystemTime started,
                                  bool ended) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& m : members) {
    auto e = entry(m, node_ids, addresses);
    e["startTime"] = iso_utc(started);
    if (ended) {
      const int code = m.code.value_or(-1);
      e["exitCode"] = code;
      e["status"] = m.stopped_by_us ? "Stopped" : (code == 0 ? "Completed" : "Failed");
      e["endTime"] = iso_utc(m.ended);
    }
    list.push_back(e);
  }
  fs::atomic_write(dir_ / file, nlohmann::json{{"processes", list}}.dump(2) + "\n",
                   fs::Durability::unsynced);
}

}  // namespace amlemu::launch
