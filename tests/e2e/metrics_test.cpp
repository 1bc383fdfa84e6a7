// End to end: the metrics API from real scripts.
#include <catch2/catch.hpp>
