#include "snapshot_json.h"

#include <cstdio>

namespace sluice::cli {
namespace {

using J = nlohmann::ordered_json;
using namespace sluice::model;

// Every converter is declared first so the templates below can reach all of them.
J toJ(const std::string& v);
J toJ(bool v);
J toJ(int32_t v);
J toJ(uint32_t v);
J toJ(uint64_t v);
J toJ(double v);
J toJ(Duration v);
J toJ(const StringMatch& v);
J toJ(const ObjectMeta& v);
J toJ(const Destination& v);
J toJ(const HeaderOperations& v);
J toJ(const Headers& v);
J toJ(const HTTPMatchRequest& v);
J toJ(const HTTPRouteDestination& v);
J toJ(const HTTPRedirect& v);
J toJ(const HTTPBody& v);
J toJ(const HTTPDirectResponse& v);
J toJ(const RegexRewrite& v);
J toJ(const HTTPRewrite& v);
J toJ(const HTTPRetry& v);
J toJ(const FaultDelay& v);
J toJ(const FaultAbort& v);
J toJ(const HTTPFaultInjection& v);
J toJ(const HTTPMirrorPolicy& v);
J toJ(const CorsPolicy& v);
J toJ(const Delegate& v);
J toJ(const HTTPRoute& v);
J toJ(const RouteDestination& v);
J toJ(const TLSMatchAttributes& v);
J toJ(const TLSRoute& v);
J toJ(const L4MatchAttributes& v);
J toJ(const TCPRoute& v);
J toJ(const HTTPCookieAttribute& v);
J toJ(const HTTPCookie& v);
J toJ(const ConsistentHashLB& v);
J toJ(const LocalityDistribute& v);
J toJ(const LocalityFailover& v);
J toJ(const LocalityLoadBalancerSetting& v);
J toJ(const WarmupConfiguration& v);
J toJ(const ZoneAwareLoadBalancerSetting& v);
J toJ(const LoadBalancerSettings& v);
J toJ(const TcpKeepalive& v);
J toJ(const TCPSettings& v);
J toJ(const Http2KeepAlive& v);
J toJ(const HTTPSettings& v);
J toJ(const ConnectionPoolSettings& v);
J toJ(const OutlierDetection& v);
J toJ(const ClientTLSSettings& v);
J toJ(const PortTrafficPolicy& v);
J toJ(const TrafficPolicy& v);
J toJ(const Subset& v);
J toJ(const ServicePort& v);
J toJ(const Endpoint& v);
J toJ(const EndpointPort& v);
J toJ(const ContainerPort& v);

template <typename T>
J toJ(const std::vector<T>& v) {
  J out = J::array();
  for (const T& item : v) {
    out.push_back(toJ(item));
  }
  return out;
}

template <typename T>
J toJ(const std::map<std::string, T>& v) {
  J out = J::object();
  for (const auto& [key, value] : v) {
    out[key] = toJ(value);
  }
  return out;
}

template <typename T>
bool isEmpty(const T& v) {
  if constexpr (requires { v.empty(); }) {
    return v.empty();
  } else if constexpr (std::is_same_v<T, bool>) {
    return !v;
  } else {
    return false;
  }
}

template <typename T>
void put(J& j, const char* key, const T& v) {
  if (!isEmpty(v)) {
    j[key] = toJ(v);
  }
}

template <typename T>
void put(J& j, const char* key, const std::optional<T>& v) {
  if (v) {
    j[key] = toJ(*v);
  }
}

void putPercent(J& j, const char* key, const std::optional<double>& v) {
  if (v) {
    j[key] = J{{"value", *v}};
  }
}

void putPort(J& j, const char* key, const std::optional<uint32_t>& v) {
  if (v) {
    j[key] = J{{"number", *v}};
  }
}

J toJ(const std::string& v) {
  return v;
}
J toJ(bool v) {
  return v;
}
J toJ(int32_t v) {
  return v;
}
J toJ(uint32_t v) {
  return v;
}
J toJ(uint64_t v) {
  return v;
}
J toJ(double v) {
  return v;
}

J toJ(Duration v) {
  const int64_t ns = v.count();
  const uint64_t abs = ns < 0 ? 0 - static_cast<uint64_t>(ns) : static_cast<uint64_t>(ns);
  char buf[48];
  std::snprintf(buf, sizeof(buf), "%s%llu.%09llus", ns < 0 ? "-" : "",
                static_cast<unsigned long long>(abs / 1'000'000'000),
                static_cast<unsigned long long>(abs % 1'000'000'000));
  std::string s = buf;
  // protojson uses 0, 3, 6 or 9 fraction digits.
  for (int i = 0; i < 3 && s.ends_with("000s"); ++i) {
    s.erase(s.size() - 4, 3);
  }
  if (s.ends_with(".s")) {
    s.erase(s.size() - 2, 1);
  }
  return s;
}

J toJ(const StringMatch& v) {
  switch (v.kind) {
    case StringMatch::Kind::Exact:
      return J{{"exact", v.value}};
    case StringMatch::Kind::Prefix:
      return J{{"prefix", v.value}};
    case StringMatch::Kind::Regex:
      return J{{"regex", v.value}};
    case StringMatch::Kind::Any:
      break;
  }
  return J::object();
}

J toJ(const ObjectMeta& v) {
  J j = J::object();
  put(j, "name", v.name);
  put(j, "namespace", v.ns);
  put(j, "labels", v.labels);
  put(j, "annotations", v.annotations);
  put(j, "uid", v.uid);
  put(j, "resourceVersion", v.resourceVersion);
  if (v.generation != 0) {
    j["generation"] = v.generation;
  }
  put(j, "creationTimestamp", v.creationTimestamp);
  return j;
}

J toJ(const Destination& v) {
  J j = J::object();
  put(j, "host", v.host);
  put(j, "subset", v.subset);
  putPort(j, "port", v.port);
  return j;
}

J toJ(const HeaderOperations& v) {
  J j = J::object();
  put(j, "set", v.set);
  put(j, "add", v.add);
  put(j, "remove", v.remove);
  return j;
}

J toJ(const Headers& v) {
  J j = J::object();
  put(j, "request", v.request);
  put(j, "response", v.response);
  return j;
}

J toJ(const HTTPMatchRequest& v) {
  J j = J::object();
  put(j, "name", v.name);
  put(j, "uri", v.uri);
  put(j, "scheme", v.scheme);
  put(j, "method", v.method);
  put(j, "authority", v.authority);
  put(j, "headers", v.headers);
  put(j, "port", v.port);
  put(j, "sourceLabels", v.sourceLabels);
  put(j, "gateways", v.gateways);
  put(j, "queryParams", v.queryParams);
  put(j, "ignoreUriCase", v.ignoreUriCase);
  put(j, "withoutHeaders", v.withoutHeaders);
  put(j, "sourceNamespace", v.sourceNamespace);
  put(j, "statPrefix", v.statPrefix);
  return j;
}

J toJ(const HTTPRouteDestination& v) {
  J j = J::object();
  j["destination"] = toJ(v.destination);
  j["weight"] = v.weight;
  put(j, "headers", v.headers);
  return j;
}

J toJ(const HTTPRedirect& v) {
  J j = J::object();
  put(j, "uri", v.uri);
  put(j, "authority", v.authority);
  put(j, "port", v.port);
  if (v.derivePort) {
    j["derivePort"] = *v.derivePort == RedirectPortSelection::FromRequestPort
                          ? "FROM_REQUEST_PORT"
                          : "FROM_PROTOCOL_DEFAULT";
  }
  put(j, "scheme", v.scheme);
  put(j, "redirectCode", v.redirectCode);
  put(j, "prefixRewrite", v.prefixRewrite);
  return j;
}

J toJ(const HTTPBody& v) {
  J j = J::object();
  put(j, "string", v.string);
  // Bytes were decoded by the parser; shown as text so the normalized view stays readable.
  put(j, "bytes", v.bytes);
  return j;
}

J toJ(const HTTPDirectResponse& v) {
  J j = J::object();
  j["status"] = v.status;
  put(j, "body", v.body);
  return j;
}

J toJ(const RegexRewrite& v) {
  return J{{"match", v.match}, {"rewrite", v.rewrite}};
}

J toJ(const HTTPRewrite& v) {
  J j = J::object();
  put(j, "uri", v.uri);
  put(j, "authority", v.authority);
  put(j, "uriRegexRewrite", v.uriRegexRewrite);
  return j;
}

J toJ(const HTTPRetry& v) {
  J j = J::object();
  j["attempts"] = v.attempts;
  put(j, "perTryTimeout", v.perTryTimeout);
  put(j, "retryOn", v.retryOn);
  put(j, "retryRemoteLocalities", v.retryRemoteLocalities);
  put(j, "retryIgnorePreviousHosts", v.retryIgnorePreviousHosts);
  put(j, "backoff", v.backoff);
  return j;
}

J toJ(const FaultDelay& v) {
  J j = J::object();
  put(j, "fixedDelay", v.fixedDelay);
  put(j, "exponentialDelay", v.exponentialDelay);
  putPercent(j, "percentage", v.percentage);
  put(j, "percent", v.percent);
  return j;
}

J toJ(const FaultAbort& v) {
  J j = J::object();
  put(j, "httpStatus", v.httpStatus);
  put(j, "grpcStatus", v.grpcStatus);
  put(j, "http2Error", v.http2Error);
  putPercent(j, "percentage", v.percentage);
  return j;
}

J toJ(const HTTPFaultInjection& v) {
  J j = J::object();
  put(j, "delay", v.delay);
  put(j, "abort", v.abort);
  return j;
}

J toJ(const HTTPMirrorPolicy& v) {
  J j = J::object();
  j["destination"] = toJ(v.destination);
  putPercent(j, "percentage", v.percentage);
  return j;
}

J toJ(const CorsPolicy& v) {
  J j = J::object();
  put(j, "allowOrigin", v.allowOrigin);
  put(j, "allowOrigins", v.allowOrigins);
  put(j, "allowMethods", v.allowMethods);
  put(j, "allowHeaders", v.allowHeaders);
  put(j, "exposeHeaders", v.exposeHeaders);
  put(j, "maxAge", v.maxAge);
  put(j, "allowCredentials", v.allowCredentials);
  constexpr const char* kNames[] = {"UNSPECIFIED", "FORWARD", "IGNORE"};
  j["unmatchedPreflights"] = kNames[static_cast<int>(v.unmatchedPreflights)];
  return j;
}

J toJ(const Delegate& v) {
  J j = J::object();
  put(j, "name", v.name);
  put(j, "namespace", v.ns);
  return j;
}

J toJ(const HTTPRoute& v) {
  J j = J::object();
  put(j, "name", v.name);
  put(j, "match", v.match);
  put(j, "route", v.route);
  put(j, "redirect", v.redirect);
  put(j, "directResponse", v.directResponse);
  put(j, "delegate", v.delegate);
  put(j, "rewrite", v.rewrite);
  put(j, "timeout", v.timeout);
  put(j, "retries", v.retries);
  put(j, "fault", v.fault);
  put(j, "mirror", v.mirror);
  put(j, "mirrors", v.mirrors);
  put(j, "mirrorPercent", v.mirrorPercent);
  putPercent(j, "mirrorPercentage", v.mirrorPercentage);
  put(j, "corsPolicy", v.corsPolicy);
  put(j, "headers", v.headers);
  return j;
}

J toJ(const RouteDestination& v) {
  return J{{"destination", toJ(v.destination)}, {"weight", v.weight}};
}

J toJ(const TLSMatchAttributes& v) {
  J j = J::object();
  put(j, "sniHosts", v.sniHosts);
  put(j, "destinationSubnets", v.destinationSubnets);
  put(j, "port", v.port);
  put(j, "sourceLabels", v.sourceLabels);
  put(j, "gateways", v.gateways);
  put(j, "sourceNamespace", v.sourceNamespace);
  return j;
}

J toJ(const TLSRoute& v) {
  J j = J::object();
  put(j, "match", v.match);
  put(j, "route", v.route);
  return j;
}

J toJ(const L4MatchAttributes& v) {
  J j = J::object();
  put(j, "destinationSubnets", v.destinationSubnets);
  put(j, "port", v.port);
  put(j, "sourceSubnet", v.sourceSubnet);
  put(j, "sourceLabels", v.sourceLabels);
  put(j, "gateways", v.gateways);
  put(j, "sourceNamespace", v.sourceNamespace);
  return j;
}

J toJ(const TCPRoute& v) {
  J j = J::object();
  put(j, "match", v.match);
  put(j, "route", v.route);
  return j;
}

J toJ(const HTTPCookieAttribute& v) {
  J j = J::object();
  put(j, "name", v.name);
  put(j, "value", v.value);
  return j;
}

J toJ(const HTTPCookie& v) {
  J j = J::object();
  put(j, "name", v.name);
  put(j, "path", v.path);
  put(j, "ttl", v.ttl);
  put(j, "attributes", v.attributes);
  return j;
}

J toJ(const ConsistentHashLB& v) {
  J j = J::object();
  put(j, "httpHeaderName", v.httpHeaderName);
  put(j, "httpCookie", v.httpCookie);
  put(j, "useSourceIp", v.useSourceIp);
  put(j, "httpQueryParameterName", v.httpQueryParameterName);
  if (v.ringHash) {
    J r = J::object();
    put(r, "minimumRingSize", v.ringHash->minimumRingSize);
    j["ringHash"] = r;
  }
  if (v.maglev) {
    J m = J::object();
    put(m, "tableSize", v.maglev->tableSize);
    j["maglev"] = m;
  }
  put(j, "minimumRingSize", v.minimumRingSize);
  return j;
}

J toJ(const LocalityDistribute& v) {
  J j = J::object();
  put(j, "from", v.from);
  put(j, "to", v.to);
  return j;
}

J toJ(const LocalityFailover& v) {
  J j = J::object();
  put(j, "from", v.from);
  put(j, "to", v.to);
  return j;
}

J toJ(const LocalityLoadBalancerSetting& v) {
  J j = J::object();
  put(j, "distribute", v.distribute);
  put(j, "failover", v.failover);
  put(j, "failoverPriority", v.failoverPriority);
  put(j, "enabled", v.enabled);
  return j;
}

J toJ(const WarmupConfiguration& v) {
  J j = J::object();
  put(j, "duration", v.duration);
  put(j, "minimumPercent", v.minimumPercent);
  put(j, "aggression", v.aggression);
  return j;
}

J toJ(const ZoneAwareLoadBalancerSetting& v) {
  J j = J::object();
  put(j, "enabled", v.enabled);
  put(j, "minClusterSize", v.minClusterSize);
  return j;
}

J toJ(const LoadBalancerSettings& v) {
  J j = J::object();
  if (v.simple) {
    constexpr const char* kNames[] = {"UNSPECIFIED", "LEAST_CONN",  "RANDOM",
                                      "PASSTHROUGH", "ROUND_ROBIN", "LEAST_REQUEST"};
    j["simple"] = kNames[static_cast<int>(*v.simple)];
  }
  put(j, "consistentHash", v.consistentHash);
  put(j, "localityLbSetting", v.localityLbSetting);
  put(j, "zoneAwareLbSetting", v.zoneAwareLbSetting);
  put(j, "warmupDurationSecs", v.warmupDurationSecs);
  put(j, "warmup", v.warmup);
  return j;
}

J toJ(const TcpKeepalive& v) {
  J j = J::object();
  put(j, "probes", v.probes);
  put(j, "time", v.time);
  put(j, "interval", v.interval);
  return j;
}

J toJ(const TCPSettings& v) {
  J j = J::object();
  put(j, "maxConnections", v.maxConnections);
  put(j, "connectTimeout", v.connectTimeout);
  put(j, "tcpKeepalive", v.tcpKeepalive);
  put(j, "maxConnectionDuration", v.maxConnectionDuration);
  put(j, "idleTimeout", v.idleTimeout);
  return j;
}

J toJ(const Http2KeepAlive& v) {
  J j = J::object();
  put(j, "interval", v.interval);
  put(j, "timeout", v.timeout);
  return j;
}

J toJ(const HTTPSettings& v) {
  J j = J::object();
  put(j, "http1MaxPendingRequests", v.http1MaxPendingRequests);
  put(j, "http2MaxRequests", v.http2MaxRequests);
  put(j, "maxRequestsPerConnection", v.maxRequestsPerConnection);
  put(j, "maxRetries", v.maxRetries);
  put(j, "idleTimeout", v.idleTimeout);
  constexpr const char* kNames[] = {"DEFAULT", "DO_NOT_UPGRADE", "UPGRADE"};
  j["h2UpgradePolicy"] = kNames[static_cast<int>(v.h2UpgradePolicy)];
  put(j, "useClientProtocol", v.useClientProtocol);
  put(j, "maxConcurrentStreams", v.maxConcurrentStreams);
  put(j, "http2KeepAlive", v.http2KeepAlive);
  return j;
}

J toJ(const ConnectionPoolSettings& v) {
  J j = J::object();
  put(j, "tcp", v.tcp);
  put(j, "http", v.http);
  return j;
}

J toJ(const OutlierDetection& v) {
  J j = J::object();
  put(j, "consecutiveErrors", v.consecutiveErrors);
  put(j, "splitExternalLocalOriginErrors", v.splitExternalLocalOriginErrors);
  put(j, "consecutiveLocalOriginFailures", v.consecutiveLocalOriginFailures);
  put(j, "consecutiveGatewayErrors", v.consecutiveGatewayErrors);
  put(j, "consecutive5xxErrors", v.consecutive5xxErrors);
  put(j, "interval", v.interval);
  put(j, "baseEjectionTime", v.baseEjectionTime);
  put(j, "maxEjectionPercent", v.maxEjectionPercent);
  put(j, "minHealthPercent", v.minHealthPercent);
  put(j, "outlierDetectionHttpErrorCodes", v.outlierDetectionHttpErrorCodes);
  return j;
}

J toJ(const ClientTLSSettings& v) {
  J j = J::object();
  constexpr const char* kNames[] = {"DISABLE", "SIMPLE", "MUTUAL", "ISTIO_MUTUAL"};
  j["mode"] = kNames[static_cast<int>(v.mode)];
  put(j, "clientCertificate", v.clientCertificate);
  put(j, "privateKey", v.privateKey);
  put(j, "caCertificates", v.caCertificates);
  put(j, "credentialName", v.credentialName);
  put(j, "subjectAltNames", v.subjectAltNames);
  put(j, "sni", v.sni);
  put(j, "insecureSkipVerify", v.insecureSkipVerify);
  put(j, "caCrl", v.caCrl);
  return j;
}

J toJ(const PortTrafficPolicy& v) {
  J j = J::object();
  putPort(j, "port", v.port);
  put(j, "loadBalancer", v.loadBalancer);
  put(j, "connectionPool", v.connectionPool);
  put(j, "outlierDetection", v.outlierDetection);
  put(j, "tls", v.tls);
  return j;
}

J toJ(const TrafficPolicy& v) {
  J j = J::object();
  put(j, "loadBalancer", v.loadBalancer);
  put(j, "connectionPool", v.connectionPool);
  put(j, "outlierDetection", v.outlierDetection);
  put(j, "tls", v.tls);
  put(j, "portLevelSettings", v.portLevelSettings);
  if (v.tunnel) {
    J t = J::object();
    put(t, "protocol", v.tunnel->protocol);
    put(t, "targetHost", v.tunnel->targetHost);
    t["targetPort"] = v.tunnel->targetPort;
    j["tunnel"] = t;
  }
  if (v.proxyProtocol) {
    j["proxyProtocol"] = J{{"version", v.proxyProtocol->version == ProxyProtocolVersion::V2 ? "V2" : "V1"}};
  }
  if (v.retryBudget) {
    J r = J::object();
    put(r, "percent", v.retryBudget->percent);
    put(r, "minRetryConcurrency", v.retryBudget->minRetryConcurrency);
    put(r, "budgetInterval", v.retryBudget->budgetInterval);
    j["retryBudget"] = r;
  }
  return j;
}

J toJ(const Subset& v) {
  J j = J::object();
  put(j, "name", v.name);
  put(j, "labels", v.labels);
  put(j, "trafficPolicy", v.trafficPolicy);
  return j;
}

J toJ(const ServicePort& v) {
  J j = J::object();
  put(j, "name", v.name);
  put(j, "protocol", v.protocol);
  put(j, "appProtocol", v.appProtocol);
  j["port"] = v.port;
  if (v.targetPort.number) {
    j["targetPort"] = *v.targetPort.number;
  } else {
    put(j, "targetPort", v.targetPort.name);
  }
  put(j, "nodePort", v.nodePort);
  return j;
}

J toJ(const Endpoint& v) {
  J j = J::object();
  put(j, "addresses", v.addresses);
  J c = J::object();
  put(c, "ready", v.conditions.ready);
  put(c, "serving", v.conditions.serving);
  put(c, "terminating", v.conditions.terminating);
  j["conditions"] = c;
  put(j, "hostname", v.hostname);
  put(j, "nodeName", v.nodeName);
  put(j, "zone", v.zone);
  if (v.targetRef) {
    J r = J::object();
    put(r, "kind", v.targetRef->kind);
    put(r, "name", v.targetRef->name);
    put(r, "namespace", v.targetRef->ns);
    put(r, "uid", v.targetRef->uid);
    j["targetRef"] = r;
  }
  return j;
}

J toJ(const EndpointPort& v) {
  J j = J::object();
  put(j, "name", v.name);
  put(j, "port", v.port);
  put(j, "protocol", v.protocol);
  put(j, "appProtocol", v.appProtocol);
  return j;
}

J toJ(const ContainerPort& v) {
  J j = J::object();
  put(j, "name", v.name);
  j["containerPort"] = v.containerPort;
  put(j, "protocol", v.protocol);
  return j;
}

J object(const char* apiVersion, const char* kind, const ObjectMeta& meta) {
  return J{{"apiVersion", apiVersion}, {"kind", kind}, {"metadata", toJ(meta)}};
}

}  // namespace

nlohmann::ordered_json snapshotToJson(const Snapshot& snapshot) {
  J items = J::array();
  for (const Service& s : snapshot.services) {
    J o = object("v1", "Service", s.meta);
    J spec = J::object();
    put(spec, "type", s.spec.type);
    put(spec, "clusterIP", s.spec.clusterIP);
    put(spec, "clusterIPs", s.spec.clusterIPs);
    put(spec, "ipFamilies", s.spec.ipFamilies);
    put(spec, "ipFamilyPolicy", s.spec.ipFamilyPolicy);
    put(spec, "ports", s.spec.ports);
    put(spec, "selector", s.spec.selector);
    put(spec, "sessionAffinity", s.spec.sessionAffinity);
    put(spec, "publishNotReadyAddresses", s.spec.publishNotReadyAddresses);
    put(spec, "internalTrafficPolicy", s.spec.internalTrafficPolicy);
    put(spec, "externalTrafficPolicy", s.spec.externalTrafficPolicy);
    put(spec, "trafficDistribution", s.spec.trafficDistribution);
    put(spec, "externalName", s.spec.externalName);
    o["spec"] = spec;
    items.push_back(o);
  }
  for (const EndpointSlice& e : snapshot.endpointSlices) {
    J o = object("discovery.k8s.io/v1", "EndpointSlice", e.meta);
    o["addressType"] = e.addressType;
    put(o, "endpoints", e.endpoints);
    put(o, "ports", e.ports);
    items.push_back(o);
  }
  for (const Pod& p : snapshot.pods) {
    J o = object("v1", "Pod", p.meta);
    J spec = J::object();
    put(spec, "nodeName", p.nodeName);
    put(spec, "serviceAccountName", p.serviceAccountName);
    if (!p.ports.empty()) {
      spec["containers"] = J::array({J{{"ports", toJ(p.ports)}}});
    }
    o["spec"] = spec;
    J status = J::object();
    put(status, "phase", p.status.phase);
    put(status, "podIP", p.status.podIP);
    if (!p.status.podIPs.empty()) {
      J ips = J::array();
      for (const std::string& ip : p.status.podIPs) {
        ips.push_back(J{{"ip", ip}});
      }
      status["podIPs"] = ips;
    }
    put(status, "hostIP", p.status.hostIP);
    o["status"] = status;
    items.push_back(o);
  }
  for (const VirtualService& vs : snapshot.virtualServices) {
    J o = J{{"apiVersion", vs.apiVersion}, {"kind", "VirtualService"}, {"metadata", toJ(vs.meta)}};
    J spec = J::object();
    put(spec, "hosts", vs.spec.hosts);
    put(spec, "gateways", vs.spec.gateways);
    put(spec, "http", vs.spec.http);
    put(spec, "tls", vs.spec.tls);
    put(spec, "tcp", vs.spec.tcp);
    put(spec, "exportTo", vs.spec.exportTo);
    o["spec"] = spec;
    items.push_back(o);
  }
  for (const DestinationRule& dr : snapshot.destinationRules) {
    J o = J{{"apiVersion", dr.apiVersion}, {"kind", "DestinationRule"}, {"metadata", toJ(dr.meta)}};
    J spec = J::object();
    put(spec, "host", dr.spec.host);
    put(spec, "trafficPolicy", dr.spec.trafficPolicy);
    put(spec, "subsets", dr.spec.subsets);
    put(spec, "exportTo", dr.spec.exportTo);
    if (dr.spec.workloadSelector) {
      spec["workloadSelector"] = J{{"matchLabels", toJ(dr.spec.workloadSelector->matchLabels)}};
    }
    o["spec"] = spec;
    items.push_back(o);
  }
  return J{{"apiVersion", "v1"}, {"kind", "List"}, {"items", items}};
}

}  // namespace sluice::cli
