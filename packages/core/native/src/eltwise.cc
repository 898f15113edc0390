#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "kernels.h"
#include "mathfun.h"
#include "thread_pool.h"

namespace litv2 {
namespace {

constexpr int64_t kGrain = 1 << 15;  // elements per thread below which threading does not pay

template <typename F>
void map1(const float* x, float* y, int64_t n, F f) {
  parallel_for(n, kGrain, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) y[i] = f(x[i]);
  });
}

struct OpAdd { float operator()(float a, float b) const { return a + b; } };
struct OpSub { float operator()(float a, float b) const { return a - b; } };
struct OpMul { float operator()(float a, float b) const { return a * b; } };
struct OpDiv { float operator()(float a, float b) const { return a / b; } };
struct OpSqDiff { float operator()(float a, float b) const { return (a - b) * (a - b); } };
struct OpMax { float operator()(float a, float b) const { return a > b || std::isnan(a) ? a : b; } };
struct OpMin { float operator()(float a, float b) const { return a < b || std::isnan(a) ? a : b; } };
struct OpPow { float operator()(float a, float b) const { return std::pow(a, b); } };

// One contiguous inner run with element strides sa, sb in {0, 1} specialised for vectorisation.
template <typename Op>
inline void run(const float* a, int64_t sa, const float* b, int64_t sb, float* y, int64_t n, Op op) {
  if (sa == 1 && sb == 1) {
    for (int64_t i = 0; i < n; ++i) y[i] = op(a[i], b[i]);
  } else if (sa == 1 && sb == 0) {
    const float bv = *b;
    for (int64_t i = 0; i < n; ++i) y[i] = op(a[i], bv);
  } else if (sa == 0 && sb == 1) {
    const float av = *a;
    for (int64_t i = 0; i < n; ++i) y[i] = op(av, b[i]);
  } else {
    for (int64_t i = 0; i < n; ++i) y[i] = op(a[i * sa], b[i * sb]);
  }
}

template <typename Op>
void binary_t(const float* a, const float* b, float* y, int rank, const int64_t* shape, const int64_t* sa,
              const int64_t* sb, Op op) {
  const int64_t inner = shape[rank - 1];
  int64_t outer = 1;
  for (int d = 0; d < rank - 1; ++d) outer *= shape[d];
  const int64_t grain = std::max<int64_t>(1, kGrain / std::max<int64_t>(inner, 1));
  parallel_for(outer, grain, [&](int64_t lo, int64_t hi) {
    for (int64_t o = lo; o < hi; ++o) {
      int64_t rem = o, oa = 0, ob = 0;
      for (int d = rank - 2; d >= 0; --d) {
        const int64_t idx = rem % shape[d];
        rem /= shape[d];
        oa += idx * sa[d];
        ob += idx * sb[d];
      }
      run(a + oa, sa[rank - 1], b + ob, sb[rank - 1], y + o * inner, inner, op);
    }
  });
}

}  // namespace

void unary(int op, const float* x, float* y, int64_t n, float alpha) {
  switch (op) {
    case U_NEG: return map1(x, y, n, [](float v) { return -v; });
    case U_EXP: return map1(x, y, n, [](float v) { return fast_exp(v); });
    case U_LOG: return map1(x, y, n, [](float v) { return std::log(v); });
    case U_SQRT: return map1(x, y, n, [](float v) { return std::sqrt(v); });
    case U_RSQRT: return map1(x, y, n, [](float v) { return 1.f / std::sqrt(v); });
    case U_SQUARE: return map1(x, y, n, [](float v) { return v * v; });
    case U_RELU: return map1(x, y, n, [](float v) { return v > 0.f ? v : (std::isnan(v) ? v : 0.f); });
    case U_RELU6: return map1(x, y, n, [](float v) { return std::min(std::max(v, 0.f), 6.f); });
    case U_SIGMOID: return map1(x, y, n, [](float v) { return 1.f / (1.f + fast_exp(-v)); });
    case U_TANH: return map1(x, y, n, [](float v) { return std::tanh(v); });
    case U_ABS: return map1(x, y, n, [](float v) { return std::fabs(v); });
    case U_RECIPROCAL: return map1(x, y, n, [](float v) { return 1.f / v; });
    case U_ERF: return map1(x, y, n, [](float v) { return fast_erf(v); });
    case U_LEAKYRELU: return map1(x, y, n, [alpha](float v) { return v < 0.f ? v * alpha : v; });
    case U_ELU: return map1(x, y, n, [](float v) { return v < 0.f ? std::expm1(v) : v; });
    case U_FLOOR: return map1(x, y, n, [](float v) { return std::floor(v); });
    case U_STEP: return map1(x, y, n, [alpha](float v) { return std::isnan(v) ? v : (v > 0.f ? 1.f : alpha); });
    case U_SIGN: return map1(x, y, n, [](float v) { return v > 0.f ? 1.f : (v < 0.f ? -1.f : 0.f); });
    case U_LOG1P: return map1(x, y, n, [](float v) { return std::log1p(v); });
    case U_EXPM1: return map1(x, y, n, [](float v) { return std::expm1(v); });
    case U_CEIL: return map1(x, y, n, [](float v) { return std::ceil(v); });
    case U_ROUND: return map1(x, y, n, [](float v) { return std::nearbyint(v); });
    default: return;
  }
}

void binary(int op, const float* a, const float* b, float* y, int rank, const int64_t* shape, const int64_t* sa,
            const int64_t* sb) {
  switch (op) {
    case B_ADD: return binary_t(a, b, y, rank, shape, sa, sb, OpAdd());
    case B_SUB: return binary_t(a, b, y, rank, shape, sa, sb, OpSub());
    case B_MUL: return binary_t(a, b, y, rank, shape, sa, sb, OpMul());
    case B_DIV: return binary_t(a, b, y, rank, shape, sa, sb, OpDiv());
    case B_SQDIFF: return binary_t(a, b, y, rank, shape, sa, sb, OpSqDiff());
    case B_MAX: return binary_t(a, b, y, rank, shape, sa, sb, OpMax());
    case B_MIN: return binary_t(a, b, y, rank, shape, sa, sb, OpMin());
    case B_POW: return binary_t(a, b, y, rank, shape, sa, sb, OpPow());
    default: return;
  }
}

void add_n(const float* const* xs, int k, float* y, int64_t n) {
  parallel_for(n, kGrain, [&](int64_t lo, int64_t hi) {
    const float* x0 = xs[0];
    for (int64_t i = lo; i < hi; ++i) y[i] = x0[i];
    for (int j = 1; j < k; ++j) {
      const float* xj = xs[j];
      for (int64_t i = lo; i < hi; ++i) y[i] += xj[i];
    }
  });
}

void softmax(const float* x, float* y, int64_t rows, int64_t cols) {
  parallel_for(rows, std::max<int64_t>(1, kGrain / std::max<int64_t>(cols, 1)), [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; ++r) {
      const float* xr = x + r * cols;
      float* yr = y + r * cols;
      float m = -INFINITY;
      for (int64_t c = 0; c < cols; ++c) m = std::max(m, xr[c]);
      float s = 0.f;
      for (int64_t c = 0; c < cols; ++c) {
        yr[c] = fast_exp(xr[c] - m);
        s += yr[c];
      }
      const float inv = 1.f / s;
      for (int64_t c = 0; c < cols; ++c) yr[c] *= inv;
    }
  });
}

void elu_grad(const float* dy, const float* y, float* dx, int64_t n) {
  parallel_for(n, kGrain, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) dx[i] = y[i] < 0.f ? dy[i] * (y[i] + 1.f) : dy[i];
  });
}

namespace {

// Reduction of one [R, inner] slab into y[inner]; sums accumulate in double like tfjs' JS numbers.
void reduce_slab(int op, const float* x, float* y, int64_t R, int64_t inner, int64_t i0, int64_t i1,
                 std::vector<double>& acc) {
  const int64_t w = i1 - i0;
  if (op == R_SUM || op == R_MEAN || op == R_PROD) {
    acc.assign(w, op == R_PROD ? 1.0 : 0.0);
    double* a = acc.data();
    for (int64_t r = 0; r < R; ++r) {
      const float* xr = x + r * inner + i0;
      if (op == R_PROD)
        for (int64_t i = 0; i < w; ++i) a[i] *= xr[i];
      else
        for (int64_t i = 0; i < w; ++i) a[i] += xr[i];
    }
    const double scale = op == R_MEAN ? 1.0 / double(R) : 1.0;
    for (int64_t i = 0; i < w; ++i) y[i0 + i] = static_cast<float>(a[i] * scale);
  } else {
    float* out = y + i0;
    std::memcpy(out, x + i0, sizeof(float) * w);
    for (int64_t r = 1; r < R; ++r) {
      const float* xr = x + r * inner + i0;
      if (op == R_MAX)
        for (int64_t i = 0; i < w; ++i) out[i] = (xr[i] > out[i] || std::isnan(xr[i])) ? xr[i] : out[i];
      else
        for (int64_t i = 0; i < w; ++i) out[i] = (xr[i] < out[i] || std::isnan(xr[i])) ? xr[i] : out[i];
    }
  }
}

float reduce_row(int op, const float* x, int64_t R) {
  if (op == R_SUM || op == R_MEAN) {
    // Four double lanes keep the loop vectorisable.
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    int64_t r = 0;
    for (; r + 4 <= R; r += 4) {
      s0 += x[r];
      s1 += x[r + 1];
      s2 += x[r + 2];
      s3 += x[r + 3];
    }
    for (; r < R; ++r) s0 += x[r];
    const double s = (s0 + s1) + (s2 + s3);
    return static_cast<float>(op == R_MEAN ? s / double(R) : s);
  }
  if (op == R_PROD) {
    double p = 1;
    for (int64_t r = 0; r < R; ++r) p *= x[r];
    return static_cast<float>(p);
  }
  float m = x[0];
  for (int64_t r = 1; r < R; ++r) {
    const float v = x[r];
    if (op == R_MAX ? (v > m || std::isnan(v)) : (v < m || std::isnan(v))) m = v;
  }
  return m;
}

}  // namespace

void reduce(int op, const float* x, float* y, int64_t outer, int64_t R, int64_t inner) {
  if (R == 0) {
    const float fill = op == R_PROD ? 1.f : op == R_MAX ? -INFINITY : op == R_MIN ? INFINITY : op == R_MEAN ? NAN : 0.f;
    std::fill(y, y + outer * inner, fill);
    return;
  }
  if (inner == 1) {
    parallel_for(outer, std::max<int64_t>(1, kGrain / R), [&](int64_t lo, int64_t hi) {
      for (int64_t o = lo; o < hi; ++o) y[o] = reduce_row(op, x + o * R, R);
    });
    return;
  }
  if (outer == 1) {
    // Column reduction (e.g. bias gradients): split the columns across threads.
    parallel_for(inner, std::max<int64_t>(8, kGrain / R), [&](int64_t lo, int64_t hi) {
      std::vector<double> acc;
      reduce_slab(op, x, y, R, inner, lo, hi, acc);
    });
    return;
  }
  parallel_for(outer, std::max<int64_t>(1, kGrain / (R * inner)), [&](int64_t lo, int64_t hi) {
    std::vector<double> acc;
    for (int64_t o = lo; o < hi; ++o) reduce_slab(op, x + o * R * inner, y + o * inner, R, inner, 0, inner, acc);
  });
}

}  // namespace litv2
