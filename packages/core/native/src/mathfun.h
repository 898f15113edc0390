// Vectorisable float exp / erf shared by the elementwise and fused kernels (inline so loops calling them
// auto-vectorise).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace litv2 {

// exp written so that GCC vectorises loops calling it: range reduction x = n ln2 + r, |r| <= ln2/2,
// a degree-6 polynomial for e^r (Cephes' expf coefficients, ~1 ulp) and 2^n built in the exponent bits.
inline float fast_exp(float x) {
  x = std::min(std::max(x, -87.3f), 88.7f);
  const float n = std::nearbyint(x * 1.44269504088896341f);
  const float r = (x - n * 0.693359375f) + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

// erf: Taylor series near 0 (keeps relative accuracy for tiny x) and the Abramowitz-Stegun 7.1.26
// rational form elsewhere (absolute error <= 1.5e-7, the formula tfjs' cpu kernel uses).
inline float fast_erf(float x) {
  const float ax = std::fabs(x);
  const float x2 = x * x;
  // 2/sqrt(pi) * (x - x^3/3 + x^5/10 - x^7/42 + x^9/216 - x^11/1320)
  float s = -1.f / 1320.f;
  s = s * x2 + 1.f / 216.f;
  s = s * x2 - 1.f / 42.f;
  s = s * x2 + 1.f / 10.f;
  s = s * x2 - 1.f / 3.f;
  s = s * x2 + 1.f;
  const float small = 1.1283791670955126f * x * s;
  const float t = 1.f / (1.f + 0.3275911f * ax);
  float q = 1.061405429f;
  q = q * t - 1.453152027f;
  q = q * t + 1.421413741f;
  q = q * t - 0.284496736f;
  q = q * t + 0.254829592f;
  float big = 1.f - q * t * fast_exp(-x2);
  big = x < 0.f ? -big : big;
  return ax < 0.25f ? small : big;
}

}  // namespace litv2
