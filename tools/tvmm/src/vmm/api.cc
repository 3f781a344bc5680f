// SPDX-License-Identifier: GPL-2.0
#include "vmm/api.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "util/status.h"

namespace tvmm {
namespace {

absl::StatusOr<sockaddr_un> SocketAddress(const std::string& path) {
  sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(addr.sun_path) ||
      path.find('\0') != std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        "'", path, "' is not a socket path (1..", sizeof(addr.sun_path) - 1, " bytes)"));
  }
  std::memcpy(addr.sun_path, path.data(), path.size());
  return addr;
}

}  // namespace

std::string HandleApiRequest(absl::string_view request, ApiTarget& target) {
  request = absl::StripSuffix(request, "\r");
  std::vector<absl::string_view> words = absl::StrSplit(request, ' ', absl::SkipEmpty());
  if (words.empty()) return "error: empty request (list, pause, resume or stop)\n";
  absl::string_view verb = words[0];
  if (verb == "list") {
    if (words.size() != 1) return "error: list takes no argument\n";
    std::string out;
    for (const auto& [name, state] : target.List()) absl::StrAppend(&out, name, " ", state, "\n");
    return out + "ok\n";
  }
  if (verb != "pause" && verb != "resume" && verb != "stop") {
    // The request is the client's text: only its printable ASCII goes back.
    std::string shown;
    for (char c : verb.substr(0, 32)) shown.push_back(c > ' ' && c < 127 ? c : '?');
    return absl::StrCat("error: unknown request '", shown,
                        "' (list, pause, resume or stop)\n");
  }
  if (words.size() != 2) return absl::StrCat("error: ", verb, " takes one VM name\n");
  absl::Status s = verb == "pause"    ? target.Pause(words[1])
                   : verb == "resume" ? target.Resume(words[1])
                                      : target.Stop(words[1]);
  if (!s.ok()) return absl::StrCat("error: ", s.message(), "\n");
  return "ok\n";
}

absl::StatusOr<std::unique_ptr<ApiServer>> ApiServer::Listen(const std::string& path) {
  auto usage = [&](absl::string_view why) {
    return UsageError(absl::InvalidArgumentError(absl::StrCat("--api-socket ", path, ": ", why)));
  };
  absl::StatusOr<sockaddr_un> addr = SocketAddress(path);
  if (!addr.ok()) return UsageError(absl::InvalidArgumentError(
      absl::StrCat("--api-socket: ", addr.status().message())));
  // Never unlink what is there: it may be another tvmm's live socket.
  struct stat st;
  if (lstat(path.c_str(), &st) == 0) return usage("exists (another tvmm's socket? remove it)");
  UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.valid()) return ErrnoStatus("socket(AF_UNIX)");
  if (bind(fd.get(), reinterpret_cast<const sockaddr*>(&*addr), sizeof(*addr)) < 0)
    return usage(strerror(errno));
  // Only the user who runs tvmm may control its VMs.
  if (chmod(path.c_str(), 0600) < 0 || listen(fd.get(), 16) < 0) {
    int err = errno;
    unlink(path.c_str());
    return ErrnoStatus(absl::StrCat("--api-socket ", path), err);
  }
  auto server = std::make_unique<ApiServer>(Token{}, path, std::move(fd));
  server->spare_.Reset(open("/dev/null", O_RDONLY | O_CLOEXEC));
  return server;
}

ApiServer::~ApiServer() { unlink(path_.c_str()); }

void ApiServer::AddPollFds(std::vector<pollfd>* fds) const {
  fds->push_back({fd_.get(), POLLIN, 0});
  for (const Client& c : clients_) fds->push_back({c.fd.get(), POLLIN, 0});
}

void ApiServer::Accept() {
  for (;;) {
    UniqueFd fd(accept4(fd_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
    if (!fd.valid() && (errno == EMFILE || errno == ENFILE) && spare_.valid()) {
      // Out of descriptors: the connection would stay queued and the socket
      // readable, and the event loop would spin.  Give up the spare one to
      // take the connection and close it, then take the spare back.
      spare_.Reset();
      UniqueFd dropped(accept4(fd_.get(), nullptr, nullptr, SOCK_CLOEXEC));
      spare_.Reset(open("/dev/null", O_RDONLY | O_CLOEXEC));
      if (dropped.valid()) continue;
    }
    if (!fd.valid()) return;  // EAGAIN: none left; anything else: try next time
    if (clients_.size() >= kMaxClients) clients_.erase(clients_.begin());
    clients_.push_back({std::move(fd), {}});
  }
}

bool ApiServer::Serve(Client& client, ApiTarget& target) {
  char buf[kMaxRequest + 1];
  ssize_t n = read(client.fd.get(), buf, sizeof(buf));
  if (n < 0) return errno != EAGAIN && errno != EINTR;
  client.request.append(buf, n);
  size_t nl = client.request.find('\n');
  std::string reply;
  if (nl == std::string::npos && client.request.size() > kMaxRequest) {
    reply = absl::StrCat("error: request longer than ", kMaxRequest, " bytes\n");
  } else if (nl != std::string::npos || n == 0) {
    if (n == 0 && client.request.empty()) return true;  // connected and left
    absl::string_view line(client.request);
    if (nl != std::string::npos) line = line.substr(0, nl);
    reply = line.size() > kMaxRequest
                ? absl::StrCat("error: request longer than ", kMaxRequest, " bytes\n")
                : HandleApiRequest(line, target);
  } else {
    return false;  // more to come
  }
  // Small enough for an empty socket buffer; a client that does not read
  // loses the rest, it never blocks the process.
  (void)!send(client.fd.get(), reply.data(), reply.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  return true;
}

void ApiServer::Handle(absl::Span<const pollfd> fds, ApiTarget& target) {
  if (fds.empty()) return;
  // Connections first (fds[1..] are clients_ as AddPollFds() saw them),
  // then new ones, so that the indices still match.
  std::vector<bool> done(clients_.size(), false);
  for (size_t i = 0; i < clients_.size() && i + 1 < fds.size(); i++) {
    if (fds[i + 1].revents) done[i] = Serve(clients_[i], target);
  }
  for (size_t i = clients_.size(); i-- > 0;) {
    if (done[i]) clients_.erase(clients_.begin() + i);
  }
  if (fds[0].revents & POLLIN) Accept();
}

absl::StatusOr<std::string> ApiCall(const std::string& path, absl::string_view request) {
  TVMM_ASSIGN_OR_RETURN(sockaddr_un addr, SocketAddress(path));
  UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return ErrnoStatus("socket(AF_UNIX)");
  if (connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) < 0)
    return ErrnoStatus(absl::StrCat("connect ", path));
  // A pause waits up to a few seconds for the vCPUs; this is the bound on
  // the whole exchange.
  timeval tv = {30, 0};
  setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  std::string line = absl::StrCat(request, "\n");
  if (send(fd.get(), line.data(), line.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(line.size()))
    return ErrnoStatus(absl::StrCat("send to ", path));
  std::string reply;
  char buf[4096];
  for (;;) {
    ssize_t n = read(fd.get(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus(absl::StrCat("read from ", path));
    if (n == 0) break;
    reply.append(buf, n);
  }
  if (reply.empty() || reply.back() != '\n')
    return absl::UnavailableError(absl::StrCat(path, ": the reply was cut short"));
  return reply;
}

}  // namespace tvmm
