// The HTTP/1.1 proxy end to end on loopback: real upstream servers (libevent evhttp and a raw
// Upgrade echo server) on 127.0.0.1:0, the proxy on its own event loop thread with a fixed original
// destination (the hand-off map needs BPF; its absence-means-refusal rule is tested with a resolver
// that knows no client), and real client sockets and curl.
#include "proxy_fixture.h"

#include <condition_variable>

namespace sluice::proxy::test {
namespace {

// ------------------------------------------------------------------ routing

TEST_F(ProxyTest, RoutesByUriAndHeaderFirstMatchWins) {
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
  Client c(server_->port());
  ASSERT_TRUE(c.connected());
  auto r = c.one(get("/api/x"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(field(r.body, "server"), "a");
  EXPECT_EQ(field(c.one(get("/api/x", "End-User: jason\r\n")).body, "server"), "b");
  auto nr = c.one(get("/other"));
  EXPECT_EQ(nr.status, 404);
  EXPECT_EQ(counters().noRoute, 1u);
}

TEST_F(ProxyTest, WeightsSplitPerRequestOnOneConnection) {
  twoBackends();
  route().route = {to("a", 80), to("b", 20)};
  startProxy();
  Client c(server_->port());
  int a = 0;
  const int n = 300;
  for (int i = 0; i < n; ++i) {
    a += field(c.one(get("/")).body, "server") == "a";
  }
  EXPECT_GT(a, n * 65 / 100);
  EXPECT_LT(a, n * 95 / 100);
}

TEST_F(ProxyTest, RedirectAndDirectResponse) {
  twoBackends();
  auto& redirect = route();
  redirect.match.emplace_back();
  redirect.match[0].uri = StringMatch{K::Prefix, "/old"};
  redirect.redirect = model::HTTPRedirect{};
  redirect.redirect->uri = "/new";
  redirect.redirect->redirectCode = 302;
  auto& direct = route();
  model::Headers h;
  h.response = model::HeaderOperations{{{"x-direct", "yes"}}, {}, {}};
  direct.headers = h;
  direct.directResponse = model::HTTPDirectResponse{418, model::HTTPBody{"short and stout", {}}};
  startProxy();
  Client c(server_->port());
  auto r = c.one(get("/old/path?q=1"));
  EXPECT_EQ(r.status, 302);
  EXPECT_EQ(r.header("location"), "http://svc/new?q=1");
  auto d = c.one(get("/x"));
  EXPECT_EQ(d.status, 418);
  EXPECT_EQ(d.body, "short and stout");
  EXPECT_EQ(d.header("x-direct"), "yes");
}

TEST_F(ProxyTest, RewriteAndHeaderOperations) {
  twoBackends();
  auto& r = route();
  r.match.emplace_back();
  r.match[0].uri = StringMatch{K::Prefix, "/api/v1"};
  r.rewrite = model::HTTPRewrite{"/v2", "backend.internal", std::nullopt};
  model::Headers h;
  h.request = model::HeaderOperations{{{"x-route", "r1"}}, {}, {"x-secret"}};
  h.response = model::HeaderOperations{{{"x-served-by", "sluice"}}, {}, {"server"}};
  r.headers = h;
  r.route = {to("a")};
  startProxy();
  Client c(server_->port());
  auto resp = c.one(get("/api/v1/users?id=7", "X-Secret: s\r\n"));
  ASSERT_EQ(resp.status, 200);
  EXPECT_EQ(field(resp.body, "uri"), "/v2/users?id=7");
  EXPECT_EQ(field(resp.body, "h:host"), "backend.internal");
  EXPECT_EQ(field(resp.body, "h:x-route"), "r1");
  EXPECT_EQ(field(resp.body, "h:x-secret"), "<absent>");
  EXPECT_EQ(resp.header("x-served-by"), "sluice");
  EXPECT_EQ(resp.header("server"), "");
  EXPECT_EQ(resp.header("x-upstream"), "a");
}

TEST_F(ProxyTest, ForwardedHeadersAndRequestId) {
  twoBackends();
  route().route = {to("a")};
  startProxy();
  Client c(server_->port());
  auto r = c.one(get("/", "Connection: keep-alive, x-hop\r\nX-Hop: 1\r\nKeep-Alive: 5\r\n"));
  EXPECT_EQ(field(r.body, "h:x-forwarded-for"), "127.0.0.1");
  EXPECT_EQ(field(r.body, "h:x-forwarded-proto"), "http");
  EXPECT_EQ(field(r.body, "h:x-request-id").size(), 36u);
  EXPECT_EQ(field(r.body, "h:x-hop"), "<absent>");  // listed in Connection: hop-by-hop
  EXPECT_EQ(field(r.body, "h:keep-alive"), "<absent>");
  auto again = c.one(get("/", "X-Forwarded-For: 10.1.1.1\r\nX-Request-Id: abc\r\n"));
  EXPECT_EQ(field(again.body, "h:x-forwarded-for"), "10.1.1.1,127.0.0.1");
  EXPECT_EQ(field(again.body, "h:x-request-id"), "abc");
}

// ------------------------------------------------------------------ connections

TEST_F(ProxyTest, UpstreamKeepAliveIsReused) {
  twoBackends();
  route().route = {to("a")};
  startProxy();
  {
    Client c(server_->port());
    for (int i = 0; i < 5; ++i) {
      EXPECT_EQ(c.one(get("/")).status, 200);
    }
  }
  Client second(server_->port());
  EXPECT_EQ(second.one(get("/")).status, 200);
  EXPECT_EQ(a_.connections(), 1u);
  auto k = counters();
  EXPECT_EQ(k.upstreamConnectionsOpened, 1u);
  EXPECT_EQ(k.upstreamConnectionsReused, 5u);
}

TEST_F(ProxyTest, PipelinedRequestsAnsweredInOrder) {
  twoBackends();
  route().route = {to("a")};
  startProxy();
  Client c(server_->port());
  c.send(get("/one") + get("/two") + "POST /three HTTP/1.1\r\nHost: svc\r\nContent-Length: 3\r\n\r\nabc" +
         get("/four"));
  auto rs = c.read(4);
  ASSERT_EQ(rs.size(), 4u);
  EXPECT_EQ(field(rs[0].body, "uri"), "/one");
  EXPECT_EQ(field(rs[1].body, "uri"), "/two");
  EXPECT_EQ(field(rs[2].body, "uri"), "/three");
  EXPECT_EQ(field(rs[2].body, "body"), "abc");
  EXPECT_EQ(field(rs[3].body, "uri"), "/four");
}

TEST_F(ProxyTest, ChunkedBodiesBothWays) {
  twoBackends();
  route().route = {to("a")};
  startProxy();
  Client c(server_->port());
  auto r = c.one(
      "POST /chunked HTTP/1.1\r\nHost: svc\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(field(r.body, "body"), "hello world");
  EXPECT_EQ(r.header("transfer-encoding"), "chunked");
  EXPECT_NE(r.body.find("tail\n"), std::string::npos);
  EXPECT_EQ(c.one(get("/after")).status, 200);  // the connection survives both bodies
}

TEST_F(ProxyTest, ExpectContinueIsAnsweredByTheProxy) {
  twoBackends();
  route().route = {to("a")};
  startProxy();
  Client c(server_->port());
  c.send("PUT /up HTTP/1.1\r\nHost: svc\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n");
  std::string interim = c.readRaw(25);
  EXPECT_EQ(interim, "HTTP/1.1 100 Continue\r\n\r\n");
  c.send("data");
  auto r = c.read(1);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(field(r[0].body, "body"), "data");
  EXPECT_EQ(field(r[0].body, "h:expect"), "<absent>");
}

TEST_F(ProxyTest, UpgradeIsTunnelled) {
  UpgradeEchoServer ws;
  service("svc", kVip, 80, ws.port());
  startProxy();
  Client c(server_->port());
  c.send("GET /ws HTTP/1.1\r\nHost: svc\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n");
  std::string head = c.readRaw(1);
  while (head.find("\r\n\r\n") == std::string::npos) {
    std::string more = c.readRaw(1);
    if (more.empty()) {
      break;
    }
    head += more;
  }
  EXPECT_TRUE(head.starts_with("HTTP/1.1 101")) << head;
  c.send("ping");
  EXPECT_EQ(c.readRaw(4), "ping");
  EXPECT_EQ(counters().upgrades, 1u);
}

TEST_F(ProxyTest, MissingClusterAndDeadEndpointAnswer503) {
  twoBackends();
  uint16_t dead;
  int fd = listenLoopback(dead);
  ::close(fd);  // nothing listens there any more
  service("dead", "10.96.0.4", 80, dead);
  auto& r1 = route();
  r1.match.emplace_back();
  r1.match[0].uri = StringMatch{K::Prefix, "/nc"};
  r1.route = {to("nosuch")};
  route().route = {to("dead")};
  startProxy();
  Client c(server_->port());
  EXPECT_EQ(c.one(get("/nc")).status, 503);
  auto r = c.one(get("/x"));
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(r.body.find("connection failure"), std::string::npos);
  auto k = counters();
  EXPECT_EQ(k.noCluster, 1u);
  EXPECT_EQ(k.upstreamConnectFailures, 3u);  // the first attempt and Istio's 2 default retries
}

TEST_F(ProxyTest, RouteTimeoutAnswers504) {
  uint16_t silentPort;
  int silent = listenLoopback(silentPort);  // completes handshakes, never answers
  service("svc", kVip, 80, silentPort);
  service("a", "10.96.0.2", 80, a_.port());
  auto& slow = route();
  slow.match.emplace_back();
  slow.match[0].uri = StringMatch{K::Prefix, "/slow"};
  slow.timeout = std::chrono::milliseconds(200);
  slow.route = {to("svc")};
  route().route = {to("a")};
  startProxy();
  Client c(server_->port());
  auto start = std::chrono::steady_clock::now();
  auto r = c.one(get("/slow"));
  EXPECT_EQ(r.status, 504);
  EXPECT_EQ(r.body, "upstream request timeout");
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(200));
  EXPECT_EQ(c.one(get("/fast")).status, 200);  // the client connection stays usable
  EXPECT_EQ(counters().upstreamTimeouts, 1u);
  ::close(silent);
}

TEST_F(ProxyTest, FaultDelayAndAbort) {
  twoBackends();
  auto& abort = route();
  abort.match.emplace_back();
  abort.match[0].uri = StringMatch{K::Prefix, "/abort"};
  abort.fault = model::HTTPFaultInjection{};
  abort.fault->abort = model::FaultAbort{};
  abort.fault->abort->httpStatus = 429;
  abort.fault->abort->percentage = 100;
  abort.route = {to("a")};
  auto& delay = route();
  delay.fault = model::HTTPFaultInjection{};
  delay.fault->delay = model::FaultDelay{};
  delay.fault->delay->fixedDelay = std::chrono::milliseconds(150);
  delay.fault->delay->percentage = 100;
  delay.route = {to("a")};
  startProxy();
  Client c(server_->port());
  auto r = c.one("POST /abort HTTP/1.1\r\nHost: svc\r\nContent-Length: 2\r\n\r\nhi");
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.body, "fault filter abort");
  auto start = std::chrono::steady_clock::now();
  auto d = c.one("POST /slow HTTP/1.1\r\nHost: svc\r\nContent-Length: 4\r\n\r\nbody");
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(150));
  EXPECT_EQ(d.status, 200);
  EXPECT_EQ(field(d.body, "body"), "body");  // the body that arrived during the delay is kept
  EXPECT_EQ(counters().faultAborts, 1u);
  EXPECT_EQ(a_.connections(), 1u);
}

TEST_F(ProxyTest, CorsPreflightAndActualRequest) {
  twoBackends();
  auto& r = route();
  model::CorsPolicy c;
  c.allowOrigins = {StringMatch{K::Prefix, "https://ok."}};
  c.allowMethods = {"GET", "PUT"};
  c.allowHeaders = {"x-h"};
  c.exposeHeaders = {"x-e"};
  c.maxAge = std::chrono::seconds(60);
  c.allowCredentials = true;
  r.corsPolicy = c;
  r.route = {to("a")};
  startProxy();
  Client cl(server_->port());
  auto p = cl.one("OPTIONS /x HTTP/1.1\r\nHost: svc\r\nOrigin: https://ok.example\r\n"
                  "Access-Control-Request-Method: PUT\r\n\r\n");
  EXPECT_EQ(p.status, 200);
  EXPECT_EQ(p.body, "");
  EXPECT_EQ(p.header("access-control-allow-origin"), "https://ok.example");
  EXPECT_EQ(p.header("access-control-allow-methods"), "GET,PUT");
  EXPECT_EQ(p.header("access-control-allow-headers"), "x-h");
  EXPECT_EQ(p.header("access-control-max-age"), "60");
  EXPECT_EQ(p.header("access-control-allow-credentials"), "true");
  EXPECT_EQ(a_.connections(), 0u);  // answered by the proxy
  auto g = cl.one(get("/x", "Origin: https://ok.example\r\n"));
  EXPECT_EQ(g.status, 200);
  EXPECT_EQ(field(g.body, "server"), "a");
  EXPECT_EQ(g.header("access-control-allow-origin"), "https://ok.example");
  EXPECT_EQ(g.header("access-control-expose-headers"), "x-e");
  EXPECT_EQ(g.header("access-control-allow-credentials"), "true");
  auto n = cl.one(get("/x", "Origin: https://bad.example\r\n"));
  EXPECT_EQ(n.status, 200);
  EXPECT_EQ(n.header("access-control-allow-origin"), "");
  // An unmatched preflight is forwarded (the echo backend does not allow OPTIONS).
  Client cl2(server_->port());
  auto u = cl2.one("OPTIONS /x HTTP/1.1\r\nHost: svc\r\nOrigin: https://bad.example\r\n"
                   "Access-Control-Request-Method: PUT\r\n\r\n");
  EXPECT_NE(u.status, 200);
  EXPECT_EQ(u.header("access-control-allow-origin"), "");
}

TEST_F(ProxyTest, MirrorsGetCopiesWithoutDelayingThePrimary) {
  twoBackends();
  uint16_t slowPort = 0;
  int slowFd = listenLoopback(slowPort);  // accepts (kernel backlog) and never answers
  service("slow", "10.96.0.4", 80, slowPort);
  auto& off = route();
  off.match.emplace_back();
  off.match[0].uri = StringMatch{K::Prefix, "/off"};
  off.mirror = model::Destination{"b", "", std::nullopt};
  off.mirrorPercentage = 0;  // explicit 0: no mirroring
  off.route = {to("a")};
  auto& on = route();
  on.mirrors = {model::HTTPMirrorPolicy{model::Destination{"b", "", std::nullopt}, std::nullopt},
                model::HTTPMirrorPolicy{model::Destination{"slow", "", std::nullopt}, 100.0}};
  on.route = {to("a")};
  startProxy();
  Client c(server_->port());
  auto r = c.one("POST /m HTTP/1.1\r\nHost: svc\r\nContent-Length: 5\r\n\r\nhello");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(field(r.body, "server"), "a");
  EXPECT_EQ(field(r.body, "body"), "hello");
  auto o = c.one("POST /off HTTP/1.1\r\nHost: svc\r\nContent-Length: 2\r\n\r\nno");
  EXPECT_EQ(o.status, 200);
  for (int i = 0; i < 500 && b_.connections() < 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(b_.connections(), 1u);
  EXPECT_EQ(counters().mirrorsSent, 2u);
  pollfd pfd{slowFd, POLLIN, 0};
  ASSERT_EQ(poll(&pfd, 1, 5000), 1);
  int conn = accept(slowFd, nullptr, nullptr);
  ASSERT_GE(conn, 0);
  std::string got;
  for (int i = 0; i < 50 && got.find("hello") == std::string::npos; ++i) {
    pollfd cp{conn, POLLIN, 0};
    if (poll(&cp, 1, 100) == 1) {
      char buf[4096];
      ssize_t n = read(conn, buf, sizeof(buf));
      if (n <= 0) break;
      got.append(buf, static_cast<size_t>(n));
    }
  }
  EXPECT_NE(got.find("POST /m HTTP/1.1\r\nhost: svc\r\n"), std::string::npos) << got;
  EXPECT_NE(got.find("connection: close\r\n\r\nhello"), std::string::npos) << got;
  close(conn);
  close(slowFd);
}

// Answers each connection's first request with the next scripted status (then 200), one request
// per connection, and records the request bytes it saw.
class ScriptedServer {
 public:
  explicit ScriptedServer(std::vector<int> statuses) : statuses_(std::move(statuses)) {
    fd_ = listenLoopback(port_);
    thread_ = std::thread([this] { run(); });
  }
  ~ScriptedServer() {
    stop_ = true;
    thread_.join();
    close(fd_);
    for (int c : hung_) close(c);
  }
  uint16_t port() const { return port_; }
  std::vector<std::string> requests() {
    std::lock_guard lock(mu_);
    return requests_;
  }

 private:
  void run() {
    size_t n = 0;
    while (!stop_) {
      pollfd pfd{fd_, POLLIN, 0};
      if (poll(&pfd, 1, 50) != 1) continue;
      int c = accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      std::string req;
      for (int i = 0; i < 100 && req.find("\r\n\r\n") == std::string::npos; ++i) {
        pollfd cp{c, POLLIN, 0};
        if (poll(&cp, 1, 50) != 1) continue;
        char buf[4096];
        ssize_t r = read(c, buf, sizeof(buf));
        if (r <= 0) break;
        req.append(buf, static_cast<size_t>(r));
      }
      auto cl = req.find("content-length: ");
      if (cl != std::string::npos) {
        size_t len = std::stoul(req.substr(cl + 16));
        for (int i = 0; i < 100 && req.size() - (req.find("\r\n\r\n") + 4) < len; ++i) {
          char buf[4096];
          ssize_t r = read(c, buf, sizeof(buf));
          if (r <= 0) break;
          req.append(buf, static_cast<size_t>(r));
        }
      }
      {
        std::lock_guard lock(mu_);
        requests_.push_back(req);
      }
      int status = n < statuses_.size() ? statuses_[n] : 200;
      ++n;
      if (status == 0) {  // hang: keep the connection open without answering
        hung_.push_back(c);
        continue;
      }
      std::string body = "attempt " + std::to_string(n);
      std::string resp = "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Length: " +
                         std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
      ssize_t w = write(c, resp.data(), resp.size());
      (void)w;
      close(c);
    }
  }
  std::vector<int> statuses_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::string> requests_;
  std::vector<int> hung_;
};

TEST_F(ProxyTest, RetriesOnRetriableStatusesWithBody) {
  ScriptedServer up({503, 502, 503, 200, 500, 409});
  service("svc", kVip, 80, up.port());
  auto& gw = route();
  gw.match.emplace_back();
  gw.match[0].uri = StringMatch{K::Prefix, "/gw"};
  gw.retries = model::HTTPRetry{};
  gw.retries->attempts = 3;
  gw.retries->retryOn = "gateway-error";
  gw.retries->backoff = std::chrono::milliseconds(1);
  gw.route = {to("svc")};
  auto& codes = route();
  codes.retries = model::HTTPRetry{};
  codes.retries->attempts = 1;
  codes.retries->retryOn = "409,retriable-status-codes";
  codes.route = {to("svc")};
  startProxy();
  Client c(server_->port());
  // 503, 502, 503, then 200 on the 4th attempt (3 retries).
  auto r = c.one("POST /gw HTTP/1.1\r\nHost: svc\r\nContent-Length: 4\r\n\r\nbody");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "attempt 4");
  auto reqs = up.requests();
  ASSERT_EQ(reqs.size(), 4u);
  for (const auto& q : reqs) {
    EXPECT_NE(q.find("\r\n\r\nbody"), std::string::npos) << q;  // the body is sent again
  }
  // 500 is not a gateway error: relayed as is.
  auto five = c.one("GET /gw HTTP/1.1\r\nHost: svc\r\n\r\n");
  EXPECT_EQ(five.status, 500);
  // 409 is a listed code: one retry, then the next scripted answer (200).
  auto conflict = c.one("GET /c HTTP/1.1\r\nHost: svc\r\n\r\n");
  EXPECT_EQ(conflict.status, 200);
  EXPECT_EQ(conflict.body, "attempt 7");
  EXPECT_EQ(counters().retries, 4u);
}

TEST_F(ProxyTest, PerTryTimeoutRetriesUnderGatewayError) {
  ScriptedServer up({0, 200, 0});
  service("svc", kVip, 80, up.port());
  auto& r1 = route();
  r1.match.emplace_back();
  r1.match[0].uri = StringMatch{K::Prefix, "/retry"};
  r1.retries = model::HTTPRetry{};
  r1.retries->attempts = 2;
  r1.retries->retryOn = "gateway-error";
  r1.retries->perTryTimeout = std::chrono::milliseconds(100);
  r1.route = {to("svc")};
  auto& r2 = route();
  r2.retries = model::HTTPRetry{};
  r2.retries->attempts = 2;
  r2.retries->retryOn = "connect-failure";
  r2.retries->perTryTimeout = std::chrono::milliseconds(100);
  r2.route = {to("svc")};
  startProxy();
  Client c(server_->port());
  auto a = c.one("GET /retry HTTP/1.1\r\nHost: svc\r\n\r\n");
  EXPECT_EQ(a.status, 200);  // the hung first attempt was abandoned
  EXPECT_EQ(a.body, "attempt 2");
  auto b = c.one("GET /other HTTP/1.1\r\nHost: svc\r\n\r\n");
  EXPECT_EQ(b.status, 504);  // not retriable under connect-failure
  EXPECT_EQ(b.body, "upstream request timeout");
  EXPECT_EQ(counters().retries, 1u);
}

TEST_F(ProxyTest, AttemptsZeroAndDefaultPolicyDoNotRetryStatuses) {
  ScriptedServer up({503, 503});
  service("svc", kVip, 80, up.port());
  auto& off = route();
  off.match.emplace_back();
  off.match[0].uri = StringMatch{K::Prefix, "/off"};
  off.retries = model::HTTPRetry{};
  off.retries->attempts = 0;
  off.retries->retryOn = "5xx";
  off.route = {to("svc")};
  auto& def = route();
  def.route = {to("svc")};
  startProxy();
  Client c(server_->port());
  EXPECT_EQ(c.one("GET /off HTTP/1.1\r\nHost: svc\r\n\r\n").status, 503);
  EXPECT_EQ(c.one("GET /d HTTP/1.1\r\nHost: svc\r\n\r\n").status, 503);
  EXPECT_EQ(up.requests().size(), 2u);
  EXPECT_EQ(counters().retries, 0u);
}

TEST_F(ProxyTest, MirrorHostShadowSuffixOption) {
  twoBackends();
  uint16_t slowPort = 0;
  int slowFd = listenLoopback(slowPort);
  service("slow", "10.96.0.4", 80, slowPort);
  auto& on = route();
  on.mirror = model::Destination{"slow", "", std::nullopt};
  on.route = {to("a")};
  options_.mirrorHostShadowSuffix = true;
  startProxy();
  Client c(server_->port());
  EXPECT_EQ(c.one("GET /m HTTP/1.1\r\nHost: svc:8080\r\n\r\n").status, 200);
  pollfd pfd{slowFd, POLLIN, 0};
  ASSERT_EQ(poll(&pfd, 1, 5000), 1);
  int conn = accept(slowFd, nullptr, nullptr);
  ASSERT_GE(conn, 0);
  std::string got;
  for (int i = 0; i < 50 && got.find("\r\n\r\n") == std::string::npos; ++i) {
    pollfd cp{conn, POLLIN, 0};
    if (poll(&cp, 1, 100) == 1) {
      char buf[4096];
      ssize_t n = read(conn, buf, sizeof(buf));
      if (n <= 0) break;
      got.append(buf, static_cast<size_t>(n));
    }
  }
  EXPECT_NE(got.find("\r\nhost: svc-shadow:8080\r\n"), std::string::npos) << got;
  close(conn);
  close(slowFd);
}

TEST_F(ProxyTest, ConnectionsWithoutHandOffAreRefused) {
  class NoHandoff : public OriginalDstResolver {
    std::optional<OriginalDestination> resolve(const sockaddr_storage&) override {
      return std::nullopt;
    }
  };
  twoBackends();
  route().route = {to("a")};
  startProxy(std::make_unique<NoHandoff>());
  Client c(server_->port());
  c.send(get("/"));
  EXPECT_TRUE(c.read(1).empty());
  EXPECT_TRUE(c.closedByPeer());
  EXPECT_EQ(counters().refusedNoHandoff, 1u);
  EXPECT_EQ(a_.connections(), 0u);
}

TEST_F(ProxyTest, TableSwapKeepsInFlightRequestsOnTheirTable) {
  twoBackends();
  route().route = {to("a")};
  startProxy();
  Client c(server_->port());
  c.send("POST / HTTP/1.1\r\nHost: svc\r\nContent-Length: 6\r\n\r\nhal");
  snap_.virtualServices[0].spec.http[0].route = {to("b")};
  auto next = table();
  // Swap only once the proxy routed the request (its headers are in).
  for (int i = 0; i < 500 && counters().requests == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(counters().requests, 1u);
  loop_.run([&] { server_->setRouteTable(next); });
  c.send("f!!");
  auto r = c.read(1);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(field(r[0].body, "server"), "a");
  EXPECT_EQ(field(r[0].body, "body"), "half!!");
  EXPECT_EQ(field(c.one(get("/")).body, "server"), "b");
}

TEST_F(ProxyTest, CurlThroughTheProxy) {
  twoBackends();
  route().route = {to("a")};
  startProxy();
  std::string cmd = "curl -s --max-time 5 -H 'Host: svc' -d 'from-curl' http://127.0.0.1:" +
                    std::to_string(server_->port()) + "/curl 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[1024];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) {
    out.append(buf, n);
  }
  ASSERT_EQ(pclose(p), 0) << out;
  EXPECT_EQ(field(out, "server"), "a");
  EXPECT_EQ(field(out, "uri"), "/curl");
  EXPECT_EQ(field(out, "body"), "from-curl");
}

// ------------------------------------------------------------------ malformed requests

struct Malformed {
  const char* what;
  std::string request;
  int status;
};

TEST_F(ProxyTest, MalformedRequestsAreRejected) {
  twoBackends();
  route().route = {to("a")};
  startProxy();
  std::string manyHeaders;
  for (int i = 0; i < 150; ++i) {
    manyHeaders += "X-H" + std::to_string(i) + ": v\r\n";
  }
  const Malformed cases[] = {
      {"Content-Length with Transfer-Encoding",
       "POST / HTTP/1.1\r\nHost: svc\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
       "0\r\n\r\n",
       400},
      {"duplicate Content-Length",
       "POST / HTTP/1.1\r\nHost: svc\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc", 400},
      {"bad chunk size",
       "POST / HTTP/1.1\r\nHost: svc\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
       400},
      {"obs-fold", "GET / HTTP/1.1\r\nHost: svc\r\nX-A: one\r\n two\r\n\r\n", 400},
      {"bare CR in a header", "GET / HTTP/1.1\r\nHost: svc\r\nX-A: a\rb\r\n\r\n", 400},
      {"oversized header", "GET / HTTP/1.1\r\nHost: svc\r\nX-Big: " + std::string(70000, 'x') +
                               "\r\n\r\n",
       431},
      {"too many headers", "GET / HTTP/1.1\r\nHost: svc\r\n" + manyHeaders + "\r\n", 431},
      {"unknown transfer coding",
       "POST / HTTP/1.1\r\nHost: svc\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501},
      {"HTTP/1.1 without Host", "GET / HTTP/1.1\r\nX-A: 1\r\n\r\n", 400},
      {"two Host headers", "GET / HTTP/1.1\r\nHost: svc\r\nHost: other\r\n\r\n", 400},
      {"bad header name", "GET / HTTP/1.1\r\nHost: svc\r\nBad Name: 1\r\n\r\n", 400},
      {"control character in a value", "GET / HTTP/1.1\r\nHost: svc\r\nX-A: a\x01b\r\n\r\n", 400},
      {"bad request line", "GET /\r\n\r\n", 400},
  };
  for (const auto& m : cases) {
    Client c(server_->port());
    c.send(m.request);
    auto r = c.read(1);
    ASSERT_EQ(r.size(), 1u) << m.what;
    EXPECT_EQ(r[0].status, m.status) << m.what;
    EXPECT_EQ(r[0].header("connection"), "close") << m.what;
    EXPECT_TRUE(c.closedByPeer()) << m.what;
  }
  EXPECT_EQ(a_.connections(), 0u);  // nothing malformed reached the upstream
}

// ------------------------------------------------------------------ circuit breaking

// Keeps every request waiting until the test opens the gate, then answers each 200 "ok" on a kept
// alive connection. Counts connections and request heads.
class GatedServer {
 public:
  GatedServer() {
    fd_ = listenLoopback(port_);
    acceptor_ = std::thread([this] {
      for (;;) {
        int c = accept(fd_, nullptr, nullptr);
        if (c < 0) {
          return;  // shut down
        }
        std::lock_guard lock(mu_);
        conns_.push_back(c);
        threads_.emplace_back([this, c] { serve(c); });
      }
    });
  }
  ~GatedServer() {
    {
      std::lock_guard lock(mu_);
      open_ = true;
      for (int c : conns_) shutdown(c, SHUT_RDWR);
    }
    gate_.notify_all();
    shutdown(fd_, SHUT_RDWR);
    acceptor_.join();
    for (auto& t : threads_) t.join();
    for (int c : conns_) ::close(c);
    ::close(fd_);
  }
  uint16_t port() const { return port_; }
  void open() {
    {
      std::lock_guard lock(mu_);
      open_ = true;
    }
    gate_.notify_all();
  }
  size_t connections() {
    std::lock_guard lock(mu_);
    return conns_.size();
  }
  size_t requests() {
    std::lock_guard lock(mu_);
    return requests_;
  }

 private:
  void serve(int c) {
    std::string in;
    char buf[4096];
    for (;;) {
      size_t end;
      while ((end = in.find("\r\n\r\n")) == std::string::npos) {
        ssize_t n = ::read(c, buf, sizeof(buf));
        if (n <= 0) {
          return;
        }
        in.append(buf, static_cast<size_t>(n));
      }
      in.erase(0, end + 4);
      std::unique_lock lock(mu_);
      ++requests_;
      gate_.wait(lock, [this] { return open_; });
      lock.unlock();
      static constexpr std::string_view kOk = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
      if (write(c, kOk.data(), kOk.size()) < 0) {
        return;
      }
    }
  }

  int fd_;
  uint16_t port_;
  std::mutex mu_;
  std::condition_variable gate_;
  bool open_ = false;
  size_t requests_ = 0;
  std::vector<int> conns_;
  std::thread acceptor_;
  std::vector<std::thread> threads_;
};

// Polls `done` for up to 5 s.
bool eventually(const std::function<bool()>& done) {
  for (int i = 0; i < 500; ++i) {
    if (done()) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return done();
}

model::DestinationRule poolRule(const std::string& host, model::ConnectionPoolSettings pool) {
  model::DestinationRule dr;
  dr.meta.name = host;
  dr.meta.ns = "default";
  dr.spec.host = host;
  dr.spec.trafficPolicy = model::TrafficPolicy{};
  dr.spec.trafficPolicy->connectionPool = std::move(pool);
  return dr;
}

constexpr char kOverflowBody[] =
    "upstream connect error or disconnect/reset before headers. reset reason: overflow";

// Istio's circuit-breaking task in miniature: maxConnections 1, http1MaxPendingRequests 1. The
// first request holds the only connection, the second waits for it, the third overflows: 503 UO
// at once, with x-envoy-overloaded, and it is not retried even under retryOn 5xx.
TEST_F(ProxyTest, MaxConnectionsAndPendingRequestsOverflowWith503) {
  GatedServer up;
  service("svc", kVip, 80, up.port());
  model::ConnectionPoolSettings pool;
  pool.tcp.emplace().maxConnections = 1;
  pool.http.emplace().http1MaxPendingRequests = 1;
  snap_.destinationRules.push_back(poolRule("svc", pool));
  auto& r = route();
  r.retries = model::HTTPRetry{};
  r.retries->attempts = 2;
  r.retries->retryOn = "5xx,reset,connect-failure";
  r.route = {to("svc")};
  startProxy();
  Client first(server_->port());
  first.send(get("/1"));
  ASSERT_TRUE(eventually([&] { return up.requests() == 1; }));
  Client second(server_->port());
  second.send(get("/2"));
  ASSERT_TRUE(eventually([&] { return counters().upstreamCxOverflow >= 1; }));
  Client third(server_->port());
  auto overflowed = third.one(get("/3"));
  EXPECT_EQ(overflowed.status, 503);
  EXPECT_EQ(overflowed.header("x-envoy-overloaded"), "true");
  EXPECT_EQ(overflowed.body, kOverflowBody);
  up.open();
  auto a = first.read(1);
  auto b = second.read(1);
  ASSERT_EQ(a.size(), 1u);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(a[0].status, 200);
  EXPECT_EQ(b[0].status, 200);  // it got the connection the first one gave back
  EXPECT_EQ(b[0].header("x-envoy-overloaded"), "");
  EXPECT_EQ(up.connections(), 1u);
  EXPECT_EQ(up.requests(), 2u);
  auto k = counters();
  EXPECT_EQ(k.upstreamRqPendingOverflow, 1u);
  EXPECT_EQ(k.retries, 0u);
  EXPECT_EQ(third.one(get("/4")).status, 200);  // the client connection stays usable
}

// A request waiting for a connection is bounded only by its route timeout (504), and leaves the
// queue then: the next request still gets the connection once it is free.
TEST_F(ProxyTest, PendingRequestEndsWithTheRouteTimeout) {
  GatedServer up;
  service("svc", kVip, 80, up.port());
  model::ConnectionPoolSettings pool;
  pool.tcp.emplace().maxConnections = 1;
  snap_.destinationRules.push_back(poolRule("svc", pool));
  auto& timed = route();
  timed.match.emplace_back();
  timed.match[0].uri = StringMatch{K::Prefix, "/t"};
  timed.timeout = std::chrono::milliseconds(200);
  timed.route = {to("svc")};
  route().route = {to("svc")};  // same cluster, no timeout
  startProxy();
  Client first(server_->port());
  first.send(get("/1"));
  ASSERT_TRUE(eventually([&] { return up.requests() == 1; }));
  Client second(server_->port());
  auto timedOut = second.one(get("/t2"));
  EXPECT_EQ(timedOut.status, 504);
  EXPECT_EQ(counters().upstreamCxOverflow, 1u);
  up.open();
  auto a = first.read(1);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].status, 200);
  EXPECT_EQ(second.one(get("/3")).status, 200);
  EXPECT_EQ(up.connections(), 1u);
}

// http2MaxRequests (Envoy max_requests) caps requests in flight to the cluster whatever the
// upstream protocol; the request over it is refused once it would start on a connection.
TEST_F(ProxyTest, MaxRequestsOverflowWith503) {
  GatedServer up;
  service("svc", kVip, 80, up.port());
  model::ConnectionPoolSettings pool;
  pool.http.emplace().http2MaxRequests = 1;
  snap_.destinationRules.push_back(poolRule("svc", pool));
  route().route = {to("svc")};
  startProxy();
  Client first(server_->port());
  first.send(get("/1"));
  ASSERT_TRUE(eventually([&] { return up.requests() == 1; }));
  Client second(server_->port());
  auto overflowed = second.one(get("/2"));
  EXPECT_EQ(overflowed.status, 503);
  EXPECT_EQ(overflowed.header("x-envoy-overloaded"), "true");
  EXPECT_EQ(overflowed.body, kOverflowBody);
  up.open();
  auto a = first.read(1);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].status, 200);
  EXPECT_EQ(second.one(get("/3")).status, 200);  // the request count went back down
  EXPECT_EQ(up.requests(), 2u);
  EXPECT_EQ(counters().upstreamRqPendingOverflow, 1u);
}

TEST_F(ProxyTest, MaxRequestsPerConnectionClosesUpstreamConnections) {
  service("svc", kVip, 80, a_.port());
  model::ConnectionPoolSettings pool;
  pool.http.emplace().maxRequestsPerConnection = 1;
  snap_.destinationRules.push_back(poolRule("svc", pool));
  route().route = {to("svc")};
  startProxy();
  Client c(server_->port());
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(c.one(get("/")).status, 200);
  }
  EXPECT_TRUE(eventually([&] { return a_.connections() == 3; })) << a_.connections();
  auto k = counters();
  EXPECT_EQ(k.upstreamCxMaxRequests, 3u);
  EXPECT_EQ(k.upstreamConnectionsReused, 0u);
}

// maxRetries 1: while one request's retry is in flight, another request's retriable answer is
// relayed as it is (Envoy: upstream_rq_retry_overflow, no retry, no x-envoy-overloaded).
TEST_F(ProxyTest, MaxRetriesOverflowRelaysTheAnswer) {
  ScriptedServer up({503, 0, 503});  // the first retry hangs
  service("svc", kVip, 80, up.port());
  model::ConnectionPoolSettings pool;
  pool.http.emplace().maxRetries = 1;
  snap_.destinationRules.push_back(poolRule("svc", pool));
  auto& r = route();
  r.retries = model::HTTPRetry{};
  r.retries->attempts = 2;
  r.retries->retryOn = "5xx";
  r.retries->backoff = std::chrono::milliseconds(1);
  r.route = {to("svc")};
  startProxy();
  Client first(server_->port());
  first.send(get("/1"));
  ASSERT_TRUE(eventually([&] { return up.requests().size() == 2; }));
  Client second(server_->port());
  auto relayed = second.one(get("/2"));
  EXPECT_EQ(relayed.status, 503);
  EXPECT_EQ(relayed.body, "attempt 3");
  EXPECT_EQ(relayed.header("x-envoy-overloaded"), "");
  auto k = counters();
  EXPECT_EQ(k.retries, 1u);
  EXPECT_EQ(k.upstreamRqRetryOverflow, 1u);
}

}  // namespace
}  // namespace sluice::proxy::test
