// networking.istio.io VirtualService and DestinationRule. Field names, types, enums, `required` and
// `oneOf` follow istio/istio manifests/charts/base/files/crd-all.gen.yaml (v1, v1beta1 and v1alpha3
// share one schema there). Value rules (durations ≥ 1ms, port ranges, regexes) are validate's.
#include "kinds.h"

namespace sluice::parse {
namespace {

using namespace sluice::model;

constexpr size_t kMaxPortLevelSettings = 4096;

// ---------------------------------------------------------------- shared pieces

void readStringMatch(MapReader& m, StringMatch& out) {
  m.atMostOne({"exact", "prefix", "regex"});
  constexpr std::pair<std::string_view, StringMatch::Kind> kKinds[] = {
      {"exact", StringMatch::Kind::Exact},
      {"prefix", StringMatch::Kind::Prefix},
      {"regex", StringMatch::Kind::Regex}};
  for (const auto& [key, kind] : kKinds) {
    if (auto n = m.take(key)) {
      std::string value;
      if (readString(m.context(), *n, m.pathOf(key), value) && out.kind == StringMatch::Kind::Any) {
        out.kind = kind;
        out.value = std::move(value);
      }
    }
  }
}

void readStringMatchOpt(MapReader& m, std::string_view key, std::optional<StringMatch>& out) {
  m.object(key, out, readStringMatch);
}

void readDestination(MapReader& m, Destination& out) {
  m.require({"host"});
  m.read("host", out.host);
  m.read("subset", out.subset);
  m.portSelector("port", out.port);
}

void readHeaderOperations(MapReader& m, HeaderOperations& out) {
  m.read("set", out.set);
  m.read("add", out.add);
  m.read("remove", out.remove);
}

void readHeaders(MapReader& m, Headers& out) {
  m.object("request", out.request, readHeaderOperations);
  m.object("response", out.response, readHeaderOperations);
}

void readExportTo(MapReader& m, std::vector<std::string>& out) {
  m.read("exportTo", out);
}

// ---------------------------------------------------------------- VirtualService

void readHttpMatch(MapReader& m, HTTPMatchRequest& out) {
  m.read("name", out.name);
  readStringMatchOpt(m, "uri", out.uri);
  readStringMatchOpt(m, "scheme", out.scheme);
  readStringMatchOpt(m, "method", out.method);
  readStringMatchOpt(m, "authority", out.authority);
  m.objectMap("headers", out.headers, readStringMatch);
  m.read("port", out.port);
  m.read("sourceLabels", out.sourceLabels);
  m.read("gateways", out.gateways);
  m.objectMap("queryParams", out.queryParams, readStringMatch);
  m.read("ignoreUriCase", out.ignoreUriCase);
  m.objectMap("withoutHeaders", out.withoutHeaders, readStringMatch);
  m.read("sourceNamespace", out.sourceNamespace);
  m.read("statPrefix", out.statPrefix);
}

void readHttpRouteDestination(MapReader& m, HTTPRouteDestination& out) {
  m.require({"destination"});
  m.object("destination", out.destination, readDestination);
  m.read("weight", out.weight);
  m.object("headers", out.headers, readHeaders);
}

void readRedirect(MapReader& m, HTTPRedirect& out) {
  m.atMostOne({"port", "derivePort"});
  m.read("uri", out.uri);
  m.read("authority", out.authority);
  m.read("port", out.port);
  m.enumeration("derivePort", out.derivePort,
                EnumNames<RedirectPortSelection>{
                    {"FROM_PROTOCOL_DEFAULT", RedirectPortSelection::FromProtocolDefault},
                    {"FROM_REQUEST_PORT", RedirectPortSelection::FromRequestPort}});
  m.read("scheme", out.scheme);
  m.read("redirectCode", out.redirectCode);
  m.read("prefixRewrite", out.prefixRewrite);
}

void readBody(MapReader& m, HTTPBody& out) {
  m.atMostOne({"string", "bytes"});
  m.read("string", out.string);
  if (auto n = m.take("bytes")) {
    std::string decoded;
    if (readBytes(m.context(), *n, m.pathOf("bytes"), decoded)) {
      out.bytes = std::move(decoded);
    }
  }
}

void readDirectResponse(MapReader& m, HTTPDirectResponse& out) {
  m.require({"status"});
  m.read("status", out.status);
  m.object("body", out.body, readBody);
}

void readRewrite(MapReader& m, HTTPRewrite& out) {
  m.read("uri", out.uri);
  m.read("authority", out.authority);
  m.object("uriRegexRewrite", out.uriRegexRewrite, [](MapReader& r, RegexRewrite& rr) {
    r.read("match", rr.match);
    r.read("rewrite", rr.rewrite);
  });
}

void readRetry(MapReader& m, HTTPRetry& out) {
  m.read("attempts", out.attempts);
  m.read("perTryTimeout", out.perTryTimeout);
  m.read("retryOn", out.retryOn);
  m.read("retryRemoteLocalities", out.retryRemoteLocalities);
  m.read("retryIgnorePreviousHosts", out.retryIgnorePreviousHosts);
  m.read("backoff", out.backoff);
}

void readFault(MapReader& m, HTTPFaultInjection& out) {
  m.object("delay", out.delay, [](MapReader& d, FaultDelay& delay) {
    d.atMostOne({"fixedDelay", "exponentialDelay"});
    d.read("fixedDelay", delay.fixedDelay);
    d.read("exponentialDelay", delay.exponentialDelay);
    d.percent("percentage", delay.percentage);
    d.read("percent", delay.percent);
  });
  m.object("abort", out.abort, [](MapReader& a, FaultAbort& abort) {
    a.atMostOne({"httpStatus", "grpcStatus", "http2Error"});
    a.read("httpStatus", abort.httpStatus);
    a.read("grpcStatus", abort.grpcStatus);
    a.read("http2Error", abort.http2Error);
    a.percent("percentage", abort.percentage);
  });
}

void readCors(MapReader& m, CorsPolicy& out) {
  m.read("allowOrigin", out.allowOrigin);
  m.list("allowOrigins", out.allowOrigins, readStringMatch);
  m.read("allowMethods", out.allowMethods);
  m.read("allowHeaders", out.allowHeaders);
  m.read("exposeHeaders", out.exposeHeaders);
  m.read("maxAge", out.maxAge);
  m.read("allowCredentials", out.allowCredentials);
  m.enumeration("unmatchedPreflights", out.unmatchedPreflights,
                EnumNames<UnmatchedPreflights>{{"UNSPECIFIED", UnmatchedPreflights::Unspecified},
                                               {"FORWARD", UnmatchedPreflights::Forward},
                                               {"IGNORE", UnmatchedPreflights::Ignore}});
}

void readHttpRoute(MapReader& m, HTTPRoute& out) {
  m.read("name", out.name);
  m.list("match", out.match, readHttpMatch);
  m.list("route", out.route, readHttpRouteDestination);
  m.object("redirect", out.redirect, readRedirect);
  m.object("directResponse", out.directResponse, readDirectResponse);
  m.object("delegate", out.delegate, [](MapReader& d, Delegate& delegate) {
    d.read("name", delegate.name);
    d.read("namespace", delegate.ns);
  });
  m.object("rewrite", out.rewrite, readRewrite);
  m.read("timeout", out.timeout);
  m.object("retries", out.retries, readRetry);
  m.object("fault", out.fault, readFault);
  m.object("mirror", out.mirror, readDestination);
  m.list("mirrors", out.mirrors, [](MapReader& p, HTTPMirrorPolicy& policy) {
    p.require({"destination"});
    p.object("destination", policy.destination, readDestination);
    p.percent("percentage", policy.percentage);
  });
  // The CRD carries the proto field under both its JSON name and its original snake_case name.
  m.read("mirrorPercent", out.mirrorPercent);
  m.read("mirror_percent", out.mirrorPercent);
  m.percent("mirrorPercentage", out.mirrorPercentage);
  m.object("corsPolicy", out.corsPolicy, readCors);
  m.object("headers", out.headers, readHeaders);
}

void readRouteDestination(MapReader& m, RouteDestination& out) {
  m.require({"destination"});
  m.object("destination", out.destination, readDestination);
  m.read("weight", out.weight);
}

void readTlsMatch(MapReader& m, TLSMatchAttributes& out) {
  m.require({"sniHosts"});
  m.read("sniHosts", out.sniHosts);
  m.read("destinationSubnets", out.destinationSubnets);
  m.read("port", out.port);
  m.read("sourceLabels", out.sourceLabels);
  m.read("gateways", out.gateways);
  m.read("sourceNamespace", out.sourceNamespace);
}

void readL4Match(MapReader& m, L4MatchAttributes& out) {
  m.read("destinationSubnets", out.destinationSubnets);
  m.read("port", out.port);
  m.read("sourceSubnet", out.sourceSubnet);
  m.read("sourceLabels", out.sourceLabels);
  m.read("gateways", out.gateways);
  m.read("sourceNamespace", out.sourceNamespace);
}

void readVirtualServiceSpec(MapReader& m, VirtualServiceSpec& out) {
  m.read("hosts", out.hosts);
  m.read("gateways", out.gateways);
  m.list("http", out.http, readHttpRoute);
  m.list("tls", out.tls, [](MapReader& r, TLSRoute& route) {
    r.require({"match"});
    r.list("match", route.match, readTlsMatch);
    r.list("route", route.route, readRouteDestination);
  });
  m.list("tcp", out.tcp, [](MapReader& r, TCPRoute& route) {
    r.list("match", route.match, readL4Match);
    r.list("route", route.route, readRouteDestination);
  });
  readExportTo(m, out.exportTo);
}

// ---------------------------------------------------------------- DestinationRule

void readHttpCookie(MapReader& m, HTTPCookie& out) {
  m.require({"name"});
  m.read("name", out.name);
  m.read("path", out.path);
  m.read("ttl", out.ttl);
  m.list("attributes", out.attributes, [](MapReader& a, HTTPCookieAttribute& attr) {
    a.require({"name"});
    a.read("name", attr.name);
    a.read("value", attr.value);
  });
}

void readConsistentHash(MapReader& m, ConsistentHashLB& out) {
  m.atMostOne({"httpHeaderName", "httpCookie", "useSourceIp", "httpQueryParameterName"});
  m.atMostOne({"ringHash", "maglev"});
  m.read("httpHeaderName", out.httpHeaderName);
  m.object("httpCookie", out.httpCookie, readHttpCookie);
  m.read("useSourceIp", out.useSourceIp);
  m.read("httpQueryParameterName", out.httpQueryParameterName);
  m.object("ringHash", out.ringHash,
           [](MapReader& r, RingHash& ring) { r.read("minimumRingSize", ring.minimumRingSize); });
  m.object("maglev", out.maglev,
           [](MapReader& r, MagLev& maglev) { r.read("tableSize", maglev.tableSize); });
  m.read("minimumRingSize", out.minimumRingSize);
}

void readFailover(MapReader& f, LocalityFailover& failover) {
  f.read("from", failover.from);
  f.read("to", failover.to);
}

void readLocality(MapReader& m, LocalityLoadBalancerSetting& out) {
  m.list("distribute", out.distribute, [](MapReader& d, LocalityDistribute& dist) {
    d.read("from", dist.from);
    d.read("to", dist.to);
  });
  m.list("failover", out.failover, readFailover);
  m.read("failoverPriority", out.failoverPriority);
  m.read("enabled", out.enabled);
}

void readZoneAware(MapReader& m, ZoneAwareLoadBalancerSetting& out) {
  m.read("enabled", out.enabled);
  if (auto n = m.take("minClusterSize")) {
    int64_t v = 0;
    if (readInteger(m.context(), *n, m.pathOf("minClusterSize"), 1, UINT32_MAX, v)) {
      out.minClusterSize = static_cast<uint32_t>(v);
    }
  }
  m.list("failover", out.failover, readFailover);
  m.read("failoverPriority", out.failoverPriority);
}

void readLoadBalancer(MapReader& m, LoadBalancerSettings& out) {
  m.atMostOne({"simple", "consistentHash", "backendUtilization"});
  m.enumeration("simple", out.simple,
                EnumNames<SimpleLB>{{"UNSPECIFIED", SimpleLB::Unspecified},
                                    {"LEAST_CONN", SimpleLB::LeastConn},
                                    {"RANDOM", SimpleLB::Random},
                                    {"PASSTHROUGH", SimpleLB::Passthrough},
                                    {"ROUND_ROBIN", SimpleLB::RoundRobin},
                                    {"LEAST_REQUEST", SimpleLB::LeastRequest}});
  m.object("consistentHash", out.consistentHash, readConsistentHash);
  m.object("localityLbSetting", out.localityLbSetting, readLocality);
  m.object("zoneAwareLbSetting", out.zoneAwareLbSetting, readZoneAware);
  m.read("warmupDurationSecs", out.warmupDurationSecs);
  m.object("warmup", out.warmup, [](MapReader& w, WarmupConfiguration& warmup) {
    w.require({"duration"});
    w.read("duration", warmup.duration);
    w.number("minimumPercent", warmup.minimumPercent, 0.0, 100.0);
    w.number("aggression", warmup.aggression, 0.0, std::nullopt);
  });
  if (auto n = m.take("backendUtilization")) {
    if (expectObject(m.context(), *n, m.pathOf("backendUtilization"))) {
      m.context().warning(m.pathOf("backendUtilization"), m.context().lineOf(*n),
                          "not supported by Sluice; ignored");
    }
  }
}

void readConnectionPool(MapReader& m, ConnectionPoolSettings& out) {
  m.object("tcp", out.tcp, [](MapReader& t, TCPSettings& tcp) {
    t.read("maxConnections", tcp.maxConnections);
    t.read("connectTimeout", tcp.connectTimeout);
    t.object("tcpKeepalive", tcp.tcpKeepalive, [](MapReader& k, TcpKeepalive& keepalive) {
      k.read("probes", keepalive.probes);
      k.read("time", keepalive.time);
      k.read("interval", keepalive.interval);
    });
    t.read("maxConnectionDuration", tcp.maxConnectionDuration);
    t.read("idleTimeout", tcp.idleTimeout);
  });
  m.object("http", out.http, [](MapReader& h, HTTPSettings& http) {
    h.read("http1MaxPendingRequests", http.http1MaxPendingRequests);
    h.read("http2MaxRequests", http.http2MaxRequests);
    h.read("maxRequestsPerConnection", http.maxRequestsPerConnection);
    h.read("maxRetries", http.maxRetries);
    h.read("idleTimeout", http.idleTimeout);
    h.enumeration("h2UpgradePolicy", http.h2UpgradePolicy,
                  EnumNames<H2UpgradePolicy>{{"DEFAULT", H2UpgradePolicy::Default},
                                             {"DO_NOT_UPGRADE", H2UpgradePolicy::DoNotUpgrade},
                                             {"UPGRADE", H2UpgradePolicy::Upgrade}});
    h.read("useClientProtocol", http.useClientProtocol);
    h.read("maxConcurrentStreams", http.maxConcurrentStreams);
    h.object("http2KeepAlive", http.http2KeepAlive, [](MapReader& k, Http2KeepAlive& keepalive) {
      k.read("interval", keepalive.interval);
      k.read("timeout", keepalive.timeout);
    });
  });
}

void readOutlierDetection(MapReader& m, OutlierDetection& out) {
  m.read("consecutiveErrors", out.consecutiveErrors);
  m.read("splitExternalLocalOriginErrors", out.splitExternalLocalOriginErrors);
  m.read("consecutiveLocalOriginFailures", out.consecutiveLocalOriginFailures);
  m.read("consecutiveGatewayErrors", out.consecutiveGatewayErrors);
  m.read("consecutive5xxErrors", out.consecutive5xxErrors);
  m.read("interval", out.interval);
  m.read("baseEjectionTime", out.baseEjectionTime);
  m.read("maxEjectionPercent", out.maxEjectionPercent);
  m.read("minHealthPercent", out.minHealthPercent);
  if (auto n = m.take("outlierDetectionHttpErrorCodes")) {
    Context& ctx = m.context();
    const std::string base = m.pathOf("outlierDetectionHttpErrorCodes");
    if (expectArray(ctx, *n, base)) {
      size_t i = 0;
      for (const YAML::Node& item : *n) {
        const std::string p = itemPath(base, i++);
        ctx.record(p, ctx.lineOf(item));
        int64_t code = 0;
        if (readInteger(ctx, item, p, 100, 599, code)) {
          out.outlierDetectionHttpErrorCodes.push_back(static_cast<uint32_t>(code));
        }
      }
    }
  }
}

void readClientTls(MapReader& m, ClientTLSSettings& out) {
  m.enumeration("mode", out.mode,
                EnumNames<TLSMode>{{"DISABLE", TLSMode::Disable},
                                   {"SIMPLE", TLSMode::Simple},
                                   {"MUTUAL", TLSMode::Mutual},
                                   {"ISTIO_MUTUAL", TLSMode::IstioMutual}});
  m.read("clientCertificate", out.clientCertificate);
  m.read("privateKey", out.privateKey);
  m.read("caCertificates", out.caCertificates);
  m.read("credentialName", out.credentialName);
  m.read("subjectAltNames", out.subjectAltNames);
  m.read("sni", out.sni);
  m.read("insecureSkipVerify", out.insecureSkipVerify);
  m.read("caCrl", out.caCrl);
}

void readPortLevelSettings(MapReader& m, std::vector<PortTrafficPolicy>& out) {
  m.list("portLevelSettings", out, [](MapReader& p, PortTrafficPolicy& policy) {
    p.portSelector("port", policy.port);
    p.object("loadBalancer", policy.loadBalancer, readLoadBalancer);
    p.object("connectionPool", policy.connectionPool, readConnectionPool);
    p.object("outlierDetection", policy.outlierDetection, readOutlierDetection);
    p.object("tls", policy.tls, readClientTls);
  });
  if (out.size() > kMaxPortLevelSettings) {
    const std::string p = m.pathOf("portLevelSettings");
    m.context().error(p, 0,
                      "Too many: " + std::to_string(out.size()) + ": must have at most " +
                          std::to_string(kMaxPortLevelSettings) + " items");
  }
}

void readTrafficPolicy(MapReader& m, TrafficPolicy& out) {
  m.object("loadBalancer", out.loadBalancer, readLoadBalancer);
  m.object("connectionPool", out.connectionPool, readConnectionPool);
  m.object("outlierDetection", out.outlierDetection, readOutlierDetection);
  m.object("tls", out.tls, readClientTls);
  readPortLevelSettings(m, out.portLevelSettings);
  m.object("tunnel", out.tunnel, [](MapReader& t, TunnelSettings& tunnel) {
    t.require({"targetHost", "targetPort"});
    t.read("protocol", tunnel.protocol);
    t.read("targetHost", tunnel.targetHost);
    t.read("targetPort", tunnel.targetPort);
  });
  m.object("proxyProtocol", out.proxyProtocol, [](MapReader& p, ProxyProtocol& proxy) {
    p.enumeration("version", proxy.version,
                  EnumNames<ProxyProtocolVersion>{{"V1", ProxyProtocolVersion::V1},
                                                  {"V2", ProxyProtocolVersion::V2}});
  });
  m.object("retryBudget", out.retryBudget, [](MapReader& r, RetryBudget& budget) {
    r.number("percent", budget.percent, 0.0, 100.0);
    r.read("minRetryConcurrency", budget.minRetryConcurrency);
    r.read("budgetInterval", budget.budgetInterval);
  });
}

void readDestinationRuleSpec(MapReader& m, DestinationRuleSpec& out) {
  m.require({"host"});
  m.read("host", out.host);
  m.object("trafficPolicy", out.trafficPolicy, readTrafficPolicy);
  m.list("subsets", out.subsets, [](MapReader& s, Subset& subset) {
    s.require({"name"});
    s.read("name", subset.name);
    s.read("labels", subset.labels);
    s.object("trafficPolicy", subset.trafficPolicy, readTrafficPolicy);
  });
  readExportTo(m, out.exportTo);
  m.object("workloadSelector", out.workloadSelector, [](MapReader& w, WorkloadSelector& selector) {
    w.read("matchLabels", selector.matchLabels);
  });
}

}  // namespace

void readVirtualService(MapReader& top, VirtualService& out) {
  top.object("spec", out.spec, readVirtualServiceSpec);
  top.skip("status");
}

void readDestinationRule(MapReader& top, DestinationRule& out) {
  top.require({"spec"});
  top.object("spec", out.spec, readDestinationRuleSpec);
  top.skip("status");
}

}  // namespace sluice::parse
