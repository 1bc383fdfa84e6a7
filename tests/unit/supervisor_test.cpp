// Room: launch. The supervisor's pure logic: argument substitution and error objects.
#include <catch2/catch.hpp>

#include "launch/supervisor.hpp"

using namespace amlemu::launch;

TEST_CASE("data reference placeholders are replaced by their paths", "[launch]") {
  const auto out = substitute_data_references(
      {"--data-folder", "$AZUREML_DATAREFERENCE_workspaceblobstore", "--x",
       "prefix=$AZUREML_DATAREFERENCE_abc/file", "plain"},
      {{"workspaceblobstore", "/mnt/ds"}, {"abc", "/mnt/abc"}});
  CHECK(out == std::vector<std::string>{"--data-folder", "/mnt/ds", "--x", "prefix=/mnt/abc/file",
                                        "plain"});
}

TEST_CASE("a Python traceback becomes the service's user error", "[launch]") {
  const std::string log =
      "epoch 1\nTraceback (most recent call last):\n  File \"train.py\", line 3, in <module>\n"
      "    raise ValueError(\"bad learning rate\")\nValueError: bad learning rate\n";
  const auto e = user_program_error(log, 1);
  CHECK(e["error"]["code"] == "UserError");
  CHECK(e["error"]["message"] == "User program failed with ValueError: bad learning rate");
  CHECK(e["error"]["exitCode"] == 1);
}

TEST_CASE("a chained traceback reports the last exception", "[launch]") {
  const std::string log =
      "Traceback (most recent call last):\n  File \"a\"\nKeyError: 'x'\n\nDuring handling of the "
      "above exception, another exception occurred:\n\nTraceback (most recent call last):\n"
      "  File \"b\"\nRuntimeError: wrapped\n";
  CHECK(user_program_error(log, 1)["error"]["message"] ==
        "User program failed with RuntimeError: wrapped");
}

TEST_CASE("exits without a traceback report the code or the signal", "[launch]") {
  CHECK(user_program_error("done\n", 3)["error"]["message"] ==
        "User program failed with exit code 3");
  CHECK(user_program_error("", 137)["error"]["message"] ==
        "User program was killed by signal 9");
}
