// SPDX-License-Identifier: GPL-2.0
// A FUSE file system of one file, "disk", whose reads hang until the test
// answers them: storage that io_uring cannot cancel.  Once its daemon has
// received a read, the kernel ends the read early only for a fatal signal
// (it sends FUSE_INTERRUPT, which this daemon ignores, and goes on
// waiting), so an io_uring read of the file stays in flight through any
// cancellation, and a thread that submitted it waits in its exit until it
// is answered.
//
// The daemon speaks the FUSE protocol on /dev/fuse itself (no libfuse) in
// a child process, never in the test's: a process that dies with a read
// held waits for the read in its exit, so a daemon of its own would never
// answer.  The child dies with the test (PR_SET_PDEATHSIG), and after
// kMaxHoldSeconds whatever happens: either aborts the connection, which
// ends every read with an error, so that no failure of the test can leave
// a process hung; its mount lives in a mount namespace of its own and
// goes with it.  Start() needs to mount (root, /dev/fuse); it says why it
// cannot, and the test skips.
#ifndef TVMM_TESTS_HUNG_FUSE_H_
#define TVMM_TESTS_HUNG_FUSE_H_

#include <fcntl.h>
#include <linux/fuse.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "util/fd.h"

namespace tvmm {

class HungFuse {
 public:
  static constexpr uint64_t kFileBytes = 1 << 20;
  static constexpr unsigned kMaxHoldSeconds = 60;

  HungFuse() = default;
  HungFuse(const HungFuse&) = delete;
  HungFuse& operator=(const HungFuse&) = delete;
  ~HungFuse() { Stop(); }

  // Starts the daemon, which mounts the file system in a mount namespace
  // of its own (so that no mount outlives it); "" on success, else why it
  // cannot.  Call it before the test starts any thread (it forks).
  std::string Start() {
    char dir[] = "/tmp/tvmm-fuse.XXXXXX";
    if (!mkdtemp(dir)) return std::string("mkdtemp: ") + strerror(errno);
    dir_ = dir;
    int to_child[2], from_child[2];
    if (pipe2(to_child, O_CLOEXEC)) return std::string("pipe2: ") + strerror(errno);
    UniqueFd child_in(to_child[0]);
    control_.Reset(to_child[1]);
    if (pipe2(from_child, O_CLOEXEC)) return std::string("pipe2: ") + strerror(errno);
    UniqueFd child_out(from_child[1]);
    events_.Reset(from_child[0]);
    pid_t parent = getpid();
    child_ = fork();
    if (child_ < 0) return std::string("fork: ") + strerror(errno);
    if (child_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(1);
      alarm(kMaxHoldSeconds);
      // The test's ends: a test that is gone closes the control pipe.
      close(control_.get());
      close(events_.get());
      Daemon(dir, child_in.get(), child_out.get());
      _exit(0);
    }
    child_in.Reset();
    child_out.Reset();
    // The daemon says 'M' once mounted, or 'F' and why not.
    std::string reply;
    char buf[256];
    for (ssize_t n; (n = read(events_.get(), buf, sizeof(buf))) != 0;) {
      if (n < 0) {
        if (errno == EINTR) continue;
        return std::string("reading from the daemon: ") + strerror(errno);
      }
      reply.append(buf, n);
      if (reply[0] == 'M') break;
    }
    if (reply.empty()) return "the daemon died";
    if (reply[0] != 'M') return reply.substr(1);
    root_ = "/proc/" + std::to_string(child_) + "/root";
    return "";
  }

  // The file, seen through the daemon's mount namespace.
  std::string FilePath() const { return root_ + dir_ + "/disk"; }

  // Waits until the daemon holds a read; false after @timeout.
  bool WaitForHeldRead(std::chrono::milliseconds timeout) { return WaitFor('H', timeout); }
  // Answers the held read with @byte in every byte asked for.
  void AnswerHeldRead(uint8_t byte) { (void)!write(control_.get(), &byte, 1); }
  // Waits until the file was released (its last fd closed); false after @timeout.
  bool WaitForRelease(std::chrono::milliseconds timeout) { return WaitFor('R', timeout); }
  bool released() { return WaitFor('R', std::chrono::milliseconds(0)); }

  // Ends the daemon, which ends every read it still holds, and its mount.
  void Stop() {
    if (child_ > 0) {
      kill(child_, SIGKILL);
      waitpid(child_, nullptr, 0);
    }
    child_ = 0;
    control_.Reset();
    events_.Reset();
    if (!dir_.empty()) rmdir(dir_.c_str());
    dir_.clear();
  }

 private:
  static constexpr uint64_t kFileNode = 2;

  bool WaitFor(char event, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (event == 'H' ? held_ : released_) {
        if (event == 'H') held_ = false;
        return true;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      pollfd pfd = {events_.get(), POLLIN, 0};
      int n = poll(&pfd, 1, std::max<int64_t>(0, left.count()));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      char c;
      if (read(events_.get(), &c, 1) != 1) return false;  // the daemon is gone
      (c == 'H' ? held_ : released_) = true;
    }
  }

  // The daemon (child process): mounts, says so on @events, serves.
  static void Daemon(const char* dir, int control, int events) {
    auto fail = [&](const char* what) {
      std::string why = std::string("F") + what + ": " + strerror(errno);
      (void)!write(events, why.data(), why.size());
    };
    if (unshare(CLONE_NEWNS)) return fail("unshare(CLONE_NEWNS)");
    if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr))
      return fail("mount --make-rprivate /");
    int dev = open("/dev/fuse", O_RDWR | O_CLOEXEC);
    if (dev < 0) return fail("/dev/fuse");
    std::string opts = "fd=" + std::to_string(dev) +
                       ",rootmode=40000,user_id=" + std::to_string(getuid()) +
                       ",group_id=" + std::to_string(getgid());
    if (mount("tvmm-hung", dir, "fuse", MS_NOSUID | MS_NODEV, opts.c_str()))
      return fail("mount -t fuse");
    (void)!write(events, "M", 1);
    Serve(dev, control, events);
  }

  static void Reply(int dev, uint64_t unique, int error, const void* body, size_t len) {
    std::vector<uint8_t> out(sizeof(fuse_out_header) + len);
    fuse_out_header h = {};
    h.len = static_cast<uint32_t>(out.size());
    h.error = error;
    h.unique = unique;
    std::memcpy(out.data(), &h, sizeof(h));
    if (len) std::memcpy(out.data() + sizeof(h), body, len);
    (void)!write(dev, out.data(), out.size());
  }

  static fuse_attr Attr(uint64_t node) {
    fuse_attr a = {};
    a.ino = node;
    a.nlink = 1;
    a.blksize = 4096;
    if (node == FUSE_ROOT_ID) {
      a.mode = S_IFDIR | 0755;
    } else {
      a.mode = S_IFREG | 0644;
      a.size = kFileBytes;
      a.blocks = kFileBytes / 512;
    }
    return a;
  }

  static void Serve(int dev, int control, int events) {
    std::vector<uint8_t> buf(FUSE_MIN_READ_BUFFER + 256 * 1024);
    uint64_t held = 0;
    uint32_t held_size = 0;
    for (;;) {
      pollfd fds[2] = {{dev, POLLIN, 0}, {control, POLLIN, 0}};
      if (poll(fds, 2, -1) < 0) {
        if (errno == EINTR || errno == ENOMEM) continue;
        return;
      }
      if (fds[1].revents) {
        uint8_t byte;
        if (read(control, &byte, 1) != 1) return;  // the test is gone
        if (held) {
          std::vector<uint8_t> data(held_size, byte);
          Reply(dev, held, 0, data.data(), data.size());
          held = 0;
        }
      }
      if (!fds[0].revents) continue;
      ssize_t n = read(dev, buf.data(), buf.size());
      if (n < 0) {
        if (errno == EINTR || errno == EAGAIN || errno == ENOENT) continue;
        return;  // ENODEV: unmounted
      }
      if (static_cast<size_t>(n) < sizeof(fuse_in_header)) continue;
      fuse_in_header in;
      std::memcpy(&in, buf.data(), sizeof(in));
      const uint8_t* arg = buf.data() + sizeof(in);
      switch (in.opcode) {
        case FUSE_INIT: {
          fuse_init_out out = {};
          out.major = FUSE_KERNEL_VERSION;
          out.minor = 31;
          out.max_readahead = 0;
          out.max_write = 4096;
          out.max_background = 16;
          out.congestion_threshold = 12;
          Reply(dev, in.unique, 0, &out, sizeof(out));
          break;
        }
        case FUSE_LOOKUP: {
          if (std::strcmp(reinterpret_cast<const char*>(arg), "disk") != 0) {
            Reply(dev, in.unique, -ENOENT, nullptr, 0);
            break;
          }
          fuse_entry_out out = {};
          out.nodeid = kFileNode;
          out.entry_valid = out.attr_valid = 3600;
          out.attr = Attr(kFileNode);
          Reply(dev, in.unique, 0, &out, sizeof(out));
          break;
        }
        case FUSE_GETATTR: {
          fuse_attr_out out = {};
          out.attr_valid = 3600;
          out.attr = Attr(in.nodeid);
          Reply(dev, in.unique, 0, &out, sizeof(out));
          break;
        }
        case FUSE_OPEN: {
          fuse_open_out out = {};
          out.fh = 1;
          Reply(dev, in.unique, 0, &out, sizeof(out));
          break;
        }
        case FUSE_READ: {
          fuse_read_in r;
          std::memcpy(&r, arg, sizeof(r));
          if (held) {  // one at a time: the test asks for one
            Reply(dev, in.unique, -EIO, nullptr, 0);
            break;
          }
          held = in.unique;
          held_size = r.size;
          (void)!write(events, "H", 1);
          break;  // answered when the test says so
        }
        case FUSE_RELEASE:
          Reply(dev, in.unique, 0, nullptr, 0);
          (void)!write(events, "R", 1);
          break;
        case FUSE_FLUSH:
          Reply(dev, in.unique, 0, nullptr, 0);
          break;
        case FUSE_STATFS: {  // so that fstatfs() reports FUSE's type
          fuse_statfs_out out = {};
          out.st.bsize = out.st.frsize = 4096;
          out.st.namelen = 255;
          Reply(dev, in.unique, 0, &out, sizeof(out));
          break;
        }
        case FUSE_INTERRUPT:
        case FUSE_FORGET:
        case FUSE_BATCH_FORGET:
          break;  // no reply: the held read stays held
        default:
          Reply(dev, in.unique, -ENOSYS, nullptr, 0);
          break;
      }
    }
  }

  std::string dir_, root_;
  pid_t child_ = 0;
  UniqueFd control_, events_;
  bool held_ = false, released_ = false;
};

}  // namespace tvmm

#endif  // TVMM_TESTS_HUNG_FUSE_H_
