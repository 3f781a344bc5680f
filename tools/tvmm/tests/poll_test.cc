// SPDX-License-Identifier: GPL-2.0
// PollRetrying(): what the event loops of tvmm (queue notifiers, the irqfd
// resampler, vhost-vsock's call thread, the console, the process's loop)
// do when poll(2) fails.
#include "util/poll.h"

#include <gtest/gtest.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "util/fd.h"

namespace tvmm {
namespace {

// The errnos the fake poll() fails with, in order, before it answers 1.
std::vector<int> failures;
size_t calls = 0;

int FakePoll(pollfd* fds, nfds_t n, int timeout_ms) {
  if (calls < failures.size()) {
    errno = failures[calls++];
    return -1;
  }
  calls++;
  fds[0].revents = POLLIN;
  return 1;
}

TEST(PollRetryingTest, WaitsThroughEnomemAndEintr) {
  failures = {ENOMEM, EINTR, ENOMEM, ENOMEM, EINTR};
  calls = 0;
  pollfd p = {0, POLLIN, 0};
  EXPECT_EQ(internal::PollRetrying(&FakePoll, &p, 1, -1), 1);
  EXPECT_EQ(calls, failures.size() + 1);
  EXPECT_EQ(p.revents, POLLIN);
}

TEST(PollRetryingTest, ReturnsOtherErrors) {
  for (int err : {EBADF, EFAULT, EINVAL}) {
    failures = {ENOMEM, err};
    calls = 0;
    pollfd p = {0, POLLIN, 0};
    errno = 0;
    EXPECT_EQ(internal::PollRetrying(&FakePoll, &p, 1, -1), -1);
    EXPECT_EQ(errno, err);
    EXPECT_EQ(calls, 2u);
  }
}

TEST(PollRetryingTest, PollsForReal) {
  UniqueFd efd(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  ASSERT_TRUE(efd.valid());
  pollfd p = {efd.get(), POLLIN, 0};
  EXPECT_EQ(PollRetrying(&p, 1, 0), 0);
  uint64_t one = 1;
  ASSERT_EQ(write(efd.get(), &one, sizeof(one)), 8);
  EXPECT_EQ(PollRetrying(&p, 1, -1), 1);
  EXPECT_TRUE(p.revents & POLLIN);
}

}  // namespace
}  // namespace tvmm
