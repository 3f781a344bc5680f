// SPDX-License-Identifier: GPL-2.0
// A minimal x86 bzImage for tests: 4 setup sectors plus the boot sector,
// then @kernel bytes of 0x90.
#ifndef TVMM_TESTS_FAKE_BZIMAGE_H_
#define TVMM_TESTS_FAKE_BZIMAGE_H_

#include <asm/bootparam.h>

#include <cstdint>
#include <cstring>
#include <vector>

namespace tvmm {

inline std::vector<uint8_t> FakeBzImage(size_t kernel = 0x10000, uint16_t version = 0x020f) {
  std::vector<uint8_t> f(5 * 512 + kernel, 0x90);
  setup_header h = {};
  h.setup_sects = 4;
  h.boot_flag = 0xaa55;
  h.jump = 0x66eb;  // jump over the header
  h.header = 0x53726448;
  h.version = version;
  h.loadflags = LOADED_HIGH;
  h.initrd_addr_max = 0x7fffffff;
  h.xloadflags = XLF_KERNEL_64;
  h.cmdline_size = 2047;
  h.init_size = 0x200000;
  h.syssize = kernel / 16;
  std::memcpy(f.data() + 0x1f1, &h, sizeof(h));
  f[0x201] = 0x66;  // header length: up to 0x268
  return f;
}

}  // namespace tvmm

#endif  // TVMM_TESTS_FAKE_BZIMAGE_H_
