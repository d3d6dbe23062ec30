// CUDA kernels behind cam/ops.h. cam/ops.cpp has already checked every argument it can see on
// the host (shapes, backends) before it hands over, so these functions only size the launches;
// indices that live on the device are range-checked in the kernels (a bad one traps). Everything
// runs on the default stream; scratch memory comes from the context's shared workspace (stream
// order keeps it safe), and the only host read-back is the count of cam_nonconstant_maps.
#include <cub/device/device_radix_sort.cuh>

#include <cmath>
#include <cstdint>

#include "cam/cuda_ops.h"
#include "cam/ops_common.h"
#include "core/cuda_launch.cuh"

namespace uc {

namespace {

constexpr int kWarp = 32;
constexpr unsigned kFullMask = 0xffffffffu;

// ---- block reductions ------------------------------------------------------------------------

struct Sum {
  template <typename T>
  __device__ T operator()(T a, T b) const {
    return a + b;
  }
};
struct Min {
  __device__ float operator()(float a, float b) const { return fminf(a, b); }
};
struct Max {
  __device__ float operator()(float a, float b) const { return fmaxf(a, b); }
};

template <typename T, typename Op>
__device__ T warp_reduce(T v, Op op) {
  for (int offset = kWarp / 2; offset > 0; offset /= 2)
    v = op(v, __shfl_xor_sync(kFullMask, v, offset));
  return v;
}

// Reduces over the whole block (blockDim.x a multiple of 32, at most 1024); every thread gets the
// result. Each warp reduces the per-warp partials itself, so no broadcast step is needed; the
// trailing barrier lets the next call reuse `partial`.
template <typename T, typename Op>
__device__ T block_reduce(T v, Op op, T identity) {
  __shared__ T partial[kWarp];
  const int lane = threadIdx.x % kWarp, warp = threadIdx.x / kWarp;
  v = warp_reduce(v, op);
  if (lane == 0) partial[warp] = v;
  __syncthreads();
  v = lane < int(blockDim.x / kWarp) ? partial[lane] : identity;
  v = warp_reduce(v, op);
  __syncthreads();
  return v;
}

__device__ float block_sum(float v) { return block_reduce(v, Sum{}, 0.f); }

// ---- channel weights -------------------------------------------------------------------------

// One block per channel.
__global__ void channel_means_kernel(float* weights, const float* g, int hw) {
  const float* gk = g + int64_t(blockIdx.x) * hw;
  float sum = 0.f;
  for (int i = threadIdx.x; i < hw; i += blockDim.x) sum += gk[i];
  sum = block_sum(sum);
  if (threadIdx.x == 0) weights[blockIdx.x] = sum / float(hw);
}

// Only G > 0 contributes: ReLU(G) is 0 elsewhere, and alpha is 0 where G == 0. With A >= 0 the
// denominator has no cancellation for G > 0.
__global__ void gradcampp_weights_kernel(float* weights, const float* g, const float* a, int hw) {
  const int64_t base = int64_t(blockIdx.x) * hw;
  float sum_a = 0.f;
  for (int i = threadIdx.x; i < hw; i += blockDim.x) sum_a += a[base + i];
  sum_a = block_sum(sum_a);
  float acc = 0.f;
  for (int i = threadIdx.x; i < hw; i += blockDim.x)
    acc += camops::gradcampp_term<float>(g[base + i], sum_a);
  acc = block_sum(acc);
  if (threadIdx.x == 0) weights[blockIdx.x] = acc;
}

// Monotone map of a float onto uint32 (unsigned order == float order), with -0.0 folded onto
// +0.0 so equal values share one key, as they compare equal in the CPU sort.
__device__ uint32_t order_key(float v) {
  const uint32_t u = __float_as_uint(v == 0.f ? 0.f : v);
  return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

__device__ float key_value(uint32_t k) {
  return __uint_as_float((k & 0x80000000u) ? (k & 0x7fffffffu) : ~k);
}

// The value of rank r (0-based, ascending) among v[0..n): radix select, 8 bits per pass from the
// top. Each pass histograms the digit of the keys that match the digits chosen so far, then
// picks the bin holding rank r. Shared memory is constant, so any n works; the n values are read
// 4 times from global memory (they are small and stay in cache).
__device__ float block_select(const float* v, int n, int r) {
  __shared__ unsigned hist[256];
  __shared__ uint32_t chosen_digit;
  __shared__ int chosen_rank;
  uint32_t prefix = 0, mask = 0;
  for (int shift = 24; shift >= 0; shift -= 8) {
    for (int b = threadIdx.x; b < 256; b += blockDim.x) hist[b] = 0;
    __syncthreads();
    for (int i = threadIdx.x; i < n; i += blockDim.x) {
      const uint32_t k = order_key(v[i]);
      if ((k & mask) == prefix) atomicAdd(&hist[(k >> shift) & 0xffu], 1u);
    }
    __syncthreads();
    // Warp 0: each lane owns 8 consecutive bins; an inclusive scan of the lane totals finds the
    // one lane whose range of ranks holds r, and that lane walks its bins.
    if (threadIdx.x < kWarp) {
      const int lane = threadIdx.x;
      int own = 0;
      for (int j = 0; j < 8; ++j) own += int(hist[lane * 8 + j]);
      int inclusive = own;
      for (int offset = 1; offset < kWarp; offset *= 2) {
        const int up = __shfl_up_sync(kFullMask, inclusive, offset);
        if (lane >= offset) inclusive += up;
      }
      int below = inclusive - own;
      if (below <= r && r < inclusive) {
        for (int j = 0; j < 8; ++j) {
          const int count = int(hist[lane * 8 + j]);
          if (r < below + count) {
            chosen_digit = uint32_t(lane * 8 + j);
            chosen_rank = r - below;
            break;
          }
          below += count;
        }
      }
    }
    __syncthreads();
    prefix |= chosen_digit << shift;
    mask |= 0xffu << shift;
    r = chosen_rank;
    // The next pass writes `chosen_*` only after two more barriers, so no barrier is needed here.
  }
  return key_value(prefix);
}

// One block per channel: threshold t = the theta-th percentile (interpolated in double between
// the order statistics at floor(pos) and floor(pos) + 1, as camops::percentile_sorted), then
// p = alpha * ReLU(Ghat) with alpha = 1 / sum ReLU(Ghat).
__global__ void denoised_pixel_weights_kernel(float* p, const float* g, int hw, double pos) {
  const int64_t base = int64_t(blockIdx.x) * hw;
  const float* gk = g + base;
  const int lo = int(floor(pos));
  const double v_lo = block_select(gk, hw, lo);
  const double t =
      camops::percentile_between(v_lo, lo < hw - 1 ? block_select(gk, hw, lo + 1) : v_lo, pos);
  float sum = 0.f;
  for (int i = threadIdx.x; i < hw; i += blockDim.x)
    if (camops::survives_denoising(gk[i], t)) sum += gk[i];
  sum = block_sum(sum);
  const float alpha = sum > 0.f ? 1.f / sum : 0.f;
  for (int i = threadIdx.x; i < hw; i += blockDim.x)
    p[base + i] = camops::survives_denoising(gk[i], t) ? alpha * gk[i] : 0.f;
}

// ---- weighted sums over channels -------------------------------------------------------------

// A block covers kTile consecutive pixels with kSlices warps; warp y sums channels y, y+kSlices,
// ... of its range (coalesced: a warp reads 32 consecutive pixels of one channel), then the
// slices are added in shared memory. blockIdx.y is the channel group: channels
// [y*chunk, min(K, (y+1)*chunk)), output row y.
constexpr int kTile = kWarp, kSlices = gpu::kThreads / kTile;

template <bool kPerPixel>
__global__ void weighted_sum_kernel(float* out, const float* a, const float* weights, int K, int hw,
                                    int chunk, bool relu) {
  __shared__ float part[kSlices][kTile + 1];
  const int p = blockIdx.x * kTile + threadIdx.x;
  const int k0 = blockIdx.y * chunk, k1 = min(K, k0 + chunk);
  float acc = 0.f;
  if (p < hw)
    for (int k = k0 + threadIdx.y; k < k1; k += kSlices) {
      const int64_t at = int64_t(k) * hw + p;
      acc += (kPerPixel ? weights[at] : weights[k]) * a[at];
    }
  part[threadIdx.y][threadIdx.x] = acc;
  __syncthreads();
  if (threadIdx.y != 0 || p >= hw) return;
  float sum = 0.f;
  for (int s = 0; s < kSlices; ++s) sum += part[s][threadIdx.x];
  out[int64_t(blockIdx.y) * hw + p] = relu && sum < 0.f ? 0.f : sum;
}

template <bool kPerPixel>
void launch_weighted_sum(float* out, const float* a, const float* weights, int K, int hw, int chunk,
                         int rows, bool relu) {
  const dim3 grid(unsigned((hw + kTile - 1) / kTile), unsigned(rows)), block(kTile, kSlices);
  weighted_sum_kernel<kPerPixel><<<grid, block>>>(out, a, weights, K, hw, chunk, relu);
  CUDA_CHECK_LAUNCH();
}

// ---- maps ------------------------------------------------------------------------------------

__global__ void upsample_bilinear_kernel(float* out, const float* in, int64_t count, int h, int w,
                                         int H, int W) {
  for (const int64_t i : gpu::grid_stride(count)) {
    const int x = int(i % W), y = int(i / W % H);
    const float* src = in + i / (int64_t(H) * W) * h * w;
    const camops::BilinearTap ty = camops::bilinear_tap(y, h, H),
                              tx = camops::bilinear_tap(x, w, W);
    const float* r0 = src + int64_t(ty.i0) * w;
    const float* r1 = src + int64_t(ty.i1) * w;
    const float top = camops::blend(r0[tx.i0], r0[tx.i1], tx.w1);
    const float bottom = camops::blend(r1[tx.i0], r1[tx.i1], tx.w1);
    out[i] = camops::blend(top, bottom, ty.w1);
  }
}

// One block per map.
__device__ void block_min_max(const float* v, int n, float* lo, float* hi) {
  float mn = INFINITY, mx = -INFINITY;
  for (int i = threadIdx.x; i < n; i += blockDim.x) {
    mn = fminf(mn, v[i]);
    mx = fmaxf(mx, v[i]);
  }
  *lo = block_reduce(mn, Min{}, INFINITY);
  *hi = block_reduce(mx, Max{}, -INFINITY);
}

__global__ void map_min_max_kernel(float* lo, float* hi, const float* maps, int n) {
  float mn, mx;
  block_min_max(maps + int64_t(blockIdx.x) * n, n, &mn, &mx);
  if (threadIdx.x == 0) lo[blockIdx.x] = mn, hi[blockIdx.x] = mx;
}

__global__ void normalize_maps_kernel(float* maps, int n) {
  float* v = maps + int64_t(blockIdx.x) * n;
  float lo, hi;
  block_min_max(v, n, &lo, &hi);
  const float range = hi - lo;
  for (int i = threadIdx.x; i < n; i += blockDim.x) v[i] = camops::normalized(v[i], lo, range);
}

// One block compacts the indices m with hi[m] > lo[m] in increasing order, blockDim.x maps per
// round: a ballot gives each thread its place within its warp, the warp totals its place in
// the round, and `base` carries the count across rounds.
constexpr int kCompactThreads = 1024;

__global__ void compact_nonconstant_kernel(float* index, int* count, const float* lo,
                                           const float* hi, int M) {
  __shared__ int warp_total[kCompactThreads / kWarp];
  __shared__ int base;
  const int lane = threadIdx.x % kWarp, warp = threadIdx.x / kWarp, warps = blockDim.x / kWarp;
  if (threadIdx.x == 0) base = 0;
  __syncthreads();
  for (int start = 0; start < M; start += blockDim.x) {
    const int m = start + threadIdx.x;
    const bool keep = m < M && hi[m] > lo[m];
    const unsigned ballot = __ballot_sync(kFullMask, keep);
    if (lane == 0) warp_total[warp] = __popc(ballot);
    __syncthreads();
    if (keep) {
      int at = base + __popc(ballot & ((1u << lane) - 1u));
      for (int w = 0; w < warp; ++w) at += warp_total[w];
      index[at] = float(m);
    }
    __syncthreads();
    if (threadIdx.x == 0)
      for (int w = 0; w < warps; ++w) base += warp_total[w];
    __syncthreads();
  }
  if (threadIdx.x == 0) *count = base;
}

// ---- masked inputs, blur ---------------------------------------------------------------------

// index == nullptr: image i uses map first + i.
__global__ void masked_inputs_kernel(float* out, const float* maps, int64_t map_count,
                                     const float* index, int first, int64_t count, const float* x,
                                     const float* substrate, int64_t plane) {
  for (const int64_t i : gpu::grid_stride(count)) {
    const int64_t image = i / (3 * plane), cp = i % (3 * plane), p = cp % plane;
    // Truncation, as on the CPU
    const int64_t pick = index ? int64_t(index[first + image]) : first + image;
    if (pick < 0 || pick >= map_count)
      __trap();  // a caller bug: fail rather than read out of bounds
    const float mv = maps[pick * plane + p];
    out[i] = camops::masked_value(mv, x[cp], substrate[cp]);
  }
}

// The taps of camops::gaussian_kernel, computed on the device in double (no host copy, no sync).
__global__ void gaussian_taps_kernel(float* taps, int ksize, float sigma) {
  const int r = ksize / 2;
  const double two_var = camops::gaussian_two_var(sigma);
  double sum = 0;
  for (int i = threadIdx.x; i < ksize; i += blockDim.x)
    sum += camops::gaussian_weight(i, r, two_var);
  sum = block_reduce(sum, Sum{}, 0.0);
  for (int i = threadIdx.x; i < ksize; i += blockDim.x)
    taps[i] = float(camops::gaussian_weight(i, r, two_var) / sum);
}

// One pass of the separable blur over 3 planes of H x W: along rows, or along columns.
__global__ void blur_pass_kernel(float* out, const float* in, const float* taps, int ksize, int H,
                                 int W, bool along_rows) {
  const int64_t count = int64_t(3) * H * W;
  const int r = ksize / 2;
  for (const int64_t i : gpu::grid_stride(count)) {
    const int x = int(i % W), y = int(i / W % H);
    const int64_t plane = i / (int64_t(H) * W) * H * W;
    float acc = 0.f;
    if (along_rows) {
      const float* row = in + plane + int64_t(y) * W;
      for (int t = 0; t < ksize; ++t) acc += taps[t] * row[camops::reflect_index(x + t - r, W)];
    } else {
      const float* col = in + plane + x;
      for (int t = 0; t < ksize; ++t)
        acc += taps[t] * col[int64_t(camops::reflect_index(y + t - r, H)) * W];
    }
    out[i] = acc;
  }
}

// ---- scores ----------------------------------------------------------------------------------

constexpr int kRowsPerBlock = gpu::kThreads / kWarp;

// One warp per row; the whole warp returns together, so full-mask shuffles stay valid.
__global__ void class_scores_kernel(float* out, const float* logits, int m, int classes, int c,
                                    bool prob) {
  const int row = blockIdx.x * kRowsPerBlock + threadIdx.x / kWarp, lane = threadIdx.x % kWarp;
  if (row >= m) return;
  const float* z = logits + int64_t(row) * classes;
  float score = z[c];
  if (prob) {
    float zmax = -INFINITY;
    for (int j = lane; j < classes; j += kWarp) zmax = fmaxf(zmax, z[j]);
    zmax = warp_reduce(zmax, Max{});
    float sum = 0.f;
    for (int j = lane; j < classes; j += kWarp) sum += expf(z[j] - zmax);
    score = expf(score - zmax) / warp_reduce(sum, Sum{});
  }
  if (lane == 0) out[row] = score;
}

__global__ void score_differences_kernel(float* out, const float* scores, int offset, int count,
                                         bool relu) {
  for (const int64_t i : gpu::grid_stride(count)) {
    const float d = scores[offset + i] - scores[0];
    out[i] = relu && d < 0.f ? 0.f : d;  // std::max(d, 0.f): NaN passes, as on the CPU
  }
}

__global__ void scatter_kernel(float* dst, const float* src, const float* index, int count,
                               int size) {
  for (const int64_t i : gpu::grid_stride(count)) {
    const int k = int(index[i]);       // truncation, as on the CPU
    if (k < 0 || k >= size) __trap();  // a caller bug: fail rather than write out of bounds
    dst[k] = src[i];
  }
}

// ---- insertion / deletion --------------------------------------------------------------------

__global__ void iota_kernel(int* v, int n) {
  for (const int i : gpu::grid_stride<int>(n)) v[i] = i;
}

__global__ void int_to_float_kernel(float* out, const int* in, int n) {
  for (const int i : gpu::grid_stride<int>(n)) out[i] = float(in[i]);
}

// rank[order[r]] = r: the inverse permutation. rank starts at INT_MAX-like 0x7f7f7f7f (never
// taken) and the earliest rank of a pixel wins, as on the CPU, even if `order` is not a
// permutation; a pixel index outside the image is a caller bug and traps.
__global__ void inverse_rank_kernel(int* rank, const float* order, int n) {
  for (const int r : gpu::grid_stride<int>(n)) {
    const int p = int(order[r]);  // truncation, as the CPU's int64_t(order[r])
    if (p < 0 || p >= n) __trap();
    atomicMin(&rank[p], r);
  }
}

__global__ void curve_images_kernel(float* out, const int* rank, const float* start,
                                    const float* source, int first, int64_t step, int64_t count,
                                    int64_t plane) {
  for (const int64_t i : gpu::grid_stride(count)) {
    const int64_t image = i / (3 * plane), cp = i % (3 * plane);
    out[i] = rank[cp % plane] < (first + image) * step ? source[cp] : start[cp];
  }
}

}  // namespace

// ---- channel weights -------------------------------------------------------------------------

void cam_channel_means_cuda(Context&, Tensor& weights, const Tensor& g, int K, int hw) {
  channel_means_kernel<<<unsigned(K), gpu::kThreads>>>(weights.data(), g.data(), hw);
  CUDA_CHECK_LAUNCH();
}

void cam_gradcampp_weights_cuda(Context&, Tensor& weights, const Tensor& g, const Tensor& a, int K,
                                int hw) {
  gradcampp_weights_kernel<<<unsigned(K), gpu::kThreads>>>(weights.data(), g.data(), a.data(), hw);
  CUDA_CHECK_LAUNCH();
}

void cam_denoised_pixel_weights_cuda(Context&, Tensor& p, const Tensor& g, int K, int hw,
                                     float theta) {
  const double pos = camops::percentile_position(theta, hw);
  denoised_pixel_weights_kernel<<<unsigned(K), gpu::kThreads>>>(p.data(), g.data(), hw, pos);
  CUDA_CHECK_LAUNCH();
}

// ---- weighted sums over channels -------------------------------------------------------------

void cam_channel_weighted_sum_cuda(Context&, Tensor& out, const Tensor& a, const Tensor& weights,
                                   int K, int hw, bool relu) {
  launch_weighted_sum<false>(out.data(), a.data(), weights.data(), K, hw, K, 1, relu);
}

void cam_pixel_weighted_sum_cuda(Context&, Tensor& out, const Tensor& a, const Tensor& p, int K,
                                 int hw, bool relu) {
  launch_weighted_sum<true>(out.data(), a.data(), p.data(), K, hw, K, 1, relu);
}

void cam_group_sums_cuda(Context&, Tensor& out, const Tensor& a, const Tensor& weights, int K,
                         int hw, int groups) {
  launch_weighted_sum<false>(out.data(), a.data(), weights.data(), K, hw,
                             camops::group_size(K, groups), cam_group_count(K, groups), true);
}

// ---- maps ------------------------------------------------------------------------------------

void cam_upsample_bilinear_cuda(Context&, Tensor& out, const Tensor& in, int M, int h, int w, int H,
                                int W) {
  const int64_t count = int64_t(M) * H * W;
  upsample_bilinear_kernel<<<gpu::blocks_for(count), gpu::kThreads>>>(out.data(), in.data(), count,
                                                                      h, w, H, W);
  CUDA_CHECK_LAUNCH();
}

void cam_map_min_max_cuda(Context&, Tensor& lo, Tensor& hi, const Tensor& maps, int M, int n) {
  map_min_max_kernel<<<unsigned(M), gpu::kThreads>>>(lo.data(), hi.data(), maps.data(), n);
  CUDA_CHECK_LAUNCH();
}

void cam_normalize_maps_cuda(Context&, Tensor& maps, int M, int n) {
  normalize_maps_kernel<<<unsigned(M), gpu::kThreads>>>(maps.data(), n);
  CUDA_CHECK_LAUNCH();
}

int cam_nonconstant_maps_cuda(Context& ctx, Tensor& index, const Tensor& maps, int M, int n) {
  gpu::WorkspaceLayout layout;
  const size_t bounds_at = layout.add<float>(2 * size_t(M)), count_at = layout.add<int>(1);
  void* ws = ctx.cuda().workspace(layout.bytes());
  float* lo = layout.at<float>(ws, bounds_at);
  float* hi = lo + M;
  int* count = layout.at<int>(ws, count_at);
  map_min_max_kernel<<<unsigned(M), gpu::kThreads>>>(lo, hi, maps.data(), n);
  CUDA_CHECK_LAUNCH();
  compact_nonconstant_kernel<<<1, kCompactThreads>>>(index.data(), count, lo, hi, M);
  CUDA_CHECK_LAUNCH();
  int host_count = 0;
  CUDA_CHECK(cudaMemcpy(&host_count, count, sizeof(int), cudaMemcpyDeviceToHost));
  return host_count;
}

// ---- masked inputs, blur ---------------------------------------------------------------------

void cam_masked_inputs_cuda(Context&, Tensor& out, const Tensor& maps, const Tensor* index,
                            int first, int m, const Tensor& x, const Tensor& substrate, int H,
                            int W) {
  const int64_t plane = int64_t(H) * W, count = int64_t(m) * 3 * plane;
  masked_inputs_kernel<<<gpu::blocks_for(count), gpu::kThreads>>>(
      out.data(), maps.data(), maps.numel() / plane, index ? index->data() : nullptr, first, count,
      x.data(), substrate.data(), plane);
  CUDA_CHECK_LAUNCH();
}

// Rows into a workspace buffer, then columns into `out`, so `out` may alias `in`.
void cam_gaussian_blur_cuda(Context& ctx, Tensor& out, const Tensor& in, int H, int W, int ksize,
                            float sigma) {
  const int64_t count = int64_t(3) * H * W;
  gpu::WorkspaceLayout layout;
  const size_t taps_at = layout.add<float>(size_t(ksize)),
               rows_at = layout.add<float>(size_t(count));
  void* ws = ctx.cuda().workspace(layout.bytes());
  float* taps = layout.at<float>(ws, taps_at);
  float* rows = layout.at<float>(ws, rows_at);
  gaussian_taps_kernel<<<1, gpu::kThreads>>>(taps, ksize, sigma);
  CUDA_CHECK_LAUNCH();
  blur_pass_kernel<<<gpu::blocks_for(count), gpu::kThreads>>>(rows, in.data(), taps, ksize, H, W,
                                                              true);
  CUDA_CHECK_LAUNCH();
  blur_pass_kernel<<<gpu::blocks_for(count), gpu::kThreads>>>(out.data(), rows, taps, ksize, H, W,
                                                              false);
  CUDA_CHECK_LAUNCH();
}

// ---- scores ----------------------------------------------------------------------------------

void cam_class_scores_cuda(Context&, Tensor& out, int offset, const Tensor& logits, int m,
                           int classes, int c, ScoreKind kind) {
  const unsigned blocks = unsigned((m + kRowsPerBlock - 1) / kRowsPerBlock);
  class_scores_kernel<<<blocks, gpu::kThreads>>>(out.data() + offset, logits.data(), m, classes, c,
                                                 kind == ScoreKind::Prob);
  CUDA_CHECK_LAUNCH();
}

void cam_score_differences_cuda(Context&, Tensor& out, const Tensor& scores, int offset, int count,
                                bool relu) {
  score_differences_kernel<<<gpu::blocks_for(count), gpu::kThreads>>>(out.data(), scores.data(),
                                                                      offset, count, relu);
  CUDA_CHECK_LAUNCH();
}

void cam_scatter_cuda(Context&, Tensor& dst, const Tensor& src, const Tensor& index, int count,
                      int size) {
  CUDA_CHECK(cudaMemsetAsync(dst.data(), 0, sizeof(float) * size_t(size)));
  if (count == 0) return;
  scatter_kernel<<<gpu::blocks_for(count), gpu::kThreads>>>(dst.data(), src.data(), index.data(),
                                                            count, size);
  CUDA_CHECK_LAUNCH();
}

// ---- insertion / deletion --------------------------------------------------------------------

// CUB's radix sort is stable and treats -0.0 and +0.0 as equal, so sorting (value, index) pairs
// with increasing indices gives exactly the CPU's stable sort by decreasing value.
void cam_saliency_order_cuda(Context& ctx, Tensor& order, const Tensor& map, int n) {
  size_t temp_bytes = 0;
  CUDA_CHECK(cub::DeviceRadixSort::SortPairsDescending(
      nullptr, temp_bytes, static_cast<const float*>(nullptr), static_cast<float*>(nullptr),
      static_cast<const int*>(nullptr), static_cast<int*>(nullptr), n));
  gpu::WorkspaceLayout layout;
  const size_t keys_at = layout.add<float>(size_t(n)), in_at = layout.add<int>(size_t(n)),
               out_at = layout.add<int>(size_t(n)), temp_at = layout.add<char>(temp_bytes);
  void* ws = ctx.cuda().workspace(layout.bytes());
  float* keys_out = layout.at<float>(ws, keys_at);
  int* pixels_in = layout.at<int>(ws, in_at);
  int* pixels_out = layout.at<int>(ws, out_at);
  void* temp = layout.at<char>(ws, temp_at);
  iota_kernel<<<gpu::blocks_for(n), gpu::kThreads>>>(pixels_in, n);
  CUDA_CHECK_LAUNCH();
  CUDA_CHECK(cub::DeviceRadixSort::SortPairsDescending(temp, temp_bytes, map.data(), keys_out,
                                                       pixels_in, pixels_out, n));
  CUDA_CHECK_LAUNCH();  // with UNIONCAM_CUDA_SYNC=1 a fault in the sort is reported here
  int_to_float_kernel<<<gpu::blocks_for(n), gpu::kThreads>>>(order.data(), pixels_out, n);
  CUDA_CHECK_LAUNCH();
}

void cam_curve_images_cuda(Context& ctx, Tensor& out, const Tensor& order, const Tensor& start,
                           const Tensor& source, int first, int m, int step, int H, int W) {
  const int64_t plane = int64_t(H) * W, count = int64_t(m) * 3 * plane;
  int* rank = static_cast<int*>(ctx.cuda().workspace(sizeof(int) * size_t(plane)));
  CUDA_CHECK(cudaMemsetAsync(rank, 0x7f, sizeof(int) * size_t(plane)));
  inverse_rank_kernel<<<gpu::blocks_for(plane), gpu::kThreads>>>(rank, order.data(), int(plane));
  CUDA_CHECK_LAUNCH();
  curve_images_kernel<<<gpu::blocks_for(count), gpu::kThreads>>>(
      out.data(), rank, start.data(), source.data(), first, step, count, plane);
  CUDA_CHECK_LAUNCH();
}

}  // namespace uc
