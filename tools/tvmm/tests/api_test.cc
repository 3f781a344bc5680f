// SPDX-License-Identifier: GPL-2.0
#include "vmm/api.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <thread>

#include "absl/strings/str_cat.h"
#include "util/status.h"

namespace tvmm {
namespace {

using ::testing::HasSubstr;

class FakeTarget : public ApiTarget {
 public:
  std::vector<std::pair<std::string, std::string>> List() override {
    return {{"a", "running"}, {"b", paused ? "paused" : "running"}};
  }
  absl::Status Pause(absl::string_view name) override { return Act("pause", name); }
  absl::Status Resume(absl::string_view name) override { return Act("resume", name); }
  absl::Status Stop(absl::string_view name) override { return Act("stop", name); }

  absl::Status Act(absl::string_view verb, absl::string_view name) {
    if (name != "a" && name != "b") return absl::NotFoundError(absl::StrCat("no VM is named '", name, "'"));
    calls.push_back(absl::StrCat(verb, " ", name));
    if (verb == "pause") paused = true;
    return absl::OkStatus();
  }

  bool paused = false;
  std::vector<std::string> calls;
};

TEST(HandleApiRequest, Verbs) {
  FakeTarget t;
  EXPECT_EQ(HandleApiRequest("list", t), "a running\nb running\nok\n");
  EXPECT_EQ(HandleApiRequest("pause b", t), "ok\n");
  EXPECT_EQ(HandleApiRequest("list\r", t), "a running\nb paused\nok\n");
  EXPECT_EQ(HandleApiRequest("  resume   b ", t), "ok\n");
  EXPECT_EQ(HandleApiRequest("stop a", t), "ok\n");
  EXPECT_THAT(t.calls, ::testing::ElementsAre("pause b", "resume b", "stop a"));
}

TEST(HandleApiRequest, BadRequestsAreErrorsThatActOnNothing) {
  FakeTarget t;
  EXPECT_EQ(HandleApiRequest("", t), "error: empty request (list, pause, resume or stop)\n");
  EXPECT_EQ(HandleApiRequest("list b", t), "error: list takes no argument\n");
  EXPECT_EQ(HandleApiRequest("stop", t), "error: stop takes one VM name\n");
  EXPECT_EQ(HandleApiRequest("stop a b", t), "error: stop takes one VM name\n");
  EXPECT_EQ(HandleApiRequest("stop c", t), "error: no VM is named 'c'\n");
  EXPECT_EQ(HandleApiRequest("reboot a", t),
            "error: unknown request 'reboot' (list, pause, resume or stop)\n");
  // The client's bytes do not reach the reply raw.
  EXPECT_EQ(HandleApiRequest(std::string("\x1b[2J\x7f", 5), t),
            "error: unknown request '?[2J?' (list, pause, resume or stop)\n");
  EXPECT_TRUE(t.calls.empty());
}

class ApiServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/tvmm-api-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    path_ = dir_ + "/api.sock";
  }
  void TearDown() override {
    unlink(path_.c_str());
    rmdir(dir_.c_str());
  }

  // Serves @server until @done.
  void Serve(ApiServer& server, const std::atomic<bool>& done) {
    while (!done) {
      std::vector<pollfd> fds;
      server.AddPollFds(&fds);
      if (poll(fds.data(), fds.size(), 10) > 0) server.Handle(fds, target_);
    }
  }

  // Runs @client on a thread while the server is served here.
  template <typename F>
  void WithServer(ApiServer& server, F client) {
    std::atomic<bool> done{false};
    std::thread t([&] {
      client();
      done = true;
    });
    Serve(server, done);
    t.join();
  }

  std::string dir_, path_;
  FakeTarget target_;
};

TEST_F(ApiServerTest, AnswersApiCall) {
  absl::StatusOr<std::unique_ptr<ApiServer>> server = ApiServer::Listen(path_);
  ASSERT_TRUE(server.ok()) << server.status();
  struct stat st;
  ASSERT_EQ(stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  WithServer(**server, [&] {
    EXPECT_EQ(*ApiCall(path_, "list"), "a running\nb running\nok\n");
    EXPECT_EQ(*ApiCall(path_, "pause b"), "ok\n");
    EXPECT_EQ(*ApiCall(path_, "stop zz"), "error: no VM is named 'zz'\n");
  });
  EXPECT_THAT(target_.calls, ::testing::ElementsAre("pause b"));
  server->reset();
  EXPECT_NE(stat(path_.c_str(), &st), 0) << "the socket outlived its server";
}

TEST_F(ApiServerTest, RefusesAPathThatExists) {
  int fd = open(path_.c_str(), O_CREAT | O_WRONLY, 0600);
  ASSERT_GE(fd, 0);
  close(fd);
  absl::StatusOr<std::unique_ptr<ApiServer>> server = ApiServer::Listen(path_);
  ASSERT_FALSE(server.ok());
  EXPECT_TRUE(IsUsageError(server.status()));
  EXPECT_THAT(server.status().message(), HasSubstr("--api-socket " + path_ + ": exists"));
  struct stat st;
  EXPECT_EQ(stat(path_.c_str(), &st), 0) << "someone else's file was removed";
  absl::StatusOr<std::unique_ptr<ApiServer>> too_long =
      ApiServer::Listen("/tmp/" + std::string(200, 'x'));
  ASSERT_FALSE(too_long.ok());
  EXPECT_THAT(too_long.status().message(), HasSubstr("--api-socket: "));
}

int Connect(const std::string& path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path.c_str());
  EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  return fd;
}

std::string ReadAll(int fd) {
  std::string out;
  char buf[512];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0) out.append(buf, n);
  return out;
}

TEST_F(ApiServerTest, HostileClients) {
  absl::StatusOr<std::unique_ptr<ApiServer>> server = ApiServer::Listen(path_);
  ASSERT_TRUE(server.ok()) << server.status();
  WithServer(**server, [&] {
    // A request longer than the limit, without a newline: refused.
    int fd = Connect(path_);
    std::string big(ApiServer::kMaxRequest + 10, 'x');
    ASSERT_EQ(write(fd, big.data(), big.size()), static_cast<ssize_t>(big.size()));
    EXPECT_EQ(ReadAll(fd), absl::StrCat("error: request longer than ", ApiServer::kMaxRequest,
                                        " bytes\n"));
    close(fd);
    // A request in pieces, ended by shutting down the write side.
    fd = Connect(path_);
    ASSERT_EQ(write(fd, "li", 2), 2);
    usleep(20000);
    ASSERT_EQ(write(fd, "st", 2), 2);
    shutdown(fd, SHUT_WR);
    EXPECT_EQ(ReadAll(fd), "a running\nb running\nok\n");
    close(fd);
    // Clients that connect and say nothing do not lock others out: the
    // oldest makes room.
    std::vector<int> idle;
    for (size_t i = 0; i < ApiServer::kMaxClients + 2; i++) idle.push_back(Connect(path_));
    EXPECT_EQ(*ApiCall(path_, "list"), "a running\nb running\nok\n");
    for (int i : idle) close(i);
    // One that connects and leaves.
    close(Connect(path_));
    EXPECT_EQ(*ApiCall(path_, "pause a"), "ok\n");
  });
  EXPECT_THAT(target_.calls, ::testing::ElementsAre("pause a"));
}

TEST(ApiCall, NoServer) {
  absl::StatusOr<std::string> r = ApiCall("/nonexistent/tvmm.sock", "list");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("connect /nonexistent/tvmm.sock"));
}

}  // namespace
}  // namespace tvmm
