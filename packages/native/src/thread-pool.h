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

  /**
   * Runs fn(task, worker) exactly once for each task in [0, tasks) (in no fixed order); worker in [0, size()), and
   * no two tasks run at once with the same worker index. Blocks until all are done. Calls from several threads
   * queue up (one job at a time).
   */
  void parallel_for(int tasks, const std::function<void(int, int)>& fn);

 private:
  void worker_loop(int id);
  // Claims and runs tasks of the current job until none is left.
  void drain(int worker);

  std::vector<std::thread> workers_;
  std::mutex job_mu_;  // one parallel_for at a time (callers on several JS threads queue up)
  std::mutex mu_;      // guards the sleep/wake hand-off only
  std::condition_variable wake_;
  // The whole claimable state of the running job in one word: (tasks << 32) | tasks not yet claimed. A task is
  // claimed by one CAS that takes the count from r to r − 1 and runs task (tasks − r), so the bound check and the
  // claim are a single atomic step: a worker holding the word of a finished job (count 0) claims nothing, and one
  // holding any other outdated word fails its CAS — or, if the running job's word happens to be equal, claims a
  // genuinely unclaimed task of the running job, which is just as right. The caller publishes fn_ and resets done_
  // *before* it stores the new word (release), and a successful CAS reads that store or a later claim of the same
  // job (acquire), so whoever claims a task of a job sees that job's fn_ and a done_ already reset for it. A job
  // cannot end before each of its claimed tasks has added 1 to done_, so fn_ stays the job's while they run.
  // (An earlier design checked the bound against a separate tasks_ field: a worker could pass the check against the
  // next job's count and still win a CAS on the finished job's word, running a task twice and hanging the caller.)
  std::atomic<unsigned long long> claim_{0};
  std::atomic<const std::function<void(int, int)>*> fn_{nullptr};
  std::atomic<int> done_{0};                  // tasks of the current job finished
  std::atomic<unsigned long> generation_{0};  // bumped per job; only wakes workers (claim_ decides who runs what)
  std::atomic<bool> stop_{false};
};

}  // namespace road
