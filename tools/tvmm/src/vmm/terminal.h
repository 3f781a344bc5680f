// SPDX-License-Identifier: GPL-2.0
// The console's host side: raw mode while the VM runs (when stdin is a
// terminal), restored on every way out.
#ifndef TVMM_VMM_TERMINAL_H_
#define TVMM_VMM_TERMINAL_H_

#include <termios.h>

namespace tvmm {

class RawTerminal {
 public:
  RawTerminal();  // no-op unless stdin is a tty
  ~RawTerminal();
  RawTerminal(const RawTerminal&) = delete;
  RawTerminal& operator=(const RawTerminal&) = delete;

 private:
  bool active_ = false;
  termios saved_ = {};
};

}  // namespace tvmm

#endif  // TVMM_VMM_TERMINAL_H_
