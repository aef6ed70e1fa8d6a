#pragma once
// Small constructors for normalized model objects, so compile tests read like the YAML they stand
// for. Everything is already in normalized form: FQDN hosts, namespaces set, defaults filled.
#include <sluice/model/snapshot.h>

#include <optional>
#include <string>
#include <vector>

namespace sluice::compile::testing {

inline std::string fqdn(const std::string& name, const std::string& ns = "default") {
  return name + "." + ns + ".svc.cluster.local";
}

inline model::ServicePort servicePort(std::string name, int32_t port, int32_t targetPort = 0,
                                      std::string protocol = "TCP") {
  model::ServicePort p;
  p.name = std::move(name);
  p.port = port;
  if (targetPort) {
    p.targetPort.number = targetPort;
  }
  p.protocol = std::move(protocol);
  return p;
}

inline model::Service service(std::string ns, std::string name, std::vector<std::string> vips,
                              std::vector<model::ServicePort> ports) {
  model::Service s;
  s.meta.ns = std::move(ns);
  s.meta.name = std::move(name);
  if (!vips.empty()) {
    s.spec.clusterIP = vips.front();
  }
  s.spec.clusterIPs = std::move(vips);
  s.spec.ports = std::move(ports);
  return s;
}

struct EndpointSpec {
  EndpointSpec(std::string ip, std::string pod = "", std::optional<bool> ready = {},
               std::optional<bool> serving = {}, std::optional<bool> terminating = {},
               std::string zone = "")
      : ip(std::move(ip)), pod(std::move(pod)), ready(ready), serving(serving),
        terminating(terminating), zone(std::move(zone)) {}

  std::string ip;
  std::string pod;  // pod name in the slice's namespace; "" = no targetRef
  std::optional<bool> ready;
  std::optional<bool> serving;
  std::optional<bool> terminating;
  std::string zone;
};

struct SlicePort {
  SlicePort(std::string name, int32_t port, std::string protocol = "TCP")
      : name(std::move(name)), port(port), protocol(std::move(protocol)) {}

  std::string name;
  int32_t port;
  std::string protocol;
};

inline model::EndpointSlice slice(std::string ns, const std::string& service,
                                  const std::vector<SlicePort>& ports,
                                  const std::vector<EndpointSpec>& endpoints,
                                  std::string addressType = "IPv4", std::string suffix = "abc") {
  model::EndpointSlice es;
  es.meta.ns = std::move(ns);
  es.meta.name = service + "-" + suffix;
  es.meta.labels["kubernetes.io/service-name"] = service;
  es.addressType = std::move(addressType);
  for (const auto& sp : ports) {
    model::EndpointPort p;
    p.name = sp.name;
    p.port = sp.port;
    p.protocol = sp.protocol;
    es.ports.push_back(p);
  }
  for (const auto& spec : endpoints) {
    model::Endpoint ep;
    ep.addresses = {spec.ip};
    ep.conditions.ready = spec.ready;
    ep.conditions.serving = spec.serving;
    ep.conditions.terminating = spec.terminating;
    ep.zone = spec.zone;
    if (!spec.pod.empty()) {
      ep.targetRef = model::ObjectReference{"Pod", spec.pod, es.meta.ns, ""};
    }
    es.endpoints.push_back(ep);
  }
  return es;
}

inline model::Pod pod(std::string ns, std::string name, model::Labels labels) {
  model::Pod p;
  p.meta.ns = std::move(ns);
  p.meta.name = std::move(name);
  p.meta.labels = std::move(labels);
  p.status.phase = "Running";
  return p;
}

inline model::RouteDestination to(std::string host, std::string subset = "", int32_t weight = 100,
                                  std::optional<uint32_t> port = std::nullopt) {
  model::RouteDestination d;
  d.destination.host = std::move(host);
  d.destination.subset = std::move(subset);
  d.destination.port = port;
  d.weight = weight;
  return d;
}

inline model::HTTPRouteDestination httpTo(std::string host, std::string subset = "",
                                          int32_t weight = 100) {
  model::HTTPRouteDestination d;
  d.destination.host = std::move(host);
  d.destination.subset = std::move(subset);
  d.weight = weight;
  return d;
}

inline model::VirtualService virtualService(std::string ns, std::string name,
                                            std::vector<std::string> hosts,
                                            std::string created = "2026-01-01T00:00:00Z") {
  model::VirtualService vs;
  vs.apiVersion = "networking.istio.io/v1";
  vs.meta.ns = std::move(ns);
  vs.meta.name = std::move(name);
  vs.meta.creationTimestamp = std::move(created);
  vs.spec.hosts = std::move(hosts);
  vs.spec.gateways = {"mesh"};
  return vs;
}

inline model::TCPRoute tcpRoute(std::vector<model::RouteDestination> route,
                                std::vector<model::L4MatchAttributes> match = {}) {
  model::TCPRoute r;
  r.route = std::move(route);
  r.match = std::move(match);
  return r;
}

inline model::L4MatchAttributes l4Match(std::optional<uint32_t> port = std::nullopt,
                                        model::Labels sourceLabels = {},
                                        std::string sourceNamespace = "",
                                        std::vector<std::string> subnets = {}) {
  model::L4MatchAttributes m;
  m.port = port;
  m.sourceLabels = std::move(sourceLabels);
  m.sourceNamespace = std::move(sourceNamespace);
  m.destinationSubnets = std::move(subnets);
  return m;
}

inline model::HTTPRoute httpRoute(std::vector<model::HTTPRouteDestination> route,
                                  std::vector<model::HTTPMatchRequest> match = {}) {
  model::HTTPRoute r;
  r.route = std::move(route);
  r.match = std::move(match);
  return r;
}

inline model::LoadBalancerSettings simpleLb(model::SimpleLB lb) {
  model::LoadBalancerSettings s;
  s.simple = lb;
  return s;
}

inline model::LoadBalancerSettings maglevLb(uint64_t tableSize) {
  model::LoadBalancerSettings s;
  s.consistentHash.emplace();
  s.consistentHash->useSourceIp = true;
  s.consistentHash->maglev = model::MagLev{tableSize};
  return s;
}

inline model::LoadBalancerSettings ringLb(uint64_t ringSize) {
  model::LoadBalancerSettings s;
  s.consistentHash.emplace();
  s.consistentHash->useSourceIp = true;
  s.consistentHash->ringHash = model::RingHash{ringSize};
  return s;
}

inline model::TrafficPolicy policy(std::optional<model::LoadBalancerSettings> lb,
                                   std::optional<int32_t> maxConnections = std::nullopt) {
  model::TrafficPolicy p;
  p.loadBalancer = std::move(lb);
  if (maxConnections) {
    p.connectionPool.emplace();
    p.connectionPool->tcp.emplace();
    p.connectionPool->tcp->maxConnections = maxConnections;
  }
  return p;
}

inline model::Subset subset(std::string name, model::Labels labels,
                            std::optional<model::TrafficPolicy> tp = std::nullopt) {
  model::Subset s;
  s.name = std::move(name);
  s.labels = std::move(labels);
  s.trafficPolicy = std::move(tp);
  return s;
}

inline model::DestinationRule destinationRule(std::string ns, std::string name, std::string host,
                                              std::vector<model::Subset> subsets = {},
                                              std::optional<model::TrafficPolicy> tp = {}) {
  model::DestinationRule dr;
  dr.apiVersion = "networking.istio.io/v1";
  dr.meta.ns = std::move(ns);
  dr.meta.name = std::move(name);
  dr.meta.creationTimestamp = "2026-01-01T00:00:00Z";
  dr.spec.host = std::move(host);
  dr.spec.subsets = std::move(subsets);
  dr.spec.trafficPolicy = std::move(tp);
  return dr;
}

}  // namespace sluice::compile::testing
