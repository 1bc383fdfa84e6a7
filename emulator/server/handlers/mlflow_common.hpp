// What the MLflow handlers share (private to server/handlers/): MLflow's error shape, reading a
// request's parameters, and finding experiments and runs. Runs and experiments are served by
// mlflow.cpp, logged models and the model registry by mlflow_models.cpp.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

#include "amlemu/errors.hpp"
#include "amlemu/experiment.hpp"
#include "amlemu/run.hpp"
#include "server/service.hpp"

namespace amlemu::server::mlflow {

// An MLflow error: the client reads error_code and message.
struct MlflowError : std::runtime_error {
  MlflowError(int status, std::string code, const std::string& message)
      : std::runtime_error(message), status(status), code(std::move(code)) {}
  int status;
  std::string code;
};

inline MlflowError invalid(const std::string& message) {
  return {400, "INVALID_PARAMETER_VALUE", message};
}
inline MlflowError not_found(const std::string& message) {
  return {404, "RESOURCE_DOES_NOT_EXIST", message};
}

using Handler = Response (*)(Call&);

// Runs `h`, answering MLflow's error shape for what it throws.
template <Handler h>
Response mlflow_call(Call& call) {
  try {
    return h(call);
  } catch (const MlflowError& e) {
    return json_response(call, e.status, {{"error_code", e.code}, {"message", e.what()}});
  } catch (const HttpError& e) {
    return json_response(call, e.status(), {{"error_code", e.status() == 404 ? "RESOURCE_DOES_NOT_EXIST" : "INVALID_PARAMETER_VALUE"}, {"message", e.what()}});
  } catch (const NotFoundException& e) {
    return json_response(call, 404, {{"error_code", "RESOURCE_DOES_NOT_EXIST"}, {"message", e.what()}});
  } catch (const AmlException& e) {
    return json_response(call, 400, {{"error_code", "INVALID_PARAMETER_VALUE"}, {"message", e.what()}});
  }
}

/// The request's parameters: the query for GET, the JSON body otherwise.
nlohmann::json arguments(const Call& call);
std::string string_arg(const nlohmann::json& args, const char* name, bool required = true);
std::int64_t int_arg(const nlohmann::json& args, const char* name, std::int64_t fallback);
/// ISO-8601 UTC with milliseconds -> epoch milliseconds (0 for "").
std::int64_t epoch_ms(const std::string& iso);
/// The workspace's ARM scope, from the route.
std::string scope_of(const Call& call);

std::optional<ExperimentInfo> find_experiment(const Call& call, const std::string& name, const std::string& id);
/// The run, or RESOURCE_DOES_NOT_EXIST.
Run find_run(const Call& call, const std::string& id);

/// The routes of logged models and the model registry under `base` (.../api/2.0/mlflow).
void add_model_routes(Router& r, const std::string& base);

}  // namespace amlemu::server::mlflow
