#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#include "support/skip.hpp"  // registers the listener that keeps failed tests from skipping
