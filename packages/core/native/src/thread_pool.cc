#include "thread_pool.h"

#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

extern "C" void openblas_set_num_threads(int);

namespace litv2 {
namespace {

struct Pool {
  std::vector<std::thread> workers;
  std::mutex mu;
  std::condition_variable cv_start, cv_done;
  const std::function<void(int64_t, int64_t)>* job = nullptr;
  int64_t n = 0;
  int parts = 1;
  uint64_t generation = 0;
  int pending = 0;
  bool stop = false;

  void run_worker(int idx, uint64_t seen) {
    // `seen` starts at the generation current when the worker was created, so a new worker never runs a
    // job that finished before it existed.
    for (;;) {
      const std::function<void(int64_t, int64_t)>* fn;
      int64_t total;
      int p;
      {
        std::unique_lock<std::mutex> lk(mu);
        cv_start.wait(lk, [&] { return stop || generation != seen; });
        if (stop) return;
        seen = generation;
        fn = job;
        total = n;
        p = parts;
      }
      // Worker idx handles chunk idx + 1; chunk 0 runs on the calling thread.
      int chunk = idx + 1;
      if (chunk < p) {
        int64_t lo = total * chunk / p, hi = total * (chunk + 1) / p;
        if (lo < hi) (*fn)(lo, hi);
      }
      {
        std::lock_guard<std::mutex> lk(mu);
        if (--pending == 0) cv_done.notify_one();
      }
    }
  }

  void resize(int count) {
    shutdown();
    stop = false;
    uint64_t gen;
    {
      std::lock_guard<std::mutex> lk(mu);
      gen = generation;
    }
    for (int i = 0; i < count; ++i) workers.emplace_back([this, i, gen] { run_worker(i, gen); });
  }

  void shutdown() {
    {
      std::lock_guard<std::mutex> lk(mu);
      stop = true;
    }
    cv_start.notify_all();
    for (auto& t : workers) t.join();
    workers.clear();
  }

  ~Pool() { shutdown(); }
};

Pool& pool() {
  static Pool p;
  return p;
}
int g_threads = 1;

}  // namespace

void blas_threads(int n) { openblas_set_num_threads(n < 1 ? 1 : n); }

void set_num_threads(int n) {
  if (n < 1) n = 1;
  if (n == g_threads && int(pool().workers.size()) == n - 1) {
    blas_threads(n);
    return;
  }
  g_threads = n;
  pool().resize(n - 1);
  blas_threads(n);
}

int num_threads() { return g_threads; }

void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  Pool& p = pool();
  int parts = g_threads;
  if (parts <= 1 || n < grain * 2 || p.workers.empty()) {
    fn(0, n);
    return;
  }
  if (parts > n) parts = static_cast<int>(n);
  {
    std::lock_guard<std::mutex> lk(p.mu);
    p.job = &fn;
    p.n = n;
    p.parts = parts;
    p.pending = static_cast<int>(p.workers.size());
    ++p.generation;
  }
  p.cv_start.notify_all();
  fn(0, n / parts);
  std::unique_lock<std::mutex> lk(p.mu);
  p.cv_done.wait(lk, [&] { return p.pending == 0; });
}

}  // namespace litv2
