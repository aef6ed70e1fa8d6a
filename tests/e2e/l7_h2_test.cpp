// HTTP/2 through the kernel hand-off: curl and nghttp in the client pod speak HTTP/2 cleartext (prior
// knowledge, or an h2c upgrade) to the Service VIP; the agent's connect hook hands the connection to
// sluice-proxy, whose HTTP/2 streams are routed like HTTP/1.1 requests. The pods answer with their
// own name, so every body says which backend a request reached: over HTTP/1.1 on an `http-` port,
// over HTTP/2 (with a grpc-status trailer) on a `grpc-` port.
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
    - uri: {prefix: /v2}
    route:
    - destination: {host: web, subset: v2}
  - match:
    - uri: {prefix: /app}
    route:
    - destination: {host: web, subset: v1}
)";

class L7H2Test : public L7Fixture {
 protected:
  std::string istioYaml() const override { return kIstio; }
};

const std::string kUrl = std::string("http://") + kL7Vip;

TEST_F(L7H2Test, PriorKnowledgeRequestsRouteByHeaderAndPath) {
  const std::vector<std::string> h2 = {"--http2-prior-knowledge", "-w", " %{http_version}"};
  auto with = [&](std::vector<std::string> args) {
    args.insert(args.begin(), h2.begin(), h2.end());
    return args;
  };
  EXPECT_EQ(curl(with({"-H", "end-user: jason", kUrl + "/app"})), "web-v2\n 2") << lastErr_;
  EXPECT_EQ(curl(with({kUrl + "/app"})), "web-v1\n 2") << lastErr_;
  EXPECT_EQ(curl(with({kUrl + "/v2/x"})), "web-v2\n 2") << lastErr_;
}

TEST_F(L7H2Test, H2cUpgradeSwitchesToHttp2) {
  EXPECT_EQ(curl({"--http2", "-w", " %{http_version}", kUrl + "/app"}), "web-v1\n 2") << lastErr_;
}

TEST_F(L7H2Test, ConcurrentStreamsOnOneConnectionReachTheirBackends) {
  if (access("/usr/bin/nghttp", X_OK) != 0) GTEST_SKIP() << "nghttp is not installed";
  // nghttp sends every URI as a stream of one connection, all at once.
  const std::string out = inClient({"nghttp", kUrl + "/app/1", kUrl + "/v2/2", kUrl + "/app/3",
                                    kUrl + "/v2/4", kUrl + "/app/5", kUrl + "/v2/6"});
  std::map<std::string, int> byPod;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    ++byPod[line];
  }
  EXPECT_EQ(byPod, (std::map<std::string, int>{{"web-v1", 3}, {"web-v2", 3}}))
      << out << lastErr_;
}

class L7GrpcPortTest : public L7H2Test {
 protected:
  std::vector<yaml::Port> servicePorts() const override { return {{"grpc-web", 80, 8080, "TCP"}}; }
  bool backendsSpeakH2c() const override { return true; }
};

TEST_F(L7GrpcPortTest, GrpcPortIsSpokenToAsHttp2AndTrailersReachTheClient) {
  if (access("/usr/bin/nghttp", X_OK) != 0) GTEST_SKIP() << "nghttp is not installed";
  const std::string out = inClient({"nghttp", "-v", "-H", "end-user: jason", "-H",
                                    "content-type: application/grpc", kUrl + "/pkg.Svc/Call"});
  EXPECT_NE(out.find("web-v2\n"), std::string::npos) << out << lastErr_;
  EXPECT_NE(out.find("x-request-path: /pkg.Svc/Call"), std::string::npos) << out;
  EXPECT_NE(out.find("grpc-status: 0"), std::string::npos) << out;  // the pod's trailer
  // An HTTP/1.1 client reaches the same HTTP/2 pods.
  EXPECT_EQ(curl({kUrl + "/app"}), "web-v1\n") << lastErr_;
}

TEST_F(L7H2Test, GrpcRequestWithoutRouteGetsGrpcStatus) {
  const std::string out =
      curl({"--http2-prior-knowledge", "-o", "/dev/null", "-D", "-", "-H",
            "content-type: application/grpc", "-H", "te: trailers", kUrl + "/pkg.Svc/Missing"});
  EXPECT_NE(out.find("HTTP/2 200"), std::string::npos) << out << lastErr_;
  EXPECT_NE(out.find("grpc-status: 12"), std::string::npos) << out << lastErr_;  // UNIMPLEMENTED
}

}  // namespace
}  // namespace sluice::e2e
