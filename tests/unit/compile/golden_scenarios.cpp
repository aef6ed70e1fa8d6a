#include "golden_scenarios.h"

#include "snapshot_builder.h"

namespace sluice::compile::testing {
namespace {

// Kubernetes alone: what kube-proxy would do.
model::Snapshot kubeProxy() {
  model::Snapshot s;
  auto web = service("shop", "web", {"10.96.1.10", "fd00::1:10"},
                     {servicePort("http", 80, 8080), servicePort("metrics", 9090)});
  s.services.push_back(web);
  s.endpointSlices.push_back(slice("shop", "web", {{"http", 8080}, {"metrics", 9090}},
                                   {{"10.1.0.1", "web-a", true, {}, {}, "zone-a"},
                                    {"10.1.0.2", "web-b", false, true, true, "zone-b"},
                                    {"10.1.0.3", "web-c", {}, {}, {}, "zone-a"}}));
  s.endpointSlices.push_back(slice("shop", "web", {{"http", 8080}, {"metrics", 9090}},
                                   {{"fd00:10::1", "web-a"}}, "IPv6", "v6"));
  auto dns = service("kube-system", "kube-dns", {"10.96.0.10"},
                     {servicePort("dns", 53, 0, "UDP"), servicePort("dns-tcp", 53)});
  s.services.push_back(dns);
  s.endpointSlices.push_back(slice("kube-system", "kube-dns", {{"dns", 53, "UDP"}, {"dns-tcp", 53}},
                                   {{"10.2.0.1", "coredns-1"}, {"10.2.0.2", "coredns-2", false, true, true}}));
  auto draining = service("shop", "draining", {"10.96.1.20"}, {servicePort("tcp", 5000)});
  s.services.push_back(draining);
  s.endpointSlices.push_back(slice("shop", "draining", {{"tcp", 5000}},
                                   {{"10.1.1.1", "", false, true, true},
                                    {"10.1.1.2", "", false, false, true}}));
  auto notReady = service("shop", "peers", {"10.96.1.30"}, {servicePort("tcp", 7000)});
  notReady.spec.publishNotReadyAddresses = true;
  s.services.push_back(notReady);
  s.endpointSlices.push_back(slice("shop", "peers", {{"tcp", 7000}},
                                   {{"10.1.2.1", "", false}, {"10.1.2.2", "", true}}));
  auto empty = service("shop", "empty", {"10.96.1.40"}, {servicePort("tcp", 80)});
  s.services.push_back(empty);
  s.services.push_back(service("shop", "db", {"None"}, {servicePort("tcp", 5432)}));
  auto ext = service("shop", "ext", {}, {servicePort("https", 443)});
  ext.spec.type = "ExternalName";
  s.services.push_back(ext);
  return s;
}

// The seed document's DestinationRule (LEAST_CONN, a connection pool, subsets v1 with ROUND_ROBIN
// and v2) behind a weighted tcp route.
model::Snapshot tcpWeightedSubsets() {
  model::Snapshot s;
  s.services.push_back(service("default", "reviews", {"10.96.0.20"}, {servicePort("tcp", 9080)}));
  s.endpointSlices.push_back(slice("default", "reviews", {{"tcp", 9080}},
                                   {{"10.0.1.1", "reviews-v1-a"},
                                    {"10.0.1.2", "reviews-v1-b"},
                                    {"10.0.2.1", "reviews-v2-a"},
                                    {"10.0.3.1", "reviews-v3-a"}}));
  s.pods.push_back(pod("default", "reviews-v1-a", {{"app", "reviews"}, {"version", "v1"}}));
  s.pods.push_back(pod("default", "reviews-v1-b", {{"app", "reviews"}, {"version", "v1"}}));
  s.pods.push_back(pod("default", "reviews-v2-a", {{"app", "reviews"}, {"version", "v2"}}));
  s.pods.push_back(pod("default", "reviews-v3-a", {{"app", "reviews"}, {"version", "v3"}}));
  s.destinationRules.push_back(destinationRule(
      "default", "reviews", fqdn("reviews"),
      {subset("v1", {{"version", "v1"}}, policy(simpleLb(model::SimpleLB::RoundRobin))),
       subset("v2", {{"version", "v2"}})},
      policy(simpleLb(model::SimpleLB::LeastConn), 100)));
  auto vs = virtualService("default", "reviews", {fqdn("reviews")});
  vs.spec.tcp.push_back(tcpRoute({to(fqdn("reviews"), "v1", 80), to(fqdn("reviews"), "v2", 20)}));
  s.virtualServices.push_back(vs);
  return s;
}

model::Snapshot sourceLabels() {
  model::Snapshot s = tcpWeightedSubsets();
  s.virtualServices.clear();
  s.pods.push_back(pod("default", "sleep", {{"app", "sleep"}, {"tier", "test"}}));
  s.pods.push_back(pod("default", "curl", {{"app", "curl"}}));
  s.pods.push_back(pod("canary", "sleep", {{"app", "sleep"}}));
  auto vs = virtualService("default", "reviews", {fqdn("reviews")});
  vs.spec.tcp.push_back(tcpRoute({to(fqdn("reviews"), "v2")}, {l4Match({}, {{"app", "sleep"}}, "canary")}));
  vs.spec.tcp.push_back(tcpRoute({to(fqdn("reviews"), "v1", 50), to(fqdn("reviews"), "v2", 50)},
                                 {l4Match({}, {{"app", "sleep"}})}));
  vs.spec.tcp.push_back(tcpRoute({to(fqdn("reviews"), "v1")}));
  s.virtualServices.push_back(vs);
  return s;
}

model::Snapshot httpModes() {
  model::Snapshot s;
  for (const char* name : {"plain", "catchall", "matched", "retrying"}) {
    s.services.push_back(service("web", name, {}, {servicePort("http", 80, 8080)}));
  }
  s.services[0].spec.clusterIPs = {"10.96.2.1"};
  s.services[1].spec.clusterIPs = {"10.96.2.2"};
  s.services[2].spec.clusterIPs = {"10.96.2.3"};
  s.services[3].spec.clusterIPs = {"10.96.2.4"};
  for (const char* name : {"plain", "catchall", "matched", "retrying"}) {
    s.endpointSlices.push_back(slice("web", name, {{"http", 8080}}, {{"10.3.0.1"}}));
  }
  auto catchall = virtualService("web", "catchall", {fqdn("catchall", "web")});
  catchall.spec.http.push_back(httpRoute({httpTo(fqdn("plain", "web"))}));
  s.virtualServices.push_back(catchall);
  auto matched = virtualService("web", "matched", {fqdn("matched", "web")});
  model::HTTPMatchRequest m;
  m.uri = model::StringMatch{model::StringMatch::Kind::Prefix, "/api"};
  matched.spec.http.push_back(httpRoute({httpTo(fqdn("plain", "web"))}, {m}));
  matched.spec.http.push_back(httpRoute({httpTo(fqdn("matched", "web"))}));
  s.virtualServices.push_back(matched);
  auto retrying = virtualService("web", "retrying", {fqdn("retrying", "web")});
  retrying.spec.http.push_back(httpRoute({httpTo(fqdn("retrying", "web"))}));
  retrying.spec.http[0].retries = model::HTTPRetry{3, {}, {}, {}, {}, {}};
  s.virtualServices.push_back(retrying);
  return s;
}

model::Snapshot hashPolicies() {
  model::Snapshot s;
  s.services.push_back(service("default", "sticky", {"10.96.3.1"},
                               {servicePort("tcp", 6379), servicePort("tcp-ring", 6380)}));
  std::vector<EndpointSpec> eps;
  for (int i = 1; i <= 5; ++i) {
    eps.push_back({"10.4.0." + std::to_string(i)});
  }
  s.endpointSlices.push_back(slice("default", "sticky", {{"tcp", 6379}, {"tcp-ring", 6380}}, eps));
  auto tp = policy(maglevLb(65537));
  model::PortTrafficPolicy ring;
  ring.port = 6380;
  ring.loadBalancer = ringLb(1024);
  tp.portLevelSettings.push_back(ring);
  s.destinationRules.push_back(destinationRule("default", "sticky", fqdn("sticky"), {}, tp));
  return s;
}

}  // namespace

std::map<std::string, model::Snapshot> goldenScenarios() {
  return {
      {"kube_proxy", kubeProxy()},
      {"tcp_weighted_subsets", tcpWeightedSubsets()},
      {"source_labels", sourceLabels()},
      {"http_modes", httpModes()},
      {"hash_policies", hashPolicies()},
  };
}

}  // namespace sluice::compile::testing
