// Declarations of the float32 kernels behind the N-API bindings. All tensors are dense row-major.
#pragma once
#include <cstdint>

namespace litv2 {

// ---- gemm.cc
// C[i] = op(A + aOff[i]) x op(B + bOff[i]) for i < batch; C[i] is M x N contiguous.
void batch_matmul(const float* a, const float* b, float* c, int64_t batch, int M, int N, int K, bool transA,
                  bool transB, const int64_t* aOff, const int64_t* bOff);
// Op codes shared with the TypeScript side (src/backend/native/op_codes.ts): the add-on exports them as
// `opCodes` (addon.cc) and the TS side refuses to use a build whose codes differ from its table.
enum Act { ACT_LINEAR = 0, ACT_RELU = 1, ACT_RELU6 = 2, ACT_SIGMOID = 3, ACT_LEAKYRELU = 4, ACT_ELU = 5 };
// y[r, c] = act(y[r, c] + bias[c]) over rows x cols (bias may be null).
void bias_act(float* y, int64_t rows, int64_t cols, const float* bias, int act, float alpha);

// ---- conv.cc (NHWC input, HWIO filter)
// `conv(kind, ...)` of addon.cc.
enum ConvKind {
  K_CONV = 0, K_CONV_BACK_INPUT, K_CONV_BACK_FILTER, K_DW, K_DW_BACK_INPUT, K_DW_BACK_FILTER, K_AVG_POOL, K_AVG_POOL_GRAD
};
struct ConvGeom {
  int B, H, W, C;        // input
  int OH, OW, O;         // output (O = out channels; depthwise: C * multiplier)
  int KH, KW, SH, SW, DH, DW, PT, PL;
};
void conv2d(const float* x, const float* w, float* y, const ConvGeom& g);
void conv2d_backprop_input(const float* dy, const float* w, float* dx, const ConvGeom& g);
void conv2d_backprop_filter(const float* x, const float* dy, float* dw, const ConvGeom& g);
void depthwise(const float* x, const float* w, float* y, const ConvGeom& g);
void depthwise_backprop_input(const float* dy, const float* w, float* dx, const ConvGeom& g);
void depthwise_backprop_filter(const float* x, const float* dy, float* dw, const ConvGeom& g);
// Average pooling (O == C); divisor = number of in-bounds taps, as tfjs' cpu kernel.
void avg_pool(const float* x, float* y, const ConvGeom& g);
// Gradient with tfjs' constant divisor 1 / (KH * KW).
void avg_pool_grad(const float* dy, float* dx, const ConvGeom& g);

// ---- eltwise.cc
enum Unary {
  U_NEG = 0, U_EXP, U_LOG, U_SQRT, U_RSQRT, U_SQUARE, U_RELU, U_RELU6, U_SIGMOID, U_TANH, U_ABS, U_RECIPROCAL,
  U_ERF, U_LEAKYRELU, U_ELU, U_FLOOR, U_STEP, U_SIGN, U_LOG1P, U_EXPM1, U_CEIL, U_ROUND
};
void unary(int op, const float* x, float* y, int64_t n, float alpha);
enum Binary { B_ADD = 0, B_SUB, B_MUL, B_DIV, B_SQDIFF, B_MAX, B_MIN, B_POW };
// Broadcasting binary op over an already collapsed output shape (rank <= 8); strides are element
// strides of a and b per output dimension (0 where broadcast).
void binary(int op, const float* a, const float* b, float* y, int rank, const int64_t* shape, const int64_t* sa,
            const int64_t* sb);
void add_n(const float* const* xs, int k, float* y, int64_t n);
void softmax(const float* x, float* y, int64_t rows, int64_t cols);
enum Reduce { R_SUM = 0, R_MEAN, R_MAX, R_MIN, R_PROD };
// x viewed as [outer, R, inner] -> y [outer, inner].
void reduce(int op, const float* x, float* y, int64_t outer, int64_t R, int64_t inner);
// EluGrad: dx = dy * (y > 0 ? 1 : y + 1)
void elu_grad(const float* dy, const float* y, float* dx, int64_t n);

// ---- fused.cc
void gelu(const float* x, float* y, int64_t n);
void gelu_grad(const float* dy, const float* x, float* dx, int64_t n);
// LayerNorm over the last axis of [rows, cols]; saves per-row mean and 1/sqrt(var + eps).
void layer_norm(const float* x, const float* gamma, const float* beta, float* y, float* mean, float* rstd, int64_t rows,
                int64_t cols, float eps);
void layer_norm_grad(const float* dy, const float* x, const float* gamma, const float* mean, const float* rstd, float* dx,
                     float* dgamma, float* dbeta, int64_t rows, int64_t cols);

// ---- layout.cc (element size in bytes given by `es`, 4 for float32 / int32)
// Generic strided copy: y (contiguous, `shape`) [i] = x[sum idx_d * sx_d].
void strided_copy(const void* x, void* y, int es, int rank, const int64_t* shape, const int64_t* sx);
void pad(const void* x, void* y, int es, int rank, const int64_t* xshape, const int64_t* before,
         const int64_t* yshape, uint32_t fillBits);
// y[o, :] = concat_i x_i[o, :] with inner widths w_i.
void concat(const void* const* xs, const int64_t* widths, int k, void* y, int es, int64_t outer);
// y[o, j, :] = x[o, idx[j], :]; returns the first bad index position or -1.
int64_t gather(const void* x, const int32_t* idx, int64_t nIdx, void* y, int es, int64_t outer, int64_t axisSize,
               int64_t inner);
// y[s, :] = sum_{n: ids[n] == s} x[n, :]
void segment_sum(const float* x, const int32_t* ids, float* y, int64_t n, int64_t inner, int64_t numSegments);

}  // namespace litv2
