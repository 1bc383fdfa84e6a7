// Visible skips: a test whose prerequisite is missing is reported as skipped, never as passed.
//
// The convention, for every test CTest runs (Catch2 test cases, Python scripts, pytest):
//
//   * A test that cannot run prints one line to standard output,
//         AMLEMU-TEST-SKIPPED: <reason>
//     and ends without failing (exit status 0). tests/CMakeLists.txt gives every test
//     SKIP_REGULAR_EXPRESSION "AMLEMU-TEST-SKIPPED: ", so CTest reports it as "Skipped".
//   * CTest's skip expression wins over the exit status, so a test prints the marker only
//     instead of running, never after it has failed, and never echoes another program's output
//     that could hold it. (The emulator's own "SKIPPED: no GPU" lines do not match.)
//   * With CI=true, a prerequisite that CI provides is never skipped: the test fails, naming
//     the prerequisite and what provides it. CI runs scripts/install-deps.sh --tests (TensorFlow,
//     mpi4py, Clang, and the venv build/test-venv with pytest, azure-ai-ml and azure-identity)
//     and runs as root. Prerequisites CI never has (the CUDA
//     toolkit, a GPU) are skipped there too.
//
// In a Catch2 test:
//
//   AMLEMU_SKIP_UNLESS(tensorflow_installed(), "TensorFlow for python3", kInstallDeps);
//   AMLEMU_SKIP_UNLESS(nvcc_found, "the CUDA toolkit (nvcc)", nullptr);  // CI never has it
//
// It returns from the enclosing function: call it in the test case itself, or in a void helper
// that the test case calls last. A test that already failed an assertion fails instead of
// skipping (a listener counts failures; the file with the Catch2 main function includes this
// header after catch.hpp, which registers it).
#pragma once

#include <catch2/catch.hpp>
#include <cstdlib>
#include <iostream>
#include <string>

namespace amlemu::testing {

/// The marker, as CTest's SKIP_REGULAR_EXPRESSION matches it.
inline constexpr const char* kSkipMarker = "AMLEMU-TEST-SKIPPED: ";

/// What provides most prerequisites in CI.
inline constexpr const char* kInstallDeps = "scripts/install-deps.sh --tests installs it";

/// What provides root in CI.
inline constexpr const char* kCiRunsAsRoot = "CI runs the tests as root";

/// Whether the environment says this is CI (CI=true, as CI services and .ci/run set it).
inline bool in_ci() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && std::string(ci) == "true";
}

/// Why `test` cannot run without `what`; `provided_by` says how CI gets it (nullptr: never).
inline std::string missing_reason(const std::string& test, const std::string& what,
                                  const char* provided_by) {
  std::string reason = test + ": needs " + what + ", not available here";
  if (provided_by != nullptr) reason += std::string(" (") + provided_by + ")";
  return reason;
}

/// Whether a missing prerequisite fails the test instead of skipping it: under CI=true, when
/// CI provides it.
inline bool missing_fails(const char* provided_by, bool ci) { return ci && provided_by != nullptr; }

/// The line a skipped test prints.
inline std::string skip_line(const std::string& reason) { return kSkipMarker + reason + "\n"; }

/// Failed assertions of the running test case, counted by SkipGuard; -1 while no SkipGuard is
/// registered.
inline int& failures_in_test_case() {
  static int failures = -1;
  return failures;
}

/// Whether this is the sanitizer suite: tests/sanitize.sh sets AMLEMU_SANITIZER_SUITE=1.
inline bool in_sanitizer_suite() {
  const char* v = std::getenv("AMLEMU_SANITIZER_SUITE");
  return v != nullptr && std::string(v) == "1";
}

/// What the running test does without `what`: fail with `failure`, or print `line` and return.
struct Skip {
  std::string failure;
  std::string line;
};

inline Skip decide_skip(const std::string& what, const char* provided_by) {
  const auto reason =
      missing_reason(Catch::getResultCapture().getCurrentTestName(), what, provided_by);
  if (failures_in_test_case() < 0) {
    return {"cannot skip: the Catch2 main file must include support/skip.hpp after catch.hpp", {}};
  }
  if (failures_in_test_case() > 0) {
    return {"not reported as skipped, since the test already failed: " + reason, {}};
  }
  if (missing_fails(provided_by, in_ci())) {
    return {"CI=true, and CI provides this prerequisite, so the test may not skip: " + reason, {}};
  }
  return {{}, skip_line(reason)};
}

}  // namespace amlemu::testing

/// Skips the test visibly (or fails it in CI) unless `condition` holds; see the top of this file.
#define AMLEMU_SKIP_UNLESS(condition, what, provided_by)                              \
  do {                                                                                \
    if (!(condition)) {                                                               \
      const auto amlemu_skip = ::amlemu::testing::decide_skip((what), (provided_by)); \
      if (!amlemu_skip.failure.empty()) FAIL(amlemu_skip.failure);                    \
      std::cout << amlemu_skip.line << std::flush;                                    \
      return;                                                                         \
    }                                                                                 \
  } while (false)

/// Skips, in the sanitizer suite only, a test that trains a real model: its time goes to Python
/// and TensorFlow, which are not instrumented, and its C++ path (submission, supervision, MPI and
/// TF_CONFIG set-up, collection) is the one lighter tests take under the sanitizers. It runs in
/// the plain suite (tests/run.sh), which CI runs too. Reported as a skip, never a pass.
#define AMLEMU_SKIP_IN_SANITIZER_SUITE(why)                                                     \
  do {                                                                                        \
    if (::amlemu::testing::in_sanitizer_suite()) {                                            \
      std::cout << ::amlemu::testing::skip_line(                                              \
                       Catch::getResultCapture().getCurrentTestName() + ": " + (why) +       \
                       "; run by tests/run.sh, not again under the sanitizers")               \
                << std::flush;                                                                \
      return;                                                                                 \
    }                                                                                         \
  } while (false)

#if defined(CATCH_CONFIG_EXTERNAL_INTERFACES) && defined(CATCH_IMPL)
namespace amlemu::testing {

/// Counts the failed assertions of each test case, so that a failed test cannot skip.
struct SkipGuard : Catch::TestEventListenerBase {
  using TestEventListenerBase::TestEventListenerBase;
  void testCaseStarting(const Catch::TestCaseInfo& info) override {
    TestEventListenerBase::testCaseStarting(info);
    failures_in_test_case() = 0;
  }
  bool assertionEnded(const Catch::AssertionStats& stats) override {
    if (!stats.assertionResult.isOk()) ++failures_in_test_case();
    return TestEventListenerBase::assertionEnded(stats);
  }
};

}  // namespace amlemu::testing
using amlemu_testing_SkipGuard = amlemu::testing::SkipGuard;
CATCH_REGISTER_LISTENER(amlemu_testing_SkipGuard)
#endif
