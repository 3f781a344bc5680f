// SPDX-License-Identifier: GPL-2.0
// A thread whose join can give up on the kernel.
//
// A thread that submitted io_uring requests waits in its exit, inside the
// kernel, until the io_uring workers it started are done: on storage that
// never answers (a hung FUSE daemon, a hard NFS mount), forever.  Joining
// such a thread would hang tvmm's shutdown with it, though the thread has
// long stopped running tvmm's code.  JoinUntil() waits for the thread's
// function to return, then for a bounded time for the thread to end, and
// lets the thread go (detaches it) if it has not: nothing of tvmm's runs
// on it any more.  It never lets go of a thread that still runs tvmm's
// code.
#ifndef TVMM_UTIL_THREAD_H_
#define TVMM_UTIL_THREAD_H_

#include <pthread.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"

namespace tvmm {

// Names the calling thread @name (its first 15 bytes: what ps, top and
// /proc/<pid>/task/<tid>/comm show).  Best effort: a name is a diagnostic.
void NameThisThread(std::string_view name);

class Thread {
 public:
  // Runs @fn on a new thread, named @name (NameThisThread()) if not empty.
  static absl::StatusOr<Thread> Start(std::function<void()> fn, std::string name = {});

  Thread() = default;
  Thread(Thread&& other) noexcept;
  Thread& operator=(Thread&& other) noexcept;
  Thread(const Thread&) = delete;
  Thread& operator=(const Thread&) = delete;
  // Joins, unbounded, if still joinable.
  ~Thread();

  bool joinable() const { return state_ != nullptr; }
  pthread_t native_handle() const { return handle_; }

  // Waits until the thread has ended.
  void Join();
  // Waits until the thread's function has returned (unbounded); the thread
  // may still be ending.
  void WaitReturned() const;
  // WaitReturned(), then waits until @deadline for the thread to end.
  // Returns true if it ended (joined); false if the kernel still holds it,
  // which it is then left to (detached).  Either way the Thread is no
  // longer joinable.  Callers that end several threads wait for every
  // function to return first, then give them one deadline.
  bool JoinUntil(std::chrono::steady_clock::time_point deadline);

 private:
  struct State {
    std::function<void()> fn;
    std::string name;
    std::atomic<bool> returned{false};
  };
  static void* Run(void* arg);

  pthread_t handle_ = {};
  std::shared_ptr<State> state_;  // null: not joinable
};

// How long JoinAll() gives the kernel once every function has returned.
inline constexpr std::chrono::milliseconds kThreadExitGrace{1000};

// Ends a group of threads told to stop: waits until each function has
// returned, then joins them all within kThreadExitGrace, and calls
// @left_to_kernel(i) for each thread i it detached instead.
void JoinAll(std::vector<Thread>& threads, absl::FunctionRef<void(size_t)> left_to_kernel);

}  // namespace tvmm

#endif  // TVMM_UTIL_THREAD_H_
