// L7 resilience through the real sluice-agent and sluice-proxy, after Istio's "Circuit Breaking"
// and "Request Timeouts" tasks: the Service's endpoints are slow pods (sluice-pod serve --http
// --delay-ms on 8081, answering with their own name after kDelayMs), a DestinationRule limits the
// connection pool as the circuit-breaking task does, and a client in the client pod sends
// concurrent requests to the Service VIP, which the kernel hands to the proxy.
#include "l7_fixture.h"

#include <sstream>

namespace sluice::e2e {
namespace {

constexpr int kDelayMs = 400;
const std::string kUrl = std::string("http://") + kL7Vip;

// The circuit-breaking task's DestinationRule (maxConnections 1, http1MaxPendingRequests 1,
// maxRequestsPerConnection 1); routes go to subset v1, one pod, as the task's single httpbin.
constexpr const char* kIstio = R"(apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: web, namespace: e2e}
spec:
  host: web
  trafficPolicy:
    connectionPool:
      tcp: {maxConnections: 1}
      http: {http1MaxPendingRequests: 1, maxRequestsPerConnection: 1}
  subsets:
  - name: v1
    labels: {version: v1}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: web, namespace: e2e}
spec:
  hosts: [web]
  http:
  - match:
    - uri: {prefix: /timeout}
    timeout: 200ms
    route:
    - destination: {host: web, subset: v1}
  - route:
    - destination: {host: web, subset: v1}
)";

class L7ResilienceTest : public L7Fixture {
 protected:
  std::string istioYaml() const override { return kIstio; }
  std::vector<yaml::Port> servicePorts() const override { return {{"http-web", 80, 8081, "TCP"}}; }

  void SetUp() override {
    L7Fixture::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    const std::string run = topo_->sandbox().runDir();
    for (const auto& pod : topo_->pods()) {
      if (pod->name != "web-v1" && pod->name != "web-v2") continue;
      const std::string log = "slow-" + pod->name;
      auto& proc = topo_->spawn(*pod,
                                {podToolPath(), "serve", "--name", pod->name, "--http",
                                 "--delay-ms", std::to_string(kDelayMs), "--port", "8081"},
                                log);
      ASSERT_TRUE(waitUntil(deadlineIn(std::chrono::milliseconds(5000)), [&] {
        return readFile(run + "/" + log + ".out").find("ready") != std::string::npos ||
               !proc.running();
      }) && proc.running())
          << readFile(run + "/" + log + ".err");
    }
  }
};

// 3 threads × 10 requests, each on its own connection (fortio -c 3 -n 30 in the task). One request
// holds the only upstream connection for kDelayMs and one may wait for it; a third at the same
// time overflows. Which requests overflow depends on timing, so only the mix is asserted.
TEST_F(L7ResilienceTest, CircuitBreakerTripsUnderConcurrency) {
  const std::string script =
      "import http.client, threading\n"
      "results = []\n"
      "lock = threading.Lock()\n"
      "start = threading.Barrier(3)\n"
      "def worker():\n"
      "    start.wait()\n"
      "    for _ in range(10):\n"
      "        c = http.client.HTTPConnection('" + std::string(kL7Vip) + "', 80, timeout=15)\n"
      "        c.request('GET', '/get')\n"
      "        r = c.getresponse()\n"
      "        r.read()\n"
      "        with lock:\n"
      "            results.append('%d %s' % (r.status, r.getheader('x-envoy-overloaded', '-')))\n"
      "        c.close()\n"
      "threads = [threading.Thread(target=worker) for _ in range(3)]\n"
      "for t in threads: t.start()\n"
      "for t in threads: t.join()\n"
      "print('\\n'.join(results))\n";
  const std::string out = inClient({"python3", "-c", script});
  std::istringstream in(out);
  int ok = 0;
  int overflowed = 0;
  int other = 0;
  for (std::string line; std::getline(in, line);) {
    if (line == "200 -") {
      ++ok;
    } else if (line == "503 true") {
      ++overflowed;
    } else {
      ++other;
    }
  }
  EXPECT_EQ(ok + overflowed, 30) << out << lastErr_;
  EXPECT_EQ(other, 0) << out;
  EXPECT_GE(ok, 1) << out;
  EXPECT_GE(overflowed, 1) << out;
}

// The request-timeouts task: a route timeout shorter than the backend's answer gives 504.
TEST_F(L7ResilienceTest, RouteTimeoutShorterThanTheBackendAnswers504) {
  EXPECT_EQ(curl({"-w", " %{http_code}", kUrl + "/timeout"}), "upstream request timeout 504")
      << lastErr_;
  EXPECT_EQ(curl({"-w", " %{http_code}", kUrl + "/slow"}), "web-v1\n 200") << lastErr_;
}

}  // namespace
}  // namespace sluice::e2e
