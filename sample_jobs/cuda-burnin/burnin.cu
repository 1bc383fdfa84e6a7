// A small GPU "burn-in": multiplies two N x N float matrices on the GPU, checks a sample of the
// result against the CPU, and reports the achieved GFLOP/s and memory bandwidth.
//
//   burnin [N] [REPEATS]
#include <cuda_runtime.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

#define CHECK(call)                                                                   \
  do {                                                                                \
    cudaError_t err = (call);                                                         \
    if (err != cudaSuccess) {                                                         \
      std::fprintf(stderr, "CUDA error %s at %s:%d\n", cudaGetErrorString(err),       \
                   __FILE__, __LINE__);                                               \
      return 2;                                                                       \
    }                                                                                 \
  } while (0)

constexpr int kTile = 16;

__global__ void matmul(const float* a, const float* b, float* c, int n) {
  __shared__ float as[kTile][kTile];
  __shared__ float bs[kTile][kTile];
  const int row = blockIdx.y * kTile + threadIdx.y;
  const int col = blockIdx.x * kTile + threadIdx.x;
  float sum = 0.f;
  for (int t = 0; t < (n + kTile - 1) / kTile; ++t) {
    const int ac = t * kTile + threadIdx.x;
    const int br = t * kTile + threadIdx.y;
    as[threadIdx.y][threadIdx.x] = (row < n && ac < n) ? a[row * n + ac] : 0.f;
    bs[threadIdx.y][threadIdx.x] = (br < n && col < n) ? b[br * n + col] : 0.f;
    __syncthreads();
    for (int k = 0; k < kTile; ++k) sum += as[threadIdx.y][k] * bs[k][threadIdx.x];
    __syncthreads();
  }
  if (row < n && col < n) c[row * n + col] = sum;
}

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 2048;
  const int repeats = argc > 2 ? std::atoi(argv[2]) : 10;
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
    std::printf("no CUDA device visible: nothing to burn in\n");
    return 3;
  }
  cudaDeviceProp prop{};
  CHECK(cudaGetDeviceProperties(&prop, 0));
  std::printf("device 0: %s, %d SMs, %.1f GiB\n", prop.name, prop.multiProcessorCount,
              prop.totalGlobalMem / 1073741824.0);
  std::vector<float> a(static_cast<size_t>(n) * n), b(a.size()), c(a.size());
  for (size_t i = 0; i < a.size(); ++i) {
    a[i] = static_cast<float>((i * 7) % 13) / 13.f;
    b[i] = static_cast<float>((i * 5) % 11) / 11.f;
  }
  float *da, *db, *dc;
  const size_t bytes = a.size() * sizeof(float);
  CHECK(cudaMalloc(&da, bytes));
  CHECK(cudaMalloc(&db, bytes));
  CHECK(cudaMalloc(&dc, bytes));
  const auto h2d_start = std::chrono::steady_clock::now();
  CHECK(cudaMemcpy(da, a.data(), bytes, cudaMemcpyHostToDevice));
  CHECK(cudaMemcpy(db, b.data(), bytes, cudaMemcpyHostToDevice));
  const double h2d_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - h2d_start).count();
  const dim3 block(kTile, kTile);
  const dim3 grid((n + kTile - 1) / kTile, (n + kTile - 1) / kTile);
  matmul<<<grid, block>>>(da, db, dc, n);  // warm-up
  CHECK(cudaDeviceSynchronize());
  cudaEvent_t start, stop;
  CHECK(cudaEventCreate(&start));
  CHECK(cudaEventCreate(&stop));
  CHECK(cudaEventRecord(start));
  for (int r = 0; r < repeats; ++r) matmul<<<grid, block>>>(da, db, dc, n);
  CHECK(cudaEventRecord(stop));
  CHECK(cudaEventSynchronize(stop));
  float ms = 0;
  CHECK(cudaEventElapsedTime(&ms, start, stop));
  CHECK(cudaMemcpy(c.data(), dc, bytes, cudaMemcpyDeviceToHost));
  // Check 64 entries against the CPU.
  int wrong = 0;
  for (int s = 0; s < 64; ++s) {
    const int i = (s * 7919) % n, j = (s * 104729) % n;
    double ref = 0;
    for (int k = 0; k < n; ++k) ref += static_cast<double>(a[i * n + k]) * b[k * n + j];
    if (std::fabs(ref - c[i * n + j]) > 1e-3 * std::fabs(ref) + 1e-3) ++wrong;
  }
  const double seconds = ms / 1000.0 / repeats;
  const double gflops = 2.0 * n * n * static_cast<double>(n) / seconds / 1e9;
  std::printf("matmul %d x %d: %.3f ms per run, %.1f GFLOP/s\n", n, n, seconds * 1000, gflops);
  std::printf("host to device: %.2f GB/s\n", 2.0 * bytes / h2d_s / 1e9);
  std::printf("check: %s (%d of 64 sampled entries wrong)\n", wrong ? "FAILED" : "passed", wrong);
  cudaFree(da);
  cudaFree(db);
  cudaFree(dc);
  return wrong ? 1 : 0;
}
