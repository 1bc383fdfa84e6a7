// Process discovery (common/proc): a process's descendants and the run scope among them, which a
// supervisor checks at its run's end to spare its watchdog the search of the whole machine.
// Real processes: what is tested is what the kernel lists.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>

#include "common/proc.hpp"

namespace {

// Starts `sh -c 'sleep 30 & sleep 30'` in a process group of its own, with `scope` as its run
// scope: a child of this process and, under it, a grandchild.
pid_t start_tree(const std::string& scope) {
  const std::string entry = std::string(amlemu::kRunScopeVariable) + "=" + scope;
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    char* const argv[] = {const_cast<char*>("sh"), const_cast<char*>("-c"),
                          const_cast<char*>("sleep 30 & sleep 30"), nullptr};
    char* const envp[] = {const_cast<char*>(entry.c_str()), const_cast<char*>("PATH=/usr/bin:/bin"),
                          nullptr};
    ::execve("/bin/sh", argv, envp);
    ::_exit(127);
  }
  return pid;
}

// Waits until this process has at least `n` descendants (or 5 s pass).
std::vector<long> wait_for_descendants(size_t n) {
  for (int i = 0; i < 250; ++i) {
    const auto d = amlemu::descendants(::getpid());
    REQUIRE(d);
    if (d->size() >= n) return *d;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  FAIL("fewer than " << n << " descendants after 5 s");
  return {};
}

}  // namespace

TEST_CASE("descendants lists children and grandchildren, and finds a run scope among them",
          "[unit][proc]") {
  const pid_t tree = start_tree("proc-test.1");
  REQUIRE(tree > 0);
  const auto found = wait_for_descendants(2);
  CHECK(std::find(found.begin(), found.end(), static_cast<long>(tree)) != found.end());
  // Neither the scope of another run nor a scope held only by the excepted process counts.
  CHECK_FALSE(amlemu::no_descendant_in_scope(::getpid(), "proc-test.1", -1));
  CHECK(amlemu::no_descendant_in_scope(::getpid(), "proc-test.2", -1));

  ::kill(-tree, SIGKILL);
  int status = 0;
  ::waitpid(tree, &status, 0);
  bool left = true;
  for (int i = 0; i < 250 && left; ++i) {
    left = !amlemu::no_descendant_in_scope(::getpid(), "proc-test.1", -1);
    if (left) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  CHECK_FALSE(left);
}

TEST_CASE("descendants of a process that does not exist cannot be listed", "[unit][proc]") {
  CHECK_FALSE(amlemu::descendants(0x3fffffff).has_value());
  CHECK_FALSE(amlemu::no_descendant_in_scope(0x3fffffff, "proc-test.3", -1));
}
