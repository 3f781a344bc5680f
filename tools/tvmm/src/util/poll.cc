// SPDX-License-Identifier: GPL-2.0
#include "util/poll.h"

#include <cerrno>
#include <chrono>
#include <thread>

namespace tvmm {

int internal::PollRetrying(PollFn poll_fn, pollfd* fds, nfds_t n, int timeout_ms) {
  for (;;) {
    int ret = poll_fn(fds, n, timeout_ms);
    if (ret >= 0 || (errno != EINTR && errno != ENOMEM)) return ret;
    if (errno == ENOMEM) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

int PollRetrying(pollfd* fds, nfds_t n, int timeout_ms) {
  return internal::PollRetrying(&::poll, fds, n, timeout_ms);
}

}  // namespace tvmm
