// Stress harness for road::ThreadPool (built and run by test/thread-pool.test.ts and scripts/pool-stress.mjs).
//
// Runs parallel_for jobs of random sizes (1..max-tasks tasks) whose tasks have random cost (most tiny, some a
// few microseconds, a few long), while `busy` other threads spin so that the OS deschedules pool workers at random
// points. Every task of every job counts its runs; after each job the harness checks that each task ran exactly
// once and that no task of an earlier job ran late (a task that runs after its parallel_for returned sees a job
// number other than the current one). A watchdog thread ends the process when no job finishes for `hang-ms`.
//
// Usage: pool-stress --threads N --seconds S [--jobs MAX] [--busy B] [--max-tasks T] [--seed X] [--hang-ms MS]
//                    [--gap-us G]
// Prints one JSON line: {"ok":…, "jobs":…, "tasks":…, "failure":…}. Exit 0: clean; 1: a task ran 0 or ≥ 2 times
// or late; 3: hang (no job finished within hang-ms); 2: bad arguments.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "../src/thread-pool.h"

namespace {

struct Options {
  int threads = 2;
  double seconds = 2;
  long long max_jobs = -1;
  int busy = 1;
  int max_tasks = 64;
  unsigned long long seed = 1;
  int hang_ms = 10000;
  int gap_us = 120;  // the caller's work between jobs: random 0..gap_us µs, so workers are caught in every state
};

std::atomic<long long> g_jobs_done{0};
std::atomic<long long> g_tasks_done{0};
std::atomic<long long> g_current_job{-1};
std::atomic<long long> g_late_runs{0};
std::atomic<bool> g_stop{false};

unsigned long long next_random(unsigned long long& s) {
  // splitmix64
  s += 0x9E3779B97F4A7C15ULL;
  unsigned long long z = s;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

void spin_for_ns(long ns) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::nanoseconds(ns);
  while (std::chrono::steady_clock::now() < until) {
  }
}

void report(const char* ok, const std::string& failure) {
  std::printf("{\"ok\":%s,\"jobs\":%lld,\"tasks\":%lld,\"lateRuns\":%lld,\"failure\":\"%s\"}\n", ok,
              g_jobs_done.load(), g_tasks_done.load(), g_late_runs.load(), failure.c_str());
  std::fflush(stdout);
}

bool parse(int argc, char** argv, Options& o) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    const char* v = argv[i + 1];
    if (k == "--threads") o.threads = std::atoi(v);
    else if (k == "--seconds") o.seconds = std::atof(v);
    else if (k == "--jobs") o.max_jobs = std::atoll(v);
    else if (k == "--busy") o.busy = std::atoi(v);
    else if (k == "--max-tasks") o.max_tasks = std::atoi(v);
    else if (k == "--seed") o.seed = std::strtoull(v, nullptr, 10);
    else if (k == "--hang-ms") o.hang_ms = std::atoi(v);
    else if (k == "--gap-us") o.gap_us = std::atoi(v);
    else return false;
  }
  return (argc % 2) == 1 && o.threads >= 1 && o.max_tasks >= 1 && o.busy >= 0 && o.hang_ms > 0 && o.gap_us >= 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!parse(argc, argv, o)) {
    std::fprintf(stderr,
                 "usage: pool-stress --threads N --seconds S [--jobs MAX] [--busy B] [--max-tasks T] [--seed X] "
                 "[--hang-ms MS] [--gap-us G]\n");
    return 2;
  }

  std::vector<std::thread> busy;
  for (int b = 0; b < o.busy; b++) {
    busy.emplace_back([b] {
      volatile unsigned long long x = b;
      while (!g_stop.load(std::memory_order_relaxed)) x = x * 6364136223846793005ULL + 1;
    });
  }

  // Watchdog: a hung parallel_for never returns, so the verdict has to come from another thread.
  std::thread watchdog([&o] {
    long long last = -1;
    auto last_change = std::chrono::steady_clock::now();
    while (!g_stop.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      const long long now_jobs = g_jobs_done.load();
      const auto now = std::chrono::steady_clock::now();
      if (now_jobs != last) {
        last = now_jobs;
        last_change = now;
      } else if (now - last_change > std::chrono::milliseconds(o.hang_ms)) {
        report("false", "hang: job " + std::to_string(g_current_job.load()) + " did not finish within " +
                            std::to_string(o.hang_ms) + " ms");
        std::_Exit(3);
      }
    }
  });

  std::string failure;
  {
    road::ThreadPool pool(o.threads);
    const int size = pool.size();
    unsigned long long rng = o.seed;
    std::vector<std::atomic<int>> runs(static_cast<size_t>(o.max_tasks));
    const auto t0 = std::chrono::steady_clock::now();
    const auto deadline = t0 + std::chrono::microseconds(static_cast<long long>(o.seconds * 1e6));
    for (long long job = 0; failure.empty(); job++) {
      if (o.max_jobs >= 0 && job >= o.max_jobs) break;
      if ((job & 255) == 0 && std::chrono::steady_clock::now() > deadline) break;
      // half the jobs small (1..4 tasks: the kernels' common case on small tensors), half up to max-tasks
      const unsigned long long span = next_random(rng) % 2 == 0 ? 4 : static_cast<unsigned long long>(o.max_tasks);
      const int tasks = 1 + static_cast<int>(next_random(rng) % std::min<unsigned long long>(span, o.max_tasks));
      // cost class of this job: mostly tiny tasks (the case that exposes claim races), some µs-scale, few long
      const unsigned long long kind = next_random(rng) % 100;
      const long cost_ns = kind < 80 ? 0 : kind < 97 ? static_cast<long>(next_random(rng) % 5000) : 50000;
      for (int t = 0; t < tasks; t++) runs[static_cast<size_t>(t)].store(0, std::memory_order_relaxed);
      g_current_job.store(job, std::memory_order_release);
      std::atomic<int> bad_worker{-1};
      pool.parallel_for(tasks, [&, job, cost_ns](int task, int worker) {
        if (g_current_job.load(std::memory_order_acquire) != job) {
          g_late_runs.fetch_add(1);
          return;  // this job's locals may be gone: touch nothing else
        }
        if (worker < 0 || worker >= size) bad_worker.store(worker);
        if (task < 0 || task >= tasks) {
          bad_worker.store(-2 - task);
        } else {
          runs[static_cast<size_t>(task)].fetch_add(1, std::memory_order_relaxed);
        }
        if (cost_ns > 0 && (task % 3) == 0) spin_for_ns(cost_ns);
      });
      for (int t = 0; t < tasks && failure.empty(); t++) {
        const int r = runs[static_cast<size_t>(t)].load(std::memory_order_acquire);
        if (r != 1)
          failure = "job " + std::to_string(job) + " (" + std::to_string(tasks) + " tasks): task " + std::to_string(t) +
                    " ran " + std::to_string(r) + " times";
      }
      if (failure.empty() && bad_worker.load() != -1)
        failure = "job " + std::to_string(job) + ": bad worker/task index " + std::to_string(bad_worker.load());
      if (failure.empty() && g_late_runs.load() != 0)
        failure = "a task ran after its parallel_for returned (seen during job " + std::to_string(job) + ")";
      g_current_job.store(-1, std::memory_order_release);
      g_tasks_done.fetch_add(tasks, std::memory_order_relaxed);
      g_jobs_done.fetch_add(1, std::memory_order_release);
      // Caller-side work between jobs (JS between two kernel calls): mostly none or short, sometimes longer than
      // the workers' spin, so that they go to sleep and wake late, at a random point of the next job's start.
      if (o.gap_us > 0) {
        const unsigned long long g = next_random(rng) % 10;
        if (g >= 3 && g < 9) spin_for_ns(static_cast<long>(next_random(rng) % 5000));
        if (g == 9) spin_for_ns(static_cast<long>(next_random(rng) % (static_cast<unsigned long long>(o.gap_us) * 1000ULL)));
      }
    }
  }
  g_stop.store(true);
  watchdog.join();
  for (auto& t : busy) t.join();
  report(failure.empty() ? "true" : "false", failure);
  return failure.empty() ? 0 : 1;
}
