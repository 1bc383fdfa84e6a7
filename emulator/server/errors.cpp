#include "server/errors.hpp"

#include "amlemu/errors.hpp"
#include "common/text.hpp"

namespace amlemu::server {

namespace {

std::string xml_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace

Response arm_error(const Request& req, int status, const std::string& code,
                   const std::string& message) {
  Response res{static_cast<http::status>(status), req.version()};
  res.set(http::field::content_type, "application/json; charset=utf-8");
  res.set("x-ms-error-code", code);
  const nlohmann::json body = {{"error",
                                {{"code", code},
                                 {"message", printable(message)},
                                 {"details", nlohmann::json::array()},
                                 {"additionalInfo", nlohmann::json::array()}}}};
  res.body() = body.dump();
  return res;
}

Response storage_error(const Request& req, int status, const std::string& code,
                       const std::string& message) {
  Response res{static_cast<http::status>(status), req.version()};
  res.set(http::field::content_type, "application/xml");
  res.set("x-ms-error-code", code);
  if (req.method() != http::verb::head) {
    res.body() = "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>" + xml_escape(code) +
                 "</Code><Message>" + xml_escape(printable(message)) + "</Message></Error>";
  }
  return res;
}

Response error_for(const Request& req, const std::exception& e, bool storage) {
  int status = 500;
  std::string code = storage ? "InternalError" : "InternalServerError";
  if (const auto* h = dynamic_cast<const HttpError*>(&e)) {
    status = h->status();
    code = h->code();
  } else if (dynamic_cast<const NotFoundException*>(&e)) {
    status = 404;
    code = storage ? "BlobNotFound" : "UserError";
  } else if (dynamic_cast<const UserErrorException*>(&e)) {
    status = 400;
    code = storage ? "InvalidInput" : "UserError";
  } else if (dynamic_cast<const nlohmann::json::type_error*>(&e)) {
    // A property of the wrong type that a handler read without naming it: still the caller's.
    status = 400;
    code = storage ? "InvalidInput" : "UserError";
  }
  return storage ? storage_error(req, status, code, e.what())
                 : arm_error(req, status, code, e.what());
}

}  // namespace amlemu::server
