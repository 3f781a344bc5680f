// SPDX-License-Identifier: GPL-2.0
#include "vmm/console.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include "absl/strings/match.h"
#include "util/fd.h"
#include "wait_until.h"

namespace tvmm {
namespace {

// ConsoleMux's, spelled out so that the tests build against any version.
constexpr std::chrono::milliseconds kQuiet{250};
constexpr size_t kMaxPartial = 1024;

class ConsoleMuxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    int p[2];
    ASSERT_EQ(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
    read_.Reset(p[0]);
    write_.Reset(p[1]);
    stop_.Reset(eventfd(0, EFD_CLOEXEC));
  }
  std::string Drain() {
    std::string out;
    char buf[4096];
    ssize_t n;
    while ((n = read(read_.get(), buf, sizeof(buf))) > 0) out.append(buf, n);
    return out;
  }
  // Drains until the output ends with @end, for up to @timeout.
  std::string DrainFor(std::chrono::seconds timeout, const std::string& end) {
    std::string out;
    WaitUntil(
        [&] {
          out += Drain();
          return absl::EndsWith(out, end);
        },
        timeout);
    return out;
  }
  UniqueFd read_, write_, stop_;
};

TEST_F(ConsoleMuxTest, OneVmPassesThrough) {
  ConsoleMux mux(write_.get(), {"vm0"});
  mux.Write(0, "login: ", stop_.get());
  mux.Write(0, "x\r\nmore\n", stop_.get());
  EXPECT_EQ(Drain(), "login: x\r\nmore\n");
}

// These expect no line to be written unfinished: a quiet interval no
// descheduled test thread reaches (with 250 ms, a stall of the test between
// two writes split the line).
constexpr std::chrono::hours kNeverQuiet{1};

TEST_F(ConsoleMuxTest, SeveralVmsPrefixEveryLine) {
  ConsoleMux mux(write_.get(), {"a", "bb"}, kNeverQuiet);
  mux.Write(0, "one\ntwo\n", stop_.get());
  mux.Write(1, "par", stop_.get());
  mux.Write(1, "tial", stop_.get());  // the same VM goes on with its line
  mux.Write(0, "thr", stop_.get());   // another VM's line does not cut it
  mux.Write(0, "ee\n", stop_.get());
  mux.Write(1, "\n", stop_.get());
  EXPECT_EQ(Drain(), "a| one\na| two\na| three\nbb| partial\n");
}

// What the e2e test once saw: a's line sent one byte at a time (a serial
// port), b's complete lines in between.
TEST_F(ConsoleMuxTest, ALineSentByteByByteStaysWhole) {
  ConsoleMux mux(write_.get(), {"a", "b"}, kNeverQuiet);
  for (char c : std::string("tvmm-guest: done, 0 failed\n")) {
    mux.Write(0, std::string(1, c), stop_.get());
    mux.Write(1, "tick\n", stop_.get());
  }
  std::string out = Drain();
  EXPECT_NE(out.find("a| tvmm-guest: done, 0 failed\n"), std::string::npos) << out;
}

TEST_F(ConsoleMuxTest, AnUnfinishedLineIsWrittenOnceQuiet) {
  ConsoleMux mux(write_.get(), {"a", "b"});
  auto start = std::chrono::steady_clock::now();
  mux.Write(0, "login: ", stop_.get());
  std::string out = Drain();
  if (std::chrono::steady_clock::now() - start < kQuiet) {
    EXPECT_EQ(out, "");
  }
  out += DrainFor(std::chrono::seconds(10), "login: ");
  EXPECT_EQ(out, "a| login: ");
  EXPECT_GE(std::chrono::steady_clock::now() - start, kQuiet);
  mux.Write(0, "x\n", stop_.get());  // the same VM goes on with its line
  mux.Write(0, "Pass", stop_.get());
  EXPECT_EQ(DrainFor(std::chrono::seconds(10), "Pass"), "x\na| Pass");
  mux.Write(1, "b\n", stop_.get());  // another VM: a new line first
  EXPECT_EQ(Drain(), "\nb| b\n");
}

TEST_F(ConsoleMuxTest, ALongLineIsWrittenInPieces) {
  ConsoleMux mux(write_.get(), {"a", "b"});
  std::string piece(kMaxPartial, 'x');
  mux.Write(0, piece, stop_.get());
  EXPECT_EQ(Drain(), "a| " + piece);
  mux.Write(1, "b\n", stop_.get());
  EXPECT_EQ(Drain(), "\nb| b\n");
}

TEST_F(ConsoleMuxTest, WhatIsBufferedIsWrittenAtTheEnd) {
  {
    ConsoleMux mux(write_.get(), {"a", "b"}, kNeverQuiet);
    mux.Write(0, "a", stop_.get());
    mux.Write(1, "b", stop_.get());
  }
  EXPECT_EQ(Drain(), "a| a\nb| b");
}

TEST_F(ConsoleMuxTest, AStoppedVmDoesNotWaitForAStalledConsole) {
  ConsoleMux mux(write_.get(), {"a", "b"});
  // Fill the pipe: nobody reads it.
  std::string chunk(65536, 'x');
  while (write(write_.get(), chunk.data(), chunk.size()) > 0) {
  }
  UniqueFd stop_b(eventfd(0, EFD_CLOEXEC));
  std::thread a([&] { mux.Write(0, "blocked\n", stop_.get()); });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  // b waits for a's lock; its own stop gets it out.
  auto start = std::chrono::steady_clock::now();
  std::thread b([&] { mux.Write(1, "also\n", stop_b.get()); });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  uint64_t one = 1;
  ASSERT_EQ(write(stop_b.get(), &one, sizeof(one)), 8);
  b.join();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  ASSERT_EQ(write(stop_.get(), &one, sizeof(one)), 8);
  a.join();
}

}  // namespace
}  // namespace tvmm
