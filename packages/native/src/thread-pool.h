// Persistent thread pool: parallel_for(tasks, fn) runs fn(task, worker) on the workers and the calling thread.
#pragma once
#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace road {

class ThreadPool {
 public:
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  /** Total threads that work on a parallel_for (workers + the caller). */
  int size() const { return static_cast<int>(workers_.size()) + 1; }

  /** Runs fn(task, worker) for task in [0, tasks); worker in [0, size()). Blocks until all are done. */
  void parallel_for(int tasks, const std::function<void(int, int)>& fn);

 private:
  void worker_loop(int id);
  // Claims and runs tasks of job `gen` until none is left or a newer job has started.
  void drain(unsigned long gen, int worker);

  std::vector<std::thread> workers_;
  std::mutex job_mu_;  // one parallel_for at a time (callers on several JS threads queue up)
  std::mutex mu_;
  std::condition_variable wake_;
  const std::function<void(int, int)>* fn_ = nullptr;
  std::atomic<int> tasks_{0};
  // (job generation << 32) | next unclaimed task: a worker that wakes late cannot claim a task of a finished job
  // (the CAS sees another generation), so the caller waits only for tasks actually claimed, never for a worker
  // that the OS has not scheduled yet (on a 2-core VM, V8's own GC/compiler threads often hold the other core).
  std::atomic<unsigned long long> claim_{0};
  std::atomic<int> done_{0};  // tasks of the current job finished
  std::atomic<unsigned long> generation_{0};
  std::atomic<bool> stop_{false};
};

}  // namespace road
