// GPUs: the machine's, found through NVML loaded at run time (so amlemu runs without a driver),
// and how a node gets its share of them.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>


namespace amlemu::compute {

struct Gpu {
  int index = 0;
  std::string uuid;  // "GPU-..." as CUDA_VISIBLE_DEVICES accepts it
  std::string name;
  std::uint64_t memory_bytes = 0;
};

/// The machine's GPUs. Empty when libnvidia-ml.so.1 cannot be loaded or reports none; `why`
/// then says why. Looked up once per process.
const std::vector<Gpu>& machine_gpus(std::string* why = nullptr);

/// What to do when a node's VM size asks for more GPUs than are free ($AMLEMU_GPU_POLICY).
enum class GpuPolicy { Share, Queue, Fail };
GpuPolicy gpu_policy();

/// Picks `wanted` GPUs for a node. `in_use` counts how many running nodes hold each UUID.
/// Exclusive (unused GPUs, lowest index first) when enough are free; else per policy: Share takes
/// the least-used ones, Queue and Fail return an empty list (the caller waits or fails).
std::vector<std::string> assign_gpus(const std::vector<Gpu>& gpus,
                                     const std::map<std::string, int>& in_use, int wanted,
                                     GpuPolicy policy);

}  // namespace amlemu::compute
