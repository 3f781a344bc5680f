// SPDX-License-Identifier: GPL-2.0
#include "util/thread.h"

#include <time.h>

#include <algorithm>
#include <cerrno>
#include <utility>

#include "util/status.h"

namespace tvmm {

void NameThisThread(std::string_view name) {
  // The kernel keeps at most 15 bytes and a NUL.
  char comm[16] = {};
  name.copy(comm, sizeof(comm) - 1);
  (void)pthread_setname_np(pthread_self(), comm);  // a name is a diagnostic only
}

absl::StatusOr<Thread> Thread::Start(std::function<void()> fn, std::string name) {
  Thread t;
  auto state = std::make_shared<State>();
  state->fn = std::move(fn);
  state->name = std::move(name);
  // The new thread's own reference, handed over through pthread_create().
  auto arg = std::make_unique<std::shared_ptr<State>>(state);
  if (int err = pthread_create(&t.handle_, nullptr, &Thread::Run, arg.get()))
    return ErrnoStatus("pthread_create", err);
  arg.release();  // NOLINT: Run() owns it now
  t.state_ = std::move(state);
  return t;
}

void* Thread::Run(void* arg) {
  std::shared_ptr<State> state = std::move(
      *std::unique_ptr<std::shared_ptr<State>>(static_cast<std::shared_ptr<State>*>(arg)));
  if (!state->name.empty()) NameThisThread(state->name);
  state->fn();
  // What the function captured goes before anyone hears that it returned.
  state->fn = nullptr;
  state->returned.store(true);
  state->returned.notify_all();
  return nullptr;
}

Thread::Thread(Thread&& other) noexcept : handle_(other.handle_), state_(std::move(other.state_)) {}

Thread& Thread::operator=(Thread&& other) noexcept {
  if (this != &other) {
    Join();
    handle_ = other.handle_;
    state_ = std::move(other.state_);
  }
  return *this;
}

Thread::~Thread() { Join(); }

void Thread::Join() {
  if (!state_) return;
  pthread_join(handle_, nullptr);
  state_.reset();
}

void Thread::WaitReturned() const {
  if (state_) state_->returned.wait(false);
}

bool Thread::JoinUntil(std::chrono::steady_clock::time_point deadline) {
  if (!state_) return true;
  WaitReturned();
  // pthread_timedjoin_np() takes CLOCK_REALTIME, which can be set: wait in
  // slices of at most 10 ms of it, each measured against @deadline on the
  // steady clock, so that a step of the wall clock stretches or cuts short
  // one slice at most.  (pthread_clockjoin_np() would take the monotonic
  // clock, but the sanitizers do not know it as a join.)
  int err;
  do {
    auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(
        deadline - std::chrono::steady_clock::now());
    auto slice = std::clamp(left, std::chrono::nanoseconds(0), std::chrono::nanoseconds(10000000));
    timespec abs;
    clock_gettime(CLOCK_REALTIME, &abs);
    int64_t ns = abs.tv_nsec + slice.count();
    abs.tv_sec += ns / 1000000000;
    abs.tv_nsec = ns % 1000000000;
    err = pthread_timedjoin_np(handle_, nullptr, &abs);
  } while (err == EINTR || (err == ETIMEDOUT && std::chrono::steady_clock::now() < deadline));
  if (err) pthread_detach(handle_);
  state_.reset();
  return err == 0;
}

void JoinAll(std::vector<Thread>& threads, absl::FunctionRef<void(size_t)> left_to_kernel) {
  for (const Thread& t : threads) t.WaitReturned();
  auto deadline = std::chrono::steady_clock::now() + kThreadExitGrace;
  for (size_t i = 0; i < threads.size(); i++) {
    if (!threads[i].JoinUntil(deadline)) left_to_kernel(i);
  }
}

}  // namespace tvmm
