// Adaptive average pool, PyTorch's bin rule: bin i of n over a size-h axis covers
// [floor(i*h/n), ceil((i+1)*h/n)). Bins overlap when h is not a multiple of n, and an input may
// sit in several bins when h < n (2x2 -> 7x7), so the backward pass gathers per input element.
#include "core/cuda_launch.cuh"
#include "layers/cuda_layers.h"

namespace uc {

namespace {

// In int64 as on the CPU: i * size overflows int for very large inputs.
__device__ int bin_start(int i, int size, int bins) { return int(int64_t(i) * size / bins); }
__device__ int bin_end(int i, int size, int bins) {
  return int(((i + 1) * int64_t(size) + bins - 1) / bins);
}

__global__ void adaptive_avgpool_forward_kernel(float* out, const float* in, int64_t planes, int h,
                                                int w, int oh, int ow) {
  const int64_t count = planes * oh * ow;
  for (const int64_t i : gpu::grid_stride(count)) {
    const int ox = int(i % ow), oy = int(i / ow % oh);
    const float* plane = in + i / (int64_t(oh) * ow) * h * w;
    const int y0 = bin_start(oy, h, oh), y1 = bin_end(oy, h, oh);
    const int x0 = bin_start(ox, w, ow), x1 = bin_end(ox, w, ow);
    float sum = 0.f;
    for (int y = y0; y < y1; ++y)
      for (int x = x0; x < x1; ++x) sum += plane[y * w + x];
    out[i] = sum / float((y1 - y0) * (x1 - x0));
  }
}

// Output bins along one axis that contain input position p: the range follows from the bin rule
// (end > p  <=>  i >= floor(p*bins/size); start <= p  <=>  i < ceil((p+1)*bins/size)).
__device__ void bins_containing(int p, int size, int bins, int* lo, int* hi) {
  *lo = int(int64_t(p) * bins / size);
  *hi = int(min(((p + 1) * int64_t(bins) + size - 1) / size, int64_t(bins))) - 1;
}

__global__ void adaptive_avgpool_backward_kernel(float* din, const float* dout, int64_t planes,
                                                 int h, int w, int oh, int ow) {
  const int64_t count = planes * h * w;
  for (const int64_t i : gpu::grid_stride(count)) {
    const int x = int(i % w), y = int(i / w % h);
    const float* grad = dout + i / (int64_t(h) * w) * oh * ow;
    int oy_lo, oy_hi, ox_lo, ox_hi;
    bins_containing(y, h, oh, &oy_lo, &oy_hi);
    bins_containing(x, w, ow, &ox_lo, &ox_hi);
    float sum = 0.f;
    for (int oy = oy_lo; oy <= oy_hi; ++oy) {
      const int rows = bin_end(oy, h, oh) - bin_start(oy, h, oh);
      for (int ox = ox_lo; ox <= ox_hi; ++ox) {
        const int cols = bin_end(ox, w, ow) - bin_start(ox, w, ow);
        sum += grad[oy * ow + ox] / float(rows * cols);
      }
    }
    din[i] = sum;
  }
}

void check_adaptive(const AdaptivePoolShape& s) {
  UC_ASSERT(s.h > 0 && s.w > 0 && s.out_h > 0 && s.out_w > 0,
            "adaptive_avgpool: input and output sizes must be positive");
}

}  // namespace

void adaptive_avgpool_forward_cuda(Context&, Tensor& out, const Tensor& in,
                                   const AdaptivePoolShape& shape) {
  check_adaptive(shape);
  const int64_t planes = int64_t(shape.n) * shape.c;
  gpu::expect(in, planes * shape.h * shape.w, "adaptive_avgpool_forward input");
  gpu::expect(out, planes * shape.out_h * shape.out_w, "adaptive_avgpool_forward output");
  adaptive_avgpool_forward_kernel<<<gpu::blocks_for(out.numel()), gpu::kThreads>>>(
      out.data(), in.data(), planes, shape.h, shape.w, shape.out_h, shape.out_w);
  CUDA_CHECK_LAUNCH();
}

void adaptive_avgpool_backward_cuda(Context&, Tensor& din, const Tensor& dout,
                                    const AdaptivePoolShape& shape) {
  check_adaptive(shape);
  const int64_t planes = int64_t(shape.n) * shape.c;
  gpu::expect(din, planes * shape.h * shape.w, "adaptive_avgpool_backward din");
  gpu::expect(dout, planes * shape.out_h * shape.out_w, "adaptive_avgpool_backward dout");
  adaptive_avgpool_backward_kernel<<<gpu::blocks_for(din.numel()), gpu::kThreads>>>(
      din.data(), dout.data(), planes, shape.h, shape.w, shape.out_h, shape.out_w);
  CUDA_CHECK_LAUNCH();
}

}  // namespace uc
