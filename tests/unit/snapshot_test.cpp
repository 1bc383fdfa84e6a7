// Room: submission. Snapshot rules.
#include <catch2/catch.hpp>
