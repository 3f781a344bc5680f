// SPDX-License-Identifier: GPL-2.0
// Polling with a deadline, for tests that wait for another thread, or the
// kernel, to make something true that they have no event for.
#ifndef TVMM_TESTS_WAIT_UNTIL_H_
#define TVMM_TESTS_WAIT_UNTIL_H_

#include <chrono>
#include <thread>

namespace tvmm {

// Calls @pred until it returns true or @timeout has passed, and returns
// its last result.  @pred is called at least once, after the deadline too,
// so a zero timeout is a plain check.
template <typename Pred>
bool WaitUntil(Pred pred, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline) return pred();
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

}  // namespace tvmm

#endif  // TVMM_TESTS_WAIT_UNTIL_H_
