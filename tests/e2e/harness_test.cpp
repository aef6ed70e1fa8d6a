// The topology itself, without the agent: pods reach each other's addresses over the node, a client
// runs inside its test cgroup, and a Service VIP leads nowhere. The last point is what makes every
// VIP landing in the scenarios (l4_test.cpp) evidence of the agent's rewrite.
#include "sandbox.h"
#include "topology.h"
#include "traffic.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <fstream>

namespace sluice::e2e {
namespace {

class HarnessTest : public testing::Test {
 protected:
  void SetUp() override {
    if (auto why = Sandbox::unavailableReason(); !why.empty()) GTEST_SKIP() << why;
    topo_ = std::make_unique<Topology>(Sandbox::enter());
  }
  std::unique_ptr<Topology> topo_;
};

TEST_F(HarnessTest, PodsAnswerOverTcpAndUdpOnBothFamilies) {
  auto& a = topo_->addPod("server-a", {}, false);
  auto& b = topo_->addPod("server-b", {}, false);
  auto& client = topo_->addPod("client", {}, true);
  topo_->serve(a, {8080});
  topo_->serve(b, {8080});

  struct Case {
    const Pod* server;
    std::string target;
    bool udp;
  };
  const std::vector<Case> cases = {
      {&a, a.ip4 + ":8080", false},
      {&b, "[" + b.ip6 + "]:8080", false},
      {&a, a.ip4 + ":8080", true},
      {&b, "[" + b.ip6 + "]:8080", true},
  };
  for (const auto& c : cases) {
    auto run = runClient(*topo_, client, c.udp ? ClientSpec(c.target, 5).viaUdp() : ClientSpec(c.target, 5));
    SCOPED_TRACE(c.target + (c.udp ? " udp" : " tcp") + ": " + run.summary());
    EXPECT_EQ(run.attempts.size(), 5u);
    EXPECT_EQ(run.byPod(), (std::map<std::string, int>{{c.server->name, 5}}));
    EXPECT_EQ(run.byPeer(), (std::map<std::string, int>{{c.target, 5}}));
  }
}

TEST_F(HarnessTest, ClientRunsInItsCgroupAndVipIsUnreachable) {
  auto& server = topo_->addPod("server", {}, false);
  auto& client = topo_->addPod("client", {}, true);
  topo_->serve(server, {8080});

  Process* holder = nullptr;
  auto held = holdConnections(*topo_, client, server.ip4 + ":8080", 1, &holder);
  ASSERT_EQ(held.byPod(), (std::map<std::string, int>{{"server", 1}})) << held.summary();
  std::ifstream cgroupFile("/proc/" + std::to_string(holder->pid()) + "/cgroup");
  std::string line;
  // Hybrid hierarchy: v1 lines first, the unified one is "0::<path>".
  while (std::getline(cgroupFile, line) && line.rfind("0::", 0) != 0) {
  }
  const std::string& cg = client.cgroup->path();
  const std::string relative = cg.substr(cg.find("/sluice-e2e-"));
  EXPECT_EQ(line, "0::" + relative);

  // Without the agent a VIP leads nowhere: every attempt fails in connect() with the node's ICMP
  // unreachable (taken as fatal at the first SYN retransmission, about 1 s in).
  auto run = runClient(*topo_, client, ClientSpec("10.96.0.10:80", 2).timeout(3000));
  EXPECT_EQ(run.errors(), (std::map<int, int>{{EHOSTUNREACH, 2}})) << run.summary();
  auto run6 = runClient(*topo_, client, ClientSpec("[fd00:96::10]:80", 2).timeout(3000));
  EXPECT_EQ(run6.failures(), 2) << run6.summary();
  auto udp = runClient(*topo_, client, ClientSpec("10.96.0.10:53", 3).viaUdp().timeout(300));
  EXPECT_EQ(udp.failures(), 3) << udp.summary();
}

}  // namespace
}  // namespace sluice::e2e
