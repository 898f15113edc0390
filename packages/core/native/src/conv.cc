#include <cblas.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels.h"
#include "thread_pool.h"

namespace litv2 {
namespace {

// Rows of the im2col matrix processed per GEMM: bounds the scratch buffer to ~16 MiB.
int64_t chunk_rows(const ConvGeom& g, int64_t K) {
  int64_t rows = std::max<int64_t>(1, (int64_t(4) << 20) / std::max<int64_t>(K, 1));
  return std::min<int64_t>(rows, int64_t(g.B) * g.OH * g.OW);
}

bool is_pointwise(const ConvGeom& g) {
  return g.KH == 1 && g.KW == 1 && g.SH == 1 && g.SW == 1 && g.PT == 0 && g.PL == 0 && g.OH == g.H && g.OW == g.W;
}

// col[r - r0, (i, j, c)] = x[b, oh*SH + i*DH - PT, ow*SW + j*DW - PL, c] (zero outside).
void im2col(const float* x, float* col, const ConvGeom& g, int64_t r0, int64_t r1) {
  const int64_t K = int64_t(g.KH) * g.KW * g.C;
  parallel_for(r1 - r0, 64, [&](int64_t lo, int64_t hi) {
    for (int64_t r = r0 + lo; r < r0 + hi; ++r) {
      const int ow = r % g.OW, oh = (r / g.OW) % g.OH;
      const int64_t b = r / (int64_t(g.OW) * g.OH);
      float* dst = col + (r - r0) * K;
      for (int i = 0; i < g.KH; ++i) {
        const int ih = oh * g.SH + i * g.DH - g.PT;
        for (int j = 0; j < g.KW; ++j, dst += g.C) {
          const int iw = ow * g.SW + j * g.DW - g.PL;
          if (ih < 0 || ih >= g.H || iw < 0 || iw >= g.W) {
            std::memset(dst, 0, sizeof(float) * g.C);
          } else {
            std::memcpy(dst, x + ((b * g.H + ih) * g.W + iw) * g.C, sizeof(float) * g.C);
          }
        }
      }
    }
  });
}

// dx[b, ih, iw, c] += col[...]: the adjoint of im2col. Parallel over images (rows of one image
// scatter only into that image).
void col2im_add(const float* col, float* dx, const ConvGeom& g, int64_t r0, int64_t r1) {
  const int64_t K = int64_t(g.KH) * g.KW * g.C;
  const int64_t per_img = int64_t(g.OH) * g.OW;
  const int64_t b0 = r0 / per_img, b1 = (r1 - 1) / per_img + 1;
  parallel_for(b1 - b0, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t b = b0 + lo; b < b0 + hi; ++b) {
      const int64_t ra = std::max(r0, b * per_img), rb = std::min(r1, (b + 1) * per_img);
      for (int64_t r = ra; r < rb; ++r) {
        const int ow = r % g.OW, oh = (r / g.OW) % g.OH;
        const float* src = col + (r - r0) * K;
        for (int i = 0; i < g.KH; ++i) {
          const int ih = oh * g.SH + i * g.DH - g.PT;
          for (int j = 0; j < g.KW; ++j, src += g.C) {
            const int iw = ow * g.SW + j * g.DW - g.PL;
            if (ih < 0 || ih >= g.H || iw < 0 || iw >= g.W) continue;
            float* d = dx + ((b * g.H + ih) * g.W + iw) * g.C;
            for (int c = 0; c < g.C; ++c) d[c] += src[c];
          }
        }
      }
    }
  });
}

}  // namespace

void conv2d(const float* x, const float* w, float* y, const ConvGeom& g) {
  const int64_t M = int64_t(g.B) * g.OH * g.OW, K = int64_t(g.KH) * g.KW * g.C;
  if (is_pointwise(g)) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, g.O, g.C, 1.f, x, g.C, w, g.O, 0.f, y, g.O);
    return;
  }
  const int64_t rows = chunk_rows(g, K);
  std::vector<float> col(rows * K);
  for (int64_t r0 = 0; r0 < M; r0 += rows) {
    const int64_t r1 = std::min(M, r0 + rows);
    im2col(x, col.data(), g, r0, r1);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, r1 - r0, g.O, K, 1.f, col.data(), K, w, g.O, 0.f,
                y + r0 * g.O, g.O);
  }
}

void conv2d_backprop_input(const float* dy, const float* w, float* dx, const ConvGeom& g) {
  const int64_t M = int64_t(g.B) * g.OH * g.OW, K = int64_t(g.KH) * g.KW * g.C;
  if (is_pointwise(g)) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, g.C, g.O, 1.f, dy, g.O, w, g.O, 0.f, dx, g.C);
    return;
  }
  std::memset(dx, 0, sizeof(float) * int64_t(g.B) * g.H * g.W * g.C);
  const int64_t rows = chunk_rows(g, K);
  std::vector<float> col(rows * K);
  for (int64_t r0 = 0; r0 < M; r0 += rows) {
    const int64_t r1 = std::min(M, r0 + rows);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, r1 - r0, K, g.O, 1.f, dy + r0 * g.O, g.O, w, g.O, 0.f,
                col.data(), K);
    col2im_add(col.data(), dx, g, r0, r1);
  }
}

void conv2d_backprop_filter(const float* x, const float* dy, float* dw, const ConvGeom& g) {
  const int64_t M = int64_t(g.B) * g.OH * g.OW, K = int64_t(g.KH) * g.KW * g.C;
  if (is_pointwise(g)) {
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, g.C, g.O, M, 1.f, x, g.C, dy, g.O, 0.f, dw, g.O);
    return;
  }
  const int64_t rows = chunk_rows(g, K);
  std::vector<float> col(rows * K);
  for (int64_t r0 = 0; r0 < M; r0 += rows) {
    const int64_t r1 = std::min(M, r0 + rows);
    im2col(x, col.data(), g, r0, r1);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, g.O, r1 - r0, 1.f, col.data(), K, dy + r0 * g.O, g.O,
                r0 == 0 ? 0.f : 1.f, dw, g.O);
  }
}

// ---- depthwise: filter [KH, KW, C, mult], output channel c * mult + q.

void depthwise(const float* x, const float* w, float* y, const ConvGeom& g) {
  const int mult = g.O / g.C;
  parallel_for(int64_t(g.B) * g.OH, 4, [&](int64_t lo, int64_t hi) {
    for (int64_t row = lo; row < hi; ++row) {
      const int64_t b = row / g.OH;
      const int oh = row % g.OH;
      for (int ow = 0; ow < g.OW; ++ow) {
        float* out = y + ((row * g.OW) + ow) * g.O;
        std::memset(out, 0, sizeof(float) * g.O);
        for (int i = 0; i < g.KH; ++i) {
          const int ih = oh * g.SH + i * g.DH - g.PT;
          if (ih < 0 || ih >= g.H) continue;
          for (int j = 0; j < g.KW; ++j) {
            const int iw = ow * g.SW + j * g.DW - g.PL;
            if (iw < 0 || iw >= g.W) continue;
            const float* xp = x + ((b * g.H + ih) * g.W + iw) * g.C;
            const float* wp = w + (int64_t(i) * g.KW + j) * g.O;
            if (mult == 1) {
              for (int c = 0; c < g.C; ++c) out[c] += xp[c] * wp[c];
            } else {
              for (int c = 0; c < g.C; ++c)
                for (int q = 0; q < mult; ++q) out[c * mult + q] += xp[c] * wp[c * mult + q];
            }
          }
        }
      }
    }
  });
}

void depthwise_backprop_input(const float* dy, const float* w, float* dx, const ConvGeom& g) {
  const int mult = g.O / g.C;
  parallel_for(int64_t(g.B) * g.H, 4, [&](int64_t lo, int64_t hi) {
    for (int64_t row = lo; row < hi; ++row) {
      const int64_t b = row / g.H;
      const int ih = row % g.H;
      for (int iw = 0; iw < g.W; ++iw) {
        float* d = dx + (row * g.W + iw) * g.C;
        std::memset(d, 0, sizeof(float) * g.C);
        for (int i = 0; i < g.KH; ++i) {
          const int nh = ih + g.PT - i * g.DH;
          if (nh < 0 || nh % g.SH) continue;
          const int oh = nh / g.SH;
          if (oh >= g.OH) continue;
          for (int j = 0; j < g.KW; ++j) {
            const int nw = iw + g.PL - j * g.DW;
            if (nw < 0 || nw % g.SW) continue;
            const int ow = nw / g.SW;
            if (ow >= g.OW) continue;
            const float* gp = dy + ((b * g.OH + oh) * g.OW + ow) * g.O;
            const float* wp = w + (int64_t(i) * g.KW + j) * g.O;
            if (mult == 1) {
              for (int c = 0; c < g.C; ++c) d[c] += gp[c] * wp[c];
            } else {
              for (int c = 0; c < g.C; ++c) {
                float s = 0.f;
                for (int q = 0; q < mult; ++q) s += gp[c * mult + q] * wp[c * mult + q];
                d[c] += s;
              }
            }
          }
        }
      }
    }
  });
}

void depthwise_backprop_filter(const float* x, const float* dy, float* dw, const ConvGeom& g) {
  const int mult = g.O / g.C;
  const int64_t fsize = int64_t(g.KH) * g.KW * g.O;
  const int64_t rows = int64_t(g.B) * g.OH;
  const int parts = std::max<int>(1, std::min<int64_t>(num_threads(), rows));
  std::vector<float> partial(size_t(parts - 1) * fsize);
  // Each chunk accumulates into its own buffer (chunk 0 straight into dw), summed at the end.
  std::memset(dw, 0, sizeof(float) * fsize);
  parallel_for(parts, 1, [&](int64_t plo, int64_t phi) {
    for (int64_t p = plo; p < phi; ++p) {
      float* acc = p == 0 ? dw : partial.data() + (p - 1) * fsize;
      if (p > 0) std::memset(acc, 0, sizeof(float) * fsize);
      for (int64_t row = rows * p / parts; row < rows * (p + 1) / parts; ++row) {
        const int64_t b = row / g.OH;
        const int oh = row % g.OH;
        for (int ow = 0; ow < g.OW; ++ow) {
          const float* gp = dy + (row * g.OW + ow) * g.O;
          for (int i = 0; i < g.KH; ++i) {
            const int ih = oh * g.SH + i * g.DH - g.PT;
            if (ih < 0 || ih >= g.H) continue;
            for (int j = 0; j < g.KW; ++j) {
              const int iw = ow * g.SW + j * g.DW - g.PL;
              if (iw < 0 || iw >= g.W) continue;
              const float* xp = x + ((b * g.H + ih) * g.W + iw) * g.C;
              float* ap = acc + (int64_t(i) * g.KW + j) * g.O;
              if (mult == 1) {
                for (int c = 0; c < g.C; ++c) ap[c] += xp[c] * gp[c];
              } else {
                for (int c = 0; c < g.C; ++c)
                  for (int q = 0; q < mult; ++q) ap[c * mult + q] += xp[c] * gp[c * mult + q];
              }
            }
          }
        }
      }
    }
  });
  for (int p = 1; p < parts; ++p) {
    const float* src = partial.data() + (p - 1) * fsize;
    for (int64_t k = 0; k < fsize; ++k) dw[k] += src[k];
  }
}

// ---- average pooling

void avg_pool(const float* x, float* y, const ConvGeom& g) {
  parallel_for(int64_t(g.B) * g.OH, 4, [&](int64_t lo, int64_t hi) {
    for (int64_t row = lo; row < hi; ++row) {
      const int64_t b = row / g.OH;
      const int oh = row % g.OH;
      for (int ow = 0; ow < g.OW; ++ow) {
        float* out = y + (row * g.OW + ow) * g.C;
        std::memset(out, 0, sizeof(float) * g.C);
        int count = 0;
        for (int i = 0; i < g.KH; ++i) {
          const int ih = oh * g.SH + i * g.DH - g.PT;
          if (ih < 0 || ih >= g.H) continue;
          for (int j = 0; j < g.KW; ++j) {
            const int iw = ow * g.SW + j * g.DW - g.PL;
            if (iw < 0 || iw >= g.W) continue;
            const float* xp = x + ((b * g.H + ih) * g.W + iw) * g.C;
            for (int c = 0; c < g.C; ++c) out[c] += xp[c];
            ++count;
          }
        }
        const float inv = count ? 1.f / count : 0.f;
        for (int c = 0; c < g.C; ++c) out[c] *= inv;
      }
    }
  });
}

void avg_pool_grad(const float* dy, float* dx, const ConvGeom& g) {
  const float inv = 1.f / (g.KH * g.KW);
  parallel_for(int64_t(g.B) * g.H, 4, [&](int64_t lo, int64_t hi) {
    for (int64_t row = lo; row < hi; ++row) {
      const int64_t b = row / g.H;
      const int ih = row % g.H;
      for (int iw = 0; iw < g.W; ++iw) {
        float* d = dx + (row * g.W + iw) * g.C;
        std::memset(d, 0, sizeof(float) * g.C);
        for (int i = 0; i < g.KH; ++i) {
          const int nh = ih + g.PT - i * g.DH;
          if (nh < 0 || nh % g.SH) continue;
          const int oh = nh / g.SH;
          if (oh >= g.OH) continue;
          for (int j = 0; j < g.KW; ++j) {
            const int nw = iw + g.PL - j * g.DW;
            if (nw < 0 || nw % g.SW) continue;
            const int ow = nw / g.SW;
            if (ow >= g.OW) continue;
            const float* gp = dy + ((b * g.OH + oh) * g.OW + ow) * g.C;
            for (int c = 0; c < g.C; ++c) d[c] += gp[c];
          }
        }
        for (int c = 0; c < g.C; ++c) d[c] *= inv;
      }
    }
  });
}

}  // namespace litv2
