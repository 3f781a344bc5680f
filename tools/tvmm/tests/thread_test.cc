// SPDX-License-Identifier: GPL-2.0
// tvmm::Thread: joins, and a bounded join that never lets go of a thread
// still running its function.  (A thread whose exit the kernel holds is
// tested with hung storage in blk_test.cc.)
#include "util/thread.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

namespace tvmm {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

TEST(ThreadTest, RunsItsFunctionAndJoins) {
  std::atomic<int> ran{0};
  absl::StatusOr<Thread> t = Thread::Start([&] { ran++; });
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_TRUE(t->joinable());
  t->Join();
  EXPECT_FALSE(t->joinable());
  EXPECT_EQ(ran, 1);
  t->Join();  // a second join does nothing
}

// The name is what /proc shows, cut to the kernel's 15 bytes.
TEST(ThreadTest, NamesTheThread) {
  std::string named, unnamed;
  auto comm = [] {
    char buf[16] = {};
    pthread_getname_np(pthread_self(), buf, sizeof(buf));
    return std::string(buf);
  };
  absl::StatusOr<Thread> t = Thread::Start([&] { named = comm(); }, "vcpu12-and-a-long-tail");
  ASSERT_TRUE(t.ok()) << t.status();
  t->Join();
  EXPECT_EQ(named, "vcpu12-and-a-lo");
  // Without a name the thread keeps the process's.
  const std::string process = comm();
  t = Thread::Start([&] { unnamed = comm(); });
  ASSERT_TRUE(t.ok()) << t.status();
  t->Join();
  EXPECT_EQ(unnamed, process);
}

TEST(ThreadTest, JoinUntilJoinsAThreadThatEnded) {
  absl::StatusOr<Thread> t = Thread::Start([] {});
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(t->JoinUntil(steady_clock::now() + std::chrono::seconds(10)));
  EXPECT_FALSE(t->joinable());
}

// The deadline bounds only the wait for the kernel: a thread still in its
// function is waited for, however late, never let go of.
TEST(ThreadTest, JoinUntilWaitsForTheFunctionPastTheDeadline) {
  std::atomic<bool> done{false};
  auto start = steady_clock::now();
  absl::StatusOr<Thread> t = Thread::Start([&] {
    std::this_thread::sleep_for(milliseconds(300));
    done = true;
  });
  ASSERT_TRUE(t.ok());
  bool joined = t->JoinUntil(start);  // the deadline has passed already
  EXPECT_TRUE(done);
  EXPECT_GE(steady_clock::now() - start, milliseconds(300));
  EXPECT_FALSE(t->joinable());
  (void)joined;  // the kernel may take a moment to let the thread go
}

TEST(ThreadTest, WaitReturnedWaitsForTheFunctionOnly) {
  std::atomic<bool> done{false};
  absl::StatusOr<Thread> t = Thread::Start([&] {
    std::this_thread::sleep_for(milliseconds(100));
    done = true;
  });
  ASSERT_TRUE(t.ok());
  t->WaitReturned();
  EXPECT_TRUE(done);
  EXPECT_TRUE(t->joinable());
  EXPECT_TRUE(t->JoinUntil(steady_clock::now() + std::chrono::seconds(10)));
}

// Threads whose exits the kernel does not hold are all joined, none
// reported as left to the kernel; the slowest function is waited for.
TEST(ThreadTest, JoinAllJoinsEveryThread) {
  std::atomic<int> ran{0};
  std::vector<Thread> threads;
  for (int i = 0; i < 3; i++) {
    absl::StatusOr<Thread> t = Thread::Start([&ran, i] {
      std::this_thread::sleep_for(milliseconds(100 * i));
      ran++;
    });
    ASSERT_TRUE(t.ok());
    threads.push_back(std::move(*t));
  }
  std::vector<size_t> left;
  JoinAll(threads, [&left](size_t i) { left.push_back(i); });
  EXPECT_EQ(ran, 3);
  EXPECT_TRUE(left.empty());
  for (const Thread& t : threads) EXPECT_FALSE(t.joinable());
}

TEST(ThreadTest, MovesAndJoinsOnDestruction) {
  std::atomic<int> ran{0};
  {
    absl::StatusOr<Thread> t = Thread::Start([&] {
      std::this_thread::sleep_for(milliseconds(50));
      ran++;
    });
    ASSERT_TRUE(t.ok());
    Thread moved = std::move(*t);
    EXPECT_FALSE(t->joinable());
    EXPECT_TRUE(moved.joinable());
    Thread assigned;
    assigned = std::move(moved);
    EXPECT_TRUE(assigned.joinable());
  }
  EXPECT_EQ(ran, 1);  // the destructor joined
}

// What the function captured is gone by the time a join returns.
TEST(ThreadTest, CapturesAreDestroyedBeforeTheJoinReturns) {
  auto token = std::make_shared<int>(1);
  std::weak_ptr<int> weak = token;
  absl::StatusOr<Thread> t = Thread::Start([token = std::move(token)] {});
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(t->JoinUntil(steady_clock::now() + std::chrono::seconds(10)));
  EXPECT_TRUE(weak.expired());
}

}  // namespace
}  // namespace tvmm
