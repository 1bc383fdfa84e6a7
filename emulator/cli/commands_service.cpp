// `amlemu serve` and `amlemu env`: the service plane that the unchanged Azure SDKs talk to, and
// the variables that point them at it (docs/service.md).
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>

#include "amlemu/errors.hpp"
#include "amlemu/service.hpp"
#include "cli/cli.hpp"
#include "common/paths.hpp"

namespace amlemu::cli {

namespace {

// Single-quoted for sh: every character literal, a quote written as '\''.
std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += "'\\''";
    else out += c;
  }
  return out + "'";
}

}  // namespace

void add_service_commands(CLI::App& app, Context&) {
  auto* serve = app.add_subcommand(
      "serve", "Serve the Azure ML REST API on https://127.0.0.1 (foreground; Ctrl-C stops it)");
  static int serve_port = kDefaultServicePort;
  serve->add_option("--port", serve_port, "Port on 127.0.0.1")
      ->default_val(kDefaultServicePort)
      ->check(CLI::Range(0, 65535));
  serve->callback([] {
    const auto program = server_executable();
    const std::string port = std::to_string(serve_port);
    // The server is its own program (it loads OpenSSL); this process becomes it.
    ::execl(program.c_str(), "amlemu-server", "--port", port.c_str(), static_cast<char*>(nullptr));
    throw AmlException("cannot start " + program.string() + ": " + std::strerror(errno));
  });

  auto* env = app.add_subcommand(
      "env", "Print the export lines that point unchanged Azure SDK code at 'amlemu serve'");
  static int env_port = 0;
  env->add_option("--port", env_port,
                  "The server's port (default: the running server's, else " +
                      std::to_string(kDefaultServicePort) + ")")
      ->check(CLI::Range(1, 65535));
  env->callback([] {
    const int port = env_port ? env_port : service_port();
    for (const auto& [name, value] : service_environment(port)) {
      std::cout << "export " << name << "=" << shell_quote(value) << "\n";
    }
  });
}

}  // namespace amlemu::cli
