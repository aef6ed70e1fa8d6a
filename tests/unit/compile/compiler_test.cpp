#include <gtest/gtest.h>
#include <sluice/compile/compiler.h>

#include "snapshot_builder.h"

namespace sluice::compile {
namespace {

using namespace testing;  // NOLINT: the builders

const plan::Frontend* findFrontend(const plan::DataplanePlan& p, const std::string& key) {
  for (const auto& f : p.frontends) {
    if (f.key() == key) {
      return &f;
    }
  }
  return nullptr;
}

plan::RouteAction action(std::vector<std::pair<std::string, uint32_t>> split) {
  plan::RouteAction a;
  for (auto& [g, w] : split) {
    a.split.push_back({g, w});
  }
  return a;
}

std::string group(const std::string& name, uint32_t port, const std::string& subset = "") {
  return "outbound|" + std::to_string(port) + "|" + subset + "|" + fqdn(name);
}

// reviews: three versions on 9080 → 8080 (named targetPort), one pod each.
model::Snapshot reviews() {
  model::Snapshot s;
  auto svc = service("default", "reviews", {"10.96.0.10"}, {servicePort("tcp-main", 9080)});
  svc.spec.ports[0].targetPort.name = "main";
  s.services.push_back(svc);
  s.endpointSlices.push_back(slice("default", "reviews", {{"tcp-main", 8080}},
                                   {{"10.0.0.1", "reviews-v1"},
                                    {"10.0.0.2", "reviews-v2"},
                                    {"10.0.0.3", "reviews-v3"}}));
  s.pods.push_back(pod("default", "reviews-v1", {{"app", "reviews"}, {"version", "v1"}}));
  s.pods.push_back(pod("default", "reviews-v2", {{"app", "reviews"}, {"version", "v2"}}));
  s.pods.push_back(pod("default", "reviews-v3", {{"app", "reviews"}, {"version", "v3"}}));
  s.destinationRules.push_back(destinationRule(
      "default", "reviews", fqdn("reviews"),
      {subset("v1", {{"version", "v1"}}), subset("v2", {{"version", "v2"}}),
       subset("v3", {{"version", "v3"}})}));
  return s;
}

TEST(CompileFrontends, EveryVipAndPortOfClusterIpServices) {
  model::Snapshot s;
  auto dual = service("default", "dns", {"10.96.0.53", "fd00::53"},
                      {servicePort("dns", 53, 5353, "UDP"), servicePort("dns-tcp", 53, 5353),
                       servicePort("sctp", 9999, 0, "SCTP")});
  s.services.push_back(dual);
  auto headless = service("default", "db", {"None"}, {servicePort("tcp", 5432)});
  s.services.push_back(headless);
  auto external = service("default", "ext", {}, {servicePort("tcp", 443)});
  external.spec.type = "ExternalName";
  external.spec.externalName = "example.com";
  s.services.push_back(external);

  auto p = compile(s, {});
  std::vector<std::string> keys;
  for (const auto& f : p.frontends) {
    keys.push_back(f.key());
    EXPECT_EQ(f.service, fqdn("dns"));
    EXPECT_EQ(f.mode, plan::FrontendMode::Kernel);
  }
  EXPECT_EQ(keys, (std::vector<std::string>{"10.96.0.53:53/tcp", "10.96.0.53:53/udp",
                                            "[fd00::53]:53/tcp", "[fd00::53]:53/udp"}));
}

TEST(CompileBackends, KubeProxyDefaultWithNamedTargetPort) {
  auto p = compile(reviews(), {});
  const auto* f = findFrontend(p, "10.96.0.10:9080/tcp");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->defaultRoute, action({{group("reviews", 9080), 1}}));
  EXPECT_TRUE(f->byClientClass.empty());
  const auto& g = p.groups.at(group("reviews", 9080));
  EXPECT_EQ(g.lb, plan::LbPolicy::LeastRequest);
  EXPECT_EQ(g.backends,
            (std::vector<std::string>{"10.0.0.1:8080", "10.0.0.2:8080", "10.0.0.3:8080"}));
  EXPECT_EQ(p.backends.at("10.0.0.2:8080").pod, "default/reviews-v2");
  // Subsets that no route names get no group: their policies apply only to explicit routes.
  EXPECT_EQ(p.groups.size(), 1u);
}

TEST(CompileBackends, SliceWithoutPortsFallsBackToTargetPort) {
  model::Snapshot s;
  s.services.push_back(service("default", "a", {"10.96.0.1"}, {servicePort("tcp", 80, 8080)}));
  s.endpointSlices.push_back(slice("default", "a", {}, {{"10.0.0.1"}}));
  auto p = compile(s, {});
  EXPECT_EQ(p.groups.at(group("a", 80)).backends, std::vector<std::string>{"10.0.0.1:8080"});
}

TEST(CompileBackends, TerminatingOnlyWhenNoReadyOne) {
  model::Snapshot s;
  s.services.push_back(service("default", "a", {"10.96.0.1"}, {servicePort("tcp", 80)}));
  s.endpointSlices.push_back(slice("default", "a", {{"tcp", 80}},
                                   {{"10.0.0.1", "", true},
                                    {"10.0.0.2", "", false, true, true},
                                    {"10.0.0.3", "", false, false, false}}));
  auto p = compile(s, {});
  EXPECT_EQ(p.groups.at(group("a", 80)).backends, std::vector<std::string>{"10.0.0.1:80"});

  s.endpointSlices[0].endpoints[0].conditions.ready = false;
  p = compile(s, {});
  EXPECT_EQ(p.groups.at(group("a", 80)).backends, std::vector<std::string>{"10.0.0.2:80"});
  EXPECT_EQ(p.backends.at("10.0.0.2:80").state, plan::BackendState::Terminating);

  s.services[0].spec.publishNotReadyAddresses = true;
  p = compile(s, {});
  EXPECT_EQ(p.groups.at(group("a", 80)).backends,
            (std::vector<std::string>{"10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80"}));
}

TEST(CompileBackends, EachFamilyGetsItsOwnGroup) {
  model::Snapshot s;
  s.services.push_back(
      service("default", "a", {"10.96.0.1", "fd00::1"}, {servicePort("tcp", 80)}));
  s.endpointSlices.push_back(slice("default", "a", {{"tcp", 80}}, {{"10.0.0.1"}}));
  s.endpointSlices.push_back(slice("default", "a", {{"tcp", 80}}, {{"fd00:10::1"}}, "IPv6", "v6"));
  auto p = compile(s, {});
  EXPECT_EQ(p.groups.at(group("a", 80)).backends, std::vector<std::string>{"10.0.0.1:80"});
  EXPECT_EQ(p.groups.at(group("a", 80) + "|ipv6").backends,
            std::vector<std::string>{"[fd00:10::1]:80"});
  EXPECT_EQ(findFrontend(p, "[fd00::1]:80/tcp")->defaultRoute,
            action({{group("a", 80) + "|ipv6", 1}}));
}

TEST(CompileRoutes, WeightsSubsetsAndZeroWeights) {
  auto s = reviews();
  auto vs = virtualService("default", "reviews", {fqdn("reviews")});
  vs.spec.tcp.push_back(tcpRoute(
      {to(fqdn("reviews"), "v1", 80), to(fqdn("reviews"), "v2", 20), to(fqdn("reviews"), "v3", 0)}));
  s.virtualServices.push_back(vs);
  auto p = compile(s, {});
  const auto* f = findFrontend(p, "10.96.0.10:9080/tcp");
  EXPECT_EQ(f->defaultRoute,
            action({{group("reviews", 9080, "v1"), 80}, {group("reviews", 9080, "v2"), 20}}));
  EXPECT_EQ(p.groups.at(group("reviews", 9080, "v1")).backends,
            std::vector<std::string>{"10.0.0.1:8080"});
  EXPECT_EQ(p.groups.at(group("reviews", 9080, "v2")).backends,
            std::vector<std::string>{"10.0.0.2:8080"});
  EXPECT_EQ(p.groups.count(group("reviews", 9080, "v3")), 0u);
}

TEST(CompileRoutes, SingleDestinationTakesEverything) {
  auto s = reviews();
  auto vs = virtualService("default", "reviews", {fqdn("reviews")});
  vs.spec.tcp.push_back(tcpRoute({to(fqdn("reviews"), "v3", 0)}));
  s.virtualServices.push_back(vs);
  auto p = compile(s, {});
  EXPECT_EQ(findFrontend(p, "10.96.0.10:9080/tcp")->defaultRoute,
            action({{group("reviews", 9080, "v3"), 1}}));
}

TEST(CompileRoutes, MissingSubsetOrHostFailsItsShare) {
  auto s = reviews();
  auto vs = virtualService("default", "reviews", {fqdn("reviews")});
  vs.spec.tcp.push_back(tcpRoute({to(fqdn("reviews"), "v1", 50), to(fqdn("reviews"), "v9", 30),
                                  to(fqdn("nowhere"), "", 20)}));
  s.virtualServices.push_back(vs);
  auto p = compile(s, {});
  EXPECT_EQ(findFrontend(p, "10.96.0.10:9080/tcp")->defaultRoute,
            action({{group("reviews", 9080, "v1"), 50},
                    {group("reviews", 9080, "v9"), 30},
                    {group("nowhere", 9080), 20}}));
  EXPECT_TRUE(p.groups.at(group("reviews", 9080, "v9")).backends.empty());
  EXPECT_TRUE(p.groups.at(group("nowhere", 9080)).backends.empty());

  s.virtualServices[0].spec.tcp[0] = tcpRoute({to(fqdn("reviews"), "v9", 1), to(fqdn("x"), "", 1)});
  p = compile(s, {});
  EXPECT_TRUE(findFrontend(p, "10.96.0.10:9080/tcp")->defaultRoute.split.empty());
  EXPECT_EQ(p.groups.count(group("reviews", 9080, "v9")), 0u);
  EXPECT_EQ(p.groups.count(group("x", 9080)), 0u);
}

TEST(CompileRoutes, FirstMatchWinsAndDefaultRouteWhenNoneMatches) {
  auto s = reviews();
  s.services[0].spec.ports.push_back(servicePort("tcp-admin", 9090));
  s.services[0].spec.clusterIPs = {"10.96.0.10", "10.96.0.11"};
  auto vs = virtualService("default", "reviews", {fqdn("reviews")});
  vs.spec.tcp.push_back(tcpRoute({to(fqdn("reviews"), "v1")}, {l4Match(9080, {}, "", {"10.96.0.11/32"})}));
  vs.spec.tcp.push_back(tcpRoute({to(fqdn("reviews"), "v2")}, {l4Match(9080)}));
  vs.spec.tcp.push_back(tcpRoute({to(fqdn("reviews"), "v3")}, {l4Match(9080)}));
  s.virtualServices.push_back(vs);
  auto p = compile(s, {});
  EXPECT_EQ(findFrontend(p, "10.96.0.11:9080/tcp")->defaultRoute,
            action({{group("reviews", 9080, "v1"), 100}}));
  EXPECT_EQ(findFrontend(p, "10.96.0.10:9080/tcp")->defaultRoute,
            action({{group("reviews", 9080, "v2"), 100}}));
  EXPECT_EQ(findFrontend(p, "10.96.0.10:9090/tcp")->defaultRoute,
            action({{group("reviews", 9090), 1}}));
}

TEST(CompileRoutes, DestinationPortDefaults) {
  auto s = reviews();
  s.services.push_back(service("default", "one", {"10.96.0.20"}, {servicePort("tcp", 7000)}));
  s.services.push_back(service("default", "two", {"10.96.0.21"},
                               {servicePort("tcp-a", 7001), servicePort("tcp-b", 7002)}));
  auto vs = virtualService("default", "reviews", {fqdn("reviews")});
  // one: its only port; two: neither port is 9080, so nowhere; reviews: explicit port.
  vs.spec.tcp.push_back(tcpRoute({to(fqdn("one"), "", 1), to(fqdn("two"), "", 1),
                                  to(fqdn("two"), "", 1, 7002)}));
  s.virtualServices.push_back(vs);
  auto p = compile(s, {});
  EXPECT_EQ(findFrontend(p, "10.96.0.10:9080/tcp")->defaultRoute,
            action({{group("one", 7000), 1}, {group("two", 9080), 1}, {group("two", 7002), 1}}));
}

TEST(CompileRoutes, SourceLabelsBecomeClientClasses) {
  auto s = reviews();
  s.pods.push_back(pod("default", "sleep-1", {{"app", "sleep"}}));
  s.pods.push_back(pod("default", "sleep-2", {{"app", "sleep"}}));
  s.pods.push_back(pod("test", "curl", {{"app", "curl"}}));
  s.pods.push_back(pod("test", "sleep-3", {{"app", "sleep"}}));
  auto vs = virtualService("default", "reviews", {fqdn("reviews")});
  vs.spec.tcp.push_back(tcpRoute({to(fqdn("reviews"), "v2")}, {l4Match({}, {{"app", "sleep"}})}));
  vs.spec.tcp.push_back(tcpRoute({to(fqdn("reviews"), "v3")}, {l4Match({}, {}, "test")}));
  vs.spec.tcp.push_back(tcpRoute({to(fqdn("reviews"), "v1")}));
  s.virtualServices.push_back(vs);
  auto p = compile(s, {});
  const auto* f = findFrontend(p, "10.96.0.10:9080/tcp");
  EXPECT_EQ(f->defaultRoute, action({{group("reviews", 9080, "v1"), 100}}));
  ASSERT_EQ(f->byClientClass.size(), 3u);
  EXPECT_EQ(f->byClientClass.at("app=sleep"), action({{group("reviews", 9080, "v2"), 100}}));
  EXPECT_EQ(f->byClientClass.at("ns:test"), action({{group("reviews", 9080, "v3"), 100}}));
  // First match wins: sleep in namespace test satisfies both and takes the first rule.
  EXPECT_EQ(f->byClientClass.at("app=sleep|ns:test"), action({{group("reviews", 9080, "v2"), 100}}));
  ASSERT_EQ(p.clientClasses.size(), 3u);
  EXPECT_EQ(p.clientClasses[0].name, "app=sleep");
  EXPECT_EQ(p.clientClasses[0].pods, (std::vector<std::string>{"default/sleep-1", "default/sleep-2"}));
  EXPECT_EQ(p.clientClasses[1].pods, std::vector<std::string>{"test/sleep-3"});
  EXPECT_EQ(p.clientClasses[2].pods, std::vector<std::string>{"test/curl"});
}

TEST(CompileRoutes, ClassesThatRouteLikeTheDefaultAreLeftOut) {
  auto s = reviews();
  s.pods.push_back(pod("default", "sleep", {{"app", "sleep"}}));
  auto vs = virtualService("default", "reviews", {fqdn("reviews")});
  vs.spec.tcp.push_back(tcpRoute({to(fqdn("reviews"), "v1")}, {l4Match({}, {{"app", "sleep"}})}));
  vs.spec.tcp.push_back(tcpRoute({to(fqdn("reviews"), "v1")}));
  s.virtualServices.push_back(vs);
  auto p = compile(s, {});
  EXPECT_TRUE(findFrontend(p, "10.96.0.10:9080/tcp")->byClientClass.empty());
  EXPECT_TRUE(p.clientClasses.empty());
}

TEST(CompilePolicy, SubsetAndPortLevelMerge) {
  auto s = reviews();
  auto& dr = s.destinationRules[0];
  dr.spec.trafficPolicy = policy(simpleLb(model::SimpleLB::Random), 100);
  model::PortTrafficPolicy pls;
  pls.port = 9080;
  pls.loadBalancer = simpleLb(model::SimpleLB::RoundRobin);
  dr.spec.trafficPolicy->portLevelSettings.push_back(pls);
  dr.spec.subsets[1].trafficPolicy = policy(std::nullopt, 7);  // v2: own pool, inherited LB
  dr.spec.subsets[2].trafficPolicy = policy(simpleLb(model::SimpleLB::Passthrough));
  auto vs = virtualService("default", "reviews", {fqdn("reviews")});
  vs.spec.tcp.push_back(tcpRoute(
      {to(fqdn("reviews"), "v1", 1), to(fqdn("reviews"), "v2", 1), to(fqdn("reviews"), "v3", 1)}));
  s.virtualServices.push_back(vs);
  auto p = compile(s, {});
  // The DR's port entry replaces its whole level: round robin, and no pool (not inherited).
  const auto& v1 = p.groups.at(group("reviews", 9080, "v1"));
  EXPECT_EQ(v1.lb, plan::LbPolicy::RoundRobin);
  EXPECT_EQ(v1.maxConnectionsPerBackend, 0u);
  const auto& v2 = p.groups.at(group("reviews", 9080, "v2"));
  EXPECT_EQ(v2.lb, plan::LbPolicy::RoundRobin);
  EXPECT_EQ(v2.maxConnectionsPerBackend, 7u);
  EXPECT_EQ(p.groups.at(group("reviews", 9080, "v3")).lb, plan::LbPolicy::Passthrough);
}

TEST(CompilePolicy, MaglevTableIsCappedAndPrime) {
  auto s = reviews();
  s.destinationRules[0].spec.trafficPolicy = policy(maglevLb(65537));
  CompileOptions options;
  options.maxHashTableSize = 1000;
  auto p = compile(s, options);
  const auto& g = p.groups.at(group("reviews", 9080));
  EXPECT_EQ(g.lb, plan::LbPolicy::MaglevSourceIp);
  EXPECT_EQ(g.hashTable.size(), 997u);

  s.destinationRules[0].spec.trafficPolicy = policy(ringLb(64));
  p = compile(s, options);
  EXPECT_EQ(p.groups.at(group("reviews", 9080)).lb, plan::LbPolicy::RingHashSourceIp);
  EXPECT_EQ(p.groups.at(group("reviews", 9080)).hashTable.size(), 64u);
}

TEST(CompileProtocols, HttpCatchAllStaysInTheKernel) {
  auto s = reviews();
  s.services[0].spec.ports[0].name = "http";
  auto vs = virtualService("default", "reviews", {fqdn("reviews")});
  vs.spec.http.push_back(httpRoute({httpTo(fqdn("reviews"), "v2")}));
  s.virtualServices.push_back(vs);
  auto p = compile(s, {});
  const auto* f = findFrontend(p, "10.96.0.10:9080/tcp");
  EXPECT_EQ(f->mode, plan::FrontendMode::Kernel);
  EXPECT_EQ(f->defaultRoute, action({{group("reviews", 9080, "v2"), 100}}));
}

TEST(CompileProtocols, HttpFeaturesGoToTheProxy) {
  auto base = reviews();
  base.services[0].spec.ports[0].name = "http-web";
  auto vs = virtualService("default", "reviews", {fqdn("reviews")});

  auto s = base;
  model::HTTPMatchRequest m;
  m.headers["end-user"] = model::StringMatch{model::StringMatch::Kind::Exact, "jason"};
  auto withMatch = vs;
  withMatch.spec.http.push_back(httpRoute({httpTo(fqdn("reviews"), "v2")}, {m}));
  withMatch.spec.http.push_back(httpRoute({httpTo(fqdn("reviews"), "v1")}));
  s.virtualServices.push_back(withMatch);
  auto p = compile(s, {});
  EXPECT_EQ(p.frontends[0].mode, plan::FrontendMode::L7Proxy);
  EXPECT_EQ(p.frontends[0].reason, "http[0] matches on request attributes");
  EXPECT_TRUE(p.frontends[0].defaultRoute.split.empty());

  s = base;
  auto weighted = vs;
  weighted.spec.http.push_back(
      httpRoute({httpTo(fqdn("reviews"), "v1", 50), httpTo(fqdn("reviews"), "v2", 50)}));
  s.virtualServices.push_back(weighted);
  EXPECT_EQ(compile(s, {}).frontends[0].reason, "http[0] splits by weight per request");

  s = base;
  auto timeout = vs;
  timeout.spec.http.push_back(httpRoute({httpTo(fqdn("reviews"))}));
  timeout.spec.http[0].timeout = std::chrono::seconds(1);
  s.virtualServices.push_back(timeout);
  EXPECT_EQ(compile(s, {}).frontends[0].reason, "http[0] uses timeout");

  s = base;  // no VirtualService, but the DR hashes on a header: Envoy would honour it
  model::LoadBalancerSettings lb;
  lb.consistentHash.emplace();
  lb.consistentHash->httpHeaderName = "x-user";
  lb.consistentHash->ringHash = model::RingHash{1024};
  s.destinationRules[0].spec.trafficPolicy = policy(lb);
  p = compile(s, {});
  EXPECT_EQ(p.frontends[0].mode, plan::FrontendMode::L7Proxy);
  EXPECT_EQ(p.frontends[0].reason, "DestinationRule for " + group("reviews", 9080) +
                                       " hashes on a request attribute");

  s.services[0].spec.ports[0].name = "tcp";  // opaque TCP: no key, Envoy picks at random
  p = compile(s, {});
  EXPECT_EQ(p.frontends[0].mode, plan::FrontendMode::Kernel);
  EXPECT_EQ(p.groups.at(group("reviews", 9080)).lb, plan::LbPolicy::Random);
}

TEST(CompileProtocols, TlsRoutesNeedTheProxyAndUdpIgnoresRoutes) {
  model::Snapshot s;
  s.services.push_back(service("default", "a", {"10.96.0.1"},
                               {servicePort("https", 443), servicePort("udp", 53, 0, "UDP")}));
  s.services.push_back(service("default", "b", {"10.96.0.2"},
                               {servicePort("https", 443), servicePort("udp", 53, 0, "UDP")}));
  auto vs = virtualService("default", "a", {fqdn("a")});
  model::TLSRoute tls;
  tls.match.emplace_back();
  tls.match[0].sniHosts = {fqdn("a")};
  tls.route.push_back(to(fqdn("b")));
  vs.spec.tls.push_back(tls);
  vs.spec.tcp.push_back(tcpRoute({to(fqdn("b"))}));
  s.virtualServices.push_back(vs);
  auto p = compile(s, {});
  EXPECT_EQ(findFrontend(p, "10.96.0.1:443/tcp")->mode, plan::FrontendMode::L7Proxy);
  EXPECT_EQ(findFrontend(p, "10.96.0.1:443/tcp")->reason, "tls[0] routes on SNI");
  EXPECT_EQ(findFrontend(p, "10.96.0.1:53/udp")->defaultRoute,
            action({{group("a", 53) + "|udp", 1}}));
}

TEST(CompileSelection, OldestVirtualServiceWinsAndMeshBindingCounts) {
  auto s = reviews();
  auto newer = virtualService("default", "a-newer", {fqdn("reviews")}, "2026-02-01T00:00:00Z");
  newer.spec.tcp.push_back(tcpRoute({to(fqdn("reviews"), "v2")}));
  auto older = virtualService("default", "z-older", {fqdn("reviews")}, "2026-01-01T00:00:00Z");
  older.spec.tcp.push_back(tcpRoute({to(fqdn("reviews"), "v1")}));
  auto gatewayOnly = virtualService("default", "gw", {fqdn("reviews")}, "2025-01-01T00:00:00Z");
  gatewayOnly.spec.gateways = {"istio-system/ingress"};
  gatewayOnly.spec.tcp.push_back(tcpRoute({to(fqdn("reviews"), "v3")}));
  s.virtualServices = {newer, older, gatewayOnly};
  // Sidecars see only mesh-bound VirtualServices, and among those the oldest owns the host.
  auto p = compile(s, {});
  EXPECT_EQ(findFrontend(p, "10.96.0.10:9080/tcp")->defaultRoute,
            action({{group("reviews", 9080, "v1"), 100}}));

  // A match block naming mesh binds the VirtualService for that block only.
  s.virtualServices = {gatewayOnly};
  s.virtualServices[0].spec.tcp.insert(s.virtualServices[0].spec.tcp.begin(),
                                       tcpRoute({to(fqdn("reviews"), "v2")}, {l4Match(9080)}));
  s.virtualServices[0].spec.tcp[0].match[0].gateways = {"mesh"};
  p = compile(s, {});
  EXPECT_EQ(findFrontend(p, "10.96.0.10:9080/tcp")->defaultRoute,
            action({{group("reviews", 9080, "v2"), 100}}));
}

TEST(CompileSelection, WildcardHostsAndRuleNamespaces) {
  auto s = reviews();
  s.destinationRules.clear();
  s.destinationRules.push_back(destinationRule("default", "all", "*.default.svc.cluster.local", {},
                                               policy(simpleLb(model::SimpleLB::Random))));
  auto p = compile(s, {});
  EXPECT_EQ(p.groups.at(group("reviews", 9080)).lb, plan::LbPolicy::Random);

  // An exact host beats the wildcard; within it the service's namespace beats another one.
  s.destinationRules.push_back(destinationRule("other", "reviews", fqdn("reviews"), {},
                                               policy(simpleLb(model::SimpleLB::Passthrough))));
  s.destinationRules.push_back(destinationRule("default", "reviews", fqdn("reviews"), {},
                                               policy(simpleLb(model::SimpleLB::RoundRobin))));
  p = compile(s, {});
  EXPECT_EQ(p.groups.at(group("reviews", 9080)).lb, plan::LbPolicy::RoundRobin);

  auto vs = virtualService("default", "wild", {"*.default.svc.cluster.local"});
  vs.spec.tcp.push_back(tcpRoute({to(fqdn("reviews"), "", 100, 9080)}));
  s.services.push_back(service("default", "ratings", {"10.96.0.30"}, {servicePort("tcp", 9080)}));
  s.virtualServices.push_back(vs);
  p = compile(s, {});
  EXPECT_EQ(findFrontend(p, "10.96.0.30:9080/tcp")->defaultRoute,
            action({{group("reviews", 9080), 100}}));
}

TEST(CompileSelection, RulesOfOneNamespaceMerge) {
  auto s = reviews();
  s.destinationRules.clear();
  auto first = destinationRule("default", "a", fqdn("reviews"), {subset("v1", {{"version", "v1"}})},
                               policy(simpleLb(model::SimpleLB::RoundRobin)));
  auto second = destinationRule("default", "b", fqdn("reviews"),
                                {subset("v1", {{"version", "v3"}}), subset("v2", {{"version", "v2"}})},
                                policy(simpleLb(model::SimpleLB::Random)));
  s.destinationRules = {second, first};
  auto vs = virtualService("default", "reviews", {fqdn("reviews")});
  vs.spec.tcp.push_back(tcpRoute({to(fqdn("reviews"), "v1", 1), to(fqdn("reviews"), "v2", 1)}));
  s.virtualServices.push_back(vs);
  auto p = compile(s, {});
  // Same creation time: name order; "a" comes first, so its policy and its v1 win.
  EXPECT_EQ(p.groups.at(group("reviews", 9080, "v1")).lb, plan::LbPolicy::RoundRobin);
  EXPECT_EQ(p.groups.at(group("reviews", 9080, "v1")).backends,
            std::vector<std::string>{"10.0.0.1:8080"});
  EXPECT_EQ(p.groups.at(group("reviews", 9080, "v2")).backends,
            std::vector<std::string>{"10.0.0.2:8080"});
}

TEST(CompileBackends, SubsetsNeedTheEndpointsPod) {
  auto s = reviews();
  s.endpointSlices[0].endpoints[0].targetRef.reset();  // v1's endpoint no longer names its pod
  auto vs = virtualService("default", "reviews", {fqdn("reviews")});
  vs.spec.tcp.push_back(tcpRoute({to(fqdn("reviews"), "v1")}));
  s.virtualServices.push_back(vs);
  auto p = compile(s, {});
  EXPECT_TRUE(p.groups.at(group("reviews", 9080, "v1")).backends.empty());
  EXPECT_EQ(findFrontend(p, "10.96.0.10:9080/tcp")->defaultRoute,
            action({{group("reviews", 9080, "v1"), 100}}));
}

TEST(CompileProtocols, ClientClassNeedingL7SendsTheFrontendToTheProxy) {
  auto s = reviews();
  s.services[0].spec.ports[0].name = "http";
  s.pods.push_back(pod("default", "sleep", {{"app", "sleep"}}));
  auto vs = virtualService("default", "reviews", {fqdn("reviews")});
  model::HTTPMatchRequest bySource;
  bySource.sourceLabels = {{"app", "sleep"}};
  bySource.uri = model::StringMatch{model::StringMatch::Kind::Prefix, "/v2"};
  vs.spec.http.push_back(httpRoute({httpTo(fqdn("reviews"), "v2")}, {bySource}));
  vs.spec.http.push_back(httpRoute({httpTo(fqdn("reviews"), "v1")}));
  s.virtualServices.push_back(vs);
  auto p = compile(s, {});
  EXPECT_EQ(p.frontends[0].mode, plan::FrontendMode::L7Proxy);
  EXPECT_EQ(p.frontends[0].reason, "for clients app=sleep: http[0] matches on request attributes");

  // Without the uri match the sleep class just gets its own kernel route.
  s.virtualServices[0].spec.http[0].match[0].uri.reset();
  p = compile(s, {});
  EXPECT_EQ(p.frontends[0].mode, plan::FrontendMode::Kernel);
  EXPECT_EQ(p.frontends[0].defaultRoute, action({{group("reviews", 9080, "v1"), 100}}));
  EXPECT_EQ(p.frontends[0].byClientClass.at("app=sleep"),
            action({{group("reviews", 9080, "v2"), 100}}));
}

TEST(CompileProtocols, UnnamedPortTakesHttpRoutesWhenThereAreAny) {
  auto s = reviews();
  s.services[0].spec.ports[0].name = "";
  auto vs = virtualService("default", "reviews", {fqdn("reviews")});
  model::HTTPMatchRequest m;
  m.method = model::StringMatch{model::StringMatch::Kind::Exact, "GET"};
  vs.spec.http.push_back(httpRoute({httpTo(fqdn("reviews"), "v2")}, {m}));
  vs.spec.tcp.push_back(tcpRoute({to(fqdn("reviews"), "v1")}));
  s.virtualServices.push_back(vs);
  auto p = compile(s, {});
  EXPECT_EQ(p.frontends[0].mode, plan::FrontendMode::L7Proxy);
  s.virtualServices[0].spec.http.clear();
  p = compile(s, {});
  EXPECT_EQ(p.frontends[0].defaultRoute, action({{group("reviews", 9080, "v1"), 100}}));
}

TEST(CompileDeterminism, SameInputSameText) {
  auto s = reviews();
  s.destinationRules[0].spec.trafficPolicy = policy(maglevLb(251));
  auto vs = virtualService("default", "reviews", {fqdn("reviews")});
  vs.spec.tcp.push_back(tcpRoute({to(fqdn("reviews"), "v1", 80), to(fqdn("reviews"), "v2", 20)}));
  s.virtualServices.push_back(vs);
  const std::string first = plan::toText(compile(s, {}));
  // Input order must not matter either.
  std::reverse(s.pods.begin(), s.pods.end());
  std::reverse(s.endpointSlices[0].endpoints.begin(), s.endpointSlices[0].endpoints.end());
  EXPECT_EQ(plan::toText(compile(s, {})), first);
}

}  // namespace
}  // namespace sluice::compile
