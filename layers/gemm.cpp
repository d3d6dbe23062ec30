#include "layers/gemm.h"

#include <algorithm>
#include <cstdint>

#ifdef UNIONCAM_OPENBLAS
#include <cblas.h>
#endif

namespace uc {

namespace {
// Columns of C per task: a row slice of C and of each B row it reads stays in L1/L2.
constexpr int kColumnBlock = 256;
}  // namespace

void sgemm_builtin(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a,
                   int lda, const float* b, int ldb, float beta, float* c, int ldc) {
  const auto A = [&](int i, int p) {
    return trans_a ? a[int64_t(p) * lda + i] : a[int64_t(i) * lda + p];
  };
  const int blocks = (n + kColumnBlock - 1) / kColumnBlock;
#pragma omp parallel for collapse(2) schedule(static)
  for (int i = 0; i < m; ++i) {
    for (int jb = 0; jb < blocks; ++jb) {
      const int j0 = jb * kColumnBlock, j1 = std::min(n, j0 + kColumnBlock);
      float* ci = c + int64_t(i) * ldc;
      for (int j = j0; j < j1; ++j)
        ci[j] = beta == 0.f ? 0.f : beta * ci[j];  // beta 0: C may hold NaN
      if (!trans_b) {
        // C[i, j0:j1] += (alpha A[i,p]) B[p, j0:j1]: contiguous rows of B, vectorized over j.
        for (int p = 0; p < k; ++p) {
          const float s = alpha * A(i, p);
          const float* bp = b + int64_t(p) * ldb;
          for (int j = j0; j < j1; ++j) ci[j] += s * bp[j];
        }
      } else {
        // B is [n, k]: each C[i, j] is a dot product of A's row i with B's row j.
        for (int j = j0; j < j1; ++j) {
          const float* bj = b + int64_t(j) * ldb;
          float sum = 0.f;
          if (!trans_a) {
            const float* ai = a + int64_t(i) * lda;
#pragma omp simd reduction(+ : sum)
            for (int p = 0; p < k; ++p) sum += ai[p] * bj[p];
          } else {
            for (int p = 0; p < k; ++p) sum += A(i, p) * bj[p];
          }
          ci[j] += alpha * sum;
        }
      }
    }
  }
}

void sgemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda,
           const float* b, int ldb, float beta, float* c, int ldc) {
#ifdef UNIONCAM_OPENBLAS
  if (m == 1 && !trans_a && trans_b) {  // a row times B^T: gemv streams B once, gemm would pack it
    cblas_sgemv(CblasRowMajor, CblasNoTrans, n, k, alpha, b, ldb, a, 1, beta, c, 1);
    return;
  }
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
              trans_b ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
#else
  sgemm_builtin(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
#endif
}

}  // namespace uc
