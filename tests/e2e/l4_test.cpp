// L4 scenarios through the real sluice-agent: pods in their own netns, clients in enrolled test
// cgroups, the agent fed Kubernetes + Istio YAML, and real TCP/UDP traffic. Every assertion is about
// where real connections landed (the answering pod's name), what the socket reported as its peer,
// or the errno a connect() returned. The harness test shows a VIP is unreachable without the agent,
// so a landing through a VIP is the agent's doing.
#include "agent.h"
#include "mesh_yaml.h"
#include "sandbox.h"
#include "topology.h"
#include "traffic.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <iostream>
#include <set>
#include <sstream>

namespace sluice::e2e {
namespace {

constexpr const char* kNs = "e2e";
constexpr const char* kVip = "10.96.0.10";
constexpr const char* kTarget = "10.96.0.10:80";
const std::vector<yaml::Port> kWebPorts = {{"tcp-web", 80, 8080, "TCP"}};

// Istio subsets v1/v2/v3 selecting pods by their `version` label.
constexpr const char* kSubsetsDr = R"(apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: web, namespace: e2e}
spec:
  host: web
  subsets:
  - name: v1
    labels: {version: v1}
  - name: v2
    labels: {version: v2}
)";

std::string routeToSubsets(const std::vector<std::pair<std::string, int>>& weighted) {
  std::ostringstream out;
  out << "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: web, "
         "namespace: e2e}\nspec:\n  hosts: [web]\n  tcp:\n  - route:\n";
  for (const auto& [subset, weight] : weighted) {
    out << "    - destination: {host: web, subset: " << subset << ", port: {number: 80}}\n"
        << "      weight: " << weight << "\n";
  }
  return out.str();
}

class L4Test : public testing::Test {
 protected:
  void SetUp() override {
    if (auto why = Sandbox::unavailableReason(); !why.empty()) GTEST_SKIP() << why;
    if (!agentBuilt()) GTEST_SKIP() << "sluice-agent is not built yet (" << agentPath() << ")";
    topo_ = std::make_unique<Topology>(Sandbox::enter());
  }

  void TearDown() override {
    if (HasFailure() && agent_) std::cerr << "---- sluice-agent log ----\n" << agent_->log();
    agent_.reset();
    topo_.reset();
  }

  Pod& server(const std::string& name, const Labels& labels, std::vector<int> ports = {8080}) {
    auto& pod = topo_->addPod(name, labels, false, kNs);
    topo_->serve(pod, ports);
    return pod;
  }
  Pod& client(const std::string& name, const Labels& labels = {{"app", "client"}}) {
    return topo_->addPod(name, labels, true, kNs);
  }

  // Service web (VIP 10.96.0.10:80 → 8080) with `endpoints`, every Pod object, and `istio`.
  std::string webConfig(const std::vector<const Pod*>& endpoints, const std::string& istio = "") {
    return yaml::stream({yaml::service("web", kNs, kVip, kWebPorts),
                         yaml::endpointSlice("web", kNs, endpoints, kWebPorts), yaml::pods(*topo_),
                         istio});
  }

  void startAgent(const std::string& config) { agent_ = std::make_unique<Agent>(*topo_, config); }

  ClientRun connect(const Pod& from, const std::string& target, int count) {
    return runClient(*topo_, from, ClientSpec(target, count));
  }

  std::unique_ptr<Topology> topo_;
  std::unique_ptr<Agent> agent_;
};

using Counts = std::map<std::string, int>;

TEST_F(L4Test, VipIsRewrittenToPodAndGetpeernameReturnsVip) {
  auto& web = server("web-1", {{"app", "web"}});
  auto& c = client("client");
  startAgent(webConfig({&web}));

  auto run = connect(c, kTarget, 20);
  EXPECT_EQ(run.byPod(), (Counts{{"web-1", 20}})) << run.summary();
  // The application sees the Service, not the pod it was sent to.
  EXPECT_EQ(run.byPeer(), (Counts{{kTarget, 20}})) << run.summary();
}

// Only enrolled workloads are translated: a pod whose process is outside every enrolled cgroup (it
// stays in the test's own) reaches the VIP as the raw address, which leads nowhere.
TEST_F(L4Test, UnenrolledWorkloadIsNotTranslated) {
  auto& web = server("web-1", {{"app", "web"}});
  auto& enrolled = client("client");
  auto& outsider = topo_->addPod("outsider", {{"app", "client"}}, false, kNs);
  startAgent(webConfig({&web}));

  auto in = connect(enrolled, kTarget, 5);
  EXPECT_EQ(in.byPod(), (Counts{{"web-1", 5}})) << in.summary();
  auto out = runClient(*topo_, outsider, ClientSpec(kTarget, 2).timeout(3000));
  EXPECT_EQ(out.errors(), (std::map<int, int>{{EHOSTUNREACH, 2}})) << out.summary();
}

TEST_F(L4Test, WeightedTcpRouteSplits80To20) {
  auto& v1 = server("web-v1", {{"app", "web"}, {"version", "v1"}});
  auto& v2 = server("web-v2", {{"app", "web"}, {"version", "v2"}});
  auto& c = client("client");
  startAgent(webConfig({&v1, &v2}, yaml::stream({kSubsetsDr, routeToSubsets({{"v1", 80}, {"v2", 20}})})));

  constexpr int kConnections = 1000;
  auto run = connect(c, kTarget, kConnections);
  ASSERT_EQ(run.failures(), 0) << run.summary();
  const auto counts = run.byPod();
  for (const auto& [pod, n] : counts) EXPECT_TRUE(pod == "web-v1" || pod == "web-v2") << pod;
  // One degree of freedom; 10.83 is the 0.999 quantile, so a correct split fails 1 run in 1000,
  // while 70/30 (chi² ≈ 62) or 50/50 (≈ 560) cannot pass.
  const double chi = chiSquare(counts, {{"web-v1", 0.8}, {"web-v2", 0.2}});
  EXPECT_LT(chi, 10.83) << run.summary();
}

TEST_F(L4Test, SubsetRoutingFollowsPodLabels) {
  auto& v1a = server("web-v1a", {{"app", "web"}, {"version", "v1"}});
  auto& v1b = server("web-v1b", {{"app", "web"}, {"version", "v1"}});
  auto& v2 = server("web-v2", {{"app", "web"}, {"version", "v2"}});
  auto& c = client("client");
  const std::vector<const Pod*> all = {&v1a, &v1b, &v2};
  startAgent(webConfig(all, yaml::stream({kSubsetsDr, routeToSubsets({{"v1", 1}})})));

  auto toV1 = connect(c, kTarget, 200);
  ASSERT_EQ(toV1.failures(), 0) << toV1.summary();
  auto counts = toV1.byPod();
  EXPECT_EQ(counts.count("web-v2"), 0u) << toV1.summary();
  // Both members of the subset take connections (the subset is a set of pods, not the first one).
  EXPECT_GT(counts["web-v1a"], 0) << toV1.summary();
  EXPECT_GT(counts["web-v1b"], 0) << toV1.summary();
  EXPECT_EQ(counts["web-v1a"] + counts["web-v1b"], 200) << toV1.summary();

  agent_->apply(webConfig(all, yaml::stream({kSubsetsDr, routeToSubsets({{"v2", 1}})})));
  auto toV2 = connect(c, kTarget, 50);
  EXPECT_EQ(toV2.byPod(), (Counts{{"web-v2", 50}})) << toV2.summary();
}

TEST_F(L4Test, SourceLabelsRouteTwoClientsDifferently) {
  auto& v1 = server("web-v1", {{"app", "web"}, {"version", "v1"}});
  auto& v2 = server("web-v2", {{"app", "web"}, {"version", "v2"}});
  auto& a = client("client-a", {{"app", "a"}});
  auto& b = client("client-b", {{"app", "b"}});
  const std::string vs = R"(apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: web, namespace: e2e}
spec:
  hosts: [web]
  tcp:
  - match:
    - sourceLabels: {app: a}
    route:
    - destination: {host: web, subset: v1}
  - route:
    - destination: {host: web, subset: v2}
)";
  startAgent(webConfig({&v1, &v2}, yaml::stream({kSubsetsDr, vs})));

  auto fromA = connect(a, kTarget, 50);
  auto fromB = connect(b, kTarget, 50);
  EXPECT_EQ(fromA.byPod(), (Counts{{"web-v1", 50}})) << fromA.summary();
  EXPECT_EQ(fromB.byPod(), (Counts{{"web-v2", 50}})) << fromB.summary();
}

TEST_F(L4Test, LeastRequestSteersNewConnectionsAwayFromBusyBackend) {
  auto& busy = server("web-1", {{"app", "web"}});
  auto& idle = server("web-2", {{"app", "web"}});
  auto& holder = client("holder");
  auto& c = client("client");
  const std::string dr = R"(apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: web, namespace: e2e}
spec:
  host: web
  trafficPolicy:
    loadBalancer: {simple: LEAST_REQUEST}
)";
  // web-1 alone first, so that it takes every held connection; then web-2 joins with none.
  startAgent(webConfig({&busy}, dr));
  constexpr int kHeld = 30;
  auto held = holdConnections(*topo_, holder, kTarget, kHeld);
  ASSERT_EQ(held.byPod(), (Counts{{"web-1", kHeld}})) << held.summary();
  agent_->apply(webConfig({&busy, &idle}, dr));

  // Sequential short connections leave web-2 near 0 open and web-1 at 30. Power of two choices
  // (with replacement, as Envoy samples) picks web-1 only when both draws are web-1: 25%, so web-2
  // gets 75% on average; a random pick would give it 50%. 65% of 200 sits 3.3 sd below the first
  // and 4.2 sd above the second.
  constexpr int kNew = 200;
  auto run = connect(c, kTarget, kNew);
  ASSERT_EQ(run.failures(), 0) << run.summary();
  auto counts = run.byPod();
  EXPECT_EQ(counts["web-1"] + counts["web-2"], kNew) << run.summary();
  EXPECT_GE(counts["web-2"], kNew * 65 / 100) << run.summary();
}

// The agent stops (links detach, maps stay pinned) and a new one adopts the pins. Connections held
// across the restart must still count on their backend, or LEAST_REQUEST would forget that web-1 is
// busy: the same 65% bound as above, now measured after the restart.
TEST_F(L4Test, AgentRestartAdoptsPinsAndKeepsLiveConnectionCounts) {
  auto& busy = server("web-1", {{"app", "web"}});
  auto& idle = server("web-2", {{"app", "web"}});
  auto& holder = client("holder");
  auto& c = client("client");
  startAgent(webConfig({&busy}));
  constexpr int kHeld = 30;
  auto held = holdConnections(*topo_, holder, kTarget, kHeld);
  ASSERT_EQ(held.byPod(), (Counts{{"web-1", kHeld}})) << held.summary();

  agent_->restart(webConfig({&busy, &idle}));
  constexpr int kNew = 200;
  auto run = connect(c, kTarget, kNew);
  ASSERT_EQ(run.failures(), 0) << run.summary();
  auto counts = run.byPod();
  EXPECT_EQ(counts["web-1"] + counts["web-2"], kNew) << run.summary();
  EXPECT_GE(counts["web-2"], kNew * 65 / 100) << run.summary();
  EXPECT_EQ(run.byPeer(), (Counts{{kTarget, kNew}})) << run.summary();
}

// connectionPool.tcp.maxConnections is a per-backend limit for the node: with 2 pods and a pool of
// 5, ten held connections fill both, the next connect() is refused, and closing them frees the pool.
TEST_F(L4Test, MaxConnectionsRefusesBeyondThePoolAndRecovers) {
  auto& w1 = server("web-1", {{"app", "web"}});
  auto& w2 = server("web-2", {{"app", "web"}});
  auto& holder = client("holder");
  auto& c = client("client");
  const std::string dr = R"(apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: web, namespace: e2e}
spec:
  host: web
  trafficPolicy:
    connectionPool:
      tcp: {maxConnections: 5}
)";
  startAgent(webConfig({&w1, &w2}, dr));
  Process* holding = nullptr;
  auto held = holdConnections(*topo_, holder, kTarget, 10, &holding);
  ASSERT_EQ(held.byPod(), (Counts{{"web-1", 5}, {"web-2", 5}})) << held.summary();

  auto full = runClient(*topo_, c, ClientSpec(kTarget, 3).timeout(1000));
  EXPECT_EQ(full.errors(), (std::map<int, int>{{ECONNREFUSED, 3}})) << full.summary();

  holding->stop();
  ClientRun after;
  EXPECT_TRUE(waitUntil(deadlineIn(std::chrono::milliseconds(5000)), [&] {
    after = connect(c, kTarget, 10);
    return after.failures() == 0;
  })) << "the pool was not released: " << after.summary();
  auto counts = after.byPod();
  EXPECT_EQ(counts["web-1"] + counts["web-2"], 10) << after.summary();
}

TEST_F(L4Test, SourceIpConsistentHashSticksPerClient) {
  std::vector<const Pod*> backends;
  for (int i = 1; i <= 4; ++i) backends.push_back(&server("web-" + std::to_string(i), {{"app", "web"}}));
  std::vector<Pod*> clients;
  for (int i = 1; i <= 3; ++i) clients.push_back(&client("client-" + std::to_string(i)));
  const std::string dr = R"(apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: web, namespace: e2e}
spec:
  host: web
  trafficPolicy:
    loadBalancer:
      consistentHash: {useSourceIp: true}
)";
  startAgent(webConfig(backends, dr));

  for (const Pod* c : clients) {
    // Any non-hashing policy spreads 30 connections over 4 pods: one pod taking all has p ≈ 4^-29.
    auto first = connect(*c, kTarget, 30);
    ASSERT_EQ(first.failures(), 0) << c->name << ": " << first.summary();
    ASSERT_EQ(first.byPod().size(), 1u) << c->name << ": " << first.summary();
    // And it is the same pod on a later, separate run of the client.
    auto again = connect(*c, kTarget, 10);
    EXPECT_EQ(again.byPod(), (Counts{{first.byPod().begin()->first, 10}}))
        << c->name << ": " << again.summary();
  }
}

TEST_F(L4Test, UdpRepliesComeFromTheVip) {
  auto& d1 = server("dns-1", {{"app", "dns"}}, {5353});
  auto& d2 = server("dns-2", {{"app", "dns"}}, {5353});
  auto& c = client("client");
  const std::vector<yaml::Port> ports = {{"udp-dns", 53, 5353, "UDP"}};
  startAgent(yaml::stream({yaml::service("dns", kNs, "10.96.0.53", ports),
                           yaml::endpointSlice("dns", kNs, {&d1, &d2}, ports), yaml::pods(*topo_)}));

  auto run = runClient(*topo_, c, ClientSpec("10.96.0.53:53", 60).viaUdp());
  ASSERT_EQ(run.failures(), 0) << run.summary();
  auto counts = run.byPod();
  EXPECT_EQ(counts["dns-1"] + counts["dns-2"], 60) << run.summary();
  // recvfrom() reports the Service address, as it would through kube-proxy's DNAT.
  EXPECT_EQ(run.byPeer(), (Counts{{"10.96.0.53:53", 60}})) << run.summary();
}

TEST_F(L4Test, ServiceWithoutEndpointsRefusesConnect) {
  auto& web = server("web-1", {{"app", "web"}});
  auto& c = client("client");
  startAgent(yaml::stream({webConfig({&web}), yaml::service("empty", kNs, "10.96.0.20", kWebPorts),
                           yaml::endpointSlice("empty", kNs, {}, kWebPorts)}));

  // The agent is serving (the other service works) ...
  auto ok = connect(c, kTarget, 5);
  ASSERT_EQ(ok.byPod(), (Counts{{"web-1", 5}})) << ok.summary();
  // ... and the empty one fails in connect() itself with ECONNREFUSED: nothing is sent anywhere
  // (an untranslated VIP would time out or be unreachable instead).
  auto run = runClient(*topo_, c, ClientSpec("10.96.0.20:80", 5).timeout(1000));
  EXPECT_EQ(run.errors(), (std::map<int, int>{{ECONNREFUSED, 5}})) << run.summary();
  for (const auto& a : run.attempts) {
    EXPECT_EQ(a.stage, "connect");
    EXPECT_LT(a.endNs - a.startNs, 500'000'000u) << "refusal was not immediate";
  }
}

TEST_F(L4Test, Ipv6ServiceTcpAndUdp) {
  auto& w1 = server("web-1", {{"app", "web"}});
  auto& w2 = server("web-2", {{"app", "web"}});
  auto& c = client("client");
  const std::vector<yaml::Port> ports = {{"tcp-web", 80, 8080, "TCP"}, {"udp-web", 81, 8080, "UDP"}};
  startAgent(yaml::stream(
      {yaml::service("web6", kNs, "fd00:96::10", ports, yaml::Family::V6),
       yaml::endpointSlice("web6", kNs, {&w1, &w2}, ports, yaml::Family::V6), yaml::pods(*topo_)}));

  auto tcp = connect(c, "[fd00:96::10]:80", 40);
  ASSERT_EQ(tcp.failures(), 0) << tcp.summary();
  auto counts = tcp.byPod();
  EXPECT_EQ(counts["web-1"] + counts["web-2"], 40) << tcp.summary();
  EXPECT_EQ(tcp.byPeer(), (Counts{{"[fd00:96::10]:80", 40}})) << tcp.summary();

  auto udp = runClient(*topo_, c, ClientSpec("[fd00:96::10]:81", 20).viaUdp());
  ASSERT_EQ(udp.failures(), 0) << udp.summary();
  counts = udp.byPod();
  EXPECT_EQ(counts["web-1"] + counts["web-2"], 20) << udp.summary();
  EXPECT_EQ(udp.byPeer(), (Counts{{"[fd00:96::10]:81", 20}})) << udp.summary();
}

// Weights, subset definitions and endpoints change while one client connects without pause. A
// connection may land on a pod of the config in force at any moment it was in flight (from its
// write until the next generation was reported applied); any other landing, and any failure, is a
// bug: the apply is make-before-break and atomic per service.
TEST_F(L4Test, ConfigFlipsUnderContinuousConnectsNeverFailOrMisroute) {
  auto& v1a = server("web-v1a", {{"app", "web"}, {"version", "v1"}, {"shard", "a"}});
  auto& v1b = server("web-v1b", {{"app", "web"}, {"version", "v1"}, {"shard", "b"}});
  auto& v2 = server("web-v2", {{"app", "web"}, {"version", "v2"}});
  auto& v1c = server("web-v1c", {{"app", "web"}, {"version", "v1"}, {"shard", "a"}});
  auto& c = client("client");
  const std::string shardDr = R"(apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: web, namespace: e2e}
spec:
  host: web
  subsets:
  - name: v1
    labels: {version: v1, shard: a}
  - name: v2
    labels: {version: v2}
)";
  struct Step {
    std::string what;
    std::string config;
    std::set<std::string> allowed;
  };
  const std::vector<const Pod*> firstThree = {&v1a, &v1b, &v2};
  const std::vector<Step> cycle = {
      {"all to v1", webConfig(firstThree, yaml::stream({kSubsetsDr, routeToSubsets({{"v1", 1}})})),
       {"web-v1a", "web-v1b"}},
      {"weights: all to v2",
       webConfig(firstThree, yaml::stream({kSubsetsDr, routeToSubsets({{"v2", 1}})})), {"web-v2"}},
      {"weights: 50/50",
       webConfig(firstThree, yaml::stream({kSubsetsDr, routeToSubsets({{"v1", 50}, {"v2", 50}})})),
       {"web-v1a", "web-v1b", "web-v2"}},
      {"subset v1 narrowed to shard a",
       webConfig(firstThree, yaml::stream({shardDr, routeToSubsets({{"v1", 1}})})), {"web-v1a"}},
      {"endpoints: v1a leaves, v1c joins",
       webConfig({&v1b, &v2, &v1c}, yaml::stream({shardDr, routeToSubsets({{"v1", 1}})})),
       {"web-v1c"}},
  };
  startAgent(cycle[0].config);

  struct Applied {
    size_t step;
    std::uint64_t writtenNs;
    std::uint64_t readyNs;
  };
  std::vector<Applied> timeline = {{0, 0, 0}};
  BackgroundClient bg(*topo_, c, ClientSpec(kTarget, 200000).timeout(2000).forAtMost(240000));
  // Each config carries traffic before the next flip.
  constexpr int kPerStep = 60;
  auto dwell = [&] {
    const int target = bg.attemptsSoFar() + kPerStep;
    return waitUntil(deadlineIn(std::chrono::milliseconds(20000)),
                     [&] { return bg.attemptsSoFar() >= target; });
  };
  ASSERT_TRUE(dwell()) << "client stalled";
  constexpr int kCycles = 3;
  for (int round = 0; round < kCycles; ++round) {
    for (size_t i = 0; i < cycle.size(); ++i) {
      const size_t next = (i + 1) % cycle.size();
      if (round == kCycles - 1 && next == 0) break;
      Applied a{next, monotonicNs(), 0};
      agent_->apply(cycle[next].config);
      a.readyNs = monotonicNs();
      timeline.push_back(a);
      ASSERT_TRUE(dwell()) << "client stalled after: " << cycle[next].what;
    }
  }
  auto run = bg.finish();

  int misrouted = 0;
  std::vector<int> perStep(timeline.size(), 0);
  std::ostringstream examples;
  for (const auto& at : run.attempts) {
    if (!at.ok) continue;
    // Configs possibly in force during [start, end]: written before it ended and not yet
    // superseded (the next generation reported) when it started.
    std::set<std::string> allowed;
    int only = -1;
    int possible = 0;
    for (size_t k = 0; k < timeline.size(); ++k) {
      const bool writtenBeforeEnd = timeline[k].writtenNs <= at.endNs;
      const bool liveAtStart = k + 1 == timeline.size() || timeline[k + 1].readyNs >= at.startNs;
      if (writtenBeforeEnd && liveAtStart) {
        allowed.insert(cycle[timeline[k].step].allowed.begin(), cycle[timeline[k].step].allowed.end());
        only = static_cast<int>(k);
        ++possible;
      }
    }
    if (possible == 1) perStep[only]++;
    if (!allowed.count(at.pod)) {
      if (++misrouted <= 5) examples << " " << at.pod << "@" << at.startNs;
    }
  }
  EXPECT_EQ(run.failures(), 0) << run.summary();
  EXPECT_EQ(misrouted, 0) << "misrouted:" << examples.str() << " (" << run.summary() << ")";
  for (size_t k = 0; k < timeline.size(); ++k) {
    EXPECT_GT(perStep[k], 0) << "no connection ran entirely under step " << k << " ("
                             << cycle[timeline[k].step].what << ")";
  }
}

TEST_F(L4Test, InvalidConfigKeepsLastGoodPlan) {
  auto& v1 = server("web-v1", {{"app", "web"}, {"version", "v1"}});
  auto& v2 = server("web-v2", {{"app", "web"}, {"version", "v2"}});
  auto& c = client("client");
  const std::vector<const Pod*> both = {&v1, &v2};
  startAgent(webConfig(both, yaml::stream({kSubsetsDr, routeToSubsets({{"v1", 1}})})));
  const auto applied = agent_->generation().value_or(0);

  // Negative weights are rejected by Istio's validation; the agent must keep v1 routing.
  agent_->write(webConfig(both, yaml::stream({kSubsetsDr, routeToSubsets({{"v1", -1}, {"v2", 101}})})));
  EXPECT_FALSE(waitUntil(deadlineIn(std::chrono::milliseconds(2000)),
                         [&] { return agent_->generation().value_or(0) != applied; }))
      << "an invalid config was applied";
  EXPECT_TRUE(agent_->running());
  auto run = connect(c, kTarget, 30);
  EXPECT_EQ(run.byPod(), (Counts{{"web-v1", 30}})) << run.summary();

  // And a valid config after it is applied again.
  agent_->apply(webConfig(both, yaml::stream({kSubsetsDr, routeToSubsets({{"v2", 1}})})));
  auto after = connect(c, kTarget, 30);
  EXPECT_EQ(after.byPod(), (Counts{{"web-v2", 30}})) << after.summary();
}

}  // namespace
}  // namespace sluice::e2e
