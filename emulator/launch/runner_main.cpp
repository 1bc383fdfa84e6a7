// amlemu-runner: the detached supervisor of one run. Started by Experiment::submit; not meant to
// be run by hand.
//
//   amlemu-runner --state-dir DIR --run-id ID [--detach]
//   amlemu-runner --state-dir DIR --endpoint-host --endpoint NAME [--detach]   (an endpoint's host)
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <string>

#include "launch/supervisor_start.hpp"
#include "serving/host.hpp"


int main(int argc, char** argv) {
  std::string state_dir;
  std::string run_id;
  std::string endpoint;
  bool endpoint_host = false;
  bool detach = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--state-dir" && i + 1 < argc) {
      state_dir = argv[++i];
    } else if (a == "--run-id" && i + 1 < argc) {
      run_id = argv[++i];
    } else if (a == "--endpoint" && i + 1 < argc) {
      endpoint = argv[++i];
    } else if (a == "--endpoint-host") {
      endpoint_host = true;
    } else if (a == "--detach") {
      detach = true;
    } else {
      std::cerr << "amlemu-runner: unknown argument " << a << "\n";
      return 2;
    }
  }
  if (endpoint_host ? (state_dir.empty() || endpoint.empty()) : (state_dir.empty() || run_id.empty())) {
    std::cerr << "usage: amlemu-runner --state-dir DIR (--run-id ID | --endpoint-host --endpoint NAME) [--detach]\n";
    return 2;
  }
  if (detach) {
    const pid_t pid = ::fork();
    if (pid < 0) {
      std::cerr << "amlemu-runner: fork failed: " << std::strerror(errno) << "\n";
      return 1;
    }
    if (pid > 0) return 0;  // the submitter waits for this exit; the child carries on
    ::setsid();
  }
  if (endpoint_host) return amlemu::serving::run_endpoint_host(state_dir, endpoint);
  return amlemu::launch::run_supervisor_process(state_dir, run_id);
}
