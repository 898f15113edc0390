// N-API surface of the native kernels. Shape logic lives in TypeScript (packages/core/src/backend/native/*.ts);
// here every entry point checks that the buffers it writes or reads are large enough, then runs a kernel.
#include <napi.h>

#include <climits>
#include <initializer_list>
#include <utility>
#include <cstdlib>
#include <malloc.h>
#include <string>
#include <vector>

#include "kernels.h"
#include "thread_pool.h"

extern "C" char* openblas_get_config(void);

namespace {

using namespace litv2;

struct Args {
  const Napi::CallbackInfo& info;
  bool ok = true;
  explicit Args(const Napi::CallbackInfo& i) : info(i) {}
  Napi::Env env() const { return info.Env(); }
  void fail(const std::string& msg) {
    if (ok) Napi::TypeError::New(info.Env(), "litv2_native: " + msg).ThrowAsJavaScriptException();
    ok = false;
  }
  Napi::TypedArray ta(size_t i, size_t minBytes, const char* what) {
    if (i >= info.Length() || !info[i].IsTypedArray()) {
      fail(std::string(what) + " must be a typed array");
      return Napi::TypedArray();
    }
    Napi::TypedArray t = info[i].As<Napi::TypedArray>();
    if (t.ByteLength() < minBytes) fail(std::string(what) + " is too small");
    return t;
  }
  template <typename T>
  T* ptr(size_t i, int64_t minElems, const char* what) {
    Napi::TypedArray t = ta(i, size_t(minElems) * sizeof(T), what);
    if (!ok) return nullptr;
    return reinterpret_cast<T*>(static_cast<char*>(t.ArrayBuffer().Data()) + t.ByteOffset());
  }
  void* raw(size_t i, int64_t minBytes, const char* what, int* es = nullptr) {
    Napi::TypedArray t = ta(i, size_t(minBytes), what);
    if (!ok) return nullptr;
    if (es) *es = int(t.ElementSize());
    return static_cast<char*>(t.ArrayBuffer().Data()) + t.ByteOffset();
  }
  int64_t num(size_t i) {
    if (i >= info.Length() || !info[i].IsNumber()) {
      fail("argument " + std::to_string(i) + " must be a number");
      return 0;
    }
    return static_cast<int64_t>(info[i].As<Napi::Number>().DoubleValue());
  }
  double dbl(size_t i) {
    if (i >= info.Length() || !info[i].IsNumber()) {
      fail("argument " + std::to_string(i) + " must be a number");
      return 0;
    }
    return info[i].As<Napi::Number>().DoubleValue();
  }
  bool flag(size_t i) { return i < info.Length() && info[i].ToBoolean().Value(); }
  // Float64Array of integers -> int64 vector.
  std::vector<int64_t> ints(size_t i, const char* what) {
    std::vector<int64_t> v;
    if (i >= info.Length() || !info[i].IsTypedArray()) {
      fail(std::string(what) + " must be a Float64Array");
      return v;
    }
    Napi::TypedArray t = info[i].As<Napi::TypedArray>();
    if (t.TypedArrayType() != napi_float64_array) {
      fail(std::string(what) + " must be a Float64Array");
      return v;
    }
    const double* d = t.As<Napi::Float64Array>().Data();
    v.assign(d, d + t.ElementLength());
    return v;
  }
};

int64_t prod(const std::vector<int64_t>& v) {
  int64_t p = 1;
  for (int64_t x : v) p *= x;
  return p;
}

Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  Args a(info);
  int64_t n = a.num(0);
  if (a.ok) set_num_threads(int(n));
  return info.Env().Undefined();
}

Napi::Value NumThreads(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), num_threads()); }

Napi::Value BlasConfig(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), openblas_get_config());
}

// batchMatMul(a, b, c, batch, M, N, K, transA, transB, aOff: Float64Array, bOff: Float64Array)
Napi::Value BatchMatMul(const Napi::CallbackInfo& info) {
  Args a(info);
  const int64_t batch = a.num(3), M = a.num(4), N = a.num(5), K = a.num(6);
  const bool tA = a.flag(7), tB = a.flag(8);
  std::vector<int64_t> ao = a.ints(9, "aOff"), bo = a.ints(10, "bOff");
  if (!a.ok) return info.Env().Undefined();
  if (int64_t(ao.size()) != batch || int64_t(bo.size()) != batch) {
    a.fail("batch offsets length mismatch");
    return info.Env().Undefined();
  }
  int64_t amax = 0, bmax = 0;
  for (int64_t i = 0; i < batch; ++i) {
    amax = std::max(amax, ao[i]);
    bmax = std::max(bmax, bo[i]);
  }
  const float* A = a.ptr<float>(0, amax + M * K, "a");
  const float* B = a.ptr<float>(1, bmax + K * N, "b");
  float* C = a.ptr<float>(2, batch * M * N, "c");
  if (a.ok) batch_matmul(A, B, C, batch, int(M), int(N), int(K), tA, tB, ao.data(), bo.data());
  return info.Env().Undefined();
}

// biasAct(y, rows, cols, bias | null, act, alpha)
Napi::Value BiasAct(const Napi::CallbackInfo& info) {
  Args a(info);
  const int64_t rows = a.num(1), cols = a.num(2);
  float* y = a.ptr<float>(0, rows * cols, "y");
  const float* bias = info[3].IsTypedArray() ? a.ptr<float>(3, cols, "bias") : nullptr;
  const int act = int(a.num(4));
  const float alpha = float(a.dbl(5));
  if (a.ok) bias_act(y, rows, cols, bias, act, alpha);
  return info.Env().Undefined();
}

// conv(kind, x, w, y, geom: Float64Array[15] = B,H,W,C,OH,OW,O,KH,KW,SH,SW,DH,DW,PT,PL)
// kind 0 conv2d(x, w -> y), 1 backprop input (dy, w -> dx), 2 backprop filter (x, dy -> dw),
// 3-5 the same for depthwise, 6 avg pool (x -> y), 7 avg pool grad (dy -> dx).
Napi::Value Conv(const Napi::CallbackInfo& info) {
  Args a(info);
  const int kind = int(a.num(0));
  std::vector<int64_t> v = a.ints(4, "geom");
  if (!a.ok) return info.Env().Undefined();
  if (v.size() != 15) {
    a.fail("geom must have 15 entries");
    return info.Env().Undefined();
  }
  ConvGeom g{int(v[0]), int(v[1]), int(v[2]), int(v[3]), int(v[4]),  int(v[5]),  int(v[6]), int(v[7]),
             int(v[8]), int(v[9]), int(v[10]), int(v[11]), int(v[12]), int(v[13]), int(v[14])};
  if (g.SH < 1 || g.SW < 1 || g.DH < 1 || g.DW < 1) {
    a.fail("strides and dilations must be >= 1");
    return info.Env().Undefined();
  }
  const int64_t xs = int64_t(g.B) * g.H * g.W * g.C, ys = int64_t(g.B) * g.OH * g.OW * g.O;
  const int64_t ws = kind <= K_CONV_BACK_FILTER ? int64_t(g.KH) * g.KW * g.C * g.O : int64_t(g.KH) * g.KW * g.O;
  switch (kind) {
    case K_CONV:
    case K_DW: {
      const float* x = a.ptr<float>(1, xs, "x");
      const float* w = a.ptr<float>(2, ws, "filter");
      float* y = a.ptr<float>(3, ys, "y");
      if (a.ok) (kind == K_CONV ? conv2d : depthwise)(x, w, y, g);
      break;
    }
    case K_CONV_BACK_INPUT:
    case K_DW_BACK_INPUT: {
      const float* dy = a.ptr<float>(1, ys, "dy");
      const float* w = a.ptr<float>(2, ws, "filter");
      float* dx = a.ptr<float>(3, xs, "dx");
      if (a.ok) (kind == K_CONV_BACK_INPUT ? conv2d_backprop_input : depthwise_backprop_input)(dy, w, dx, g);
      break;
    }
    case K_CONV_BACK_FILTER:
    case K_DW_BACK_FILTER: {
      const float* x = a.ptr<float>(1, xs, "x");
      const float* dy = a.ptr<float>(2, ys, "dy");
      float* dw = a.ptr<float>(3, ws, "dw");
      if (a.ok) (kind == K_CONV_BACK_FILTER ? conv2d_backprop_filter : depthwise_backprop_filter)(x, dy, dw, g);
      break;
    }
    case K_AVG_POOL: {
      const float* x = a.ptr<float>(1, xs, "x");
      float* y = a.ptr<float>(3, ys, "y");
      if (a.ok) avg_pool(x, y, g);
      break;
    }
    case K_AVG_POOL_GRAD: {
      const float* dy = a.ptr<float>(1, ys, "dy");
      float* dx = a.ptr<float>(3, xs, "dx");
      if (a.ok) avg_pool_grad(dy, dx, g);
      break;
    }
    default:
      a.fail("unknown conv kind");
  }
  return info.Env().Undefined();
}

// unary(op, x, y, alpha)
Napi::Value UnaryOp(const Napi::CallbackInfo& info) {
  Args a(info);
  const int op = int(a.num(0));
  Napi::TypedArray tx = a.ta(1, 0, "x");
  if (!a.ok) return info.Env().Undefined();
  const int64_t n = tx.ElementLength();
  const float* x = a.ptr<float>(1, n, "x");
  float* y = a.ptr<float>(2, n, "y");
  const float alpha = float(a.dbl(3));
  if (a.ok) unary(op, x, y, n, alpha);
  return info.Env().Undefined();
}

// binary(op, a, b, y, shape, sa, sb) with Float64Array shape/strides (collapsed, rank 1..8)
Napi::Value BinaryOp(const Napi::CallbackInfo& info) {
  Args a(info);
  const int op = int(a.num(0));
  std::vector<int64_t> shape = a.ints(4, "shape"), sa = a.ints(5, "sa"), sb = a.ints(6, "sb");
  if (!a.ok) return info.Env().Undefined();
  const int rank = int(shape.size());
  if (rank < 1 || rank > 8 || int(sa.size()) != rank || int(sb.size()) != rank) {
    a.fail("binary: rank must be 1..8 with matching strides");
    return info.Env().Undefined();
  }
  int64_t amax = 0, bmax = 0;
  for (int d = 0; d < rank; ++d) {
    amax += (shape[d] - 1) * sa[d];
    bmax += (shape[d] - 1) * sb[d];
  }
  const float* A = a.ptr<float>(1, amax + 1, "a");
  const float* B = a.ptr<float>(2, bmax + 1, "b");
  float* Y = a.ptr<float>(3, prod(shape), "y");
  if (a.ok && prod(shape) > 0) binary(op, A, B, Y, rank, shape.data(), sa.data(), sb.data());
  return info.Env().Undefined();
}

// addN([x0, x1, ...], y)
Napi::Value AddN(const Napi::CallbackInfo& info) {
  Args a(info);
  if (!info[0].IsArray()) {
    a.fail("addN expects an array");
    return info.Env().Undefined();
  }
  Napi::Array arr = info[0].As<Napi::Array>();
  Napi::TypedArray ty = a.ta(1, 0, "y");
  if (!a.ok) return info.Env().Undefined();
  const int64_t n = ty.ElementLength();
  std::vector<const float*> xs;
  for (uint32_t i = 0; i < arr.Length(); ++i) {
    Napi::Value v = arr.Get(i);
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().ByteLength() < size_t(n) * 4) {
      a.fail("addN input is not a large enough typed array");
      return info.Env().Undefined();
    }
    Napi::TypedArray t = v.As<Napi::TypedArray>();
    xs.push_back(reinterpret_cast<const float*>(static_cast<char*>(t.ArrayBuffer().Data()) + t.ByteOffset()));
  }
  if (xs.empty()) {
    a.fail("addN needs at least one input");
    return info.Env().Undefined();
  }
  add_n(xs.data(), int(xs.size()), a.ptr<float>(1, n, "y"), n);
  return info.Env().Undefined();
}

// softmax(x, y, rows, cols)
Napi::Value Softmax(const Napi::CallbackInfo& info) {
  Args a(info);
  const int64_t rows = a.num(2), cols = a.num(3);
  const float* x = a.ptr<float>(0, rows * cols, "x");
  float* y = a.ptr<float>(1, rows * cols, "y");
  if (a.ok) softmax(x, y, rows, cols);
  return info.Env().Undefined();
}

// reduce(op, x, y, outer, R, inner)
Napi::Value ReduceOp(const Napi::CallbackInfo& info) {
  Args a(info);
  const int op = int(a.num(0));
  const int64_t outer = a.num(3), R = a.num(4), inner = a.num(5);
  const float* x = a.ptr<float>(1, outer * R * inner, "x");
  float* y = a.ptr<float>(2, outer * inner, "y");
  if (a.ok) reduce(op, x, y, outer, R, inner);
  return info.Env().Undefined();
}

// eluGrad(dy, y, dx)
Napi::Value EluGrad(const Napi::CallbackInfo& info) {
  Args a(info);
  Napi::TypedArray t = a.ta(0, 0, "dy");
  if (!a.ok) return info.Env().Undefined();
  const int64_t n = t.ElementLength();
  const float* dy = a.ptr<float>(0, n, "dy");
  const float* y = a.ptr<float>(1, n, "y");
  float* dx = a.ptr<float>(2, n, "dx");
  if (a.ok) elu_grad(dy, y, dx, n);
  return info.Env().Undefined();
}

// stridedCopy(x, xOffset, y, shape, sx): y[i] = x[xOffset + sum idx_d sx_d], elements of 1 or 4 bytes
Napi::Value StridedCopy(const Napi::CallbackInfo& info) {
  Args a(info);
  const int64_t off = a.num(1);
  std::vector<int64_t> shape = a.ints(3, "shape"), sx = a.ints(4, "sx");
  if (!a.ok) return info.Env().Undefined();
  const int rank = int(shape.size());
  if (rank < 1 || rank > 8 || int(sx.size()) != rank) {
    a.fail("stridedCopy: rank must be 1..8");
    return info.Env().Undefined();
  }
  int64_t xmax = off;
  for (int d = 0; d < rank; ++d) xmax += (shape[d] - 1) * sx[d];
  int es = 0, es2 = 0;
  char* x = static_cast<char*>(a.raw(0, 0, "x", &es));
  if (!a.ok) return info.Env().Undefined();
  a.raw(0, (xmax + 1) * es, "x");
  void* y = a.raw(2, prod(shape) * es, "y", &es2);
  if (a.ok && es != es2) a.fail("stridedCopy: element sizes differ");
  if (a.ok && es != 4 && es != 1) a.fail("stridedCopy: unsupported element size");
  if (a.ok && prod(shape) > 0) strided_copy(x + off * es, y, es, rank, shape.data(), sx.data());
  return info.Env().Undefined();
}

// pad(x, y, xshape, before, yshape, fillValue, isInt)
Napi::Value Pad(const Napi::CallbackInfo& info) {
  Args a(info);
  std::vector<int64_t> xs = a.ints(2, "xshape"), bf = a.ints(3, "before"), ys = a.ints(4, "yshape");
  const double fill = a.dbl(5);
  const bool isInt = a.flag(6);
  if (!a.ok) return info.Env().Undefined();
  const int rank = int(xs.size());
  if (rank < 1 || rank > 8 || int(bf.size()) != rank || int(ys.size()) != rank) {
    a.fail("pad: rank must be 1..8");
    return info.Env().Undefined();
  }
  for (int d = 0; d < rank; ++d)
    if (bf[d] < 0 || bf[d] + xs[d] > ys[d]) {
      a.fail("pad: paddings out of range");
      return info.Env().Undefined();
    }
  const void* x = a.raw(0, prod(xs) * 4, "x");
  void* y = a.raw(1, prod(ys) * 4, "y");
  uint32_t bits;
  if (isInt) {
    int32_t v = int32_t(fill);
    std::memcpy(&bits, &v, 4);
  } else {
    float v = float(fill);
    std::memcpy(&bits, &v, 4);
  }
  if (a.ok) {
    if (prod(xs) == 0) {
      uint32_t* yy = static_cast<uint32_t*>(y);
      std::fill(yy, yy + prod(ys), bits);
    } else {
      pad(x, y, 4, rank, xs.data(), bf.data(), ys.data(), bits);
    }
  }
  return info.Env().Undefined();
}

// concat([x0, ...], widths: Float64Array, y, outer)
Napi::Value Concat(const Napi::CallbackInfo& info) {
  Args a(info);
  std::vector<int64_t> widths = a.ints(1, "widths");
  const int64_t outer = a.num(3);
  if (!a.ok || !info[0].IsArray()) {
    a.fail("concat expects an array of inputs");
    return info.Env().Undefined();
  }
  Napi::Array arr = info[0].As<Napi::Array>();
  if (arr.Length() != widths.size()) {
    a.fail("concat: widths length mismatch");
    return info.Env().Undefined();
  }
  int es = 0;
  int64_t total = 0;
  std::vector<const void*> xs;
  for (uint32_t i = 0; i < arr.Length(); ++i) {
    Napi::Value v = arr.Get(i);
    if (!v.IsTypedArray()) {
      a.fail("concat input is not a typed array");
      return info.Env().Undefined();
    }
    Napi::TypedArray t = v.As<Napi::TypedArray>();
    if (i == 0) es = int(t.ElementSize());
    if (int(t.ElementSize()) != es || t.ByteLength() < size_t(widths[i] * outer * es)) {
      a.fail("concat input has the wrong size or element type");
      return info.Env().Undefined();
    }
    xs.push_back(static_cast<char*>(t.ArrayBuffer().Data()) + t.ByteOffset());
    total += widths[i];
  }
  void* y = a.raw(2, total * outer * es, "y");
  if (a.ok) concat(xs.data(), widths.data(), int(xs.size()), y, es, outer);
  return info.Env().Undefined();
}

// gather(x, idx: Int32Array, y, outer, axisSize, inner) -> position of the first bad index or -1
Napi::Value Gather(const Napi::CallbackInfo& info) {
  Args a(info);
  const int64_t outer = a.num(3), axisSize = a.num(4), inner = a.num(5);
  Napi::TypedArray ti = a.ta(1, 0, "indices");
  if (!a.ok) return info.Env().Undefined();
  const int64_t nIdx = ti.ElementLength();
  int es = 0;
  const void* x = a.raw(0, 0, "x", &es);
  if (!a.ok) return info.Env().Undefined();
  a.raw(0, outer * axisSize * inner * es, "x");
  const int32_t* idx = a.ptr<int32_t>(1, nIdx, "indices");
  void* y = a.raw(2, outer * nIdx * inner * es, "y");
  if (!a.ok) return info.Env().Undefined();
  return Napi::Number::New(info.Env(), double(gather(x, idx, nIdx, y, es, outer, axisSize, inner)));
}

// segmentSum(x, ids: Int32Array, y, n, inner, numSegments)
Napi::Value SegmentSum(const Napi::CallbackInfo& info) {
  Args a(info);
  const int64_t n = a.num(3), inner = a.num(4), segs = a.num(5);
  const float* x = a.ptr<float>(0, n * inner, "x");
  const int32_t* ids = a.ptr<int32_t>(1, n, "segmentIds");
  float* y = a.ptr<float>(2, segs * inner, "y");
  if (a.ok) segment_sum(x, ids, y, n, inner, segs);
  return info.Env().Undefined();
}

// Large tensors otherwise come from fresh mmaps that are unmapped on free: in this VM each re-fault costs
// ~1 us per page (a 38 MB tensor: 20-40 ms, against 3 ms of arithmetic). Keeping freed memory in the heap
// makes later allocations reuse already-mapped pages. LITV2_NATIVE_MALLOC=default keeps glibc's defaults.
bool tune_malloc() {
  const char* m = std::getenv("LITV2_NATIVE_MALLOC");
  if (m && std::string(m) == "default") return false;
  mallopt(M_MMAP_MAX, 0);
  mallopt(M_TRIM_THRESHOLD, INT_MAX);
  return true;
}

// gelu(x, y) / geluGrad(dy, x, dx)
Napi::Value Gelu(const Napi::CallbackInfo& info) {
  Args a(info);
  Napi::TypedArray t = a.ta(0, 0, "x");
  if (!a.ok) return info.Env().Undefined();
  const int64_t n = t.ElementLength();
  const float* x = a.ptr<float>(0, n, "x");
  float* y = a.ptr<float>(1, n, "y");
  if (a.ok) gelu(x, y, n);
  return info.Env().Undefined();
}
Napi::Value GeluGrad(const Napi::CallbackInfo& info) {
  Args a(info);
  Napi::TypedArray t = a.ta(0, 0, "dy");
  if (!a.ok) return info.Env().Undefined();
  const int64_t n = t.ElementLength();
  const float* dy = a.ptr<float>(0, n, "dy");
  const float* x = a.ptr<float>(1, n, "x");
  float* dx = a.ptr<float>(2, n, "dx");
  if (a.ok) gelu_grad(dy, x, dx, n);
  return info.Env().Undefined();
}
// layerNorm(x, gamma, beta, y, mean, rstd, rows, cols, eps)
Napi::Value LayerNorm(const Napi::CallbackInfo& info) {
  Args a(info);
  const int64_t rows = a.num(6), cols = a.num(7);
  const float eps = float(a.dbl(8));
  const float* x = a.ptr<float>(0, rows * cols, "x");
  const float* g = a.ptr<float>(1, cols, "gamma");
  const float* b = a.ptr<float>(2, cols, "beta");
  float* y = a.ptr<float>(3, rows * cols, "y");
  float* m = a.ptr<float>(4, rows, "mean");
  float* r = a.ptr<float>(5, rows, "rstd");
  if (a.ok) layer_norm(x, g, b, y, m, r, rows, cols, eps);
  return info.Env().Undefined();
}
// layerNormGrad(dy, x, gamma, mean, rstd, dx, dgamma, dbeta, rows, cols)
Napi::Value LayerNormGrad(const Napi::CallbackInfo& info) {
  Args a(info);
  const int64_t rows = a.num(8), cols = a.num(9);
  const float* dy = a.ptr<float>(0, rows * cols, "dy");
  const float* x = a.ptr<float>(1, rows * cols, "x");
  const float* g = a.ptr<float>(2, cols, "gamma");
  const float* m = a.ptr<float>(3, rows, "mean");
  const float* r = a.ptr<float>(4, rows, "rstd");
  // Any of dx / dgamma / dbeta may be null (only the requested gradients are computed).
  float* dx = info[5].IsTypedArray() ? a.ptr<float>(5, rows * cols, "dx") : nullptr;
  float* dg = info[6].IsTypedArray() ? a.ptr<float>(6, cols, "dgamma") : nullptr;
  float* db = info[7].IsTypedArray() ? a.ptr<float>(7, cols, "dbeta") : nullptr;
  if (a.ok) layer_norm_grad(dy, x, g, m, r, dx, dg, db, rows, cols);
  return info.Env().Undefined();
}

// The op-code table of kernels.h by name, checked at load against src/backend/native/op_codes.ts.
static Napi::Object OpCodes(Napi::Env env) {
  auto group = [&](std::initializer_list<std::pair<const char*, int>> codes) {
    Napi::Object o = Napi::Object::New(env);
    for (const auto& [name, code] : codes) o.Set(name, Napi::Number::New(env, code));
    return o;
  };
  Napi::Object t = Napi::Object::New(env);
  t.Set("act", group({{"linear", ACT_LINEAR}, {"relu", ACT_RELU}, {"relu6", ACT_RELU6}, {"sigmoid", ACT_SIGMOID},
                      {"leakyrelu", ACT_LEAKYRELU}, {"elu", ACT_ELU}}));
  t.Set("conv", group({{"conv", K_CONV}, {"convBackInput", K_CONV_BACK_INPUT}, {"convBackFilter", K_CONV_BACK_FILTER},
                       {"dw", K_DW}, {"dwBackInput", K_DW_BACK_INPUT}, {"dwBackFilter", K_DW_BACK_FILTER},
                       {"avgPool", K_AVG_POOL}, {"avgPoolGrad", K_AVG_POOL_GRAD}}));
  t.Set("unary", group({{"neg", U_NEG}, {"exp", U_EXP}, {"log", U_LOG}, {"sqrt", U_SQRT}, {"rsqrt", U_RSQRT},
                        {"square", U_SQUARE}, {"relu", U_RELU}, {"relu6", U_RELU6}, {"sigmoid", U_SIGMOID},
                        {"tanh", U_TANH}, {"abs", U_ABS}, {"reciprocal", U_RECIPROCAL}, {"erf", U_ERF},
                        {"leakyrelu", U_LEAKYRELU}, {"elu", U_ELU}, {"floor", U_FLOOR}, {"step", U_STEP},
                        {"sign", U_SIGN}, {"log1p", U_LOG1P}, {"expm1", U_EXPM1}, {"ceil", U_CEIL}, {"round", U_ROUND}}));
  t.Set("binary", group({{"add", B_ADD}, {"sub", B_SUB}, {"mul", B_MUL}, {"div", B_DIV}, {"sqdiff", B_SQDIFF},
                         {"max", B_MAX}, {"min", B_MIN}, {"pow", B_POW}}));
  t.Set("reduce", group({{"sum", R_SUM}, {"mean", R_MEAN}, {"max", R_MAX}, {"min", R_MIN}, {"prod", R_PROD}}));
  return t;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  const bool tuned = tune_malloc();
  exports.Set("mallocTuned", Napi::Boolean::New(env, tuned));
  exports.Set("opCodes", OpCodes(env));
  const char* t = std::getenv("LITV2_NUM_THREADS");
  set_num_threads(t && std::atoi(t) > 0 ? std::atoi(t) : 1);
  exports.Set("setNumThreads", Napi::Function::New(env, SetNumThreads));
  exports.Set("numThreads", Napi::Function::New(env, NumThreads));
  exports.Set("blasConfig", Napi::Function::New(env, BlasConfig));
  exports.Set("batchMatMul", Napi::Function::New(env, BatchMatMul));
  exports.Set("biasAct", Napi::Function::New(env, BiasAct));
  exports.Set("conv", Napi::Function::New(env, Conv));
  exports.Set("unary", Napi::Function::New(env, UnaryOp));
  exports.Set("binary", Napi::Function::New(env, BinaryOp));
  exports.Set("addN", Napi::Function::New(env, AddN));
  exports.Set("softmax", Napi::Function::New(env, Softmax));
  exports.Set("reduce", Napi::Function::New(env, ReduceOp));
  exports.Set("eluGrad", Napi::Function::New(env, EluGrad));
  exports.Set("stridedCopy", Napi::Function::New(env, StridedCopy));
  exports.Set("pad", Napi::Function::New(env, Pad));
  exports.Set("concat", Napi::Function::New(env, Concat));
  exports.Set("gather", Napi::Function::New(env, Gather));
  exports.Set("segmentSum", Napi::Function::New(env, SegmentSum));
  exports.Set("gelu", Napi::Function::New(env, Gelu));
  exports.Set("geluGrad", Napi::Function::New(env, GeluGrad));
  exports.Set("layerNorm", Napi::Function::New(env, LayerNorm));
  exports.Set("layerNormGrad", Napi::Function::New(env, LayerNormGrad));
  return exports;
}

}  // namespace

NODE_API_MODULE(litv2_native, Init)
