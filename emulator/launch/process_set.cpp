#include "launch/process_set.hpp"

#include <signal.h>

namespace amlemu::launch {

StopSequence graceful_stop(std::chrono::milliseconds grace) {
  return {{SIGTERM, grace}, {SIGKILL, std::chrono::milliseconds{0}}};
}

StopSequence immediate_stop() { return {{SIGKILL, std::chrono::milliseconds{0}}}; }

void ProcessSet::start(Member member) {
  member.process = launcher_.start(member.spec);
  members_.push_back(std::move(member));
}

void ProcessSet::signal_live(int signal) {
  for (auto& m : members_) {
    if (!m.code) {
      m.stopped_by_us = true;
      m.process->signal_group(signal);
    }
  }
}

StopReason ProcessSet::wait(const std::function<std::optional<StopRequest>()>& interrupt,
                            const std::function<void()>& tick,
                            const std::function<bool()>& top_up) {
  StopReason reason = StopReason::Exited;
  std::optional<StopSequence> stopping;
  size_t step = 0;
  Clock::TimePoint next_step{};
  bool more = true;
  for (;;) {
    if (!stopping && more) more = top_up ? top_up() : false;
    bool all_exited = true;
    bool primaries_done = true;
    for (size_t i = 0; i < members_.size(); ++i) {
      auto& m = members_[i];
      if (!m.code) {
        m.code = m.process->poll();
        if (m.code) {
          m.ended = clock_.wall();
          m.process->signal_group(SIGKILL);  // leftovers of its group never outlive it
          // A server that exits, failing, fails the run like any other process.
          if (*m.code != 0 && !m.stopped_by_us && !failed_ && !stopping) failed_ = i;
        }
      }
      if (!m.code) all_exited = false;
      if (!m.code && !m.server) primaries_done = false;
    }
    if (all_exited && (stopping || !more)) return reason;
    const auto now = clock_.now();
    if (!stopping) {
      if (auto request = interrupt ? interrupt() : std::nullopt) {
        reason = request->reason;
        stopping = std::move(request->sequence);
      } else if ((failed_ && failure_stops_others_) || (primaries_done && !more)) {
        stopping = graceful_stop(grace_);  // a failure ends the rest; done workers end servers
      }
      if (stopping) {
        step = 0;
        next_step = now;
      }
    }
    if (stopping && now >= next_step) {
      const auto& s = (*stopping)[std::min(step, stopping->size() - 1)];
      signal_live(s.signal);
      next_step = now + s.wait;
      if (step < stopping->size()) ++step;
    }
    if (tick) tick();
    // Woken at once when a process exits (pidfds), else after one poll interval.
    std::vector<Process*> live;
    for (auto& m : members_) {
      if (!m.code) live.push_back(m.process.get());
    }
    if (!launcher_.wait_any(live, poll_)) clock_.sleep_for(poll_);
  }
}

}  // namespace amlemu::launch
