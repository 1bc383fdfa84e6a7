// The visible-skip helper of tests/support/skip.hpp. Hidden test cases skip for real; the visible
// ones run them in a child process of this binary and read what it printed. No assertion here
// prints that output: it holds the skip marker, which would make CTest report a failure here as
// a skip.
#include "support/skip.hpp"

#include <boost/process.hpp>
#include <catch2/catch.hpp>
#include <string>

using namespace amlemu::testing;

namespace {

struct Child {
  int code = -1;
  std::string out;
};

/// Runs the test case `name` of this binary, with CI=true or without CI.
Child run_test_case(const std::string& name, bool ci) {
  namespace bp = boost::process;
  auto env = boost::this_process::environment();
  env.erase("CI");
  if (ci) env["CI"] = "true";
  bp::ipstream out;
  bp::child c("/proc/self/exe", name, env, bp::std_out > out, bp::std_err > bp::null,
              bp::std_in < bp::null);
  Child r;
  for (std::string line; std::getline(out, line);) r.out += line + "\n";
  c.wait();
  r.code = c.exit_code();
  return r;
}

/// Whether `out` has a line that starts with the marker and says `reason`.
bool has_skip_line(const std::string& out, const std::string& reason) {
  return out.find(std::string("\n") + kSkipMarker) != std::string::npos &&
         out.find(reason) != std::string::npos;
}

bool has_marker(const std::string& out) { return out.find(kSkipMarker) != std::string::npos; }

}  // namespace

TEST_CASE("skip demo: a prerequisite CI never has", "[.][skip-demo]") {
  AMLEMU_SKIP_UNLESS(false, "a prerequisite that is never there", nullptr);
  FAIL("not reached");
}

TEST_CASE("skip demo: a prerequisite CI provides", "[.][skip-demo]") {
  AMLEMU_SKIP_UNLESS(false, "a prerequisite CI installs", kInstallDeps);
  FAIL("not reached");
}

TEST_CASE("skip demo: a test that failed before it skips", "[.][skip-demo]") {
  const bool failed = false;
  CHECK(failed);
  AMLEMU_SKIP_UNLESS(false, "a prerequisite that is never there", nullptr);
}

TEST_CASE("skip demo: a prerequisite that is there", "[.][skip-demo]") {
  AMLEMU_SKIP_UNLESS(true, "a prerequisite that is always there", nullptr);
  std::cout << "ran to the end\n";
}

TEST_CASE(
    "a missing prerequisite prints the skip line and ends the test, in CI too when CI "
    "never has it",
    "[skip]") {
  for (const bool ci : {false, true}) {
    const auto r = run_test_case("skip demo: a prerequisite CI never has", ci);
    CHECK(r.code == 0);
    CHECK(has_skip_line(r.out,
                        "skip demo: a prerequisite CI never has: needs a prerequisite "
                        "that is never there, not available here"));
    CHECK(r.out.find("not reached") == std::string::npos);
  }
}

TEST_CASE("a missing prerequisite that CI provides skips outside CI and fails with CI=true",
          "[skip]") {
  const auto local = run_test_case("skip demo: a prerequisite CI provides", false);
  CHECK(local.code == 0);
  CHECK(has_skip_line(local.out,
                      "needs a prerequisite CI installs, not available here "
                      "(scripts/install-deps.sh --tests installs it)"));
  const auto ci = run_test_case("skip demo: a prerequisite CI provides", true);
  CHECK(ci.code != 0);
  CHECK_FALSE(has_marker(ci.out));
  CHECK(ci.out.find("CI=true, and CI provides this prerequisite, so the test may not skip") !=
        std::string::npos);
  CHECK(ci.out.find("not reached") == std::string::npos);
}

TEST_CASE("a test that already failed fails instead of skipping", "[skip]") {
  const auto r = run_test_case("skip demo: a test that failed before it skips", false);
  CHECK(r.code != 0);
  CHECK_FALSE(has_marker(r.out));
  CHECK(r.out.find("not reported as skipped, since the test already failed") != std::string::npos);
}

TEST_CASE("a prerequisite that is there lets the test run", "[skip]") {
  const auto r = run_test_case("skip demo: a prerequisite that is there", true);
  CHECK(r.code == 0);
  CHECK_FALSE(has_marker(r.out));
  CHECK(r.out.find("ran to the end") != std::string::npos);
}

TEST_CASE("the listener that counts failures is registered in this binary", "[skip]") {
  CHECK(failures_in_test_case() == 0);
}
