#pragma once
// Shared setup of the L7 scenarios (l7_test.cpp, l7_h2_test.cpp): pods web-v1 and web-v2 (labels
// app=web, version=v1|v2) answer every HTTP request on 8080 with their own name (sluice-pod serve
// --http, or --h2c); an enrolled client pod; Service `web` (kL7Vip) with the scenario's ports, its
// EndpointSlice and the scenario's Istio YAML; the real sluice-agent with --proxy-addr, and
// sluice-proxy on the node (the test's netns and cgroup, not enrolled) at kL7ProxyAddr, the node
// side of every pod's veth. The agent's connect hook hands the client's connects to the proxy,
// which reads the original VIP:port from the pinned sl_handoff_v1 map in the agent's bpffs.
#include "agent.h"
#include "mesh_yaml.h"
#include "sandbox.h"
#include "topology.h"
#include "traffic.h"
#include "wait.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

namespace sluice::e2e {

inline constexpr const char* kL7Ns = "e2e";
inline constexpr const char* kL7Vip = "10.96.0.10";
inline constexpr const char* kL7ProxyAddr = "169.254.1.1:15001";

inline std::string l7ProxyPath() {
  if (const char* env = std::getenv("SLUICE_PROXY")) return env;
  return SLUICE_PROXY_PATH;
}

class L7Fixture : public testing::Test {
 protected:
  // The scenario's Istio objects (namespace kL7Ns, host web) and the Service's ports.
  virtual std::string istioYaml() const = 0;
  virtual std::vector<yaml::Port> servicePorts() const { return {{"http-web", 80, 8080, "TCP"}}; }
  // The pods speak HTTP/2 with prior knowledge (sluice-pod serve --h2c) instead of HTTP/1.1.
  virtual bool backendsSpeakH2c() const { return false; }

  void SetUp() override {
    if (auto why = Sandbox::unavailableReason(); !why.empty()) GTEST_SKIP() << why;
    if (!agentBuilt()) GTEST_SKIP() << "sluice-agent is not built yet (" << agentPath() << ")";
    if (access(l7ProxyPath().c_str(), X_OK) != 0) GTEST_SKIP() << "sluice-proxy is not built yet";
    if (access("/usr/bin/curl", X_OK) != 0) GTEST_SKIP() << "curl is not installed";
    topo_ = std::make_unique<Topology>(Sandbox::enter());
    auto& v1 = topo_->addPod("web-v1", {{"app", "web"}, {"version", "v1"}}, false, kL7Ns);
    auto& v2 = topo_->addPod("web-v2", {{"app", "web"}, {"version", "v2"}}, false, kL7Ns);
    for (Pod* pod : {&v1, &v2}) {
      if (backendsSpeakH2c()) {
        topo_->serveH2c(*pod, {8080});
      } else {
        topo_->serve(*pod, {8080}, true);
      }
    }
    client_ = &topo_->addPod("client", {{"app", "client"}}, true, kL7Ns);
    const auto ports = servicePorts();
    const std::string config =
        yaml::stream({yaml::service("web", kL7Ns, kL7Vip, ports),
                      yaml::endpointSlice("web", kL7Ns, {&v1, &v2}, ports), yaml::pods(*topo_),
                      istioYaml()});
    agent_ = std::make_unique<Agent>(*topo_, config,
                                     std::vector<std::string>{"--proxy-addr", kL7ProxyAddr});
    const std::string run = topo_->sandbox().runDir();
    proxyLog_ = run + "/proxy.log";
    ProcessOptions options;
    options.stdoutPath = proxyLog_;
    options.stderrPath = run + "/proxy.err";
    proxy_ = std::make_unique<Process>(Process::start(
        {l7ProxyPath(), "--config-dir", agent_->configDir(), "--listen", kL7ProxyAddr, "--bpffs",
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

  // Runs argv in the client pod (its netns and enrolled cgroup), bounded to 25 s; its stdout.
  // lastErr_ gets its stderr.
  std::string inClient(const std::vector<std::string>& argv) {
    static int n = 0;
    const std::string log = "client-" + std::to_string(n++);
    auto& proc = topo_->spawn(*client_, argv, log);
    proc.wait(deadlineIn(std::chrono::milliseconds(25000)));
    const std::string run = topo_->sandbox().runDir();
    lastErr_ = readFile(run + "/" + log + ".err");
    return readFile(run + "/" + log + ".out");
  }

  // curl in the client pod; its stdout.
  std::string curl(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {"curl", "-sS", "--max-time", "20"};
    argv.insert(argv.end(), args.begin(), args.end());
    return inClient(argv);
  }

  std::unique_ptr<Topology> topo_;
  std::unique_ptr<Agent> agent_;
  std::unique_ptr<Process> proxy_;
  Pod* client_ = nullptr;
  std::string proxyLog_;
  std::string lastErr_;
};

}  // namespace sluice::e2e
