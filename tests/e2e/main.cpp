#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#include <cstdlib>

#include "support/skip.hpp"  // registers the listener that keeps failed tests from skipping

int main(int argc, char* argv[]) {
  // The suite never reaches a package index: environment builds install only what the base
  // interpreter or a local wheel folder provides.
  ::setenv("PIP_NO_INDEX", "1", 1);
  return Catch::Session().run(argc, argv);
}
