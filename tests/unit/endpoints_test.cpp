// Room: serving. Endpoint and deployment YAML (defaults, warnings, refusals) and aml_token
// tokens; the processes themselves are tested end to end (tests/endpoints).
#include <catch2/catch.hpp>

#include "amlemu/endpoints.hpp"
#include "amlemu/errors.hpp"
#include "serving/host.hpp"
#include "support/temp_home.hpp"

using namespace amlemu;
using amlemu::testing::TempHome;
using Catch::Contains;

TEST_CASE("endpoint YAML: defaults, traffic, and what is refused", "[endpoints][yaml]") {
  TempHome t;
  auto e = load_endpoint_yaml(TempHome::write(t.work() / "e.yml", "name: my-endpoint\n"));
  CHECK(e.auth_mode == "key");
  CHECK(e.traffic.empty());
  e = load_endpoint_yaml(TempHome::write(t.work() / "e.yml",
      "name: ep1\nauth_mode: aml_token\ntraffic: {blue: 90, green: 10}\nidentity: {type: system_assigned}\n"));
  CHECK(e.auth_mode == "aml_token");
  CHECK(e.traffic.at("green") == 10);
  REQUIRE(e.warnings.size() == 1);
  CHECK_THAT(e.warnings[0], Contains("identity"));
  CHECK_THROWS_WITH(load_endpoint_yaml(TempHome::write(t.work() / "e.yml", "name: ep\nauth_mode: aad_token\n")),
                    Contains("e.yml:2: auth_mode: 'aad_token' needs Microsoft Entra ID"));
  CHECK_THROWS_WITH(load_endpoint_yaml(TempHome::write(t.work() / "e.yml", "name: ep\ntraffic: {blue: 120}\n")),
                    Contains("traffic.blue: must be an integer from 0 to 100"));
  CHECK_THROWS_WITH(load_endpoint_yaml(TempHome::write(t.work() / "e.yml", "auth_mode: key\n")),
                    Contains("name: is required"));
}

TEST_CASE("deployment YAML: model, code, environment, request settings and probes", "[endpoints][yaml]") {
  TempHome t;
  TempHome::write(t.work() / "score" / "score.py", "def init(): pass\ndef run(d): return d\n");
  TempHome::write(t.work() / "model" / "m.pkl", "x");
  const std::string base = "name: blue\nendpoint_name: ep1\ncode_configuration: {code: score, scoring_script: score.py}\n"
                           "environment: {image: mcr.microsoft.com/azureml/minimal-ubuntu22.04-py311-cpu-inference}\n";
  auto d = load_deployment_yaml(TempHome::write(t.work() / "d.yml", base + "model: azureml:sk:2\n"));
  CHECK(d.model == "azureml:sk:2");
  CHECK(d.instance_count == 1);
  CHECK(d.request_timeout_ms == 5000);
  CHECK(d.liveness.period == 10);
  CHECK(d.code == (t.work() / "score").lexically_normal());
  d = load_deployment_yaml(TempHome::write(t.work() / "d.yml", base +
      "model: {path: model}\ninstance_count: 2\ninstance_type: Standard_DS3_v2\n"
      "request_settings: {request_timeout_ms: 900, max_concurrent_requests_per_instance: 3, max_queue_wait_ms: 10}\n"
      "liveness_probe: {initial_delay: 1, period: 2, failure_threshold: 3}\n"
      "environment_variables: {MODE: fast}\napp_insights_enabled: true\n"));
  CHECK(d.model.empty());
  CHECK(d.model_path == (t.work() / "model").lexically_normal());
  CHECK(d.instance_count == 2);
  CHECK(d.request_timeout_ms == 900);
  CHECK(d.max_concurrent_requests_per_instance == 3);
  CHECK(d.liveness.period == 2);
  CHECK(d.liveness.failure_threshold == 3);
  CHECK(d.environment_variables.at("MODE") == "fast");
  CHECK(d.warnings.size() == 3);  // instance_type, max_queue_wait_ms, app_insights_enabled

  const std::vector<std::pair<std::string, std::string>> bad = {
      {"model: sk:2\n", "model: 'sk:2' must be azureml:<name>:<version>"},
      {"model: {path: nowhere}\n", "model.path: 'nowhere' does not exist"},
      {"model: azureml:sk:1\ninstance_count: 0\n", "instance_count: must be an integer from 1 to 20"},
      {"model: azureml:sk:1\nrequest_settings: {request_timeout_ms: fast}\n", "request_settings.request_timeout_ms"},
  };
  for (const auto& [extra, message] : bad) {
    INFO(extra);
    CHECK_THROWS_WITH(load_deployment_yaml(TempHome::write(t.work() / "d.yml", base + extra)), Contains(message));
  }
  CHECK_THROWS_WITH(load_deployment_yaml(TempHome::write(t.work() / "d.yml",
                        "name: blue\nendpoint_name: ep1\nmodel: azureml:sk:1\nenvironment: azureml:e:1\n"
                        "code_configuration: {code: score, scoring_script: missing.py}\n")),
                    Contains("code_configuration.scoring_script: 'missing.py' is not a file"));
}

TEST_CASE("aml_token: a token is the endpoint's until it expires", "[endpoints]") {
  const auto token = serving::endpoint_token("key-1", 2000);
  CHECK(serving::token_valid("key-1", token, 1999));
  CHECK_FALSE(serving::token_valid("key-1", token, 2000));   // expired
  CHECK_FALSE(serving::token_valid("key-2", token, 1000));   // another endpoint's
  CHECK_FALSE(serving::token_valid("key-1", "3000." + token.substr(5), 1000));  // expiry edited
  CHECK_FALSE(serving::token_valid("key-1", "garbage", 1000));
}
