// Small persistent thread pool: parallel_for splits [0, n) into one contiguous chunk per thread.
#pragma once
#include <cstdint>
#include <functional>

namespace litv2 {

void set_num_threads(int n);
int num_threads();

// Runs fn(lo, hi) over disjoint chunks covering [0, n). Runs inline when one thread is configured
// or n is below `grain` (work too small to pay for a wake-up).
void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

// OpenBLAS thread count for the next BLAS calls (kept in step with set_num_threads, lowered to 1
// while our own workers each call BLAS).
void blas_threads(int n);

}  // namespace litv2
