// Run::wait_for_completion: the SDK's console framing over a live log.
#include <fstream>
#include <iostream>
#include <regex>
#include <thread>

#include "amlemu/errors.hpp"
#include "amlemu/run.hpp"
#include "common/fs.hpp"
#include "history/run_store.hpp"
#include "workspace/layout.hpp"
#include "workspace/workspace_impl.hpp"

namespace amlemu {

namespace stdfs = std::filesystem;

namespace {

constexpr auto kPollInterval = std::chrono::milliseconds(100);

// The SDK follows the highest-priority log: the last of azureml-logs/NN*.txt in string order.
std::string pick_log(const stdfs::path& artifacts) {
  static const std::regex pattern(R"(^\d{2}.+\.txt$)");
  std::string best;
  for (const auto& f : fs::list_files(artifacts / layout::kLogsDir)) {
    if (f.find('/') == std::string::npos && std::regex_match(f, pattern)) best = f;
  }
  return best.empty() ? "" : std::string(layout::kLogsDir) + "/" + best;
}

// Prints what the log gained since `offset`; returns the new offset.
std::streamoff pump(const stdfs::path& file, std::streamoff offset, std::ostream& out) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return offset;
  in.seekg(0, std::ios::end);
  const auto end = in.tellg();
  if (end <= offset) return offset;
  in.seekg(offset);
  std::string chunk(static_cast<size_t>(end - offset), '\0');
  in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
  out << chunk;
  out.flush();
  return end;
}

}  // namespace

nlohmann::json Run::wait_for_completion(bool show_output, bool raise_on_error) const {
  return wait_for_completion(show_output, raise_on_error, std::cout);
}

nlohmann::json Run::wait_for_completion(bool show_output, bool raise_on_error,
                                        std::ostream& out) const {
  history::RunStore store(ws_.impl().db);
  const auto artifacts = layout::artifacts(ws_.state_dir(), id_);
  if (show_output) out << "RunId: " << id_ << "\n" << std::flush;
  std::string followed;
  std::streamoff offset = 0;
  for (;;) {
    const auto rec = store.find(id_);
    if (!rec) throw NotFoundException("Run '" + id_ + "' not found");
    const bool done = RunStatus::is_terminal(rec->status);
    if (show_output) {
      const auto log = pick_log(artifacts);
      if (!log.empty() && log != followed) {
        if (!followed.empty()) offset = pump(artifacts / followed, offset, out);
        followed = log;
        offset = 0;
        out << "\nStreaming " << log << "\n"
            << std::string(log.size() + 10, '=') << "\n\n";
      }
      if (!followed.empty()) offset = pump(artifacts / followed, offset, out);
    }
    if (done) break;
    std::this_thread::sleep_for(kPollInterval);
  }
  const auto details = get_details();
  if (show_output) {
    out << "\nExecution Summary\n=================\nRunId: " << id_ << "\n";
    if (details.contains("error")) out << "\nError:\n" << details["error"].dump(4) << "\n";
    out << "\n" << std::flush;
  }
  if (raise_on_error && details.contains("error")) {
    throw ActivityFailedException(id_, details["error"]);
  }
  if (raise_on_error && details["status"] == RunStatus::Canceled) {
    throw ActivityFailedException(
        id_, {{"error", {{"code", "UserError"}, {"message", "The run was canceled."}}}});
  }
  return details;
}

}  // namespace amlemu
