#include "launch/outcome.hpp"

#include <cstring>
#include <regex>
#include <sstream>
#include <vector>

#include "amlemu/run.hpp"

namespace amlemu::launch {

namespace {
constexpr size_t kTailLines = 20;
}

nlohmann::json service_error(const std::string& code, const std::string& message) {
  return {{"error", {{"code", code}, {"message", message}}}};
}

nlohmann::json user_program_error(const std::string& log_tail, int exit_code) {
  // The last "Type: message" line after a traceback names the exception, as the service does.
  static const std::regex exception_line(
      R"(^([A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Warning)?): ?(.*)$)");
  std::string message;
  const auto tb = log_tail.rfind("Traceback (most recent call last):");
  if (tb != std::string::npos) {
    std::istringstream lines(log_tail.substr(tb));
    std::string line;
    std::smatch m;
    while (std::getline(lines, line)) {
      if (!line.empty() && line[0] != ' ' && std::regex_match(line, m, exception_line)) {
        message = "User program failed with " + m[1].str() + ": " + m[2].str();
      }
    }
  }
  if (message.empty()) {
    message = exit_code > 128
                  ? "User program was killed by signal " + std::to_string(exit_code - 128) +
                        " (" + strsignal(exit_code - 128) + ")"
                  : "User program failed with exit code " + std::to_string(exit_code);
  }
  // The last lines the program printed.
  std::vector<std::string> lines;
  std::istringstream in(log_tail);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  std::string tail;
  for (size_t i = lines.size() > kTailLines ? lines.size() - kTailLines : 0; i < lines.size(); ++i) {
    tail += lines[i] + "\n";
  }
  nlohmann::json details = nlohmann::json::array();
  if (!tail.empty()) details.push_back({{"code", "UserProgramOutput"}, {"message", tail}});
  return {{"error",
           {{"code", "UserError"},
            {"message", message},
            {"details", details},
            {"exitCode", exit_code}}}};
}

Outcome decide_outcome(StopReason reason, const std::optional<FailedProcess>& failed,
                       int max_seconds, const std::string& preempted_node,
                       const std::function<std::string(const std::string&)>& log_tail) {
  switch (reason) {
    case StopReason::Preempted:
      return {RunStatus::Failed,
              service_error("ServiceError",
                            "AzureMLCompute job failed. JobPreempted: the low-priority node " +
                                preempted_node + " running this job was preempted; resubmit the job"),
              "The node was preempted. Finalizing run...", true};
    case StopReason::Canceled:
      return {RunStatus::Canceled, nullptr, "The run was canceled. Finalizing run...", false};
    case StopReason::TimedOut: {
      // A time limit cancels the run, as the service does, and the error says why.
      const std::string why = "The run exceeded max_run_duration_seconds (" +
                              std::to_string(max_seconds) + " s) and was canceled";
      return {RunStatus::Canceled, service_error("UserError", why), why + ". Finalizing run...",
              false};
    }
    case StopReason::Exited:
      break;
  }
  if (!failed) {
    return {RunStatus::Completed, nullptr,
            "The experiment completed successfully. Finalizing run...", true};
  }
  // The process that failed first names the failure.
  auto error = user_program_error(log_tail(failed->log), failed->exit_code);
  if (!failed->who.empty()) {
    error["error"]["message"] =
        error["error"]["message"].get<std::string>() + " (" + failed->who + " failed first)";
    error["error"]["failedProcess"] = failed->who;
  }
  return {RunStatus::Failed, error, "The experiment failed. Finalizing run...", true};
}

Outcome roll_up_children(StopReason reason, const std::optional<FailedChild>& failed,
                         int children, int max_seconds) {
  if (reason == StopReason::Canceled || reason == StopReason::TimedOut) {
    auto o = decide_outcome(reason, std::nullopt, max_seconds, "", nullptr);
    o.closing_line = "The parent run was canceled; its child runs were canceled with it.";
    return o;
  }
  if (failed && failed->run_id.empty()) {  // a child that could not even be submitted
    return {RunStatus::Failed, service_error("ServiceError", failed->message),
            "A child run could not be submitted.", false};
  }
  if (failed) {
    nlohmann::json error = {{"error",
                             {{"code", "UserError"},
                              {"message", "Child run " + failed->run_id + " failed: " +
                                              failed->message},
                              {"failedChildRun", failed->run_id}}}};
    return {RunStatus::Failed, error, "A child run failed.", false};
  }
  return {RunStatus::Completed, nullptr,
          "All " + std::to_string(children) + " child runs completed.", false};
}

}  // namespace amlemu::launch
