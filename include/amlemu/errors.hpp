// Errors raised by the public API. They mirror the Azure ML SDK's exception family so that code
// written against the SDK finds the same distinctions here. Every message names the field, path or
// object at fault and fits on one line.
#pragma once

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

namespace amlemu {

/// Base of every error amlemu raises on purpose.
class AmlException : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The caller asked for something invalid: a bad field, a missing file, a malformed config.
class UserErrorException : public AmlException {
 public:
  using AmlException::AmlException;
};

/// A named object (workspace, experiment, run, datastore) does not exist.
class NotFoundException : public UserErrorException {
 public:
  using UserErrorException::UserErrorException;
};

/// Compute targets: bad provisioning configuration, unknown VM size, target not found.
class ComputeTargetException : public UserErrorException {
 public:
  using UserErrorException::UserErrorException;
};

/// Model registry errors (invalid name, model not found), named after the SDK's.
class WebserviceException : public UserErrorException {
 public:
  using UserErrorException::UserErrorException;
};

/// `Run::register_model` was given a path that is not among the run's files.
class ModelPathNotFoundException : public UserErrorException {
 public:
  using UserErrorException::UserErrorException;
};

/// A run ended Failed or Canceled while the caller waited for it with raise_on_error.
class ActivityFailedException : public AmlException {
 public:
  ActivityFailedException(const std::string& run_id, nlohmann::json error_details)
      : AmlException("Run " + run_id + " failed: " + message_of(error_details)),
        error_details_(std::move(error_details)) {}
  /// The run's error object, `{"error": {"code": ..., "message": ...}}`.
  const nlohmann::json& error_details() const { return error_details_; }

 private:
  static std::string message_of(const nlohmann::json& e) {
    if (e.contains("error") && e["error"].contains("message")) {
      return e["error"]["message"].get<std::string>();
    }
    return e.dump();
  }
  nlohmann::json error_details_;
};

}  // namespace amlemu
