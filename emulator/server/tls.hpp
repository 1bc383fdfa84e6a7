// TLS for the service plane: the certificate authority amlemu mints for itself at first start,
// the server certificate it signs (loopback, localhost and the storage names of its cloud), and
// the OpenSSL context the listener uses. Never touches the system's trust store.
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <filesystem>

namespace amlemu::server {

/// Makes sure `dir` holds ca.pem, ca-key.pem, server.pem, server-key.pem and ca-bundle.pem
/// (ca.pem followed by the machine's public CAs), minting what is missing, and a new server
/// certificate when the old one expires within 30 days. Keys are written 0600. Safe against a
/// second process doing the same (a lock file). Throws std::runtime_error naming the file.
void ensure_certificates(const std::filesystem::path& dir);

/// A TLS 1.2+ server context with the certificate and key of `dir`.
boost::asio::ssl::context server_context(const std::filesystem::path& dir);

}  // namespace amlemu::server
