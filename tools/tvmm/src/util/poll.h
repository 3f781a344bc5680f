// SPDX-License-Identifier: GPL-2.0
// poll(2) for tvmm's event loops, which must not end on an error that is
// not an answer.
#ifndef TVMM_UTIL_POLL_H_
#define TVMM_UTIL_POLL_H_

#include <poll.h>

namespace tvmm {

// poll(@fds, @n, @timeout_ms), waiting through EINTR (a signal: polled
// again at once) and ENOMEM (the kernel could not allocate its wait queue
// entries this time: polled again after 1 ms; what was signalled in the
// meantime waits in the descriptors, eventfd counters included).  Returns
// poll()'s count, or -1 with errno for any other error (EBADF, EFAULT,
// EINVAL: a bug of the caller's).  A timeout starts again after a retry.
int PollRetrying(pollfd* fds, nfds_t n, int timeout_ms);

namespace internal {
// The same on @poll_fn instead of poll(2) (tests).
using PollFn = int (*)(pollfd*, nfds_t, int);
int PollRetrying(PollFn poll_fn, pollfd* fds, nfds_t n, int timeout_ms);
}  // namespace internal

}  // namespace tvmm

#endif  // TVMM_UTIL_POLL_H_
