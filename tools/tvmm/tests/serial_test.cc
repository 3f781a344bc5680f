// SPDX-License-Identifier: GPL-2.0
#include "devices/serial.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "wait_until.h"

namespace tvmm {
namespace {

class CountingIrq : public IrqLine {
 public:
  void Pulse() override { pulses++; }
  void Set(bool) override {}
  int pulses = 0;
};

class SerialTest : public ::testing::Test {
 protected:
  uint8_t In(uint64_t reg) {
    uint8_t v;
    serial_.Read(reg, absl::MakeSpan(&v, 1));
    return v;
  }
  void Out(uint64_t reg, uint8_t v) { serial_.Write(reg, absl::MakeConstSpan(&v, 1)); }

  std::string output_;
  CountingIrq irq_;
  Serial serial_{[this](absl::string_view s) { output_.append(s.data(), s.size()); }, &irq_};
};

TEST_F(SerialTest, TransmitsAndReportsEmpty) {
  Out(0, 'h');
  Out(0, 'i');
  EXPECT_EQ(output_, "hi");
  EXPECT_EQ(In(5) & 0x60, 0x60);  // THRE and TEMT
}

TEST_F(SerialTest, DivisorLatchDoesNotTransmit) {
  Out(3, 0x80);  // DLAB
  Out(0, 0x01);
  Out(1, 0x00);
  EXPECT_EQ(In(0), 0x01);
  Out(3, 0x03);
  EXPECT_EQ(output_, "");
}

TEST_F(SerialTest, ReceiveRaisesDataReadyAndInterrupt) {
  Out(1, 0x01);  // RDA interrupts
  serial_.Receive("ok");
  EXPECT_EQ(irq_.pulses, 1);
  EXPECT_EQ(In(5) & 1, 1);
  EXPECT_EQ(In(2) & 0x0f, 0x04);
  EXPECT_EQ(In(0), 'o');
  EXPECT_EQ(In(0), 'k');
  EXPECT_EQ(In(5) & 1, 0);
  EXPECT_EQ(In(2) & 0x0f, 0x01);  // nothing pending
}

TEST_F(SerialTest, ThreInterruptUntilIirRead) {
  Out(1, 0x02);
  EXPECT_EQ(irq_.pulses, 1);
  EXPECT_EQ(In(2) & 0x0f, 0x02);
  EXPECT_EQ(In(2) & 0x0f, 0x01);  // reading IIR acknowledged it
  Out(0, 'x');
  EXPECT_EQ(irq_.pulses, 2);
}

TEST_F(SerialTest, FifoOverflowDrops) {
  serial_.Receive(std::string(Serial::kRxFifo + 10, 'a'));
  int n = 0;
  while (In(5) & 1) {
    In(0);
    n++;
  }
  EXPECT_EQ(n, static_cast<int>(Serial::kRxFifo));
}

TEST_F(SerialTest, Loopback) {
  Out(4, 0x10);
  Out(0, 'z');
  EXPECT_EQ(output_, "");
  EXPECT_EQ(In(0), 'z');
  Out(4, 0x1b);
  EXPECT_EQ(In(6) & 0xf0, 0xb0);
}

TEST_F(SerialTest, OutOfRangeRegisters) {
  uint8_t v[2];
  serial_.Read(7, absl::MakeSpan(v, 2));  // reg 8 does not exist
  EXPECT_EQ(v[1], 0xff);
}

// A console that blocks (stdout nobody reads) must not block the host's
// input with it: the process's event loop feeds Receive() and would stop
// serving signals and the API socket (the old Serial wrote under its lock).
TEST(SerialBlockedOutput, InputDoesNotWaitForABlockedConsole) {
  std::mutex mu;
  std::condition_variable cv;
  bool writing = false, release = false;
  CountingIrq irq;
  Serial serial(
      [&](absl::string_view) {
        std::unique_lock lock(mu);
        writing = true;
        cv.notify_all();
        cv.wait(lock, [&] { return release; });
      },
      &irq);
  uint8_t c = 'x';
  std::thread vcpu([&] { serial.Write(0, absl::MakeConstSpan(&c, 1)); });
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(5), [&] { return writing; }));
  }
  std::atomic<bool> received{false};
  std::thread input([&] {
    serial.Receive("y");
    received = true;
  });
  // What this catches is a wait without end; 20 s covers a loaded machine.
  EXPECT_TRUE(WaitUntil([&] { return received.load(); }, std::chrono::seconds(20)))
      << "Receive() waited for the console";
  {
    std::lock_guard lock(mu);
    release = true;
  }
  cv.notify_all();
  vcpu.join();
  input.join();
}

}  // namespace
}  // namespace tvmm
