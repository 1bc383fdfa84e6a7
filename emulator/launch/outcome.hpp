// The outcome of a run: which terminal status and error a set of process exits gives, and the
// service's user error built from a failed program's log (its Python traceback). Pure: the
// only input from outside is the log tail, handed in as a function.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace amlemu::launch {

/// Why the run's processes stopped.
enum class StopReason {
  Exited,     // on their own (or a failure, or done workers, ended the rest)
  Canceled,   // `job cancel`
  TimedOut,   // max_run_duration_seconds
  Preempted,  // the low-priority node was taken away
};

/// The process that failed first, as the run reports it.
struct FailedProcess {
  std::string who;  // "" for a single-process run, else "rank 1", "worker 0", ...
  std::string log;  // its log's file name in azureml-logs/
  int exit_code = 1;
};

struct Outcome {
  std::string status;               // Completed, Failed or Canceled
  nlohmann::json error;             // null for Completed and a plain cancel
  std::string closing_line;         // the primary log's last line ("... Finalizing run...")
  bool through_finalizing = true;   // a canceled run goes from CancelRequested to Canceled
};

/// The service's user error for a program that exited with `exit_code` (128 + n when killed by
/// signal n), from the tail of its log: `{"error": {"code": "UserError", "message": "User
/// program failed with <Type>: <msg>", "details": [{"code": "UserProgramOutput", "message":
/// <last lines>}], "exitCode": n}}`.
nlohmann::json user_program_error(const std::string& log_tail, int exit_code);

/// `{"error": {"code": code, "message": message}}`.
nlohmann::json service_error(const std::string& code, const std::string& message);

/// Decides the run's outcome. `failed` is the process that failed first, if any did;
/// `log_tail(log)` gives the end of one of the run's logs; `max_seconds` and `preempted_node`
/// fill the time-limit and preemption messages. Collection failures come later and may still
/// turn a Completed outcome into Failed.
Outcome decide_outcome(StopReason reason, const std::optional<FailedProcess>& failed,
                       int max_seconds, const std::string& preempted_node,
                       const std::function<std::string(const std::string& log)>& log_tail);

/// A child run that failed, as its parent reports it.
struct FailedChild {
  std::string run_id;   // "" for a child that could not be submitted
  std::string message;  // the child's own error message (or why it was not submitted)
};

/// A parent run's outcome from its children: Canceled when it was canceled, Failed when a
/// child failed (naming the first), else Completed. A parent has no outputs of its own, so it
/// goes to its terminal status without Finalizing.
Outcome roll_up_children(StopReason reason, const std::optional<FailedChild>& failed,
                         int children, int max_seconds);

}  // namespace amlemu::launch
