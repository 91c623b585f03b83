#include "thread-pool.h"

#include <chrono>
#include <cstdlib>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define ROAD_PAUSE() _mm_pause()
#else
#define ROAD_PAUSE() std::this_thread::yield()
#endif

namespace road {

namespace {
// After a job, workers poll for the next one this long before sleeping: the kernels of a training step come in
// quick succession with JS work between them (often longer than 50 µs), and a condition-variable wake-up costs tens
// of microseconds on a VM. ROAD_NATIVE_SPIN_US overrides (0 = sleep at once). Measured on the road-lite step
// (2-core VM, 20 steps each, alternating): 50 µs → medians 40.9 / 39.4 ms; 1,000 µs → 40.9 / 44.7; 3,000 µs → 43.0:
// no gain from spinning longer, so the default stays 50 µs.
std::chrono::microseconds spin_time() {
  static const std::chrono::microseconds value = [] {
    const char* env = std::getenv("ROAD_NATIVE_SPIN_US");
    long us = 50;
    if (env != nullptr && *env != '\0') {
      char* end = nullptr;
      long v = std::strtol(env, &end, 10);
      if (end != env && v >= 0 && v <= 1000000) us = v;
    }
    return std::chrono::microseconds(us);
  }();
  return value;
}
}  // namespace

ThreadPool::ThreadPool(int threads) {
  for (int i = 1; i < threads; i++) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_.store(true);
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::drain(int worker) {
  unsigned long long v = claim_.load(std::memory_order_acquire);
  for (;;) {
    const unsigned long long left = v & 0xffffffffULL;
    if (left == 0) return;  // nothing left to claim in the job this word belongs to
    // On failure v is reloaded and the checks run again on the fresh word.
    if (!claim_.compare_exchange_weak(v, v - 1, std::memory_order_acq_rel, std::memory_order_acquire)) continue;
    // This CAS read the word of the running job (stored by its caller, or by a later claim): fn_ and done_ are that
    // job's, and the job cannot finish before this task adds its 1 to done_.
    const int task = static_cast<int>((v >> 32) - left);
    (*fn_.load(std::memory_order_relaxed))(task, worker);
    done_.fetch_add(1, std::memory_order_release);
    v = claim_.load(std::memory_order_acquire);
  }
}

void ThreadPool::worker_loop(int id) {
  unsigned long seen = 0;
  for (;;) {
    // Poll briefly, then sleep until the generation changes.
    const auto until = std::chrono::steady_clock::now() + spin_time();
    int polls = 0;
    while (generation_.load(std::memory_order_acquire) == seen && !stop_.load(std::memory_order_relaxed)) {
      ROAD_PAUSE();
      if (++polls % 256 == 0 && std::chrono::steady_clock::now() > until) {
        std::unique_lock<std::mutex> lock(mu_);
        wake_.wait(lock, [&] { return stop_.load() || generation_.load() != seen; });
        break;
      }
    }
    if (stop_.load()) return;
    seen = generation_.load(std::memory_order_acquire);
    // The job of generation `seen` may be over already and another one running: drain claims from whatever job is
    // current, which is always safe (see claim_).
    drain(id);
  }
}

void ThreadPool::parallel_for(int tasks, const std::function<void(int, int)>& fn) {
  if (tasks <= 0) return;
  std::lock_guard<std::mutex> job(job_mu_);
  if (workers_.empty() || tasks == 1) {
    for (int t = 0; t < tasks; t++) fn(t, 0);
    return;
  }
  // The previous job left claim_ with nothing to claim, so no one can claim anything until the store below
  // publishes the new word; fn_ and done_ are set before it.
  fn_.store(&fn, std::memory_order_relaxed);
  done_.store(0, std::memory_order_relaxed);
  claim_.store((static_cast<unsigned long long>(tasks) << 32) | static_cast<unsigned long long>(tasks),
               std::memory_order_release);
  {
    std::lock_guard<std::mutex> lock(mu_);  // a worker between its predicate check and its wait cannot miss this
    generation_.fetch_add(1, std::memory_order_release);
  }
  wake_.notify_all();
  drain(0);
  // Wait only for tasks that workers claimed and are running (they are short).
  int polls = 0;
  while (done_.load(std::memory_order_acquire) < tasks) {
    ROAD_PAUSE();
    if (++polls % 64 == 0) std::this_thread::yield();
  }
  fn_.store(nullptr, std::memory_order_relaxed);
}

}  // namespace road
