// SPDX-License-Identifier: GPL-2.0
// virtio-vsock's set-up errors (its data path, vhost-vsock, is exercised by
// the end-to-end test in the dev-kernel guest: the host here has no vhost).
#include "virtio/vsock.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace tvmm {
namespace {

using ::testing::HasSubstr;

TEST(VirtioVsockTest, MissingVhostIsReportedWithWhatToDo) {
  auto vsock = VirtioVsock::Open(3, "/nonexistent/vhost-vsock");
  ASSERT_FALSE(vsock.ok());
  EXPECT_THAT(vsock.status().message(), HasSubstr("--vsock: /nonexistent/vhost-vsock"));
  EXPECT_THAT(vsock.status().message(), HasSubstr("vhost_vsock module"));
}

TEST(VirtioVsockTest, ANonVhostDeviceIsRejected) {
  auto vsock = VirtioVsock::Open(3, "/dev/null");
  ASSERT_FALSE(vsock.ok());
  EXPECT_THAT(vsock.status().message(), HasSubstr("VHOST_SET_OWNER"));
}

}  // namespace
}  // namespace tvmm
