// The service's own log files of a run, in azureml-logs/: per node 55_azureml-execution-<node>
// and 65_job_prep-<node> (75_job_post-<node> is written by Finalizing), the closing line of the
// primary log, and process_info.json / process_status.json. Every line carries the time it
// happened, also when it was written later (lines of Preparing wait for the nodes to be known).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "launch/process_set.hpp"

namespace amlemu::launch {

class ServiceLogs {
 public:
  ServiceLogs(std::filesystem::path logs_dir, Clock& clock)
      : dir_(std::move(logs_dir)), clock_(clock) {}

  /// A line for every node's execution log; kept, with its time, until the nodes are known.
  void execution(const std::string& text);
  /// A line for one node's execution log or job-preparation log.
  void execution(size_t node, const std::string& text);
  void preparation(size_t node, const std::string& text);
  /// Names the nodes' logs and writes the lines kept so far into each execution log.
  void open_nodes(const std::vector<std::string>& node_ids);
  /// Lines for a node's job-release log (75_job_post-<node>).
  void post(size_t node, const std::vector<std::string>& lines);

  /// The line that ends the primary log (`[<stamp>] text`).
  void close_primary(const std::filesystem::path& primary_log, const std::string& text);

  /// process_info.json: what was started, where, when.
  void process_info(const std::vector<Member>& members, const std::vector<std::string>& node_ids,
                    const std::vector<std::string>& addresses, SystemTime started);
  /// process_status.json: the same and how each process ended.
  void process_status(const std::vector<Member>& members,
                      const std::vector<std::string>& node_ids,
                      const std::vector<std::string>& addresses, SystemTime started);

 private:
  std::string stamped(const std::string& text);
  // process_info.json, or with `ended` process_status.json.
  void write_processes(const std::string& file, const std::vector<Member>& members,
                       const std::vector<std::string>& node_ids,
                       const std::vector<std::string>& addresses, SystemTime started, bool ended);
  void append(const std::filesystem::path& file, const std::string& line);

  std::filesystem::path dir_;
  Clock& clock_;
  std::vector<std::string> pending_;  // stamped lines for every execution log
  std::vector<std::string> node_ids_;
};

}  // namespace amlemu::launch
