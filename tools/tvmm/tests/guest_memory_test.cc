// SPDX-License-Identifier: GPL-2.0
#include "memory/guest_memory.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/mman.h>

#include <atomic>
#include <chrono>
#include <random>
#include <thread>
#include <vector>

#include "util/fd.h"
#include "util/status.h"

namespace tvmm {
namespace {

class GuestMemoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(mem_.AddRegion(0x1000, absl::MakeSpan(low_)).ok());
    ASSERT_TRUE(mem_.AddRegion(0x100000, absl::MakeSpan(high_)).ok());
  }
  std::vector<uint8_t> low_ = std::vector<uint8_t>(0x2000);
  std::vector<uint8_t> high_ = std::vector<uint8_t>(0x1000);
  GuestMemory mem_;
};

TEST_F(GuestMemoryTest, SliceInside) {
  auto s = mem_.Slice(0x1000, 0x2000);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->data(), low_.data());
  s = mem_.Slice(0x2ff8, 8);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->data(), low_.data() + 0x1ff8);
  EXPECT_TRUE(mem_.Slice(0x100000, 0).ok());
}

TEST_F(GuestMemoryTest, SliceRejectsEverythingElse) {
  EXPECT_FALSE(mem_.Slice(0, 1).ok());                      // below
  EXPECT_FALSE(mem_.Slice(0xfff, 2).ok());                  // straddles the start
  EXPECT_FALSE(mem_.Slice(0x2fff, 2).ok());                 // straddles the end
  EXPECT_FALSE(mem_.Slice(0x3000, 1).ok());                 // gap
  EXPECT_FALSE(mem_.Slice(0x1000, 0x100000).ok());          // spans regions
  EXPECT_FALSE(mem_.Slice(0x100001, UINT64_MAX).ok());      // overflowing length
  EXPECT_FALSE(mem_.Slice(UINT64_MAX, 2).ok());             // wraps
  EXPECT_FALSE(mem_.Slice(0x100000, 0x1001).ok());
}

TEST_F(GuestMemoryTest, ObjectsRoundTrip) {
  ASSERT_TRUE(mem_.WriteObj<uint64_t>(0x1003, 0x1122334455667788).ok());
  EXPECT_EQ(*mem_.ReadObj<uint64_t>(0x1003), 0x1122334455667788u);
  EXPECT_FALSE(mem_.ReadObj<uint64_t>(0x2ffc).ok());
}

TEST_F(GuestMemoryTest, RegionsMustNotOverlap) {
  std::vector<uint8_t> more(0x1000);
  EXPECT_FALSE(mem_.AddRegion(0x2800, absl::MakeSpan(more)).ok());
  EXPECT_FALSE(mem_.AddRegion(0x800, absl::MakeSpan(more)).ok());
  EXPECT_FALSE(mem_.AddRegion(UINT64_MAX - 0x10, absl::MakeSpan(more)).ok());
  EXPECT_FALSE(mem_.AddRegion(0x5000, {}).ok());
  EXPECT_TRUE(mem_.AddRegion(0x3000, absl::MakeSpan(more)).ok());  // adjacent is fine
}

// A TVM's private pages: no slice may touch them, whatever its size.
TEST(GuestMemory, PrivateRangesAreRefused) {
  std::vector<uint8_t> ram(0x10000);
  GuestMemory mem;
  ASSERT_TRUE(mem.AddRegion(0, absl::MakeSpan(ram)).ok());
  mem.SetPrivate({{0x7000, 0x1000}, {0x2000, 0x2000}});
  EXPECT_TRUE(mem.Slice(0x1000, 0x1000).ok());
  EXPECT_TRUE(mem.Slice(0x4000, 0x3000).ok());
  EXPECT_TRUE(mem.Slice(0x8000, 8).ok());
  EXPECT_TRUE(mem.Slice(0x7000, 0).ok());
  for (auto [gpa, len] : std::vector<std::pair<uint64_t, uint64_t>>{
           {0x7000, 1}, {0x6fff, 2}, {0x7fff, 1}, {0x1fff, 2}, {0x3000, 8}, {0x0, 0x10000}}) {
    auto s = mem.Slice(gpa, len);
    EXPECT_TRUE(absl::IsPermissionDenied(s.status())) << std::hex << gpa << "+" << len;
  }
  uint8_t b = 1;
  EXPECT_FALSE(mem.Write(0x7800, {&b, 1}).ok());
}

// What vhost is given: every shared byte, no private one.
TEST(GuestMemory, SharedRegionsCutOutThePrivateRanges) {
  std::vector<uint8_t> low(0x10000), high(0x4000);
  GuestMemory mem;
  ASSERT_TRUE(mem.AddRegion(0, absl::MakeSpan(low)).ok());
  ASSERT_TRUE(mem.AddRegion(0x100000, absl::MakeSpan(high)).ok());
  EXPECT_EQ(mem.SharedRegions().size(), 2u);
  // At a region's start, in the middle, adjacent to each other, at the end
  // of one, and over the gap between two regions.
  mem.SetPrivate({{0x0, 0x1000}, {0x7000, 0x1000}, {0x8000, 0x1000}, {0xf000, 0xf2000}});
  std::vector<GuestRegion> shared = mem.SharedRegions();
  std::vector<std::pair<uint64_t, uint64_t>> got;
  for (const GuestRegion& r : shared) {
    got.emplace_back(r.gpa, r.host.size());
    EXPECT_EQ(r.host.data(), (r.gpa < 0x100000 ? low.data() + r.gpa : high.data() + r.gpa - 0x100000));
  }
  EXPECT_THAT(got, ::testing::ElementsAre(std::pair<uint64_t, uint64_t>{0x1000, 0x6000},
                                          std::pair<uint64_t, uint64_t>{0x9000, 0x6000},
                                          std::pair<uint64_t, uint64_t>{0x101000, 0x3000}));
  mem.SetPrivate({{0x0, 0x200000}});
  EXPECT_TRUE(mem.SharedRegions().empty());
}

// Conversions at run time (a trusted VM's KVM_HC_MAP_GPA_RANGE).

absl::Status KernelOk() { return absl::OkStatus(); }

// @ram as guest memory at GPA 0, with conversions on.
void Convertible(GuestMemory& mem, std::vector<uint8_t>& ram) {
  ASSERT_TRUE(mem.AddRegion(0, absl::MakeSpan(ram)).ok());
  mem.EnableConversions();
}

TEST(GuestMemoryConvert, IsRefusedUnlessEnabled) {
  std::vector<uint8_t> ram(0x4000);
  GuestMemory mem;
  ASSERT_TRUE(mem.AddRegion(0, absl::MakeSpan(ram)).ok());
  EXPECT_FALSE(mem.conversions_enabled());
  EXPECT_EQ(mem.Convert(0x1000, 0x1000, true, KernelOk).code(),
            absl::StatusCode::kFailedPrecondition);
  // Holds still check, and hold nothing.
  const GuestRange outside[] = {{0x3ff0, 0x20}};
  EXPECT_EQ(mem.HoldRanges(outside).status().code(), absl::StatusCode::kOutOfRange);
  const GuestRange inside[] = {{0x1000, 0x10}};
  EXPECT_TRUE(mem.HoldRanges(inside).ok());
}

TEST(GuestMemoryConvert, MakesARangePrivateAndShared) {
  std::vector<uint8_t> ram(0x8000);
  GuestMemory mem;
  ASSERT_NO_FATAL_FAILURE(Convertible(mem, ram));
  mem.SetPrivate({{0x1000, 0x1000}});
  int calls = 0;
  auto kernel = [&] {
    calls++;
    return absl::OkStatus();
  };
  ASSERT_TRUE(mem.Convert(0x2000, 0x2000, true, kernel).ok());
  EXPECT_EQ(calls, 1);
  uint8_t b = 0;
  EXPECT_EQ(mem.Write(0x3fff, {&b, 1}).code(), absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(mem.Write(0x4000, {&b, 1}).ok());
  // Merged with the launch's range: one private range 0x1000-0x4000.
  ASSERT_EQ(mem.SharedRegions().size(), 2u);
  EXPECT_EQ(mem.SharedRegions()[1].gpa, 0x4000u);
  // A page from the middle back to shared splits it.
  ASSERT_TRUE(mem.Convert(0x2000, 0x1000, false, kernel).ok());
  EXPECT_TRUE(mem.Write(0x2000, {&b, 1}).ok());
  EXPECT_FALSE(mem.Write(0x1fff, {&b, 1}).ok());
  EXPECT_FALSE(mem.Write(0x3000, {&b, 1}).ok());
  EXPECT_EQ(mem.SharedRegions().size(), 3u);
}

TEST(GuestMemoryConvert, RefusesWhatIsNotPageAlignedRam) {
  std::vector<uint8_t> low(0x4000), high(0x4000);
  GuestMemory mem;
  ASSERT_TRUE(mem.AddRegion(0, absl::MakeSpan(low)).ok());
  ASSERT_TRUE(mem.AddRegion(0x4000, absl::MakeSpan(high)).ok());
  mem.EnableConversions();
  int calls = 0;
  auto kernel = [&] {
    calls++;
    return absl::OkStatus();
  };
  for (auto [gpa, size] :
       std::vector<std::pair<uint64_t, uint64_t>>{{0x1000, 0},             // empty
                                                  {0x1800, 0x1000},        // misaligned start
                                                  {0x1000, 0x800},         // misaligned size
                                                  {0x3000, 0x2000},        // over two regions
                                                  {0x8000, 0x1000},        // past RAM
                                                  {~0xfffull, 0x2000},     // wraps
                                                  {0x1000, ~0xfffull}}) {  // wraps
    EXPECT_EQ(mem.Convert(gpa, size, true, kernel).code(), absl::StatusCode::kInvalidArgument)
        << std::hex << gpa << "+" << size;
  }
  EXPECT_EQ(calls, 0);
}

TEST(GuestMemoryConvert, AKernelErrorChangesNothing) {
  std::vector<uint8_t> ram(0x4000);
  GuestMemory mem;
  ASSERT_NO_FATAL_FAILURE(Convertible(mem, ram));
  auto eperm = [] { return absl::PermissionDeniedError("measured"); };
  EXPECT_EQ(mem.Convert(0x1000, 0x1000, true, eperm).code(), absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(mem.Slice(0x1000, 0x1000).ok());
}

// A device reaches held ranges through host pointers: they do not become
// private under it, and become convertible once released.
TEST(GuestMemoryConvert, AHeldRangeIsNotMadePrivate) {
  std::vector<uint8_t> ram(0x8000);
  auto mem = std::make_unique<GuestMemory>();
  ASSERT_TRUE(mem->AddRegion(0, absl::MakeSpan(ram)).ok());
  mem->EnableConversions();
  int calls = 0;
  auto kernel = [&] {
    calls++;
    return absl::OkStatus();
  };
  const GuestRange ranges[] = {{0x2ff0, 0}, {0x3ff0, 0x20}};
  absl::StatusOr<GuestMemory::Hold> hold = mem->HoldRanges(ranges);
  ASSERT_TRUE(hold.ok());
  EXPECT_EQ(mem->Convert(0x4000, 0x1000, true, kernel).code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(mem->Convert(0x0, 0x8000, true, kernel).code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(calls, 0);
  // An empty buffer holds nothing; a page next to a held one is free.
  EXPECT_TRUE(mem->Convert(0x2000, 0x1000, true, kernel).ok());
  EXPECT_TRUE(mem->Convert(0x5000, 0x1000, true, kernel).ok());
  // Private to shared needs no wait.
  EXPECT_TRUE(mem->Convert(0x2000, 0x1000, false, kernel).ok());
  // A range already private cannot be held.
  const GuestRange in_private[] = {{0x5000, 1}};
  EXPECT_EQ(mem->HoldRanges(in_private).status().code(), absl::StatusCode::kPermissionDenied);

  GuestMemory::Hold moved = *std::move(hold);
  EXPECT_EQ(mem->Convert(0x4000, 0x1000, true, kernel).code(), absl::StatusCode::kUnavailable);
  moved = GuestMemory::Hold();
  EXPECT_TRUE(mem->Convert(0x4000, 0x1000, true, kernel).ok());

  // A hold may outlive its memory (a request the kernel still holds).
  const GuestRange late[] = {{0x100, 0x10}};
  absl::StatusOr<GuestMemory::Hold> last = mem->HoldRanges(late);
  ASSERT_TRUE(last.ok());
  mem.reset();
}

// What a watch saw: each call's shared regions as (gpa, size).
using Shared = std::vector<std::pair<uint64_t, uint64_t>>;
Shared AsPairs(absl::Span<const GuestRegion> regions) {
  Shared out;
  for (const GuestRegion& r : regions) out.emplace_back(r.gpa, r.host.size());
  return out;
}

// vhost reaches guest memory by its own table: a page leaves the table
// before it becomes private (the kernel step sees the new table already),
// and joins it once it is shared; a failed conversion puts the table back.
TEST(GuestMemoryWatch, SeesTheSharedRegionsAroundEachConversion) {
  std::vector<uint8_t> ram(0x4000);
  GuestMemory mem;
  ASSERT_NO_FATAL_FAILURE(Convertible(mem, ram));
  std::vector<Shared> seen;
  auto watch = mem.WatchShared([&](absl::Span<const GuestRegion> shared) {
    seen.push_back(AsPairs(shared));
    return absl::OkStatus();
  });
  ASSERT_TRUE(watch.ok()) << watch.status();
  ASSERT_EQ(seen, (std::vector<Shared>{{{0, 0x4000}}}));

  const Shared without = {{0, 0x1000}, {0x2000, 0x2000}};
  // The kernel step of both conversions below sees the table without it.
  auto kernel = [&] {
    EXPECT_EQ(seen.back(), without) << "the watch saw the page while it was private";
    return absl::OkStatus();
  };
  ASSERT_TRUE(mem.Convert(0x1000, 0x1000, true, kernel).ok());
  EXPECT_EQ(seen.size(), 2u);
  // Back to shared: the watch learns it after the kernel step only.
  ASSERT_TRUE(mem.Convert(0x1000, 0x1000, false, kernel).ok());
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen.back(), (Shared{{0, 0x4000}}));

  // A refused conversion to private: the table of before comes back.
  EXPECT_FALSE(
      mem.Convert(0x2000, 0x1000, true, [] { return absl::PermissionDeniedError("no"); }).ok());
  ASSERT_EQ(seen.size(), 5u);
  EXPECT_EQ(seen[3], (Shared{{0, 0x2000}, {0x3000, 0x1000}}));
  EXPECT_EQ(seen[4], (Shared{{0, 0x4000}}));

  // A refused conversion to shared, and one refused before the kernel
  // step (a held page), tell it nothing.
  const GuestRange ring[] = {{0x3000, 0x10}};
  absl::StatusOr<GuestMemory::Hold> hold = mem.HoldRanges(ring);
  ASSERT_TRUE(hold.ok());
  EXPECT_FALSE(mem.Convert(0x3000, 0x1000, true, KernelOk).ok());
  EXPECT_FALSE(mem.Convert(0x1000, 0x1000, false, [] { return absl::InternalError("no"); }).ok());
  EXPECT_EQ(seen.size(), 5u);

  // Ended, it is called no more.
  *watch = GuestMemory::Watch();
  ASSERT_TRUE(mem.Convert(0x1000, 0x1000, true, KernelOk).ok());
  EXPECT_EQ(seen.size(), 5u);
}

// The first call's error is the caller's, and nothing is watched; later
// errors are the watch's own, and the conversion stands.
TEST(GuestMemoryWatch, ErrorsOfTheFirstCallAndOfLaterOnes) {
  std::vector<uint8_t> ram(0x4000);
  GuestMemory mem;
  ASSERT_NO_FATAL_FAILURE(Convertible(mem, ram));
  int calls = 0;
  auto failing = [&](absl::Span<const GuestRegion>) {
    calls++;
    return absl::ResourceExhaustedError("too many regions");
  };
  EXPECT_EQ(mem.WatchShared(failing).status().code(), absl::StatusCode::kResourceExhausted);
  ASSERT_TRUE(mem.Convert(0x1000, 0x1000, true, KernelOk).ok());
  EXPECT_EQ(calls, 1);

  bool fail = false;
  auto watch = mem.WatchShared([&](absl::Span<const GuestRegion>) {
    calls++;
    return fail ? absl::ResourceExhaustedError("too many regions") : absl::OkStatus();
  });
  ASSERT_TRUE(watch.ok());
  fail = true;
  EXPECT_TRUE(mem.Convert(0x2000, 0x1000, true, KernelOk).ok());
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(mem.SharedRegions().size(), 2u);  // 0-0x1000 and 0x3000-0x4000
}

// Without conversions there is one call, and the watch is empty.
TEST(GuestMemoryWatch, WithoutConversionsOneCall) {
  std::vector<uint8_t> ram(0x4000);
  GuestMemory mem;
  ASSERT_TRUE(mem.AddRegion(0, absl::MakeSpan(ram)).ok());
  mem.SetPrivate({{0x1000, 0x1000}});
  std::vector<Shared> seen;
  auto watch = mem.WatchShared([&](absl::Span<const GuestRegion> shared) {
    seen.push_back(AsPairs(shared));
    return absl::OkStatus();
  });
  ASSERT_TRUE(watch.ok());
  EXPECT_EQ(seen, (std::vector<Shared>{{{0, 0x1000}, {0x2000, 0x2000}}}));
}

// The attack: one thread converts pages to private and back while another
// reads, writes and holds across them.  The "kernel" step takes the pages
// out of the host mapping as KVM does (here PROT_NONE: any access by tvmm
// afterwards crashes the test), so an access that is not shut out of a
// conversion, or a held span that a conversion did not respect, fails it.
TEST(GuestMemoryConvert, NoAccessReachesAPageMadePrivate) {
  constexpr uint64_t kPages = 8, kPage = 0x1000;
  absl::StatusOr<Mapping> map =
      Mapping::Map(kPages * kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
  ASSERT_TRUE(map.ok()) << map.status();
  uint8_t* base = map->data();
  GuestMemory mem;
  ASSERT_TRUE(mem.AddRegion(0, absl::MakeSpan(base, kPages * kPage)).ok());
  mem.EnableConversions();

  std::atomic<bool> stop{false};
  std::atomic<uint64_t> refused{0}, done{0};
  std::thread converter([&] {
    std::mt19937_64 rng(1);
    while (!stop.load()) {
      uint64_t page = rng() % kPages;
      bool to_private = rng() % 2;
      absl::Status s = mem.Convert(page * kPage, kPage, to_private, [&] {
        int prot = to_private ? PROT_NONE : PROT_READ | PROT_WRITE;
        if (mprotect(base + page * kPage, kPage, prot)) return ErrnoStatus("mprotect");
        return absl::OkStatus();
      });
      (s.ok() ? done : refused)++;
    }
  });
  std::mt19937_64 rng(2);
  // Until both sides have done enough, however the threads are scheduled.
  for (int i = 0; i < 20000 || done.load() + refused.load() < 2000; i++) {
    uint64_t gpa = rng() % (kPages * kPage - 64);
    uint8_t buf[64];
    if (i % 2) {
      (void)mem.Read(gpa, absl::MakeSpan(buf));
      (void)mem.Write(gpa, absl::MakeSpan(buf));
      continue;
    }
    const GuestRange r[] = {{gpa, 64}};
    absl::StatusOr<GuestMemory::Hold> hold = mem.HoldRanges(r);
    if (!hold.ok()) continue;
    absl::StatusOr<absl::Span<uint8_t>> span = mem.Slice(gpa, 64);
    ASSERT_TRUE(span.ok()) << "a held range became private";
    // What a device does with a chain's buffers, without a lock.
    std::memset(span->data(), i & 0xff, span->size());
    std::this_thread::yield();
    EXPECT_EQ((*span)[63], i & 0xff);
  }
  stop = true;
  converter.join();
  EXPECT_GT(done.load(), 0u);
}

// An access or a hold that comes while a conversion is in KVM waits for it
// and then sees its outcome: it never reaches the page between KVM's change
// and tvmm's own (the race above, made deterministic).
TEST(GuestMemoryConvert, AccessesWaitForAConversionInProgress) {
  std::vector<uint8_t> ram(0x4000);
  GuestMemory mem;
  ASSERT_NO_FATAL_FAILURE(Convertible(mem, ram));
  std::atomic<int> finished{0};
  absl::Status read, write, hold;
  std::vector<std::thread> threads;
  ASSERT_TRUE(mem.Convert(0x1000, 0x1000, true,
                          [&] {
                            threads.emplace_back([&] {
                              uint8_t b = 0;
                              read = mem.Read(0x1000, {&b, 1});
                              finished++;
                            });
                            threads.emplace_back([&] {
                              uint8_t b = 0;
                              write = mem.Write(0x1fff, {&b, 1});
                              finished++;
                            });
                            threads.emplace_back([&] {
                              const GuestRange r[] = {{0x1800, 8}};
                              hold = mem.HoldRanges(r).status();
                              finished++;
                            });
                            std::this_thread::sleep_for(std::chrono::milliseconds(100));
                            EXPECT_EQ(finished.load(), 0)
                                << "an access went ahead during the conversion";
                            return absl::OkStatus();
                          })
                  .ok());
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(read.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(write.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(hold.code(), absl::StatusCode::kPermissionDenied);
}

}  // namespace
}  // namespace tvmm
