#include <algorithm>
#include <cstring>

#include "kernels.h"
#include "thread_pool.h"

namespace litv2 {
namespace {

constexpr int64_t kGrain = 1 << 15;

template <typename T>
void strided_copy_t(const T* x, T* y, int rank, const int64_t* shape, const int64_t* sx) {
  const int64_t inner = shape[rank - 1], s_in = sx[rank - 1];
  int64_t outer = 1;
  for (int d = 0; d < rank - 1; ++d) outer *= shape[d];
  // When the innermost output axis walks the input with a large stride, find the output axis with
  // input stride 1 and copy in square tiles so that both reads and writes stay in cache.
  int k = -1;
  if (s_in != 1 && inner >= 8) {
    for (int d = rank - 2; d >= 0; --d)
      if (sx[d] == 1 && shape[d] >= 8) {
        k = d;
        break;
      }
  }
  if (k < 0) {
    parallel_for(outer, std::max<int64_t>(1, kGrain / std::max<int64_t>(inner, 1)), [&](int64_t lo, int64_t hi) {
      for (int64_t o = lo; o < hi; ++o) {
        int64_t rem = o, off = 0;
        for (int d = rank - 2; d >= 0; --d) {
          off += (rem % shape[d]) * sx[d];
          rem /= shape[d];
        }
        const T* src = x + off;
        T* dst = y + o * inner;
        if (s_in == 1)
          std::memcpy(dst, src, sizeof(T) * inner);
        else
          for (int64_t i = 0; i < inner; ++i) dst[i] = src[i * s_in];
      }
    });
    return;
  }
  // Output strides (contiguous) to place the tiles.
  int64_t ystride[8];
  ystride[rank - 1] = 1;
  for (int d = rank - 2; d >= 0; --d) ystride[d] = ystride[d + 1] * shape[d + 1];
  const int64_t P = shape[k], Q = inner;
  const int64_t rest = outer / P;  // all axes except k and the last
  parallel_for(rest, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t o = lo; o < hi; ++o) {
      int64_t rem = o, xoff = 0, yoff = 0;
      for (int d = rank - 2; d >= 0; --d) {
        if (d == k) continue;
        const int64_t idx = rem % shape[d];
        rem /= shape[d];
        xoff += idx * sx[d];
        yoff += idx * ystride[d];
      }
      const int64_t ys_k = ystride[k];
      constexpr int64_t T_ = 32;
      for (int64_t p0 = 0; p0 < P; p0 += T_) {
        const int64_t p1 = std::min(P, p0 + T_);
        for (int64_t q0 = 0; q0 < Q; q0 += T_) {
          const int64_t q1 = std::min(Q, q0 + T_);
          for (int64_t p = p0; p < p1; ++p) {
            const T* src = x + xoff + p;
            T* dst = y + yoff + p * ys_k;
            for (int64_t q = q0; q < q1; ++q) dst[q] = src[q * s_in];
          }
        }
      }
    }
  });
}

}  // namespace

void strided_copy(const void* x, void* y, int es, int rank, const int64_t* shape, const int64_t* sx) {
  if (es == 4)
    strided_copy_t(static_cast<const uint32_t*>(x), static_cast<uint32_t*>(y), rank, shape, sx);
  else if (es == 1)
    strided_copy_t(static_cast<const uint8_t*>(x), static_cast<uint8_t*>(y), rank, shape, sx);
}

void pad(const void* xv, void* yv, int es, int rank, const int64_t* xshape, const int64_t* before,
         const int64_t* yshape, uint32_t fillBits) {
  // Only 4-byte elements reach here (float32 / int32).
  const uint32_t* x = static_cast<const uint32_t*>(xv);
  uint32_t* y = static_cast<uint32_t*>(yv);
  int64_t ysize = 1, xouter = 1;
  for (int d = 0; d < rank; ++d) ysize *= yshape[d];
  for (int d = 0; d < rank - 1; ++d) xouter *= xshape[d];
  std::fill(y, y + ysize, fillBits);
  int64_t ystride[8];
  ystride[rank - 1] = 1;
  for (int d = rank - 2; d >= 0; --d) ystride[d] = ystride[d + 1] * yshape[d + 1];
  const int64_t inner = xshape[rank - 1];
  int64_t base = before[rank - 1];
  parallel_for(xouter, std::max<int64_t>(1, kGrain / std::max<int64_t>(inner, 1)), [&](int64_t lo, int64_t hi) {
    for (int64_t o = lo; o < hi; ++o) {
      int64_t rem = o, off = base;
      for (int d = rank - 2; d >= 0; --d) {
        off += (rem % xshape[d] + before[d]) * ystride[d];
        rem /= xshape[d];
      }
      std::memcpy(y + off, x + o * inner, 4 * inner);
    }
  });
}

void concat(const void* const* xs, const int64_t* widths, int k, void* yv, int es, int64_t outer) {
  int64_t total = 0;
  for (int i = 0; i < k; ++i) total += widths[i];
  char* y = static_cast<char*>(yv);
  parallel_for(outer, std::max<int64_t>(1, kGrain / std::max<int64_t>(total, 1)), [&](int64_t lo, int64_t hi) {
    for (int64_t o = lo; o < hi; ++o) {
      char* dst = y + o * total * es;
      for (int i = 0; i < k; ++i) {
        const int64_t bytes = widths[i] * es;
        std::memcpy(dst, static_cast<const char*>(xs[i]) + o * bytes, bytes);
        dst += bytes;
      }
    }
  });
}

int64_t gather(const void* xv, const int32_t* idx, int64_t nIdx, void* yv, int es, int64_t outer, int64_t axisSize,
               int64_t inner) {
  for (int64_t j = 0; j < nIdx; ++j)
    if (idx[j] < 0 || idx[j] >= axisSize) return j;
  const char* x = static_cast<const char*>(xv);
  char* y = static_cast<char*>(yv);
  const int64_t bytes = inner * es;
  parallel_for(outer * nIdx, std::max<int64_t>(1, kGrain / std::max<int64_t>(inner, 1)), [&](int64_t lo, int64_t hi) {
    for (int64_t t = lo; t < hi; ++t) {
      const int64_t o = t / nIdx, j = t % nIdx;
      std::memcpy(y + t * bytes, x + (o * axisSize + idx[j]) * bytes, bytes);
    }
  });
  return -1;
}

void segment_sum(const float* x, const int32_t* ids, float* y, int64_t n, int64_t inner, int64_t numSegments) {
  std::memset(y, 0, sizeof(float) * numSegments * inner);
  // Threads own disjoint column ranges, so scattered rows never collide.
  parallel_for(inner, 64, [&](int64_t lo, int64_t hi) {
    for (int64_t r = 0; r < n; ++r) {
      const int32_t s = ids[r];
      if (s < 0 || s >= numSegments) continue;
      const float* src = x + r * inner;
      float* dst = y + s * inner;
      for (int64_t i = lo; i < hi; ++i) dst[i] += src[i];
    }
  });
}

}  // namespace litv2
