// SPDX-License-Identifier: GPL-2.0
// The host side of the guests' consoles: every VM of the process writes to
// one file descriptor (stdout).  With one VM its output passes unchanged;
// with several, every line starts with "<name>| ", and a VM that writes
// while another one's line is unfinished starts a new line.
#ifndef TVMM_VMM_CONSOLE_H_
#define TVMM_VMM_CONSOLE_H_

#include <cstddef>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace tvmm {

class ConsoleMux {
 public:
  // @names: one per VM, in order; prefixes only if there are two or more.
  ConsoleMux(int fd, std::vector<std::string> names);

  // VM @vm's output.  Returns once written, or early when @stop_fd is
  // readable or @fd is gone (EPIPE, POLLERR): a console nobody reads does
  // not stop a VM that has been told to stop, and does not stop the guest.
  void Write(size_t vm, absl::string_view data, int stop_fd);

 private:
  // Writes all of @data unless @stop_fd becomes readable first.
  bool WriteAll(absl::string_view data, int stop_fd);

  const int fd_;
  const std::vector<std::string> names_;
  const bool prefix_;
  // Taken with try_lock() between 1 ms looks at the stop event: a VM waiting
  // for another one's stalled write still sees its own.  (Not a timed
  // mutex: GCC 12's ThreadSanitizer does not see pthread_mutex_clocklock.)
  std::mutex mu_;
  size_t last_vm_ = 0;
  bool at_line_start_ = true;
};

}  // namespace tvmm

#endif  // TVMM_VMM_CONSOLE_H_
