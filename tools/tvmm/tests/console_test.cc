// SPDX-License-Identifier: GPL-2.0
#include "vmm/console.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "util/fd.h"

namespace tvmm {
namespace {

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
  UniqueFd read_, write_, stop_;
};

TEST_F(ConsoleMuxTest, OneVmPassesThrough) {
  ConsoleMux mux(write_.get(), {"vm0"});
  mux.Write(0, "login: ", stop_.get());
  mux.Write(0, "x\r\nmore\n", stop_.get());
  EXPECT_EQ(Drain(), "login: x\r\nmore\n");
}

TEST_F(ConsoleMuxTest, SeveralVmsPrefixEveryLine) {
  ConsoleMux mux(write_.get(), {"a", "bb"});
  mux.Write(0, "one\ntwo\n", stop_.get());
  mux.Write(1, "par", stop_.get());
  mux.Write(1, "tial", stop_.get());  // the same VM goes on with its line
  mux.Write(0, "three", stop_.get());  // another VM: a new line first
  mux.Write(0, "\n", stop_.get());
  mux.Write(1, "\n", stop_.get());  // b's line was closed for it
  EXPECT_EQ(Drain(), "a| one\na| two\nbb| partial\na| three\nbb| \n");
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
