#include <cblas.h>

#include <algorithm>
#include <cmath>

#include "kernels.h"
#include "thread_pool.h"

namespace litv2 {

void batch_matmul(const float* a, const float* b, float* c, int64_t batch, int M, int N, int K, bool transA,
                  bool transB, const int64_t* aOff, const int64_t* bOff) {
  const int lda = transA ? M : K, ldb = transB ? K : N;
  const CBLAS_TRANSPOSE ta = transA ? CblasTrans : CblasNoTrans, tb = transB ? CblasTrans : CblasNoTrans;
  auto one = [&](int64_t i) {
    cblas_sgemm(CblasRowMajor, ta, tb, M, N, K, 1.f, a + aOff[i], lda, b + bOff[i], ldb, 0.f,
                c + i * static_cast<int64_t>(M) * N, N);
  };
  if (K == 0) {
    std::fill(c, c + batch * M * N, 0.f);
    return;
  }
  const double flops = 2.0 * M * N * K;
  // Many small products (attention heads): one BLAS thread per product on our own workers beats
  // OpenBLAS splitting each tiny product.
  if (batch > 1 && num_threads() > 1 && flops < 8e6) {
    blas_threads(1);
    parallel_for(batch, 1, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) one(i);
    });
    blas_threads(num_threads());
    return;
  }
  for (int64_t i = 0; i < batch; ++i) one(i);
}

static inline float act_apply(float v, int act, float alpha) {
  switch (act) {
    case ACT_RELU: return v > 0.f ? v : 0.f;
    case ACT_RELU6: return std::min(std::max(v, 0.f), 6.f);
    case ACT_SIGMOID: return 1.f / (1.f + std::exp(-v));
    case ACT_LEAKYRELU: return v < 0.f ? v * alpha : v;
    case ACT_ELU: return v < 0.f ? std::expm1(v) : v;
    default: return v;
  }
}

void bias_act(float* y, int64_t rows, int64_t cols, const float* bias, int act, float alpha) {
  parallel_for(rows, std::max<int64_t>(1, 32768 / std::max<int64_t>(cols, 1)), [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; ++r) {
      float* row = y + r * cols;
      if (bias)
        for (int64_t c = 0; c < cols; ++c) row[c] += bias[c];
      if (act == ACT_RELU)
        for (int64_t c = 0; c < cols; ++c) row[c] = row[c] > 0.f ? row[c] : 0.f;
      else if (act != ACT_LINEAR)
        for (int64_t c = 0; c < cols; ++c) row[c] = act_apply(row[c], act, alpha);
    }
  });
}

}  // namespace litv2
