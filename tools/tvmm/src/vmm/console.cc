// SPDX-License-Identifier: GPL-2.0
#include "vmm/console.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <optional>

#include "util/poll.h"
#include "util/thread.h"

namespace tvmm {
namespace {

// Waits up to @ms for @fd to be readable.
bool Readable(int fd, int ms) {
  pollfd p = {fd, POLLIN, 0};
  return poll(&p, 1, ms) > 0 && (p.revents & POLLIN);
}

}  // namespace

ConsoleMux::ConsoleMux(int fd, std::vector<std::string> names,
                       std::chrono::milliseconds partial_quiet)
    : fd_(fd), names_(std::move(names)), prefix_(names_.size() > 1), partial_quiet_(partial_quiet) {
  if (!prefix_) return;
  partial_.resize(names_.size());
  // Without an eventfd the flusher cannot be interrupted: lines are then
  // written whole or at kMaxPartial only.
  quit_fd_.Reset(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (quit_fd_.valid()) flusher_ = std::thread(&ConsoleMux::FlushLoop, this);
}

ConsoleMux::~ConsoleMux() {
  if (flusher_.joinable()) {
    {
      std::lock_guard lock(mu_);
      quit_ = true;
    }
    partial_cv_.notify_one();
    uint64_t one = 1;
    (void)!write(quit_fd_.get(), &one, sizeof(one));
    flusher_.join();
  }
  std::string out;
  for (size_t vm = 0; vm < partial_.size(); vm++) {
    if (!partial_[vm].text.empty()) Emit(vm, partial_[vm].text, &out);
  }
  // quit_fd_ is readable: this writes only what the console takes now.
  if (!out.empty()) WriteAll(out, quit_fd_.valid() ? quit_fd_.get() : -1);
}

bool ConsoleMux::WriteAll(absl::string_view s, int stop_fd) {
  for (size_t done = 0; done < s.size();) {
    pollfd fds[2] = {{fd_, POLLOUT, 0}, {stop_fd, POLLIN, 0}};
    if (PollRetrying(fds, 2, stop_fd < 0 ? 0 : -1) < 0) return false;
    // Not writable: the VM stops (or, without a stop event, the console
    // does not take more now), or the console is gone.
    if (!(fds[0].revents & POLLOUT)) return false;
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

void ConsoleMux::Emit(size_t vm, absl::string_view text, std::string* out) {
  if (vm != last_vm_ && !at_line_start_) out->push_back('\n');
  if (vm != last_vm_ || at_line_start_) {
    out->append(names_.at(vm));
    out->append("| ");
  }
  out->append(text.data(), text.size());
  last_vm_ = vm;
  at_line_start_ = !text.empty() && text.back() == '\n';
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
  // The complete lines go out now, the rest waits for its newline.  A piece
  // cut short by a stop leaves the line unfinished, which the next VM's
  // output closes.
  Partial& p = partial_.at(vm);
  std::string out;
  for (size_t nl; (nl = data.find('\n')) != absl::string_view::npos;) {
    p.text.append(data.data(), nl + 1);
    Emit(vm, p.text, &out);
    p.text.clear();
    data.remove_prefix(nl + 1);
  }
  const bool started = p.text.empty() && !data.empty();
  p.text.append(data.data(), data.size());
  if (p.text.size() >= kMaxPartial) {
    Emit(vm, p.text, &out);
    p.text.clear();
  } else if (!data.empty()) {
    p.last = std::chrono::steady_clock::now();
    // The flusher needs waking only for a new partial line: for one it
    // waits on already, it finds the later p.last when its wait ends.
    if (started) partial_cv_.notify_one();
  }
  if (!out.empty()) WriteAll(out, stop_fd);
}

void ConsoleMux::FlushLoop() {
  NameThisThread("console");
  std::unique_lock lock(mu_);
  while (!quit_) {
    auto now = std::chrono::steady_clock::now();
    std::optional<std::chrono::steady_clock::time_point> next;
    std::string out;
    for (size_t vm = 0; vm < partial_.size(); vm++) {
      Partial& p = partial_[vm];
      if (p.text.empty()) continue;
      if (now - p.last >= partial_quiet_) {
        Emit(vm, p.text, &out);
        p.text.clear();
      } else if (!next || p.last + partial_quiet_ < *next) {
        next = p.last + partial_quiet_;
      }
    }
    if (!out.empty()) {
      WriteAll(out, quit_fd_.get());
    } else if (next) {
      partial_cv_.wait_until(lock, *next);
    } else {
      partial_cv_.wait(lock);
    }
  }
}

}  // namespace tvmm
