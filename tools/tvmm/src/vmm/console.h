// SPDX-License-Identifier: GPL-2.0
// The host side of the guests' consoles: every VM of the process writes to
// one file descriptor (stdout).  With one VM its output passes unchanged.
// With several, every line starts with "<name>| " and the output is line
// buffered per VM, so that one VM's line is never cut by another's: a
// serial port hands over one byte per access, and a line takes as long as
// the guest takes to send it.  An unfinished line (a prompt) is written
// once its VM has been quiet for kPartialQuiet (or what the constructor
// was given), or once it is kMaxPartial bytes long; a VM that writes after
// that starts a new line.
#ifndef TVMM_VMM_CONSOLE_H_
#define TVMM_VMM_CONSOLE_H_

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/string_view.h"
#include "util/fd.h"

namespace tvmm {

class ConsoleMux {
 public:
  static constexpr std::chrono::milliseconds kPartialQuiet{250};
  static constexpr size_t kMaxPartial = 1024;

  // @names: one per VM, in order; prefixes only if there are two or more.
  // @partial_quiet: how long an unfinished line waits for more.
  ConsoleMux(int fd, std::vector<std::string> names,
             std::chrono::milliseconds partial_quiet = kPartialQuiet);
  // Writes what is still buffered if the console takes it at once.
  ~ConsoleMux();
  ConsoleMux(const ConsoleMux&) = delete;
  ConsoleMux& operator=(const ConsoleMux&) = delete;

  // VM @vm's output.  Returns once written (or buffered), or early when
  // @stop_fd is readable and @fd is not writable, or @fd is gone (EPIPE,
  // POLLERR): a console nobody reads does not stop a VM that has been told
  // to stop, and does not stop the guest.
  void Write(size_t vm, absl::string_view data, int stop_fd);

 private:
  struct Partial {
    std::string text;
    std::chrono::steady_clock::time_point last;  // its last byte came
  };

  // Writes all of @data unless @stop_fd is readable while @fd is not
  // writable.
  bool WriteAll(absl::string_view data, int stop_fd);
  // Appends VM @vm's @text to @out, prefixed if it starts a line.
  void Emit(size_t vm, absl::string_view text, std::string* out);
  // The flusher thread: writes unfinished lines that went quiet.
  void FlushLoop();

  const int fd_;
  const std::vector<std::string> names_;
  const bool prefix_;
  const std::chrono::milliseconds partial_quiet_;
  // Taken with try_lock() between 1 ms looks at the stop event: a VM waiting
  // for another one's stalled write still sees its own.  (Not a timed
  // mutex: GCC 12's ThreadSanitizer does not see pthread_mutex_clocklock.)
  std::mutex mu_;
  size_t last_vm_ = 0;
  bool at_line_start_ = true;
  std::vector<Partial> partial_;        // per VM
  std::condition_variable partial_cv_;  // a partial line started
  bool quit_ = false;
  UniqueFd quit_fd_;     // an eventfd: gets the flusher out of a stalled write
  std::thread flusher_;  // last: started once the rest is initialized
};

}  // namespace tvmm

#endif  // TVMM_VMM_CONSOLE_H_
