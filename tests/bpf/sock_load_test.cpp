// Every program of sock.bpf.o passes the verifier of the running kernel and attaches to a cgroup.
#include <bpf/libbpf.h>
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "sock.skel.h"
#include "sock_env.h"

namespace sluice::test {
namespace {

TEST(SockLoadTest, EveryProgramLoadsAndAttachesToATestCgroup) {
  enterPrivateNetns();
  SockEnv env;
  ASSERT_TRUE(env.ok());
  std::set<std::string> loaded;
  bpf_program* prog = nullptr;
  bpf_object__for_each_program(prog, env.skel()->obj) {
    EXPECT_GE(bpf_program__fd(prog), 0) << bpf_program__name(prog);
    loaded.insert(bpf_program__name(prog));
  }
  const std::set<std::string> want = {
      "sl_connect4",     "sl_connect6",     "sl_sendmsg4", "sl_sendmsg6",     "sl_recvmsg4",
      "sl_recvmsg6",     "sl_getpeername4", "sl_getpeername6", "sl_sock_release", "sl_sockops"};
  EXPECT_EQ(loaded, want);
  EXPECT_EQ(env.attached(), want.size());
}

}  // namespace
}  // namespace sluice::test
