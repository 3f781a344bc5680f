// SPDX-License-Identifier: GPL-2.0
#include "vmm/console.h"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace tvmm {
namespace {

// Waits up to @ms for @fd to be readable.
bool Readable(int fd, int ms) {
  pollfd p = {fd, POLLIN, 0};
  return poll(&p, 1, ms) > 0 && (p.revents & POLLIN);
}

}  // namespace

ConsoleMux::ConsoleMux(int fd, std::vector<std::string> names)
    : fd_(fd), names_(std::move(names)), prefix_(names_.size() > 1) {}

bool ConsoleMux::WriteAll(absl::string_view s, int stop_fd) {
  for (size_t done = 0; done < s.size();) {
    pollfd fds[2] = {{fd_, POLLOUT, 0}, {stop_fd, POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (fds[1].revents) return false;               // the VM stops
    if (!(fds[0].revents & POLLOUT)) return false;  // the console is gone
    // POLLOUT promises room for a little (a tty: its wakeup threshold, 256
    // bytes): more could block the write past a stop.
    ssize_t n = write(fd_, s.data() + done, std::min<size_t>(s.size() - done, 256));
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      return false;  // the console is gone (EPIPE: SIGPIPE is ignored)
    }
    done += n;
  }
  return true;
}

void ConsoleMux::Write(size_t vm, absl::string_view data, int stop_fd) {
  while (!mu_.try_lock()) {
    if (Readable(stop_fd, 1)) return;
  }
  std::unique_lock lock(mu_, std::adopt_lock);
  if (!prefix_) {
    WriteAll(data, stop_fd);
    return;
  }
  // One write per piece keeps the bookkeeping simple; a console is slow
  // anyway.  A piece cut short by a stop leaves the line unfinished, which
  // the next VM's output closes.
  std::string out;
  if (vm != last_vm_ && !at_line_start_) {
    out.push_back('\n');
    at_line_start_ = true;
  }
  last_vm_ = vm;
  while (!data.empty()) {
    if (at_line_start_) {
      out.append(names_.at(vm));
      out.append("| ");
      at_line_start_ = false;
    }
    size_t nl = data.find('\n');
    size_t take = nl == absl::string_view::npos ? data.size() : nl + 1;
    out.append(data.data(), take);
    if (nl != absl::string_view::npos) at_line_start_ = true;
    data.remove_prefix(take);
  }
  WriteAll(out, stop_fd);
}

}  // namespace tvmm
