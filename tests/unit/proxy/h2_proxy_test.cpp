// HTTP/2 downstream end to end on loopback: curl and nghttp (nghttp2's client) speak HTTP/2 with
// prior knowledge or by h2c upgrade to the proxy, whose streams take the same request path as
// HTTP/1.1 requests to the evhttp upstreams of proxy_fixture.h.
#include "h2_session.h"
#include "h2_upstream.h"
#include "proxy_fixture.h"

#include <chrono>
#include <map>

namespace sluice::proxy::test {
namespace {

// Runs a shell command; its stdout (stderr folded in) and exit status.
std::pair<std::string, int> run(const std::string& cmd) {
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (!p) {
    return {"popen failed", -1};
  }
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) {
    out.append(buf, n);
  }
  return {out, pclose(p)};
}

// An HTTP/1.1 upstream that answers every request as a gRPC server's answer looks on an HTTP/1.1
// leg: a chunked body followed by grpc-status / grpc-message trailers.
class TrailerServer {
 public:
  TrailerServer() {
    fd_ = listenLoopback(port_);
    acceptor_ = std::thread([this] {
      while (true) {
        int c = accept(fd_, nullptr, nullptr);
        if (c < 0) {
          return;
        }
        std::lock_guard lock(mu_);
        conns_.push_back(c);
        workers_.emplace_back([c] { answer(c); });
      }
    });
  }
  ~TrailerServer() {
    shutdown(fd_, SHUT_RDWR);
    acceptor_.join();
    std::lock_guard lock(mu_);
    for (int c : conns_) {
      shutdown(c, SHUT_RDWR);
    }
    for (auto& w : workers_) {
      w.join();
    }
    for (int c : conns_) {
      ::close(c);
    }
    ::close(fd_);
  }
  uint16_t port() const { return port_; }

 private:
  static void answer(int c) {
    static constexpr std::string_view kReply =
        "HTTP/1.1 200 OK\r\ncontent-type: application/grpc\r\ntransfer-encoding: chunked\r\n\r\n"
        "5\r\nhello\r\n0\r\ngrpc-status: 0\r\ngrpc-message: ok\r\n\r\n";
    std::string in;
    char buf[4096];
    while (true) {
      size_t end = in.find("\r\n\r\n");
      if (end != std::string::npos) {
        in.erase(0, end + 4);  // requests without a body
        if (write(c, kReply.data(), kReply.size()) < 0) {
          return;
        }
        continue;
      }
      ssize_t n = read(c, buf, sizeof(buf));
      if (n <= 0) {
        return;
      }
      in.append(buf, static_cast<size_t>(n));
    }
  }

  int fd_;
  uint16_t port_;
  std::thread acceptor_;
  std::mutex mu_;
  std::vector<int> conns_;
  std::vector<std::thread> workers_;
};

// An HTTP/1.1 upstream whose first answer is a trailers-only gRPC UNAVAILABLE and whose later
// answers succeed.
class FlakyGrpcServer {
 public:
  FlakyGrpcServer() {
    fd_ = listenLoopback(port_);
    thread_ = std::thread([this] {
      for (int answered = 0;; ) {
        int c = accept(fd_, nullptr, nullptr);
        if (c < 0) {
          return;
        }
        std::string in;
        char buf[4096];
        while (true) {
          if (size_t end = in.find("\r\n\r\n"); end != std::string::npos) {
            in.erase(0, end + 4);
            std::string_view reply =
                answered++ == 0
                    ? "HTTP/1.1 200 OK\r\ncontent-type: application/grpc\r\ngrpc-status: 14\r\n"
                      "content-length: 0\r\n\r\n"
                    : "HTTP/1.1 200 OK\r\ncontent-type: application/grpc\r\ngrpc-status: 0\r\n"
                      "content-length: 2\r\n\r\nok";
            if (write(c, reply.data(), reply.size()) < 0) {
              break;
            }
            continue;
          }
          ssize_t n = read(c, buf, sizeof(buf));
          if (n <= 0) {
            break;
          }
          in.append(buf, static_cast<size_t>(n));
        }
        ::close(c);
      }
    });
  }
  ~FlakyGrpcServer() {
    shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  uint16_t port() const { return port_; }

 private:
  int fd_;
  uint16_t port_;
  std::thread thread_;
};

class H2Test : public ProxyTest {
 protected:
  std::string url(const std::string& path) {
    return "http://127.0.0.1:" + std::to_string(server_->port()) + path;
  }
  // curl with prior knowledge; the body, then a line "<http version> <status>".
  std::string curl(const std::string& path, const std::string& args = "") {
    return run("curl -s --max-time 5 --http2-prior-knowledge -H 'Host: svc' " + args +
               " -w '\\n%{http_version} %{http_code}' " + url(path))
        .first;
  }
};

std::string lastLine(const std::string& out) {
  size_t nl = out.rfind('\n');
  return nl == std::string::npos ? out : out.substr(nl + 1);
}

TEST(H2Base64Url, DecodesSettingsPayloads) {
  EXPECT_EQ(decodeBase64Url("AAMAAABkAAQAoAAAAAIAAAAA"),
            std::string("\x00\x03\x00\x00\x00\x64\x00\x04\x00\xa0\x00\x00\x00\x02\x00\x00\x00\x00", 18));
  EXPECT_EQ(decodeBase64Url(""), "");
  EXPECT_EQ(decodeBase64Url("-_8"), std::string("\xfb\xff", 2));
  EXPECT_FALSE(decodeBase64Url("a+b/"));  // base64, not base64url
}

TEST_F(H2Test, PriorKnowledgeRequestsAreRoutedByHeaderAndPath) {
  twoBackends();
  auto& jason = route();
  jason.match.emplace_back();
  jason.match[0].headers["end-user"] = StringMatch{K::Exact, "jason"};
  jason.route = {to("b")};
  auto& api = route();
  api.match.emplace_back();
  api.match[0].uri = StringMatch{K::Prefix, "/api"};
  api.route = {to("a")};
  startProxy();
  std::string a = curl("/api/x?q=1");
  EXPECT_EQ(lastLine(a), "2 200") << a;
  EXPECT_EQ(field(a, "server"), "a");
  EXPECT_EQ(field(a, "uri"), "/api/x?q=1");
  EXPECT_EQ(field(a, "h:host"), "svc");
  std::string b = curl("/api/x", "-H 'End-User: jason' -d 'posted'");
  EXPECT_EQ(field(b, "server"), "b");
  EXPECT_EQ(field(b, "body"), "posted");
  EXPECT_EQ(lastLine(curl("/other")), "2 404");
  auto c = counters();
  EXPECT_EQ(c.h2Connections, 3u);
  EXPECT_EQ(c.h2Streams, 3u);
  EXPECT_EQ(c.noRoute, 1u);
}

TEST_F(H2Test, H2cUpgradeSwitchesAndAnswersTheUpgradeRequest) {
  twoBackends();
  route().route = {to("b")};
  startProxy();
  auto [out, rc] = run("curl -s --max-time 5 --http2 -H 'Host: svc' -w '\\n%{http_version} %{http_code}' " +
                       url("/up") + " " + url("/second"));
  ASSERT_EQ(rc, 0) << out;
  // The upgrade request is answered as stream 1 over HTTP/2; the second reuses the connection.
  EXPECT_NE(out.find("uri=/up\n"), std::string::npos) << out;
  EXPECT_NE(out.find("uri=/second\n"), std::string::npos) << out;
  EXPECT_EQ(lastLine(out), "2 200");
  EXPECT_EQ(field(out, "server"), "b");
  EXPECT_EQ(field(out, "h:http2-settings"), "<absent>");  // hop-by-hop, never forwarded
  auto c = counters();
  EXPECT_EQ(c.h2Connections, 1u);
  EXPECT_EQ(c.h2Streams, 2u);
}

TEST_F(H2Test, ConcurrentStreamsOnOneConnectionAreEachAnsweredByTheirRoute) {
  twoBackends();
  // Every request waits 400 ms (fault delay): four of them finish in well under 4 × 400 ms only
  // when the streams run concurrently.
  auto& toB = route();
  toB.match.emplace_back();
  toB.match[0].uri = StringMatch{K::Prefix, "/b"};
  toB.route = {to("b")};
  toB.fault = model::HTTPFaultInjection{};
  toB.fault->delay = model::FaultDelay{};
  toB.fault->delay->fixedDelay = std::chrono::milliseconds(400);
  toB.fault->delay->percentage = 100.0;
  auto delay = toB.fault;  // route() may move the routes
  auto& toA = route();
  toA.route = {to("a")};
  toA.fault = delay;
  startProxy();
  auto start = std::chrono::steady_clock::now();
  auto [out, rc] = run("nghttp -H ':authority: svc' " + url("/a/1") + " " + url("/b/2") + " " +
                       url("/a/3") + " " + url("/b/4"));
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_EQ(rc, 0) << out;
  std::map<std::string, std::string> serverOf;  // uri → server, from the echoed bodies
  size_t at = 0;
  while ((at = out.find("server=", at)) != std::string::npos) {
    std::string rest = out.substr(at);
    serverOf[field(rest, "uri")] = field(rest, "server");
    ++at;
  }
  EXPECT_EQ(serverOf, (std::map<std::string, std::string>{
                          {"/a/1", "a"}, {"/b/2", "b"}, {"/a/3", "a"}, {"/b/4", "b"}}))
      << out;
  EXPECT_LT(elapsed, std::chrono::milliseconds(1200));
  auto c = counters();
  EXPECT_EQ(c.h2Connections, 1u);
  EXPECT_EQ(c.h2Streams, 4u);
}

TEST_F(H2Test, GrpcRequestsGetTrailersOnlyStatusesFromTheProxy) {
  twoBackends();
  auto& missing = route();
  missing.match.emplace_back();
  missing.match[0].uri = StringMatch{K::Prefix, "/pkg.Missing/"};
  missing.route = {to("nowhere")};
  auto& known = route();
  known.match.emplace_back();
  known.match[0].uri = StringMatch{K::Prefix, "/pkg.Svc/"};
  known.route = {to("a")};
  startProxy();
  const std::string grpc = "-H ':authority: svc' -H 'content-type: application/grpc' -H 'te: trailers' ";
  // No route: 404 NR → UNIMPLEMENTED (12), as one HEADERS frame ending the stream.
  auto [nr, rc1] = run("nghttp -v " + grpc + url("/other.Svc/Call"));
  EXPECT_NE(nr.find(":status: 200"), std::string::npos) << nr;
  EXPECT_NE(nr.find("grpc-status: 12"), std::string::npos) << nr;
  EXPECT_NE(nr.find("recv HEADERS frame <length="), std::string::npos);
  EXPECT_NE(nr.find("flags=0x05, stream_id=13>"), std::string::npos) << nr;  // END_STREAM|END_HEADERS
  // Missing cluster: 503 NC → UNAVAILABLE (14).
  auto [nc, rc2] = run("nghttp -v " + grpc + url("/pkg.Missing/Call"));
  EXPECT_NE(nc.find("grpc-status: 14"), std::string::npos) << nc;
  // A plain HTTP/2 request to the same place keeps the HTTP status.
  EXPECT_EQ(lastLine(curl("/pkg.Missing/Call")), "2 503");
  // A routed gRPC request goes upstream untouched.
  std::string ok = curl("/pkg.Svc/Call", "-H 'content-type: application/grpc'");
  EXPECT_EQ(field(ok, "server"), "a");
  EXPECT_EQ(field(ok, "h:content-type"), "application/grpc");
}

TEST_F(H2Test, GrpcFaultAbortAnswersItsStatusToGrpcClientsAnd503ToOthers) {
  twoBackends();
  auto& r = route();
  r.route = {to("a")};
  r.fault = model::HTTPFaultInjection{};
  r.fault->abort = model::FaultAbort{};
  r.fault->abort->grpcStatus = "RESOURCE_EXHAUSTED";
  r.fault->abort->percentage = 100;
  startProxy();
  auto [out, rc] = run("nghttp -v -H ':authority: svc' -H 'content-type: application/grpc' " +
                       url("/pkg.Svc/Call"));
  EXPECT_NE(out.find("grpc-status: 8"), std::string::npos) << out;
  EXPECT_NE(out.find("grpc-message: fault filter abort"), std::string::npos) << out;
  EXPECT_EQ(lastLine(curl("/pkg.Svc/Call")), "2 503");
  EXPECT_EQ(counters().faultAborts, 2u);
}

// Proxy A talks HTTP/2 to a grpc- port, here served by proxy B (HTTP/2 downstream) in front of
// an HTTP/1.1 server answering with trailers: the trailers cross every leg, h1 → h2 (B) → h1
// inside A → h2 to the client, and A multiplexes its streams on one upstream connection.
TEST_F(H2Test, GrpcPortsAreSpokenToAsHttp2AndTrailersPassThrough) {
  TrailerServer origin;
  service("svc", kVip, 80, origin.port());
  auto upstreamProxy = ProxyServer::create(
      loop_.base(), "127.0.0.1:0",
      std::make_unique<FixedResolver>(OriginalDestination{*net::IpAddress::parse(kVip), 80, 0}),
      table());
  ASSERT_TRUE(upstreamProxy.ok());
  std::unique_ptr<ProxyServer> b = std::move(upstreamProxy.value());
  snap_ = model::Snapshot{};
  service("svc", kVip, 80, b->port());
  snap_.services.back().spec.ports[0].name = "grpc-svc";
  snap_.endpointSlices.back().ports[0].name = "grpc-svc";
  startProxy();
  auto [out, rc] = run("nghttp -v -H ':authority: svc' -H 'content-type: application/grpc' " +
                       url("/pkg.Svc/One") + " " + url("/pkg.Svc/Two"));
  EXPECT_EQ(rc, 0) << out;
  size_t trailer = out.find("grpc-status: 0");
  EXPECT_NE(trailer, std::string::npos) << out;
  EXPECT_NE(out.find("grpc-message: ok"), std::string::npos) << out;
  // Both bodies (nghttp prints them between its frame lines), then the trailers in their own
  // HEADERS frame after the DATA: END_STREAM | END_HEADERS.
  EXPECT_NE(out.find("hello[", out.find("hello[") + 1), std::string::npos) << out;
  EXPECT_NE(out.find("flags=0x05, stream_id=13>\n          ; END_STREAM | END_HEADERS"),
            std::string::npos)
      << out;
  EXPECT_EQ(counters().h2UpstreamStreams, 2u);
  ProxyCounters bc;
  loop_.run([&] {
    bc = b->counters();
    b.reset();
  });
  EXPECT_EQ(bc.h2Connections, 1u);  // one multiplexed upstream connection
  EXPECT_EQ(bc.h2Streams, 2u);
}

// appProtocol wins over the port name; a refused HTTP/2 upstream connection is a connect failure
// (Istio's default policy retries it twice), answered 503 / UNAVAILABLE.
TEST_F(H2Test, Http2UpstreamConnectFailuresAreRetriedAndAnswered503) {
  uint16_t deadPort = 0;
  ::close(listenLoopback(deadPort));
  service("svc", kVip, 80, deadPort);
  snap_.services.back().spec.ports[0].appProtocol = "kubernetes.io/h2c";
  startProxy();
  EXPECT_EQ(lastLine(curl("/x")), "2 503");
  auto [out, rc] = run("nghttp -v -H ':authority: svc' -H 'content-type: application/grpc' " +
                       url("/pkg.Svc/Call"));
  EXPECT_NE(out.find("grpc-status: 14"), std::string::npos) << out;
  auto c = counters();
  EXPECT_EQ(c.h2UpstreamStreams, 6u);  // two requests, three attempts each
  EXPECT_EQ(c.upstreamConnectFailures, 6u);
  EXPECT_EQ(c.retries, 4u);
}

// connectionPool.http: h2UpgradePolicy UPGRADE makes an `http` port's upstream HTTP/2;
// useClientProtocol makes it the client's protocol. Upstream here is proxy B (it accepts both) in
// front of the evhttp server; B's counters say which protocol reached it.
TEST_F(H2Test, H2UpgradePolicyAndUseClientProtocolChooseTheUpstreamProtocol) {
  for (bool useClient : {false, true}) {
    SCOPED_TRACE(useClient ? "useClientProtocol" : "h2UpgradePolicy: UPGRADE");
    snap_ = model::Snapshot{};
    service("svc", kVip, 80, a_.port());
    auto upstreamProxy = ProxyServer::create(
        loop_.base(), "127.0.0.1:0",
        std::make_unique<FixedResolver>(OriginalDestination{*net::IpAddress::parse(kVip), 80, 0}),
        table());
    ASSERT_TRUE(upstreamProxy.ok());
    std::shared_ptr<ProxyServer> b = std::move(upstreamProxy.value());
    snap_ = model::Snapshot{};
    service("svc", kVip, 80, b->port());
    model::DestinationRule dr;
    dr.meta.name = "svc";
    dr.meta.ns = "default";
    dr.spec.host = "svc";
    dr.spec.trafficPolicy = model::TrafficPolicy{};
    dr.spec.trafficPolicy->connectionPool = model::ConnectionPoolSettings{};
    auto& http = dr.spec.trafficPolicy->connectionPool->http.emplace();
    if (useClient) {
      http.useClientProtocol = true;
    } else {
      http.h2UpgradePolicy = model::H2UpgradePolicy::Upgrade;
    }
    snap_.destinationRules.push_back(dr);
    if (!server_) {
      startProxy();
    } else {
      loop_.run([&] { server_->setRouteTable(table()); });
    }
    EXPECT_EQ(field(curl("/h2"), "server"), "a");  // an HTTP/2 client
    Client c(server_->port());
    EXPECT_EQ(field(c.one(get("/h1")).body, "server"), "a");  // an HTTP/1.1 client
    ProxyCounters bc;
    loop_.run([&] {
      bc = b->counters();
      b.reset();
    });
    EXPECT_EQ(bc.h2Connections, 1u);
    // UPGRADE: both requests over HTTP/2; useClientProtocol: only the HTTP/2 client's.
    EXPECT_EQ(bc.h2Streams, useClient ? 1u : 2u);
  }
}

// h2load: 4 connections × 16 concurrent streams, 800 requests, through proxy A (HTTP/2 both
// sides) and proxy B (HTTP/2 downstream, HTTP/1.1 upstream) to the evhttp server. Every request
// succeeds and A keeps one upstream connection.
TEST_F(H2Test, ManyConcurrentStreamsThroughHttp2BothWays) {
  if (access("/usr/bin/h2load", X_OK) != 0) GTEST_SKIP() << "h2load is not installed";
  service("svc", kVip, 80, a_.port());
  auto upstreamProxy = ProxyServer::create(
      loop_.base(), "127.0.0.1:0",
      std::make_unique<FixedResolver>(OriginalDestination{*net::IpAddress::parse(kVip), 80, 0}),
      table());
  ASSERT_TRUE(upstreamProxy.ok());
  std::unique_ptr<ProxyServer> b = std::move(upstreamProxy.value());
  snap_ = model::Snapshot{};
  service("svc", kVip, 80, b->port());
  snap_.services.back().spec.ports[0].name = "http2-svc";
  snap_.endpointSlices.back().ports[0].name = "http2-svc";
  startProxy();
  auto [out, rc] = run("timeout 60 h2load -n 800 -c 4 -m 16 -H ':authority: svc' " + url("/load"));
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("800 succeeded, 0 failed, 0 errored"), std::string::npos) << out;
  EXPECT_NE(out.find("status codes: 800 2xx"), std::string::npos) << out;
  EXPECT_EQ(counters().h2UpstreamStreams, 800u);
  ProxyCounters bc;
  loop_.run([&] {
    bc = b->counters();
    b.reset();
  });
  EXPECT_EQ(bc.h2Connections, 1u);
  EXPECT_EQ(bc.h2Streams, 800u);
}

// A 3 MiB body each way (the echo server returns it) exceeds every window and watermark: HTTP/2
// flow control on both legs and the bridges' backpressure must move it all.
TEST_F(H2Test, LargeBodiesCrossBothHttp2Legs) {
  service("svc", kVip, 80, a_.port());
  auto upstreamProxy = ProxyServer::create(
      loop_.base(), "127.0.0.1:0",
      std::make_unique<FixedResolver>(OriginalDestination{*net::IpAddress::parse(kVip), 80, 0}),
      table());
  ASSERT_TRUE(upstreamProxy.ok());
  std::unique_ptr<ProxyServer> b = std::move(upstreamProxy.value());
  snap_ = model::Snapshot{};
  service("svc", kVip, 80, b->port());
  snap_.services.back().spec.ports[0].name = "grpc-svc";
  snap_.endpointSlices.back().ports[0].name = "grpc-svc";
  startProxy();
  char path[] = "/tmp/sluice-h2-body-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  std::string body(3 << 20, 'x');
  body.back() = 'y';
  ASSERT_EQ(write(fd, body.data(), body.size()), static_cast<ssize_t>(body.size()));
  ::close(fd);
  std::string out = curl("/big", std::string("--data-binary @") + path);
  unlink(path);
  EXPECT_EQ(lastLine(out), "2 200");
  EXPECT_EQ(field(out, "body"), body);
  loop_.run([&] { b.reset(); });
}

// Clients that leave while their streams wait (an injected delay, then the upstream exchange):
// the bridged sessions end with them and the proxy keeps serving.
TEST_F(H2Test, ClientsLeavingMidStreamLeaveTheProxyServing) {
  twoBackends();
  auto& slow = route();
  slow.match.emplace_back();
  slow.match[0].uri = StringMatch{K::Prefix, "/slow"};
  slow.route = {to("a")};
  slow.fault = model::HTTPFaultInjection{};
  slow.fault->delay = model::FaultDelay{};
  slow.fault->delay->fixedDelay = std::chrono::milliseconds(300);
  slow.fault->delay->percentage = 100.0;
  auto& rest = route();
  rest.route = {to("b")};
  startProxy();
  auto [out, rc] = run("curl -s --max-time 0.1 --http2-prior-knowledge -H 'Host: svc' " +
                       url("/slow/1") + " " + url("/slow/2"));
  EXPECT_NE(rc, 0) << out;  // curl gave up (timeout)
  // nghttp killed while its three streams wait.
  run("timeout 0.1 nghttp -H ':authority: svc' " + url("/slow/3") + " " + url("/slow/4") + " " +
      url("/slow/5"));
  std::this_thread::sleep_for(std::chrono::milliseconds(400));  // the delays expire
  EXPECT_EQ(field(curl("/fast"), "server"), "b");
}

// An HTTP/2 upstream connection without streams closes after the upstream idle timeout.
TEST_F(H2Test, IdleHttp2UpstreamConnectionsClose) {
  service("svc", kVip, 80, a_.port());
  auto upstreamProxy = ProxyServer::create(
      loop_.base(), "127.0.0.1:0",
      std::make_unique<FixedResolver>(OriginalDestination{*net::IpAddress::parse(kVip), 80, 0}),
      table());
  ASSERT_TRUE(upstreamProxy.ok());
  std::unique_ptr<ProxyServer> b = std::move(upstreamProxy.value());
  snap_ = model::Snapshot{};
  service("svc", kVip, 80, b->port());
  snap_.services.back().spec.ports[0].name = "http2-svc";
  snap_.endpointSlices.back().ports[0].name = "http2-svc";
  options_.upstreamIdleTimeoutSeconds = 1;
  startProxy();
  EXPECT_EQ(field(curl("/one"), "server"), "a");
  size_t open = 0;
  loop_.run([&] { open = server_->h2Upstreams().connections(); });
  EXPECT_EQ(open, 1u);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  loop_.run([&] { open = server_->h2Upstreams().connections(); });
  EXPECT_EQ(open, 0u);
  EXPECT_EQ(field(curl("/two"), "server"), "a");  // a new connection
  loop_.run([&] { b.reset(); });
}

// Istio's default retryOn includes `unavailable`: a trailers-only grpc-status 14 is retried and
// the client sees only the second answer.
TEST_F(H2Test, GrpcUnavailableIsRetriedUnderTheDefaultPolicy) {
  FlakyGrpcServer flaky;
  service("svc", kVip, 80, flaky.port());
  startProxy();
  auto [out, rc] = run("nghttp -v -H ':authority: svc' -H 'content-type: application/grpc' " +
                       url("/pkg.Svc/Call"));
  EXPECT_NE(out.find("grpc-status: 0"), std::string::npos) << out;
  EXPECT_EQ(out.find("grpc-status: 14"), std::string::npos) << out;
  EXPECT_EQ(counters().retries, 1u);
}

}  // namespace
}  // namespace sluice::proxy::test
