// Istio HTTP route semantics of the proxy's route table and router, table-driven where the cases are
// uniform. Each expectation comes from ../shared/reference/istio-semantics.md §1–§3.
#include "route_table_builder.h"
#include "router.h"

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <set>

namespace sluice::proxy {
namespace {

using model::StringMatch;
using K = StringMatch::Kind;

StringMatch sm(K kind, std::string v = "") { return StringMatch{kind, std::move(v)}; }

// A small cluster: services in "default" with endpoints and labelled pods.
class Fixture {
 public:
  model::MeshSettings mesh;
  model::Snapshot snap;

  // Service `name` at `vip` with one port per (portName, port, targetPort).
  void service(const std::string& name, const std::string& vip,
               std::vector<std::tuple<std::string, int, int>> ports = {{"http", 80, 8080}}) {
    model::Service s;
    s.meta.name = name;
    s.meta.ns = "default";
    s.spec.clusterIP = vip;
    model::EndpointSlice slice;
    slice.meta.name = name + "-abc";
    slice.meta.ns = "default";
    slice.meta.labels["kubernetes.io/service-name"] = name;
    for (auto& [pn, port, target] : ports) {
      model::ServicePort sp;
      sp.name = pn;
      sp.port = port;
      sp.targetPort.number = target;
      s.spec.ports.push_back(sp);
      model::EndpointPort ep;
      ep.name = pn;
      ep.port = target;
      slice.ports.push_back(ep);
    }
    snap.services.push_back(s);
    snap.endpointSlices.push_back(slice);
  }

  void pod(const std::string& service, const std::string& name, const std::string& ip,
           model::Labels labels, const std::string& ns = "default") {
    model::Pod p;
    p.meta.name = name;
    p.meta.ns = ns;
    p.meta.labels = std::move(labels);
    p.status.podIP = ip;
    snap.pods.push_back(p);
    if (service.empty()) {
      return;  // a client only
    }
    for (auto& slice : snap.endpointSlices) {
      if (slice.serviceName() == service) {
        model::Endpoint e;
        e.addresses = {ip};
        e.targetRef = model::ObjectReference{"Pod", name, ns, ""};
        slice.endpoints.push_back(e);
      }
    }
  }

  model::HTTPRoute& route(const std::string& host, std::string name = "") {
    auto it = std::find_if(snap.virtualServices.begin(), snap.virtualServices.end(),
                           [&](const auto& v) { return v.meta.name == "vs-" + host; });
    if (it == snap.virtualServices.end()) {
      model::VirtualService vs;
      vs.meta.name = "vs-" + host;
      vs.meta.ns = "default";
      vs.spec.hosts = {host};
      snap.virtualServices.push_back(vs);
      it = snap.virtualServices.end() - 1;
    }
    it->spec.http.emplace_back();
    it->spec.http.back().name = std::move(name);
    return it->spec.http.back();
  }

  model::DestinationRule& destinationRule(const std::string& host) {
    model::DestinationRule dr;
    dr.meta.name = "dr-" + host;
    dr.meta.ns = "default";
    dr.spec.host = host;
    snap.destinationRules.push_back(dr);
    return snap.destinationRules.back();
  }

  void build() { table = std::make_shared<RouteTable>(buildRouteTable(snap, mesh)); }

  Decision send(const std::string& path, HeaderList headers = {}, std::string vip = "10.96.0.1",
                uint16_t port = 80, std::string method = "GET", std::string client = "10.0.0.99",
                std::string authority = "svc") {
    auto ip = net::IpAddress::parse(vip);
    const Listener* l = table->findListener(*ip, port);
    EXPECT_NE(l, nullptr) << vip << ":" << port;
    if (!l) {
      return {};
    }
    headers_ = std::move(headers);
    path_ = path;
    method_ = method;
    authority_ = authority;
    RequestView req;
    req.method = method_;
    req.scheme = "http";
    req.authority = authority_;
    req.path = path_;
    req.headers = &headers_;
    req.client = *net::IpAddress::parse(client);
    req.clientPort = 40000;
    req.clientClass = table->classOf(req.client);
    req.port = port;
    Decision d = router.route(*table, *l, req);
    Router::release(d);
    return d;
  }

  std::shared_ptr<RouteTable> table;
  Router router{42};

 private:
  HeaderList headers_;
  std::string path_, method_, authority_;
};

model::HTTPRouteDestination dest(const std::string& host, int weight = 0, std::string subset = "") {
  model::HTTPRouteDestination d;
  d.destination.host = host;
  d.destination.subset = std::move(subset);
  d.weight = weight;
  return d;
}

// ------------------------------------------------------------------ StringMatch

struct StringCase {
  CompiledStringMatch::Kind kind;
  std::string pattern;
  bool ignoreCase;
  std::string input;
  bool expected;
};

TEST(CompiledStringMatch, Table) {
  using CK = CompiledStringMatch::Kind;
  const StringCase cases[] = {
      {CK::Exact, "/a", false, "/a", true},
      {CK::Exact, "/a", false, "/A", false},
      {CK::Exact, "/a", true, "/A", true},
      {CK::Exact, "/a", false, "/ab", false},
      {CK::Prefix, "/foo", false, "/foobar", true},  // plain string prefix, not path segments
      {CK::Prefix, "/foo", false, "/fo", false},
      {CK::Prefix, "/FOO", true, "/foo/x", true},
      {CK::Prefix, "", false, "/anything", true},
      {CK::Regex, "/a.*", false, "/abc", true},
      {CK::Regex, "a", false, "/a", false},  // whole string, not a search
      {CK::Regex, "(?i)/ab", false, "/AB", true},
      {CK::Regex, "/v[0-9]+", true, "/V1", false},  // ignoreCase does not touch regexes
      {CK::Any, "", false, "", true},
  };
  for (const auto& c : cases) {
    auto m = CompiledStringMatch::create(c.kind, c.pattern, c.ignoreCase);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->matches(c.input), c.expected)
        << static_cast<int>(c.kind) << " " << c.pattern << " vs " << c.input;
  }
  EXPECT_FALSE(CompiledStringMatch::create(CK::Regex, "(unclosed"));
}

// ------------------------------------------------------------------ match blocks

struct BlockCase {
  const char* what;
  model::HTTPMatchRequest match;
  std::string path;
  HeaderList headers;
  std::string method;
  bool expected;
};

template <typename F>
model::HTTPMatchRequest m(F f) {
  model::HTTPMatchRequest r;
  f(r);
  return r;
}

TEST(MatchBlock, Table) {
  const BlockCase cases[] = {
      {"uri exact ignores the query", m([](auto& r) { r.uri = sm(K::Exact, "/a"); }), "/a?x=1", {}, "GET", true},
      {"uri prefix sees the query", m([](auto& r) { r.uri = sm(K::Prefix, "/a?x"); }), "/a?x=1", {}, "GET", true},
      {"uri regex on the path only", m([](auto& r) { r.uri = sm(K::Regex, "/a/[0-9]+"); }), "/a/12?q", {}, "GET", true},
      {"ignoreUriCase prefix", m([](auto& r) { r.uri = sm(K::Prefix, "/API"); r.ignoreUriCase = true; }), "/api/x", {}, "GET", true},
      {"case-sensitive by default", m([](auto& r) { r.uri = sm(K::Prefix, "/API"); }), "/api/x", {}, "GET", false},
      {"method exact", m([](auto& r) { r.method = sm(K::Exact, "POST"); }), "/", {}, "GET", false},
      {"method regex", m([](auto& r) { r.method = sm(K::Regex, "GET|HEAD"); }), "/", {}, "GET", true},
      {"header exact", m([](auto& r) { r.headers["end-user"] = sm(K::Exact, "jason"); }), "/", {{"end-user", "jason"}}, "GET", true},
      {"header name lower-cased", m([](auto& r) { r.headers["End-User"] = sm(K::Exact, "jason"); }), "/", {{"end-user", "jason"}}, "GET", true},
      {"header value case-sensitive", m([](auto& r) { r.headers["end-user"] = sm(K::Exact, "jason"); }), "/", {{"end-user", "Jason"}}, "GET", false},
      {"header missing", m([](auto& r) { r.headers["end-user"] = sm(K::Exact, "jason"); }), "/", {}, "GET", false},
      {"header presence", m([](auto& r) { r.headers["x-canary"] = sm(K::Any); }), "/", {{"x-canary", ""}}, "GET", true},
      {"header presence missing", m([](auto& r) { r.headers["x-canary"] = sm(K::Any); }), "/", {}, "GET", false},
      {"header regex * is presence", m([](auto& r) { r.headers["x-canary"] = sm(K::Regex, "*"); }), "/", {{"x-canary", "1"}}, "GET", true},
      {"header values joined", m([](auto& r) { r.headers["x-a"] = sm(K::Exact, "1,2"); }), "/", {{"x-a", "1"}, {"x-a", "2"}}, "GET", true},
      {"header key uri ignored", m([](auto& r) { r.headers["uri"] = sm(K::Exact, "/nope"); }), "/", {}, "GET", true},
      {"withoutHeaders absent satisfies value match", m([](auto& r) { r.withoutHeaders["x-env"] = sm(K::Exact, "prod"); }), "/", {}, "GET", true},
      {"withoutHeaders other value", m([](auto& r) { r.withoutHeaders["x-env"] = sm(K::Exact, "prod"); }), "/", {{"x-env", "dev"}}, "GET", true},
      {"withoutHeaders matching value", m([](auto& r) { r.withoutHeaders["x-env"] = sm(K::Exact, "prod"); }), "/", {{"x-env", "prod"}}, "GET", false},
      {"withoutHeaders presence needs absence", m([](auto& r) { r.withoutHeaders["x-env"] = sm(K::Any); }), "/", {{"x-env", "x"}}, "GET", false},
      {"withoutHeaders presence absent", m([](auto& r) { r.withoutHeaders["x-env"] = sm(K::Any); }), "/", {}, "GET", true},
      {"withoutHeaders exact empty, missing is empty", m([](auto& r) { r.withoutHeaders["x-env"] = sm(K::Exact, ""); }), "/", {}, "GET", false},
      {"query exact empty: ?key", m([](auto& r) { r.queryParams["debug"] = sm(K::Exact, ""); }), "/p?debug", {}, "GET", true},
      {"query exact empty: ?key=", m([](auto& r) { r.queryParams["debug"] = sm(K::Exact, ""); }), "/p?a=1&debug=", {}, "GET", true},
      {"query exact empty: ?key=v", m([](auto& r) { r.queryParams["debug"] = sm(K::Exact, ""); }), "/p?debug=1", {}, "GET", false},
      {"query regex whole value", m([](auto& r) { r.queryParams["v"] = sm(K::Regex, "[0-9]"); }), "/p?v=12", {}, "GET", false},
      {"query regex match", m([](auto& r) { r.queryParams["v"] = sm(K::Regex, "[0-9]+"); }), "/p?v=12", {}, "GET", true},
      {"query first occurrence", m([](auto& r) { r.queryParams["v"] = sm(K::Exact, "1"); }), "/p?v=1&v=2", {}, "GET", true},
      {"query missing", m([](auto& r) { r.queryParams["v"] = sm(K::Any); }), "/p?w=1", {}, "GET", false},
      {"query presence", m([](auto& r) { r.queryParams["v"] = sm(K::Regex, "*"); }), "/p?v", {}, "GET", true},
      {"fields ANDed: one fails", m([](auto& r) { r.uri = sm(K::Prefix, "/a"); r.method = sm(K::Exact, "POST"); }), "/a", {}, "GET", false},
      {"fields ANDed: all hold", m([](auto& r) { r.uri = sm(K::Prefix, "/a"); r.method = sm(K::Exact, "POST"); }), "/a", {}, "POST", true},
  };
  for (const auto& c : cases) {
    Fixture f;
    f.service("svc", "10.96.0.1");
    f.pod("svc", "svc-1", "10.0.1.1", {});
    auto& r = f.route("svc");
    r.match = {c.match};
    r.route = {dest("svc")};
    f.build();
    auto d = f.send(c.path, c.headers, "10.96.0.1", 80, c.method);
    EXPECT_EQ(d.kind == Decision::Kind::Forward, c.expected) << c.what;
  }
}

TEST(Router, SchemeAndAuthority) {
  Fixture f;
  f.service("svc", "10.96.0.1");
  f.pod("svc", "svc-1", "10.0.1.1", {});
  auto& r = f.route("svc");
  r.match = {m([](auto& x) {
    x.scheme = sm(K::Exact, "http");
    x.authority = sm(K::Prefix, "svc");
  })};
  r.route = {dest("svc")};
  f.build();
  EXPECT_EQ(f.send("/", {}, "10.96.0.1", 80, "GET", "10.0.0.99", "svc.default").kind,
            Decision::Kind::Forward);
  EXPECT_EQ(f.send("/", {}, "10.96.0.1", 80, "GET", "10.0.0.99", "other").kind,
            Decision::Kind::NoRoute);
}

// ------------------------------------------------------------------ route order, actions

TEST(Router, FirstMatchWinsBlocksOredAnd404) {
  Fixture f;
  f.service("svc", "10.96.0.1");
  f.service("v1", "10.96.0.2");
  f.service("v2", "10.96.0.3");
  f.pod("v1", "v1-a", "10.0.1.1", {});
  f.pod("v2", "v2-a", "10.0.2.1", {});
  auto& a = f.route("svc", "a");
  a.match = {m([](auto& x) { x.uri = sm(K::Prefix, "/a"); }),
             m([](auto& x) { x.headers["x-a"] = sm(K::Any); })};
  a.route = {dest("v1")};
  auto& b = f.route("svc", "b");
  b.match = {m([](auto& x) { x.uri = sm(K::Prefix, "/"); })};
  b.route = {dest("v2")};
  f.build();
  EXPECT_EQ(f.send("/a/x").route->name, "a");
  EXPECT_EQ(f.send("/b", {{"x-a", "1"}}).route->name, "a");  // second block of the OR
  EXPECT_EQ(f.send("/b").route->name, "b");
  EXPECT_EQ(f.send("/b").upstream().key(), "10.0.2.1:8080");

  Fixture g;
  g.service("svc", "10.96.0.1");
  g.pod("svc", "s", "10.0.1.1", {});
  auto& only = g.route("svc");
  only.match = {m([](auto& x) { x.uri = sm(K::Exact, "/only"); })};
  only.route = {dest("svc")};
  g.build();
  auto nr = g.send("/other");
  EXPECT_EQ(nr.kind, Decision::Kind::NoRoute);  // a VS without a matching route: 404, no fallback
  EXPECT_EQ(nr.status, 404);
}

TEST(Router, DefaultRouteWithoutVirtualService) {
  Fixture f;
  f.service("svc", "10.96.0.1", {{"http", 80, 8080}, {"grpc", 9090, 9091}});
  f.pod("svc", "s", "10.0.1.1", {});
  f.build();
  auto d = f.send("/anything");
  ASSERT_EQ(d.kind, Decision::Kind::Forward);
  EXPECT_EQ(d.cluster->name, "outbound|80||svc.default.svc.cluster.local");
  EXPECT_EQ(f.send("/", {}, "10.96.0.1", 9090).upstream().key(), "10.0.1.1:9091");
  EXPECT_EQ(f.table->findListener(*net::IpAddress::parse("10.96.0.1"), 81), nullptr);
}

TEST(Router, MissingSubsetHostOrEndpointsAnswer503) {
  Fixture f;
  f.service("svc", "10.96.0.1");
  f.service("empty", "10.96.0.9");
  f.pod("svc", "s", "10.0.1.1", {{"version", "v1"}});
  f.destinationRule("svc").spec.subsets = {{"v1", {{"version", "v1"}}, {}},
                                           {"v3", {{"version", "v3"}}, {}}};
  f.route("svc").match = {m([](auto& x) { x.uri = sm(K::Prefix, "/missing"); })};
  f.snap.virtualServices[0].spec.http[0].route = {dest("svc", 0, "v2")};
  auto& unknown = f.route("svc");
  unknown.match = {m([](auto& x) { x.uri = sm(K::Prefix, "/unknown"); })};
  unknown.route = {dest("nosuch")};
  auto& noEndpoints = f.route("svc");
  noEndpoints.match = {m([](auto& x) { x.uri = sm(K::Prefix, "/v3"); })};
  noEndpoints.route = {dest("svc", 0, "v3")};
  f.route("svc").route = {dest("svc", 0, "v1")};
  f.build();
  EXPECT_EQ(f.send("/missing").kind, Decision::Kind::NoCluster);
  EXPECT_EQ(f.send("/missing").status, 503);
  EXPECT_EQ(f.send("/unknown").kind, Decision::Kind::NoCluster);
  EXPECT_EQ(f.send("/v3").kind, Decision::Kind::NoHealthyUpstream);
  EXPECT_EQ(f.send("/v3").status, 503);
  EXPECT_EQ(f.send("/x").cluster->name, "outbound|80|v1|svc.default.svc.cluster.local");
  EXPECT_FALSE(f.table->warnings.empty());
}

TEST(Router, DirectResponse) {
  Fixture f;
  f.service("svc", "10.96.0.1");
  auto& r = f.route("svc");
  r.directResponse = model::HTTPDirectResponse{418, model::HTTPBody{"teapot", std::nullopt}};
  f.build();
  auto d = f.send("/");
  EXPECT_EQ(d.kind, Decision::Kind::DirectResponse);
  EXPECT_EQ(d.status, 418);
  EXPECT_EQ(d.body, "teapot");
}

TEST(Router, FaultInjectionDrawsPerRequest) {
  auto build = [](std::optional<double> abortPct, std::optional<double> delayPct) {
    auto f = std::make_unique<Fixture>();
    f->service("svc", "10.96.0.1");
    f->pod("svc", "s", "10.0.1.1", {});
    auto& r = f->route("svc");
    model::HTTPFaultInjection fault;
    fault.abort = model::FaultAbort{};
    fault.abort->httpStatus = 418;
    fault.abort->percentage = abortPct;
    fault.delay = model::FaultDelay{};
    fault.delay->fixedDelay = std::chrono::milliseconds(1500);
    fault.delay->percentage = delayPct;
    r.fault = fault;
    r.route = {dest("svc")};
    f->build();
    return f;
  };
  auto always = build(100, 100);
  auto d = always->send("/");
  EXPECT_EQ(d.kind, Decision::Kind::FaultAbort);
  EXPECT_EQ(d.status, 418);
  EXPECT_EQ(d.faultDelay, std::chrono::milliseconds(1500));  // both may happen
  auto unset = build(std::nullopt, std::nullopt);  // no percentage means 0%
  for (int i = 0; i < 100; ++i) {
    auto u = unset->send("/");
    EXPECT_EQ(u.kind, Decision::Kind::Forward);
    EXPECT_EQ(u.faultDelay.count(), 0);
  }
  auto half = build(50, 0);
  int aborted = 0;
  for (int i = 0; i < 4000; ++i) {
    aborted += half->send("/").kind == Decision::Kind::FaultAbort;
  }
  EXPECT_NEAR(aborted / 4000.0, 0.5, 0.04);
}

// ------------------------------------------------------------------ CORS

std::optional<std::string> hv(const HeaderList& h, std::string_view name) {
  return headerValue(h, name);
}

TEST(Cors, PreflightAnsweredForMatchingOriginOnly) {
  auto build = [](model::UnmatchedPreflights unmatched) {
    auto f = std::make_unique<Fixture>();
    f->service("svc", "10.96.0.1");
    f->pod("svc", "s", "10.0.1.1", {});
    auto& r = f->route("svc");
    model::CorsPolicy c;
    c.allowOrigin = {"https://old.example"};
    c.allowOrigins = {sm(K::Exact, "https://a.example"), sm(K::Prefix, "https://pre."),
                      sm(K::Regex, "https://[a-z]+\\.re\\.example")};
    c.allowMethods = {"GET", "POST"};
    c.allowHeaders = {"x-a", "x-b"};
    c.exposeHeaders = {"x-e"};
    c.maxAge = std::chrono::seconds(86400);
    c.allowCredentials = true;
    c.unmatchedPreflights = unmatched;
    r.corsPolicy = c;
    model::Headers hd;
    hd.response = model::HeaderOperations{};
    hd.response->set["x-route"] = "1";
    r.headers = hd;
    r.route = {dest("svc")};
    f->build();
    return f;
  };
  auto f = build(model::UnmatchedPreflights::Unspecified);
  for (std::string origin : {"https://a.example", "https://pre.x", "https://abc.re.example",
                             "https://old.example"}) {
    auto d = f->send("/", {{"origin", origin}, {"access-control-request-method", "POST"}},
                     "10.96.0.1", 80, "OPTIONS");
    ASSERT_EQ(d.kind, Decision::Kind::DirectResponse) << origin;
    EXPECT_EQ(d.status, 200);
    HeaderList out;
    Router::applyResponseHeaders(d, out);
    EXPECT_EQ(hv(out, "access-control-allow-origin"), origin);
    EXPECT_EQ(hv(out, "access-control-allow-methods"), "GET,POST");
    EXPECT_EQ(hv(out, "access-control-allow-headers"), "x-a,x-b");
    EXPECT_EQ(hv(out, "access-control-max-age"), "86400");
    EXPECT_EQ(hv(out, "access-control-allow-credentials"), "true");
    EXPECT_EQ(hv(out, "x-route"), std::nullopt);
  }
  // Not a preflight: OPTIONS without Access-Control-Request-Method is forwarded.
  EXPECT_EQ(f->send("/", {{"origin", "https://a.example"}}, "10.96.0.1", 80, "OPTIONS").kind,
            Decision::Kind::Forward);
  // Regex must match the whole origin; unmatched preflights are forwarded by default.
  for (std::string origin : {"https://abc.re.example.evil", "https://b.example", "https://A.example"}) {
    auto d = f->send("/", {{"origin", origin}, {"access-control-request-method", "GET"}},
                     "10.96.0.1", 80, "OPTIONS");
    EXPECT_EQ(d.kind, Decision::Kind::Forward) << origin;
    EXPECT_TRUE(d.corsOrigin.empty());
  }
  EXPECT_EQ(build(model::UnmatchedPreflights::Forward)
                ->send("/", {{"origin", "https://b.example"}, {"access-control-request-method", "GET"}},
                       "10.96.0.1", 80, "OPTIONS")
                .kind,
            Decision::Kind::Forward);
  auto ignore = build(model::UnmatchedPreflights::Ignore);
  auto d = ignore->send("/", {{"origin", "https://b.example"}, {"access-control-request-method", "GET"}},
                        "10.96.0.1", 80, "OPTIONS");
  ASSERT_EQ(d.kind, Decision::Kind::DirectResponse);
  EXPECT_EQ(d.status, 200);
  HeaderList out;
  Router::applyResponseHeaders(d, out);
  EXPECT_TRUE(out.empty());
}

TEST(Cors, ActualRequestGetsAllowOriginWhenOriginMatches) {
  Fixture f;
  f.service("svc", "10.96.0.1");
  f.pod("svc", "s", "10.0.1.1", {});
  auto& r = f.route("svc");
  model::CorsPolicy c;
  c.allowOrigins = {sm(K::Exact, "https://a.example")};
  c.exposeHeaders = {"x-e1", "x-e2"};
  r.corsPolicy = c;
  r.route = {dest("svc")};
  f.build();
  auto d = f.send("/", {{"origin", "https://a.example"}});
  ASSERT_EQ(d.kind, Decision::Kind::Forward);
  HeaderList out{{"access-control-allow-origin", "*"}};
  Router::applyResponseHeaders(d, out);
  EXPECT_EQ(hv(out, "access-control-allow-origin"), "https://a.example");
  EXPECT_EQ(hv(out, "access-control-expose-headers"), "x-e1,x-e2");
  EXPECT_EQ(hv(out, "access-control-allow-credentials"), std::nullopt);  // unset
  auto other = f.send("/", {{"origin", "https://b.example"}});
  HeaderList out2;
  Router::applyResponseHeaders(other, out2);
  EXPECT_TRUE(out2.empty());
  auto none = f.send("/");
  HeaderList out3;
  Router::applyResponseHeaders(none, out3);
  EXPECT_TRUE(out3.empty());
}

TEST(Router, MirrorPercentagesDrawPerRequest) {
  auto build = [](std::function<void(model::HTTPRoute&)> set) {
    auto f = std::make_unique<Fixture>();
    f->service("svc", "10.96.0.1");
    f->service("m", "10.96.0.9");
    f->pod("svc", "s", "10.0.1.1", {});
    f->pod("m", "mm", "10.0.1.9", {});
    auto& r = f->route("svc");
    r.route = {dest("svc")};
    set(r);
    f->build();
    return f;
  };
  model::Destination m{"m", "", std::nullopt};
  auto all = build([&](auto& r) { r.mirror = m; });  // absent percentage: 100%
  auto d = all->send("/");
  ASSERT_EQ(d.mirrors.size(), 1u);
  EXPECT_EQ(d.mirrors[0]->ip.toString(), "10.0.1.9");
  EXPECT_TRUE(build([&](auto& r) { r.mirror = m; r.mirrorPercentage = 0; })->send("/").mirrors.empty());
  auto legacy = build([&](auto& r) { r.mirror = m; r.mirrorPercent = 0u; });
  EXPECT_TRUE(legacy->send("/").mirrors.empty());
  auto half = build([&](auto& r) {
    r.mirrors = {model::HTTPMirrorPolicy{m, 50.0}, model::HTTPMirrorPolicy{m, std::nullopt}};
  });
  int first = 0;
  for (int i = 0; i < 4000; ++i) {
    first += static_cast<int>(half->send("/").mirrors.size()) - 1;
  }
  EXPECT_NEAR(first / 4000.0, 0.5, 0.04);
}

// ------------------------------------------------------------------ rewrite

struct RewriteCase {
  const char* what;
  std::optional<StringMatch> uri;
  std::string rewrite;
  std::string path;
  std::string expected;
};

TEST(Router, RewriteUsesIstioPrefixSemantics) {
  const RewriteCase cases[] = {
      {"prefix replaced", sm(K::Prefix, "/api/v1"), "/v2", "/api/v1/users?x=1", "/v2/users?x=1"},
      {"prefix to root", sm(K::Prefix, "/api"), "/", "/api/users", "//users"},
      {"exact replaces the whole path", sm(K::Exact, "/old"), "/new", "/old?q=1", "/new?q=1"},
      {"no uri match: implicit prefix /", std::nullopt, "/v2", "/foo", "/v2foo"},
      {"regex replaces the whole path", sm(K::Regex, "/r/.*"), "/fixed", "/r/abc", "/fixed"},
  };
  for (const auto& c : cases) {
    Fixture f;
    f.service("svc", "10.96.0.1");
    f.pod("svc", "s", "10.0.1.1", {});
    auto& r = f.route("svc");
    if (c.uri) {
      r.match = {m([&](auto& x) { x.uri = c.uri; })};
    }
    r.rewrite = model::HTTPRewrite{c.rewrite, "", std::nullopt};
    r.route = {dest("svc")};
    f.build();
    EXPECT_EQ(f.send(c.path).path, c.expected) << c.what;
  }
}

TEST(Router, UriRegexRewriteAndAuthority) {
  Fixture f;
  f.service("svc", "10.96.0.1");
  f.pod("svc", "s", "10.0.1.1", {});
  auto& r = f.route("svc");
  r.rewrite = model::HTTPRewrite{"", "new.example", model::RegexRewrite{"^/service/([^/]+)(/.*)$",
                                                                        "\\2/instance/\\1"}};
  r.route = {dest("svc")};
  f.build();
  auto d = f.send("/service/foo/v1/api?x=1");
  EXPECT_EQ(d.path, "/v1/api/instance/foo?x=1");
  EXPECT_EQ(d.authority, "new.example");
}

// ------------------------------------------------------------------ redirect

struct RedirectCase {
  const char* what;
  model::HTTPRedirect redirect;
  std::optional<StringMatch> uri;
  std::string authority;
  uint16_t listenerPort;
  std::string path;
  std::string location;
  uint16_t code;
};

TEST(Router, RedirectUrlBuilding) {
  using P = model::RedirectPortSelection;
  auto rd = [](auto f) {
    model::HTTPRedirect r;
    f(r);
    return r;
  };
  const RedirectCase cases[] = {
      {"uri replaces the whole path, keeps query", rd([](auto& r) { r.uri = "/new"; }), sm(K::Prefix, "/old"), "svc", 80, "/old/x?q=1", "http://svc/new?q=1", 301},
      {"uri with its own query", rd([](auto& r) { r.uri = "/new?a=b"; }), std::nullopt, "svc", 80, "/x?q=1", "http://svc/new?a=b", 301},
      {"authority and code", rd([](auto& r) { r.authority = "other.example"; r.redirectCode = 308; }), std::nullopt, "svc:8080", 80, "/p", "http://other.example/p", 308},
      {"scheme change drops :80", rd([](auto& r) { r.scheme = "https"; }), std::nullopt, "svc:80", 80, "/p", "https://svc/p", 301},
      {"scheme change keeps other port", rd([](auto& r) { r.scheme = "https"; }), std::nullopt, "svc:8080", 80, "/p", "https://svc:8080/p", 301},
      {"explicit port", rd([](auto& r) { r.port = 8443; r.scheme = "https"; }), std::nullopt, "svc:80", 80, "/p", "https://svc:8443/p", 301},
      {"explicit default port omitted", rd([](auto& r) { r.port = 443; r.scheme = "https"; }), std::nullopt, "svc:9000", 80, "/p", "https://svc/p", 301},
      {"derivePort FROM_REQUEST_PORT", rd([](auto& r) { r.derivePort = P::FromRequestPort; }), std::nullopt, "svc:1234", 9080, "/p", "http://svc:9080/p", 301},
      {"derivePort FROM_PROTOCOL_DEFAULT", rd([](auto& r) { r.derivePort = P::FromProtocolDefault; }), std::nullopt, "svc:1234", 80, "/p", "http://svc/p", 301},
      {"prefixRewrite", rd([](auto& r) { r.prefixRewrite = "/v2"; r.redirectCode = 302; }), sm(K::Prefix, "/v1"), "svc", 80, "/v1/users", "http://svc/v2/users", 302},
      {"ipv6 host keeps port", rd([](auto& r) { r.uri = "/n"; }), std::nullopt, "[fd00::1]:8080", 80, "/p", "http://[fd00::1]:8080/n", 301},
  };
  for (const auto& c : cases) {
    Fixture f;
    f.service("svc", "10.96.0.1", {{"http", c.listenerPort, 8080}});
    auto& r = f.route("svc");
    if (c.uri) {
      r.match = {m([&](auto& x) { x.uri = c.uri; })};
    }
    r.redirect = c.redirect;
    f.build();
    auto d = f.send(c.path, {}, "10.96.0.1", c.listenerPort, "GET", "10.0.0.99", c.authority);
    ASSERT_EQ(d.kind, Decision::Kind::Redirect) << c.what;
    EXPECT_EQ(d.location, c.location) << c.what;
    EXPECT_EQ(d.status, c.code) << c.what;
  }
}

TEST(Router, UnsupportedRedirectCodeDropsTheRoute) {
  Fixture f;
  f.service("svc", "10.96.0.1");
  auto& r = f.route("svc");
  r.redirect = model::HTTPRedirect{};
  r.redirect->uri = "/x";
  r.redirect->redirectCode = 305;
  f.build();
  EXPECT_EQ(f.send("/").kind, Decision::Kind::NoRoute);
  EXPECT_FALSE(f.table->warnings.empty());
}

// ------------------------------------------------------------------ headers

TEST(Router, HeaderOperationOrderAndAuthorityPrecedence) {
  Fixture f;
  f.service("svc", "10.96.0.1");
  f.pod("svc", "s", "10.0.1.1", {});
  auto& r = f.route("svc");
  model::Headers route;
  route.request = model::HeaderOperations{{{"x-set", "route"}, {"Host", "route.example"}},
                                          {{"x-add", "route"}},
                                          {"x-remove", "host", ":path"}};
  route.response = model::HeaderOperations{{{"x-resp", "route"}}, {}, {"server"}};
  r.headers = route;
  auto d0 = dest("svc");
  model::Headers dh;
  dh.request = model::HeaderOperations{{{"x-add", "dest-set"}}, {{"x-set", "dest-add"}}, {}};
  dh.response = model::HeaderOperations{{}, {{"x-resp", "dest"}}, {}};
  d0.headers = dh;
  r.route = {d0};
  f.build();
  auto d = f.send("/");
  EXPECT_EQ(d.authority, "route.example");  // headers set[host] becomes the authority
  HeaderList req{{"x-remove", "1"}, {"x-set", "client"}, {"x-add", "client"}};
  Router::applyRequestHeaders(d, req);
  // A single destination's ops run after the route's: its set overrides the route's add, its add
  // appends to the route's set.
  EXPECT_EQ(headerValue(req, "x-remove"), std::nullopt);
  EXPECT_EQ(headerValue(req, "x-set"), "route,dest-add");
  EXPECT_EQ(headerValue(req, "x-add"), "dest-set");
  HeaderList resp{{"server", "upstream"}};
  Router::applyResponseHeaders(d, resp);
  EXPECT_EQ(headerValue(resp, "server"), std::nullopt);
  EXPECT_EQ(headerValue(resp, "x-resp"), "route,dest");

  Fixture g;
  g.service("svc", "10.96.0.1");
  g.pod("svc", "s", "10.0.1.1", {});
  auto& r2 = g.route("svc");
  r2.rewrite = model::HTTPRewrite{"", "rewrite.example", std::nullopt};
  model::Headers h2;
  h2.request = model::HeaderOperations{{{":authority", "set.example"}}, {}, {}};
  r2.headers = h2;
  r2.route = {dest("svc")};
  g.build();
  EXPECT_EQ(g.send("/").authority, "rewrite.example");
}

TEST(Router, WeightedDestinationOpsApplyBeforeRouteOps) {
  Fixture f;
  f.service("svc", "10.96.0.1");
  f.pod("svc", "s", "10.0.1.1", {});
  auto& r = f.route("svc");
  model::Headers route;
  route.request = model::HeaderOperations{{{"x-v", "route"}}, {}, {}};
  r.headers = route;
  auto a = dest("svc", 50);
  model::Headers ah;
  ah.request = model::HeaderOperations{{{"x-v", "dest"}, {"host", "a.example"}}, {}, {}};
  a.headers = ah;
  r.route = {a, dest("svc", 50)};
  f.build();
  bool sawA = false;
  for (int i = 0; i < 50; ++i) {
    auto d = f.send("/");
    HeaderList req;
    Router::applyRequestHeaders(d, req);
    EXPECT_EQ(headerValue(req, "x-v"), "route");  // the route-level set runs last
    if (d.target == &d.route->clusters[0]) {
      sawA = true;
      EXPECT_EQ(d.authority, "a.example");
    } else {
      EXPECT_EQ(d.authority, "");
    }
  }
  EXPECT_TRUE(sawA);
}

// ------------------------------------------------------------------ weights and LB

TEST(Router, WeightsSplitPerRequest) {
  Fixture f;
  f.service("svc", "10.96.0.1");
  f.service("v1", "10.96.0.2");
  f.service("v2", "10.96.0.3");
  f.service("v0", "10.96.0.4");
  f.pod("v1", "a", "10.0.1.1", {});
  f.pod("v2", "b", "10.0.2.1", {});
  f.pod("v0", "c", "10.0.3.1", {});
  f.route("svc").route = {dest("v1", 9), dest("v2", 1), dest("v0", 0)};
  f.build();
  std::map<std::string, int> hits;
  const int n = 20000;
  for (int i = 0; i < n; ++i) {
    ++hits[f.send("/").upstream().key()];
  }
  EXPECT_EQ(hits.count("10.0.3.1:8080"), 0u);  // weight 0 next to others gets nothing
  EXPECT_NEAR(hits["10.0.1.1:8080"] / double(n), 0.9, 0.02);
  EXPECT_NEAR(hits["10.0.2.1:8080"] / double(n), 0.1, 0.02);

  Fixture single;
  single.service("svc", "10.96.0.1");
  single.pod("svc", "a", "10.0.1.1", {});
  single.route("svc").route = {dest("svc", 0)};  // a lone destination takes 100% whatever its weight
  single.build();
  EXPECT_EQ(single.send("/").kind, Decision::Kind::Forward);
}

Fixture lbFixture(std::function<void(model::LoadBalancerSettings&)> set) {
  Fixture f;
  f.service("svc", "10.96.0.1");
  for (int i = 1; i <= 5; ++i) {
    f.pod("svc", "p" + std::to_string(i), "10.0.1." + std::to_string(i), {});
  }
  model::LoadBalancerSettings lb;
  set(lb);
  model::TrafficPolicy tp;
  tp.loadBalancer = lb;
  f.destinationRule("svc").spec.trafficPolicy = tp;
  return f;
}

TEST(LoadBalancer, RoundRobinCyclesEveryEndpoint) {
  auto f = lbFixture([](auto& lb) { lb.simple = model::SimpleLB::RoundRobin; });
  f.build();
  std::vector<std::string> seen;
  for (int i = 0; i < 10; ++i) {
    seen.push_back(f.send("/").upstream().key());
  }
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.begin() + 5).size(), 5u);
  EXPECT_TRUE(std::equal(seen.begin(), seen.begin() + 5, seen.begin() + 5));
}

TEST(LoadBalancer, LeastRequestAvoidsBusyEndpoint) {
  auto f = lbFixture([](auto& lb) { lb.simple = model::SimpleLB::LeastRequest; });
  f.build();
  // Hold requests on every endpoint but one: P2C must never pick a busier one over it when both are
  // drawn, so the idle endpoint takes far more than its 1/5.
  const Cluster& c = f.table->clusters[0];
  for (uint32_t i = 1; i < c.endpoints.size(); ++i) {
    c.counters->active[i] = 100;
  }
  int idle = 0;
  for (int i = 0; i < 1000; ++i) {
    idle += f.send("/").endpoint == 0;
  }
  EXPECT_GT(idle, 300);
}

struct HashCase {
  const char* what;
  std::function<void(model::ConsistentHashLB&)> set;
  HeaderList headers;
  std::string path;
};

TEST(LoadBalancer, ConsistentHashIsSticky) {
  const HashCase cases[] = {
      {"header ring", [](auto& c) { c.httpHeaderName = "X-User"; }, {{"x-user", "alice"}}, "/"},
      {"header maglev", [](auto& c) { c.httpHeaderName = "x-user"; c.maglev = model::MagLev{65537}; }, {{"x-user", "alice"}}, "/"},
      {"query ring", [](auto& c) { c.httpQueryParameterName = "u"; }, {}, "/p?u=bob"},
      {"cookie", [](auto& c) { c.httpCookie = model::HTTPCookie{"sid", "/", std::nullopt, {}}; }, {{"cookie", "a=1; sid=\"xyz\""}}, "/"},
      {"source ip", [](auto& c) { c.useSourceIp = true; }, {}, "/"},
  };
  for (const auto& c : cases) {
    auto f = lbFixture([&](auto& lb) {
      lb.consistentHash = model::ConsistentHashLB{};
      c.set(*lb.consistentHash);
    });
    f.build();
    std::set<std::string> picked;
    for (int i = 0; i < 50; ++i) {
      picked.insert(f.send(c.path, c.headers).upstream().key());
    }
    EXPECT_EQ(picked.size(), 1u) << c.what;
  }
  // Different keys spread over the endpoints.
  auto f = lbFixture([](auto& lb) {
    lb.consistentHash = model::ConsistentHashLB{};
    lb.consistentHash->httpHeaderName = "x-user";
  });
  f.build();
  std::set<std::string> spread;
  for (int i = 0; i < 200; ++i) {
    spread.insert(f.send("/", {{"x-user", "user" + std::to_string(i)}}).upstream().key());
  }
  EXPECT_EQ(spread.size(), 5u);
}

TEST(LoadBalancer, CookieIsGeneratedWhenTtlIsSet) {
  auto f = lbFixture([](auto& lb) {
    lb.consistentHash = model::ConsistentHashLB{};
    lb.consistentHash->httpCookie =
        model::HTTPCookie{"sid", "/app", std::chrono::seconds(60), {{"SameSite", "Strict"}}};
  });
  f.build();
  auto d = f.send("/");
  ASSERT_EQ(d.kind, Decision::Kind::Forward);
  ASSERT_TRUE(d.setCookie.starts_with("sid=\"")) << d.setCookie;
  EXPECT_NE(d.setCookie.find("; Max-Age=60; Path=/app; SameSite=Strict; HttpOnly"),
            std::string::npos)
      << d.setCookie;
  // Sending the cookie back lands on the same endpoint.
  std::string value = d.setCookie.substr(4, d.setCookie.find(';') - 4);
  auto again = f.send("/", {{"cookie", "sid=" + value}});
  EXPECT_EQ(again.upstream().key(), d.upstream().key());
  EXPECT_TRUE(again.setCookie.empty());
}

TEST(LoadBalancer, PolicyPrecedenceSubsetPortLevelFirst) {
  Fixture f;
  f.service("svc", "10.96.0.1", {{"http", 80, 8080}, {"admin", 81, 8081}});
  f.pod("svc", "a", "10.0.1.1", {{"v", "1"}});
  f.pod("svc", "b", "10.0.1.2", {{"v", "1"}});
  auto& dr = f.destinationRule("svc");
  model::TrafficPolicy top;
  top.loadBalancer = model::LoadBalancerSettings{};
  top.loadBalancer->simple = model::SimpleLB::Random;
  model::PortTrafficPolicy p81;
  p81.port = 81;  // replaces the block whole: no loadBalancer here means the default
  p81.connectionPool = model::ConnectionPoolSettings{};
  top.portLevelSettings = {p81};
  dr.spec.trafficPolicy = top;
  model::TrafficPolicy subsetPolicy;
  subsetPolicy.loadBalancer = model::LoadBalancerSettings{};
  subsetPolicy.loadBalancer->simple = model::SimpleLB::RoundRobin;
  dr.spec.subsets = {{"v1", {{"v", "1"}}, subsetPolicy}};
  auto& r = f.route("svc");
  r.match = {m([](auto& x) { x.uri = sm(K::Prefix, "/s"); })};
  r.route = {dest("svc", 0, "v1")};
  f.route("svc").route = {dest("svc")};
  f.build();
  EXPECT_EQ(f.send("/s").cluster->lb, LbPolicy::RoundRobin);
  EXPECT_EQ(f.send("/").cluster->lb, LbPolicy::Random);
  EXPECT_EQ(f.send("/", {}, "10.96.0.1", 81).cluster->lb, LbPolicy::LeastRequest);
}

// connectionPool limits follow the same block precedence as the LB policy; a limit of 0 is unset
// (Istio emits a threshold only above 0).
TEST(LoadBalancer, ConnectionPoolLimitsFollowBlockPrecedence) {
  Fixture f;
  f.service("svc", "10.96.0.1", {{"http", 80, 8080}, {"admin", 81, 8081}});
  f.pod("svc", "a", "10.0.1.1", {{"v", "1"}});
  auto& dr = f.destinationRule("svc");
  model::TrafficPolicy top;
  top.connectionPool = model::ConnectionPoolSettings{};
  top.connectionPool->tcp = model::TCPSettings{};
  top.connectionPool->tcp->maxConnections = 5;
  auto& http = top.connectionPool->http.emplace();
  http.http1MaxPendingRequests = 3;
  http.http2MaxRequests = 7;
  http.maxRetries = 0;
  model::PortTrafficPolicy p81;
  p81.port = 81;  // replaces the whole block: nothing from the top level's pool
  p81.connectionPool = model::ConnectionPoolSettings{};
  p81.connectionPool->http.emplace().maxRequestsPerConnection = 1;
  top.portLevelSettings = {p81};
  dr.spec.trafficPolicy = top;
  model::TrafficPolicy subsetPolicy;
  subsetPolicy.connectionPool = model::ConnectionPoolSettings{};
  subsetPolicy.connectionPool->http.emplace().maxRetries = 2;
  dr.spec.subsets = {{"v1", {{"v", "1"}}, subsetPolicy}};
  auto& r = f.route("svc");
  r.match = {m([](auto& x) { x.uri = sm(K::Prefix, "/s"); })};
  r.route = {dest("svc", 0, "v1")};
  f.route("svc").route = {dest("svc")};
  f.build();
  const CircuitLimits top80 = f.send("/").cluster->limits;
  EXPECT_EQ(top80.maxConnections, 5u);
  EXPECT_EQ(top80.maxPendingRequests, 3u);
  EXPECT_EQ(top80.maxRequests, 7u);
  EXPECT_EQ(top80.maxRetries, UINT32_MAX);  // 0: unset
  EXPECT_EQ(top80.maxRequestsPerConnection, 0u);
  const CircuitLimits port81 = f.send("/", {}, "10.96.0.1", 81).cluster->limits;
  EXPECT_EQ(port81.maxConnections, UINT32_MAX);
  EXPECT_EQ(port81.maxPendingRequests, UINT32_MAX);
  EXPECT_EQ(port81.maxRequestsPerConnection, 1u);
  const CircuitLimits subset = f.send("/s").cluster->limits;
  EXPECT_EQ(subset.maxRetries, 2u);
  EXPECT_EQ(subset.maxConnections, UINT32_MAX);  // the subset's block replaces the DR's
}

// ------------------------------------------------------------------ selectors, delegation

TEST(Router, SourceLabelsAndPortSelectRoutesPerClient) {
  Fixture f;
  f.service("svc", "10.96.0.1", {{"http", 80, 8080}, {"alt", 8000, 8080}});
  f.service("canary", "10.96.0.2");
  f.pod("svc", "s", "10.0.1.1", {});
  f.pod("canary", "c", "10.0.2.1", {});
  f.pod("", "tester", "10.0.9.1", {{"app", "tester"}});
  f.pod("", "prod", "10.0.9.2", {{"app", "prod"}}, "prod");
  auto& r = f.route("svc", "canary");
  r.match = {m([](auto& x) { x.sourceLabels = {{"app", "tester"}}; }),
             m([](auto& x) { x.sourceNamespace = "prod"; x.port = 8000; })};
  r.route = {dest("canary")};
  f.route("svc", "main").route = {dest("svc")};
  f.build();
  EXPECT_EQ(f.send("/", {}, "10.96.0.1", 80, "GET", "10.0.9.1").route->name, "canary");
  EXPECT_EQ(f.send("/", {}, "10.96.0.1", 80, "GET", "10.0.0.50").route->name, "main");
  EXPECT_EQ(f.send("/", {}, "10.96.0.1", 80, "GET", "10.0.9.2").route->name, "main");
  EXPECT_EQ(f.send("/", {}, "10.96.0.1", 8000, "GET", "10.0.9.2").route->name, "canary");
}

TEST(Router, DelegateRoutesMergeWithTheRootMatch) {
  Fixture f;
  f.service("svc", "10.96.0.1");
  f.service("v1", "10.96.0.2");
  f.service("v2", "10.96.0.3");
  f.pod("v1", "a", "10.0.1.1", {});
  f.pod("v2", "b", "10.0.2.1", {});
  auto& root = f.route("svc", "root");
  root.match = {m([](auto& x) { x.uri = sm(K::Prefix, "/api"); })};
  root.delegate = model::Delegate{"leaf", ""};
  model::Headers rootHeaders;
  rootHeaders.request = model::HeaderOperations{{{"x-root", "1"}}, {}, {}};
  root.headers = rootHeaders;
  model::VirtualService leaf;
  leaf.meta.name = "leaf";
  leaf.meta.ns = "default";
  model::HTTPRoute l1;
  l1.name = "users";
  l1.match = {m([](auto& x) { x.uri = sm(K::Prefix, "/api/users"); })};
  l1.route = {dest("v1")};
  model::HTTPRoute conflict;
  conflict.name = "conflict";
  conflict.match = {m([](auto& x) { x.uri = sm(K::Prefix, "/other"); })};
  conflict.route = {dest("v1")};
  model::HTTPRoute rest;
  rest.name = "rest";
  rest.route = {dest("v2")};
  leaf.spec.http = {l1, conflict, rest};
  f.snap.virtualServices.push_back(leaf);
  f.route("svc", "tail").directResponse = model::HTTPDirectResponse{200, std::nullopt};
  f.build();
  auto d = f.send("/api/users/1");
  EXPECT_EQ(d.route->name, "root-users");
  HeaderList h;
  Router::applyRequestHeaders(d, h);
  EXPECT_EQ(headerValue(h, "x-root"), "1");  // unset headers inherited from the root route
  EXPECT_EQ(f.send("/api/x").route->name, "root-rest");  // leaf catch-all takes the root match
  EXPECT_EQ(f.send("/other").route->name, "tail");       // conflicting leaf route dropped
}

TEST(RouteTable, OldestVirtualServiceOwnsTheHost) {
  Fixture f;
  f.service("svc", "10.96.0.1");
  f.route("svc", "old").directResponse = model::HTTPDirectResponse{200, std::nullopt};
  f.snap.virtualServices[0].meta.creationTimestamp = "2024-01-01T00:00:00Z";
  model::VirtualService newer = f.snap.virtualServices[0];
  newer.meta.name = "newer";
  newer.meta.creationTimestamp = "2025-01-01T00:00:00Z";
  newer.spec.http[0].name = "new";
  f.snap.virtualServices.insert(f.snap.virtualServices.begin(), newer);
  f.build();
  EXPECT_EQ(f.send("/").route->name, "old");
}

}  // namespace
}  // namespace sluice::proxy
