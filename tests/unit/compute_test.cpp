// Room: compute. VM catalog, provisioning configuration and targets.
#include <catch2/catch.hpp>
#include <sstream>

#include "amlemu/compute.hpp"
#include "amlemu/errors.hpp"
#include "support/temp_home.hpp"

using namespace amlemu;
using amlemu::testing::TempHome;

TEST_CASE("VM sizes are found case-insensitively with the reference's figures", "[compute]") {
  const auto nc6 = find_vm_size("STANDARD_NC6");
  CHECK(nc6.name == "Standard_NC6");
  CHECK(nc6.vcpus == 6);
  CHECK(nc6.gpus == 1);
  CHECK(find_vm_size("standard_d2_v2").gpus == 0);
  CHECK(find_vm_size("Standard_ND40rs_v2").gpus == 8);
}

TEST_CASE("an unknown VM size lists close matches", "[compute]") {
  CHECK_THROWS_WITH(find_vm_size("STANDARD_NC7"),
                    Catch::Contains("vm_size 'STANDARD_NC7'") && Catch::Contains("Standard_NC6"));
}

TEST_CASE("provisioning configuration defaults and validation messages", "[compute]") {
  TempHome t;
  const auto ws = Workspace::create("cws", "s", "r");
  const auto def = AmlCompute::provisioning_configuration();
  CHECK(def.vm_size == "Standard_NC6");
  CHECK(def.vm_priority == "dedicated");
  CHECK(def.min_nodes == 0);
  CHECK(def.idle_seconds_before_scaledown == 1800);
  CHECK_THROWS_WITH(ComputeTarget::create(ws, "c1", def),
                    "Invalid provisioning configuration, max nodes count is mandatory");
  CHECK_THROWS_WITH(ComputeTarget::create(ws, "c1", AmlCompute::provisioning_configuration("", "dedicated", 0, -1)),
                    "max nodes count must be greater than or equal to 0");
  CHECK_THROWS_WITH(ComputeTarget::create(ws, "c1", AmlCompute::provisioning_configuration("", "dedicated", 3, 2)),
                    "max nodes count must be greater than or equal to min nodes count");
  CHECK_THROWS_WITH(ComputeTarget::create(ws, "x", AmlCompute::provisioning_configuration("", "dedicated", 0, 2)),
                    Catch::Contains("compute name 'x' is invalid"));
  CHECK(ComputeTarget::list(ws).empty());  // nothing was created by the failures
}

TEST_CASE("create, look up, list, delete", "[compute]") {
  TempHome t;
  const auto ws = Workspace::create("cws", "s", "r");
  CHECK_THROWS_AS(ComputeTarget(ws, "gpucluster"), ComputeTargetException);
  CHECK_THROWS_WITH(ComputeTarget(ws, "gpucluster"), Catch::Contains("not found"));
  const auto cfg = AmlCompute::provisioning_configuration("STANDARD_NC6", "dedicated", 0, 4);
  auto target = ComputeTarget::create(ws, "gpucluster", cfg);
  CHECK(target.type() == "AmlCompute");
  CHECK(target.provisioning_state() == "Succeeded");
  CHECK(ComputeTarget(ws, "gpucluster").configuration().max_nodes == 4);
  CHECK_NOTHROW(ComputeTarget::create(ws, "gpucluster", cfg));  // same configuration: fine
  CHECK_THROWS_WITH(ComputeTarget::create(ws, "gpucluster",
                                          AmlCompute::provisioning_configuration("STANDARD_D2_V2", "dedicated", 0, 4)),
                    Catch::Contains("already exists with a different configuration"));
  const auto status = target.get_status();
  CHECK(status["scaleSettings"]["maxNodeCount"] == 4);
  CHECK(status["scaleSettings"]["nodeIdleTimeBeforeScaleDown"] == "PT1800S");
  CHECK(status["nodeStateCounts"].contains("preemptedNodeCount"));
  std::ostringstream out;
  target.wait_for_completion(true, out);
  CHECK_THAT(out.str(), Catch::Contains("AmlCompute wait for completion finished") &&
                            Catch::Contains("Minimum number of nodes requested have been provisioned"));
  CHECK(ComputeTarget::list(ws).size() == 1);
  target.delete_target();
  CHECK(ComputeTarget::list(ws).empty());
}
