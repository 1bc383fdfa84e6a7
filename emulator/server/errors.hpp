// The one place that shapes an error answer: Azure's JSON envelope for the management and data
// planes ({"error": {"code", "message", ...}}), the storage service's XML for blob requests, and
// the mapping from the library's exceptions to status codes.
#pragma once

#include <exception>
#include <string>

#include "server/http.hpp"

namespace amlemu::server {

/// `{"error": {"code", "message", "details": [], "additionalInfo": []}}` with `x-ms-error-code`.
Response arm_error(const Request& req, int status, const std::string& code,
                   const std::string& message);

/// `<Error><Code>..</Code><Message>..</Message></Error>` with `x-ms-error-code`, as Azure Storage.
Response storage_error(const Request& req, int status, const std::string& code,
                       const std::string& message);

/// The answer for an exception a handler threw: HttpError keeps its status and code;
/// NotFoundException is 404; other UserErrorExceptions 400 (UserError); anything else 500.
Response error_for(const Request& req, const std::exception& e, bool storage);

}  // namespace amlemu::server
