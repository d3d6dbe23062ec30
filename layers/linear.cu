// Fully connected layer on cuBLAS. cuBLAS is column-major: a row-major [rows, cols] matrix is
// the column-major [cols, rows] matrix, i.e. its transpose, so each product below is written
// for the transposes: out^T = W * in^T, din^T = W^T * dout^T, dW^T += in^T * dout.
#include "core/cuda_launch.cuh"
#include "layers/cuda_layers.h"

namespace uc {

namespace {

const float kOne = 1.f, kZero = 0.f;

__global__ void add_bias_kernel(float* out, const float* b, int64_t count, int features) {
  for (const int64_t i : gpu::grid_stride(count)) out[i] += b[i % features];
}

// One thread per feature sums its column in row order: deterministic, and coalesced across
// threads. The batch is small, so the loop is short.
__global__ void bias_grad_kernel(float* db, const float* dout, int rows, int features) {
  for (const int j : gpu::grid_stride<int>(features)) {
    float sum = 0.f;
    for (int r = 0; r < rows; ++r) sum += dout[int64_t(r) * features + j];
    db[j] += sum;
  }
}

}  // namespace

void linear_forward_cuda(Context& ctx, Tensor& out, const Tensor& in, const Tensor& w,
                         const Tensor& b, const LinearShape& shape) {
  const int n = shape.n, in_f = shape.in_features, out_f = shape.out_features;
  gpu::expect(in, int64_t(n) * in_f, "linear_forward input");
  gpu::expect(w, int64_t(out_f) * in_f, "linear_forward weight");
  gpu::expect(out, int64_t(n) * out_f, "linear_forward output");
  if (b.defined()) gpu::expect(b, out_f, "linear_forward bias");
  CUBLAS_CHECK(cublasSgemm(ctx.cuda().cublas, CUBLAS_OP_T, CUBLAS_OP_N, out_f, n, in_f, &kOne,
                           w.data(), in_f, in.data(), in_f, &kZero, out.data(), out_f));
  if (b.defined()) {
    add_bias_kernel<<<gpu::blocks_for(out.numel()), gpu::kThreads>>>(out.data(), b.data(),
                                                                     out.numel(), out_f);
    CUDA_CHECK_LAUNCH();
  }
}

void linear_backward_cuda(Context& ctx, Tensor* din, Tensor* dw, Tensor* db, const Tensor& dout,
                          const Tensor& in, const Tensor& w, const LinearShape& shape) {
  if (!din && !dw && !db) return;
  const int n = shape.n, in_f = shape.in_features, out_f = shape.out_features;
  gpu::expect(dout, int64_t(n) * out_f, "linear_backward dout");
  if (din) gpu::expect(w, int64_t(out_f) * in_f, "linear_backward weight");
  if (din) gpu::expect(*din, int64_t(n) * in_f, "linear_backward din");
  if (dw) gpu::expect(in, int64_t(n) * in_f, "linear_backward input");
  if (dw) gpu::expect(*dw, int64_t(out_f) * in_f, "linear_backward dw");
  if (db) gpu::expect(*db, out_f, "linear_backward db");
  cublasHandle_t blas = ctx.cuda().cublas;
  if (din)
    CUBLAS_CHECK(cublasSgemm(blas, CUBLAS_OP_N, CUBLAS_OP_N, in_f, n, out_f, &kOne, w.data(), in_f,
                             dout.data(), out_f, &kZero, din->data(), in_f));
  if (dw)  // beta = 1: parameter gradients accumulate
    CUBLAS_CHECK(cublasSgemm(blas, CUBLAS_OP_N, CUBLAS_OP_T, in_f, out_f, n, &kOne, in.data(), in_f,
                             dout.data(), out_f, &kOne, dw->data(), in_f));
  if (db) {
    bias_grad_kernel<<<gpu::blocks_for(out_f), gpu::kThreads>>>(db->data(), dout.data(), n, out_f);
    CUDA_CHECK_LAUNCH();
  }
}

}  // namespace uc
