#include "launch/child_runs.hpp"

#include <signal.h>

#include "amlemu/errors.hpp"
#include "amlemu/run.hpp"
#include "history/run_store.hpp"

namespace amlemu::launch {

namespace {

class ChildRunProcess : public Process {
 public:
  ChildRunProcess(const Workspace& ws, std::string run_id) : store_(ws), ws_(ws), id_(std::move(run_id)) {}
  int pid() const override { return 0; }
  std::optional<int> poll() override {
    // Now and then the full look, which also records a child whose supervisor died (a cheap
    // status read never would, and the parent would wait for ever).
    const auto status = ++polls_ % kFullLookEvery == 0
                            ? Run(ws_, id_).get_status()
                            : store_.status(id_).value_or(RunStatus::Failed);
    if (status == RunStatus::Completed) return 0;
    if (status == RunStatus::Failed) return 1;
    if (status == RunStatus::Canceled) return 128 + SIGTERM;
    return std::nullopt;
  }
  void signal_group(int) override {
    if (canceled_ || poll()) return;
    canceled_ = true;
    Run(ws_, id_).cancel();
  }

 private:
  history::RunStore store_;
  Workspace ws_;
  std::string id_;
  bool canceled_ = false;
  int polls_ = 0;
  static constexpr int kFullLookEvery = 25;
};

class ListedChildren : public ChildSource {
 public:
  explicit ListedChildren(std::vector<JobSpec> specs) : specs_(std::move(specs)) {}
  std::optional<JobSpec> next() override {
    if (next_ >= specs_.size()) return std::nullopt;
    return specs_[next_++];
  }
  bool exhausted() const override { return next_ >= specs_.size(); }

 private:
  std::vector<JobSpec> specs_;
  size_t next_ = 0;
};

}  // namespace

std::unique_ptr<Process> watch_child_run(const Workspace& ws, const std::string& run_id) {
  return std::make_unique<ChildRunProcess>(ws, run_id);
}

std::unique_ptr<ChildSource> listed_children(const nlohmann::json& def) {
  const std::filesystem::path base = def.value("specDirectory", std::string("."));
  std::vector<JobSpec> specs;
  const auto children = def.value("children", nlohmann::json::array());
  for (size_t i = 0; i < children.size(); ++i) {
    // Each child is kept as its JSON text, so its keys keep their order (the argument order).
    const nlohmann::ordered_json doc = nlohmann::ordered_json::parse(
        children[i].is_string() ? children[i].get<std::string>() : children[i].dump());
    specs.push_back(parse_job_spec(doc, base, "children[" + std::to_string(i) + "]"));
  }
  return std::make_unique<ListedChildren>(std::move(specs));
}

ChildrenResult run_children(const Workspace& ws, const std::string& parent_run_id,
                            ChildSource& source, int max_concurrent, Launcher& launcher,
                            Clock& clock, std::chrono::milliseconds poll,
                            std::chrono::milliseconds grace,
                            const std::function<std::optional<StopRequest>()>& stop,
                            const std::function<void(const std::string&)>& on_submit,
                            const std::function<void()>& on_poll) {
  ProcessSet set(launcher, clock, poll, grace);
  set.set_failure_stops_others(false);  // one trial failing is no reason to stop the others
  const Run parent(ws, parent_run_id);
  ChildrenResult result;
  std::optional<FailedChild> not_submitted;
  const auto top_up = [&] {
    int live = 0;
    for (const auto& m : set.members()) live += m.code ? 0 : 1;
    while (!not_submitted && !source.exhausted() && (max_concurrent == 0 || live < max_concurrent)) {
      const auto spec = source.next();
      if (!spec) break;
      try {
        const auto child = parent.submit_child(spec->estimator);
        Member m;
        m.name = child.id();
        m.process = watch_child_run(ws, child.id());
        set.adopt(std::move(m));
        ++live;
        ++result.children;
        if (on_submit) on_submit(child.id());
      } catch (const std::exception& e) {
        not_submitted = FailedChild{"", "child run number " + std::to_string(result.children) +
                                            " could not be submitted: " + e.what()};
      }
    }
    return !not_submitted && !source.exhausted();
  };
  result.reason = set.wait(stop, on_poll, top_up);
  if (const auto first = set.first_failure()) {
    const auto& id = set.members()[*first].name;
    const auto details = Run(ws, id).get_details();
    std::string message = "it failed";
    if (details.contains("error") && details["error"].contains("error")) {
      message = details["error"]["error"].value("message", message);
    }
    result.failed = FailedChild{id, message};
  } else if (not_submitted) {
    result.failed = not_submitted;
  }
  return result;
}

}  // namespace amlemu::launch
