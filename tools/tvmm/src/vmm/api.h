// SPDX-License-Identifier: GPL-2.0
// The control API of a `tvmm run` process (--api-socket): a Unix stream
// socket, one request per connection, a line of text each way.
//
//   list           one line per VM, "<name> <state>" (created, running,
//                  paused or ended), in flag order, then "ok"
//   pause NAME     the VM's vCPUs stop; its devices finish what they hold
//   resume NAME    they run again
//   stop NAME      the VM ends (as a power-off would); the process exits
//                  once every VM has ended
//
// Every other reply is "ok" or "error: <why>".  A request is at most
// kMaxRequest bytes up to its newline (or the end of what the client
// sends); at most kMaxClients connections wait at once, and a new one
// closes the oldest.  `tvmm ctl` is the client.
#ifndef TVMM_VMM_API_H_
#define TVMM_VMM_API_H_

#include <poll.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "util/fd.h"

namespace tvmm {

// What the API acts on: the process's VMs, by name.
class ApiTarget {
 public:
  virtual ~ApiTarget() = default;
  virtual std::vector<std::pair<std::string, std::string>> List() = 0;  // name, state
  // NotFound for a name no VM has.
  virtual absl::Status Pause(absl::string_view name) = 0;
  virtual absl::Status Resume(absl::string_view name) = 0;
  virtual absl::Status Stop(absl::string_view name) = 0;
};

// One request (without its newline) to its whole reply.
std::string HandleApiRequest(absl::string_view request, ApiTarget& target);

class ApiServer {
 public:
  static constexpr size_t kMaxRequest = 256;
  static constexpr size_t kMaxClients = 8;

  // Binds and listens on @path, which must not exist (a usage error
  // naming --api-socket otherwise).  The socket is removed again on
  // destruction.
  static absl::StatusOr<std::unique_ptr<ApiServer>> Listen(const std::string& path);
  ~ApiServer();

  // The descriptors to poll for input: the socket, then each connection.
  void AddPollFds(std::vector<pollfd>* fds) const;
  // After poll(): accepts, reads and answers what @fds (AddPollFds()'s,
  // in its order) say is ready.  Never blocks.
  void Handle(absl::Span<const pollfd> fds, ApiTarget& target);

  struct Token {};  // for std::make_unique in Listen() only
  ApiServer(Token, std::string path, UniqueFd fd) : path_(std::move(path)), fd_(std::move(fd)) {}

 private:
  struct Client {
    UniqueFd fd;
    std::string request;
  };
  void Accept();
  // Reads what @client sent; true once it has been answered (or is gone).
  bool Serve(Client& client, ApiTarget& target);

  const std::string path_;
  UniqueFd fd_;
  UniqueFd spare_;  // given up to accept (and drop) a connection at EMFILE
  std::vector<Client> clients_;  // oldest first
};

// The client: sends @request to the API socket at @path and returns the
// reply (every line, the last one "ok" or "error: ...").
absl::StatusOr<std::string> ApiCall(const std::string& path, absl::string_view request);

}  // namespace tvmm

#endif  // TVMM_VMM_API_H_
