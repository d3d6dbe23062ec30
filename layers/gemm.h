// Row-major single-precision matrix product for the CPU layers:
//   C[m,n] = alpha * op(A)[m,k] . op(B)[k,n] + beta * C      (op: transposed when asked)
// OpenBLAS serves it when the build found it (UNIONCAM_OPENBLAS); otherwise a built-in blocked,
// OpenMP-parallel loop does, so that a machine without OpenBLAS (the GPU reference machine,
// where the CPU is only the reference for CUDA) still builds and runs every test.
#pragma once

namespace uc {

void sgemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda,
           const float* b, int ldb, float beta, float* c, int ldc);

// The built-in loop, always compiled so that the tests check it beside OpenBLAS.
void sgemm_builtin(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a,
                   int lda, const float* b, int ldb, float beta, float* c, int ldc);

}  // namespace uc
