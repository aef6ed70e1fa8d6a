// L7 scenarios through the real sluice-agent (--proxy-addr) and sluice-proxy: a VirtualService with a
// header match makes the Service port L7, so the agent's connect hook hands the client's connect to
// the proxy on the node (169.254.1.1:15001, the node side of every pod's veth), which reads the
// original VIP:port from the pinned sl_handoff_v1 map in the agent's bpffs and routes each HTTP/1.1
// request. Clients are curl run in the client pod's netns and enrolled cgroup; pods answer every
// request with their own name (sluice-pod serve --http), so every body says where a request landed.
#include "agent.h"
#include "mesh_yaml.h"
#include "sandbox.h"
#include "topology.h"
#include "traffic.h"
#include "wait.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <iostream>
#include <sstream>

namespace sluice::e2e {
namespace {

constexpr const char* kNs = "e2e";
constexpr const char* kVip = "10.96.0.10";
constexpr const char* kProxyAddr = "169.254.1.1:15001";
const std::vector<yaml::Port> kHttpPorts = {{"http-web", 80, 8080, "TCP"}};

constexpr const char* kIstio = R"(apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: web, namespace: e2e}
spec:
  host: web
  subsets:
  - name: v1
    labels: {version: v1}
  - name: v2
    labels: {version: v2}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: web, namespace: e2e}
spec:
  hosts: [web]
  http:
  - match:
    - headers:
        end-user: {exact: jason}
    route:
    - destination: {host: web, subset: v2}
  - match:
    - uri: {prefix: /old}
    redirect: {uri: /new}
  - match:
    - uri: {prefix: /split}
    route:
    - destination: {host: web, subset: v1}
      weight: 90
    - destination: {host: web, subset: v2}
      weight: 10
  - match:
    - uri: {prefix: /app}
    route:
    - destination: {host: web, subset: v1}
)";

std::string proxyPath() {
  if (const char* env = std::getenv("SLUICE_PROXY")) return env;
  return SLUICE_PROXY_PATH;
}

class L7Test : public testing::Test {
 protected:
  void SetUp() override {
    if (auto why = Sandbox::unavailableReason(); !why.empty()) GTEST_SKIP() << why;
    if (!agentBuilt()) GTEST_SKIP() << "sluice-agent is not built yet (" << agentPath() << ")";
    if (access(proxyPath().c_str(), X_OK) != 0) GTEST_SKIP() << "sluice-proxy is not built yet";
    if (access("/usr/bin/curl", X_OK) != 0) GTEST_SKIP() << "curl is not installed";
    topo_ = std::make_unique<Topology>(Sandbox::enter());
    auto& v1 = topo_->addPod("web-v1", {{"app", "web"}, {"version", "v1"}}, false, kNs);
    auto& v2 = topo_->addPod("web-v2", {{"app", "web"}, {"version", "v2"}}, false, kNs);
    topo_->serve(v1, {8080}, true);
    topo_->serve(v2, {8080}, true);
    client_ = &topo_->addPod("client", {{"app", "client"}}, true, kNs);
    const std::string config =
        yaml::stream({yaml::service("web", kNs, kVip, kHttpPorts),
                      yaml::endpointSlice("web", kNs, {&v1, &v2}, kHttpPorts), yaml::pods(*topo_),
                      kIstio});
    agent_ = std::make_unique<Agent>(*topo_, config,
                                     std::vector<std::string>{"--proxy-addr", kProxyAddr});
    // The proxy runs on the node (the test's netns and cgroup, not enrolled), like the agent.
    const std::string run = topo_->sandbox().runDir();
    proxyLog_ = run + "/proxy.log";
    ProcessOptions options;
    options.stdoutPath = proxyLog_;
    options.stderrPath = run + "/proxy.err";
    proxy_ = std::make_unique<Process>(Process::start(
        {proxyPath(), "--config-dir", agent_->configDir(), "--listen", kProxyAddr, "--bpffs",
         agent_->bpffsDir()},
        options));
    // It prints "listening on ADDR" once its socket is bound and listening.
    ASSERT_TRUE(waitUntil(deadlineIn(std::chrono::milliseconds(20000)), [&] {
      return readFile(proxyLog_).find("listening on") != std::string::npos || !proxy_->running();
    }) && proxy_->running())
        << "sluice-proxy did not listen: " << readFile(run + "/proxy.err");
  }

  void TearDown() override {
    if (HasFailure()) {
      if (agent_) std::cerr << "---- sluice-agent log ----\n" << agent_->log();
      if (topo_) {
        std::cerr << "---- sluice-proxy log ----\n"
                  << readFile(proxyLog_) << readFile(topo_->sandbox().runDir() + "/proxy.err");
      }
    }
    if (proxy_) proxy_->stop();
    proxy_.reset();
    agent_.reset();
    topo_.reset();
  }

  // Runs curl in the client pod (its netns and enrolled cgroup) and returns its stdout.
  std::string curl(const std::vector<std::string>& args) {
    static int n = 0;
    const std::string log = "curl-" + std::to_string(n++);
    std::vector<std::string> argv = {"curl", "-sS", "--max-time", "20"};
    argv.insert(argv.end(), args.begin(), args.end());
    auto& proc = topo_->spawn(*client_, argv, log);
    proc.wait(deadlineIn(std::chrono::milliseconds(25000)));
    const std::string run = topo_->sandbox().runDir();
    lastErr_ = readFile(run + "/" + log + ".err");
    return readFile(run + "/" + log + ".out");
  }

  std::unique_ptr<Topology> topo_;
  std::unique_ptr<Agent> agent_;
  std::unique_ptr<Process> proxy_;
  Pod* client_ = nullptr;
  std::string proxyLog_;
  std::string lastErr_;
};

const std::string kUrl = std::string("http://") + kVip;

TEST_F(L7Test, HeaderMatchRoutesThroughTheKernelHandoff) {
  EXPECT_EQ(curl({"-H", "end-user: jason", kUrl + "/app"}), "web-v2\n") << lastErr_;
  EXPECT_EQ(curl({kUrl + "/app"}), "web-v1\n") << lastErr_;
}

TEST_F(L7Test, RedirectAnswers301WithLocation) {
  const std::string out = curl({"-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", kUrl + "/old"});
  EXPECT_EQ(out.substr(0, 4), "301 ") << out << lastErr_;
  EXPECT_TRUE(out.size() >= 4 && out.ends_with("/new")) << out << lastErr_;
}

TEST_F(L7Test, NoMatchingRouteAnswers404) {
  EXPECT_EQ(curl({"-o", "/dev/null", "-w", "%{http_code}", kUrl + "/nothing"}), "404") << lastErr_;
}

TEST_F(L7Test, WeightedSplitPerRequestOnOneConnection) {
  // 200 requests over one keep-alive connection (curl reuses it for consecutive URLs).
  const std::string out =
      curl({"-w", "%{num_connects}\n", kUrl + "/split/[1-200]"});
  std::istringstream in(out);
  std::map<std::string, int> byPod;
  int connects = 0;
  for (std::string line; std::getline(in, line);) {
    if (line == "web-v1" || line == "web-v2") {
      ++byPod[line];
    } else {
      connects += std::atoi(line.c_str());
    }
  }
  ASSERT_EQ(byPod["web-v1"] + byPod["web-v2"], 200) << out << lastErr_;
  EXPECT_EQ(connects, 1) << "requests did not share one connection";
  // Expected v2 = 20 (sd 4.2): p = 0.001 chi-square bound, as in the L4 split.
  EXPECT_LT(chiSquare(byPod, {{"web-v1", 0.9}, {"web-v2", 0.1}}), 10.83)
      << "v1=" << byPod["web-v1"] << " v2=" << byPod["web-v2"];
}

}  // namespace
}  // namespace sluice::e2e
