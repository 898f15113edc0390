// Fused forward/backward kernels for GELU and LayerNorm: one pass over memory instead of the 5-20
// elementwise kernels their tfjs compositions run (these two dominate the non-GEMM time of LITv2).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "kernels.h"
#include "mathfun.h"
#include "thread_pool.h"

namespace litv2 {

namespace {
constexpr int64_t kGrain = 1 << 15;
}

void gelu(const float* x, float* y, int64_t n) {
  parallel_for(n, kGrain, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) y[i] = 0.5f * x[i] * (1.f + fast_erf(x[i] * 0.70710678118654752f));
  });
}

void gelu_grad(const float* dy, const float* x, float* dx, int64_t n) {
  // d/dx [x Phi(x)] = Phi(x) + x phi(x)
  parallel_for(n, kGrain, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      const float v = x[i];
      const float cdf = 0.5f * (1.f + fast_erf(v * 0.70710678118654752f));
      const float pdf = 0.39894228040143268f * fast_exp(-0.5f * v * v);
      dx[i] = dy[i] * (cdf + v * pdf);
    }
  });
}

void layer_norm(const float* x, const float* gamma, const float* beta, float* y, float* mean, float* rstd, int64_t rows,
                int64_t cols, float eps) {
  parallel_for(rows, std::max<int64_t>(1, kGrain / std::max<int64_t>(cols, 1)), [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; ++r) {
      const float* xr = x + r * cols;
      double s = 0;
      for (int64_t c = 0; c < cols; ++c) s += xr[c];
      const float m = static_cast<float>(s / double(cols));
      double v = 0;
      for (int64_t c = 0; c < cols; ++c) {
        const float d = xr[c] - m;
        v += double(d) * d;
      }
      const float rs = 1.f / std::sqrt(static_cast<float>(v / double(cols)) + eps);
      mean[r] = m;
      rstd[r] = rs;
      float* yr = y + r * cols;
      for (int64_t c = 0; c < cols; ++c) yr[c] = (xr[c] - m) * rs * gamma[c] + beta[c];
    }
  });
}

void layer_norm_grad(const float* dy, const float* x, const float* gamma, const float* mean, const float* rstd, float* dx,
                     float* dgamma, float* dbeta, int64_t rows, int64_t cols) {
  const int parts = std::max<int>(1, std::min<int64_t>(num_threads(), rows));
  std::vector<float> acc(size_t(parts) * 2 * cols, 0.f);
  parallel_for(parts, 1, [&](int64_t plo, int64_t phi) {
    for (int64_t p = plo; p < phi; ++p) {
      float* dg = acc.data() + p * 2 * cols;
      float* db = dg + cols;
      for (int64_t r = rows * p / parts; r < rows * (p + 1) / parts; ++r) {
        const float* xr = x + r * cols;
        const float* gr = dy + r * cols;
        const float m = mean[r], rs = rstd[r];
        float s1 = 0.f, s2 = 0.f;  // sum(g), sum(g * xhat) with g = dy * gamma
        for (int64_t c = 0; c < cols; ++c) {
          const float xh = (xr[c] - m) * rs;
          const float g = gr[c] * gamma[c];
          s1 += g;
          s2 += g * xh;
          dg[c] += gr[c] * xh;
          db[c] += gr[c];
        }
        if (!dx) continue;
        const float inv = 1.f / float(cols);
        s1 *= inv;
        s2 *= inv;
        float* dr = dx + r * cols;
        for (int64_t c = 0; c < cols; ++c) {
          const float xh = (xr[c] - m) * rs;
          dr[c] = rs * (gr[c] * gamma[c] - s1 - xh * s2);
        }
      }
    }
  });
  if (!dgamma) return;
  for (int64_t c = 0; c < cols; ++c) {
    float g = 0.f, b = 0.f;
    for (int p = 0; p < parts; ++p) {
      g += acc[size_t(p) * 2 * cols + c];
      b += acc[size_t(p) * 2 * cols + cols + c];
    }
    dgamma[c] = g;
    if (dbeta) dbeta[c] = b;
  }
}

}  // namespace litv2
