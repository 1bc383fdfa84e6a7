#include "compute/gpu.hpp"

#include <dlfcn.h>

#include <algorithm>
#include <cstdlib>
#include <mutex>

#include "amlemu/compute.hpp"
#include "amlemu/errors.hpp"

namespace amlemu::compute {

namespace {

// The few NVML entry points used, declared here so no NVML header is needed to build.
using nvmlReturn_t = int;
using nvmlDevice_t = void*;
struct nvmlMemory_t {
  unsigned long long total, free, used;
};
using InitFn = nvmlReturn_t (*)();
using CountFn = nvmlReturn_t (*)(unsigned int*);
using HandleFn = nvmlReturn_t (*)(unsigned int, nvmlDevice_t*);
using StringFn = nvmlReturn_t (*)(nvmlDevice_t, char*, unsigned int);
using MemoryFn = nvmlReturn_t (*)(nvmlDevice_t, nvmlMemory_t*);

std::vector<Gpu> discover(std::string& why) {
  std::vector<Gpu> out;
  void* lib = ::dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    why = "libnvidia-ml.so.1 not found (no NVIDIA driver)";
    return out;
  }
  auto sym = [&](const char* name) { return ::dlsym(lib, name); };
  const auto init = reinterpret_cast<InitFn>(sym("nvmlInit_v2"));
  const auto shutdown = reinterpret_cast<InitFn>(sym("nvmlShutdown"));
  const auto count = reinterpret_cast<CountFn>(sym("nvmlDeviceGetCount_v2"));
  const auto handle = reinterpret_cast<HandleFn>(sym("nvmlDeviceGetHandleByIndex_v2"));
  const auto uuid = reinterpret_cast<StringFn>(sym("nvmlDeviceGetUUID"));
  const auto name = reinterpret_cast<StringFn>(sym("nvmlDeviceGetName"));
  const auto memory = reinterpret_cast<MemoryFn>(sym("nvmlDeviceGetMemoryInfo"));
  if (!init || !shutdown || !count || !handle || !uuid || !name || !memory) {
    why = "libnvidia-ml.so.1 lacks the NVML functions amlemu uses";
    return out;
  }
  if (init() != 0) {
    why = "nvmlInit failed (driver not loaded?)";
    return out;
  }
  unsigned int n = 0;
  if (count(&n) == 0) {
    for (unsigned int i = 0; i < n; ++i) {
      nvmlDevice_t dev = nullptr;
      if (handle(i, &dev) != 0) continue;
      char buf[96] = {0};
      Gpu g;
      g.index = static_cast<int>(i);
      if (uuid(dev, buf, sizeof buf) == 0) g.uuid = buf;
      if (name(dev, buf, sizeof buf) == 0) g.name = buf;
      nvmlMemory_t mem{};
      if (memory(dev, &mem) == 0) g.memory_bytes = mem.total;
      out.push_back(g);
    }
  }
  shutdown();
  if (out.empty()) why = "NVML reports no GPU";
  return out;
}

}  // namespace

const std::vector<Gpu>& machine_gpus(std::string* why) {
  static std::vector<Gpu> gpus;
  static std::string reason;
  static std::once_flag once;
  std::call_once(once, [] { gpus = discover(reason); });
  if (why) *why = reason;
  return gpus;
}

GpuPolicy gpu_policy() {
  const char* env = std::getenv("AMLEMU_GPU_POLICY");
  const std::string v = env ? env : "share";
  if (v == "share") return GpuPolicy::Share;
  if (v == "queue") return GpuPolicy::Queue;
  if (v == "fail") return GpuPolicy::Fail;
  throw UserErrorException("AMLEMU_GPU_POLICY '" + v + "' is invalid: use share, queue or fail");
}

std::vector<std::string> assign_gpus(const std::vector<Gpu>& gpus,
                                     const std::map<std::string, int>& in_use, int wanted,
                                     GpuPolicy policy) {
  if (wanted <= 0 || gpus.empty()) return {};
  auto use = [&](const Gpu& g) {
    auto it = in_use.find(g.uuid);
    return it == in_use.end() ? 0 : it->second;
  };
  std::vector<const Gpu*> order;
  for (const auto& g : gpus) order.push_back(&g);
  std::stable_sort(order.begin(), order.end(),
                   [&](const Gpu* a, const Gpu* b) { return use(*a) < use(*b); });
  const auto free = std::count_if(order.begin(), order.end(),
                                  [&](const Gpu* g) { return use(*g) == 0; });
  if (free < wanted && policy != GpuPolicy::Share) return {};
  std::vector<std::string> out;
  for (int i = 0; i < wanted; ++i) {
    out.push_back(order[static_cast<size_t>(i) % order.size()]->uuid);
  }
  return out;
}

}  // namespace amlemu::compute

namespace amlemu {

nlohmann::json describe_machine_gpus() {
  using namespace compute;
  std::string why;
  const auto& gpus = machine_gpus(&why);
  nlohmann::json list = nlohmann::json::array();
  for (const auto& g : gpus) {
    list.push_back({{"index", g.index},
                    {"uuid", g.uuid},
                    {"name", g.name},
                    {"memoryBytes", g.memory_bytes}});
  }
  nlohmann::json out = {{"gpus", list}, {"policy", std::getenv("AMLEMU_GPU_POLICY") ? std::getenv("AMLEMU_GPU_POLICY") : "share"}};
  if (gpus.empty()) {
    out["virtualMode"] = true;
    out["reason"] = why;
  } else {
    out["virtualMode"] = false;
  }
  return out;
}

}  // namespace amlemu
