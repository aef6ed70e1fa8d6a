// L7 scenarios through the real sluice-agent (--proxy-addr) and sluice-proxy: a VirtualService with a
// header match makes the Service port L7, so the agent's connect hook hands the client's connect to
// the proxy on the node (169.254.1.1:15001, the node side of every pod's veth), which reads the
// original VIP:port from the pinned sl_handoff_v1 map in the agent's bpffs and routes each HTTP/1.1
// request. Clients are curl run in the client pod's netns and enrolled cgroup; pods answer every
// request with their own name (sluice-pod serve --http), so every body says where a request landed.
#include "l7_fixture.h"

#include <map>
#include <sstream>

namespace sluice::e2e {
namespace {

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

class L7Test : public L7Fixture {
 protected:
  std::string istioYaml() const override { return kIstio; }
};

const std::string kUrl = std::string("http://") + kL7Vip;

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
