// What the parser builds from valid input: every kind, every Istio field, positions, List and
// multi-document streams, directories.
#include <gtest/gtest.h>
#include <sluice/parse/parser.h>

#include <filesystem>
#include <fstream>

namespace sluice::parse {
namespace {

using namespace std::chrono_literals;
using model::StringMatch;

std::string dump(const Diagnostics& diags) {
  std::string out;
  for (const auto& d : diags.items()) {
    out += formatDiagnostic(d) + "\n";
  }
  return out;
}

ParseOutput parseClean(std::string_view text) {
  ParseOutput out = parseYaml(text, "test.yaml");
  EXPECT_TRUE(out.diagnostics.empty()) << dump(out.diagnostics);
  return out;
}

constexpr std::string_view kFullVirtualService = R"y(apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
  namespace: bookinfo
  labels: {app: reviews}
  annotations: {note: "x"}
  creationTimestamp: "2024-01-02T03:04:05Z"
  generation: 7
  resourceVersion: "42"
  uid: abc
spec:
  hosts: [reviews, reviews.example.com]
  gateways: [mesh, bookinfo/gw]
  exportTo: ["."]
  http:
  - name: main
    match:
    - name: m0
      uri: {prefix: /api}
      scheme: {exact: https}
      method: {regex: "GET|HEAD"}
      authority: {exact: reviews}
      headers:
        x-user: {exact: jason}
        x-any: {}
      port: 9080
      sourceLabels: {app: productpage}
      gateways: [mesh]
      queryParams:
        q: {regex: "a.*"}
      ignoreUriCase: true
      withoutHeaders:
        x-skip: {prefix: "y"}
      sourceNamespace: frontend
      statPrefix: stats
    - uri: {exact: /health}
    route:
    - destination: {host: reviews, subset: v1, port: {number: 9080}}
      weight: 75
      headers:
        request:
          set: {x-a: "1"}
          add: {x-b: "2"}
          remove: [x-c]
        response:
          remove: [x-d]
    - destination: {host: reviews, subset: v2}
      weight: 25
    rewrite:
      authority: new-host
      uriRegexRewrite: {match: "^/api/(.*)", rewrite: "/\\1"}
    timeout: 1.5s
    retries:
      attempts: 3
      perTryTimeout: 300ms
      retryOn: "5xx,connect-failure"
      retryRemoteLocalities: true
      retryIgnorePreviousHosts: false
      backoff: 25ms
    fault:
      delay:
        fixedDelay: 5s
        percentage: {value: 0.5}
        percent: 1
      abort:
        grpcStatus: UNAVAILABLE
        percentage: {value: 10}
    mirror: {host: shadow, port: {number: 80}}
    mirrorPercentage: {value: 12.5}
    mirror_percent: 5
    corsPolicy:
      allowOrigin: [https://a.example]
      allowOrigins: [{exact: https://b.example}, {regex: "https://.*\\.c"}]
      allowMethods: [GET, POST]
      allowHeaders: [x-h]
      exposeHeaders: [x-e]
      maxAge: 24h
      allowCredentials: true
      unmatchedPreflights: IGNORE
    headers:
      request: {set: {x-route: r}}
  - name: redirect
    redirect:
      uri: /new
      authority: other
      derivePort: FROM_REQUEST_PORT
      scheme: https
      redirectCode: 308
  - name: prefix-redirect
    redirect: {prefixRewrite: /v2, port: 8443}
  - name: direct
    directResponse:
      status: 503
      body: {bytes: aGVsbG8=}
  - name: direct-string
    directResponse: {status: 200, body: {string: ok}}
  - name: delegate
    delegate: {name: child, namespace: other}
  - name: mirrors
    route: [{destination: {host: a}}]
    mirrors:
    - destination: {host: m1}
      percentage: {value: 0}
    - destination: {host: m2}
    fault:
      delay: {exponentialDelay: 1s}
      abort: {httpStatus: 503, percentage: {value: 1}}
    rewrite: {uri: /x}
    mirrorPercent: 3
  tls:
  - match:
    - sniHosts: [reviews.example.com]
      destinationSubnets: [10.0.0.0/8]
      port: 443
      sourceLabels: {app: x}
      gateways: [mesh]
      sourceNamespace: ns1
    route:
    - destination: {host: reviews, port: {number: 443}}
      weight: 100
  tcp:
  - match:
    - destinationSubnets: [10.1.0.0/16]
      port: 3306
      sourceSubnet: 10.2.0.0/16
      sourceLabels: {app: y}
      gateways: [mesh]
      sourceNamespace: ns2
    route:
    - destination: {host: mysql}
)y";

TEST(ParseVirtualService, ReadsEveryField) {
  auto out = parseClean(kFullVirtualService);
  ASSERT_EQ(out.snapshot.virtualServices.size(), 1u);
  const model::VirtualService& vs = out.snapshot.virtualServices[0];
  EXPECT_EQ(vs.apiVersion, "networking.istio.io/v1");
  EXPECT_EQ(vs.meta.name, "reviews");
  EXPECT_EQ(vs.meta.ns, "bookinfo");
  EXPECT_EQ(vs.meta.labels.at("app"), "reviews");
  EXPECT_EQ(vs.meta.annotations.at("note"), "x");
  EXPECT_EQ(vs.meta.creationTimestamp, "2024-01-02T03:04:05Z");
  EXPECT_EQ(vs.meta.generation, 7);
  EXPECT_EQ(vs.meta.resourceVersion, "42");
  EXPECT_EQ(vs.meta.uid, "abc");
  EXPECT_EQ(vs.source.file, "test.yaml");
  EXPECT_EQ(vs.source.line, 1);

  const auto& spec = vs.spec;
  EXPECT_EQ(spec.hosts, (std::vector<std::string>{"reviews", "reviews.example.com"}));
  EXPECT_EQ(spec.gateways, (std::vector<std::string>{"mesh", "bookinfo/gw"}));
  EXPECT_EQ(spec.exportTo, (std::vector<std::string>{"."}));
  ASSERT_EQ(spec.http.size(), 7u);

  const model::HTTPRoute& r = spec.http[0];
  EXPECT_EQ(r.name, "main");
  ASSERT_EQ(r.match.size(), 2u);
  const model::HTTPMatchRequest& m = r.match[0];
  EXPECT_EQ(m.name, "m0");
  EXPECT_EQ(m.uri, (StringMatch{StringMatch::Kind::Prefix, "/api"}));
  EXPECT_EQ(m.scheme, (StringMatch{StringMatch::Kind::Exact, "https"}));
  EXPECT_EQ(m.method, (StringMatch{StringMatch::Kind::Regex, "GET|HEAD"}));
  EXPECT_EQ(m.authority, (StringMatch{StringMatch::Kind::Exact, "reviews"}));
  EXPECT_EQ(m.headers.at("x-user"), (StringMatch{StringMatch::Kind::Exact, "jason"}));
  EXPECT_EQ(m.headers.at("x-any"), (StringMatch{StringMatch::Kind::Any, ""}));
  EXPECT_EQ(m.port, 9080u);
  EXPECT_EQ(m.sourceLabels.at("app"), "productpage");
  EXPECT_EQ(m.gateways, (std::vector<std::string>{"mesh"}));
  EXPECT_EQ(m.queryParams.at("q"), (StringMatch{StringMatch::Kind::Regex, "a.*"}));
  EXPECT_TRUE(m.ignoreUriCase);
  EXPECT_EQ(m.withoutHeaders.at("x-skip"), (StringMatch{StringMatch::Kind::Prefix, "y"}));
  EXPECT_EQ(m.sourceNamespace, "frontend");
  EXPECT_EQ(m.statPrefix, "stats");
  EXPECT_EQ(r.match[1].uri, (StringMatch{StringMatch::Kind::Exact, "/health"}));
  EXPECT_FALSE(r.match[1].ignoreUriCase);

  ASSERT_EQ(r.route.size(), 2u);
  EXPECT_EQ(r.route[0].destination.host, "reviews");
  EXPECT_EQ(r.route[0].destination.subset, "v1");
  EXPECT_EQ(r.route[0].destination.port, 9080u);
  EXPECT_EQ(r.route[0].weight, 75);
  ASSERT_TRUE(r.route[0].headers && r.route[0].headers->request && r.route[0].headers->response);
  EXPECT_EQ(r.route[0].headers->request->set.at("x-a"), "1");
  EXPECT_EQ(r.route[0].headers->request->add.at("x-b"), "2");
  EXPECT_EQ(r.route[0].headers->request->remove, (std::vector<std::string>{"x-c"}));
  EXPECT_EQ(r.route[0].headers->response->remove, (std::vector<std::string>{"x-d"}));
  EXPECT_FALSE(r.route[1].destination.port.has_value());
  EXPECT_EQ(r.route[1].weight, 25);

  ASSERT_TRUE(r.rewrite);
  EXPECT_EQ(r.rewrite->authority, "new-host");
  ASSERT_TRUE(r.rewrite->uriRegexRewrite);
  EXPECT_EQ(r.rewrite->uriRegexRewrite->match, "^/api/(.*)");
  EXPECT_EQ(r.rewrite->uriRegexRewrite->rewrite, "/\\1");
  EXPECT_EQ(r.timeout, 1500ms);
  ASSERT_TRUE(r.retries);
  EXPECT_EQ(r.retries->attempts, 3);
  EXPECT_EQ(r.retries->perTryTimeout, 300ms);
  EXPECT_EQ(r.retries->retryOn, "5xx,connect-failure");
  EXPECT_EQ(r.retries->retryRemoteLocalities, true);
  EXPECT_EQ(r.retries->retryIgnorePreviousHosts, false);
  EXPECT_EQ(r.retries->backoff, 25ms);
  ASSERT_TRUE(r.fault && r.fault->delay && r.fault->abort);
  EXPECT_EQ(r.fault->delay->fixedDelay, 5s);
  EXPECT_EQ(r.fault->delay->percentage, 0.5);
  EXPECT_EQ(r.fault->delay->percent, 1);
  EXPECT_EQ(r.fault->abort->grpcStatus, "UNAVAILABLE");
  EXPECT_EQ(r.fault->abort->percentage, 10.0);
  ASSERT_TRUE(r.mirror);
  EXPECT_EQ(r.mirror->host, "shadow");
  EXPECT_EQ(r.mirror->port, 80u);
  EXPECT_EQ(r.mirrorPercentage, 12.5);
  EXPECT_EQ(r.mirrorPercent, 5u);
  ASSERT_TRUE(r.corsPolicy);
  EXPECT_EQ(r.corsPolicy->allowOrigin, (std::vector<std::string>{"https://a.example"}));
  ASSERT_EQ(r.corsPolicy->allowOrigins.size(), 2u);
  EXPECT_EQ(r.corsPolicy->allowOrigins[1], (StringMatch{StringMatch::Kind::Regex, "https://.*\\.c"}));
  EXPECT_EQ(r.corsPolicy->allowMethods, (std::vector<std::string>{"GET", "POST"}));
  EXPECT_EQ(r.corsPolicy->allowHeaders, (std::vector<std::string>{"x-h"}));
  EXPECT_EQ(r.corsPolicy->exposeHeaders, (std::vector<std::string>{"x-e"}));
  EXPECT_EQ(r.corsPolicy->maxAge, 24h);
  EXPECT_EQ(r.corsPolicy->allowCredentials, true);
  EXPECT_EQ(r.corsPolicy->unmatchedPreflights, model::UnmatchedPreflights::Ignore);
  ASSERT_TRUE(r.headers && r.headers->request);
  EXPECT_EQ(r.headers->request->set.at("x-route"), "r");
  EXPECT_FALSE(r.headers->response);

  const auto& redirect = spec.http[1].redirect;
  ASSERT_TRUE(redirect);
  EXPECT_EQ(redirect->uri, "/new");
  EXPECT_EQ(redirect->authority, "other");
  EXPECT_EQ(redirect->derivePort, model::RedirectPortSelection::FromRequestPort);
  EXPECT_FALSE(redirect->port);
  EXPECT_EQ(redirect->scheme, "https");
  EXPECT_EQ(redirect->redirectCode, 308u);
  ASSERT_TRUE(spec.http[2].redirect);
  EXPECT_EQ(spec.http[2].redirect->prefixRewrite, "/v2");
  EXPECT_EQ(spec.http[2].redirect->port, 8443u);
  EXPECT_FALSE(spec.http[2].redirect->redirectCode);

  ASSERT_TRUE(spec.http[3].directResponse && spec.http[3].directResponse->body);
  EXPECT_EQ(spec.http[3].directResponse->status, 503u);
  EXPECT_EQ(spec.http[3].directResponse->body->bytes, "hello");
  EXPECT_FALSE(spec.http[3].directResponse->body->string);
  EXPECT_EQ(spec.http[4].directResponse->body->string, "ok");

  ASSERT_TRUE(spec.http[5].delegate);
  EXPECT_EQ(spec.http[5].delegate->name, "child");
  EXPECT_EQ(spec.http[5].delegate->ns, "other");

  const model::HTTPRoute& mr = spec.http[6];
  ASSERT_EQ(mr.mirrors.size(), 2u);
  EXPECT_EQ(mr.mirrors[0].destination.host, "m1");
  EXPECT_EQ(mr.mirrors[0].percentage, 0.0);
  EXPECT_FALSE(mr.mirrors[1].percentage);
  EXPECT_EQ(mr.fault->delay->exponentialDelay, 1s);
  EXPECT_FALSE(mr.fault->delay->percentage);
  EXPECT_EQ(mr.fault->abort->httpStatus, 503);
  EXPECT_EQ(mr.rewrite->uri, "/x");
  EXPECT_EQ(mr.mirrorPercent, 3u);
  EXPECT_FALSE(mr.mirrorPercentage);

  ASSERT_EQ(spec.tls.size(), 1u);
  const auto& tm = spec.tls[0].match.at(0);
  EXPECT_EQ(tm.sniHosts, (std::vector<std::string>{"reviews.example.com"}));
  EXPECT_EQ(tm.destinationSubnets, (std::vector<std::string>{"10.0.0.0/8"}));
  EXPECT_EQ(tm.port, 443u);
  EXPECT_EQ(tm.sourceLabels.at("app"), "x");
  EXPECT_EQ(tm.gateways, (std::vector<std::string>{"mesh"}));
  EXPECT_EQ(tm.sourceNamespace, "ns1");
  EXPECT_EQ(spec.tls[0].route.at(0).destination.port, 443u);
  EXPECT_EQ(spec.tls[0].route.at(0).weight, 100);

  ASSERT_EQ(spec.tcp.size(), 1u);
  const auto& l4 = spec.tcp[0].match.at(0);
  EXPECT_EQ(l4.destinationSubnets, (std::vector<std::string>{"10.1.0.0/16"}));
  EXPECT_EQ(l4.port, 3306u);
  EXPECT_EQ(l4.sourceSubnet, "10.2.0.0/16");
  EXPECT_EQ(l4.sourceLabels.at("app"), "y");
  EXPECT_EQ(l4.sourceNamespace, "ns2");
  EXPECT_EQ(spec.tcp[0].route.at(0).destination.host, "mysql");
}

TEST(ParseVirtualService, RecordsTheLineOfEveryField) {
  auto out = parseClean(kFullVirtualService);
  ASSERT_EQ(out.snapshot.virtualServices.size(), 1u);
  const model::SourceInfo& src = out.snapshot.virtualServices[0].source;
  const std::pair<const char*, int> want[] = {
      {"apiVersion", 1},
      {"metadata.name", 4},
      {"metadata.namespace", 5},
      {"spec.hosts", 13},
      {"spec.hosts[1]", 13},
      {"spec.http[0]", 17},
      {"spec.http[0].name", 17},
      {"spec.http[0].match[0].uri", 20},
      {"spec.http[0].match[0].uri.prefix", 20},
      {"spec.http[0].match[0].headers.x-user", 25},
      {"spec.http[0].match[0].headers.x-user.exact", 25},
      {"spec.http[0].match[1]", 37},
      {"spec.http[0].route[0].destination.port.number", 39},
      {"spec.http[0].route[0].headers.request.set.x-a", 43},
      {"spec.http[0].timeout", 53},
      {"spec.http[0].retries.attempts", 55},
      {"spec.http[0].retries.perTryTimeout", 56},
      {"spec.http[0].fault.abort.percentage.value", 68},
      {"spec.tcp[0].match[0].port", 125},
  };
  for (const auto& [path, line] : want) {
    auto it = src.fieldLines.find(path);
    ASSERT_NE(it, src.fieldLines.end()) << path;
    EXPECT_EQ(it->second, line) << path;
  }
  EXPECT_EQ(src.lineOf("spec.http[0].retries.nonexistent"), 54);
}

constexpr std::string_view kFullDestinationRule = R"y(apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: {name: reviews, namespace: bookinfo}
spec:
  host: reviews
  exportTo: ["*"]
  workloadSelector:
    matchLabels: {app: client}
  trafficPolicy:
    loadBalancer:
      consistentHash:
        httpCookie:
          name: session
          path: /
          ttl: 0s
          attributes: [{name: SameSite, value: Strict}, {name: Secure}]
        maglev: {tableSize: 65537}
        minimumRingSize: 1024
      localityLbSetting:
        distribute:
        - from: us-west/zone1/*
          to: {"us-west/zone1/*": 80, "us-west/zone2/*": 20}
        failover: [{from: us-east, to: eu-west}]
        failoverPriority: [topology.kubernetes.io/region]
        enabled: true
      warmupDurationSecs: 10s
      warmup: {duration: 30s, minimumPercent: 10, aggression: 1.5}
    connectionPool:
      tcp:
        maxConnections: 100
        connectTimeout: 30ms
        tcpKeepalive: {probes: 5, time: 7200s, interval: 75s}
        maxConnectionDuration: 1h
        idleTimeout: 0s
      http:
        http1MaxPendingRequests: 10
        http2MaxRequests: 1000
        maxRequestsPerConnection: 1
        maxRetries: 3
        idleTimeout: 1m
        h2UpgradePolicy: UPGRADE
        useClientProtocol: false
        maxConcurrentStreams: 64
        http2KeepAlive: {interval: 10s, timeout: 2s}
    outlierDetection:
      consecutiveErrors: 7
      splitExternalLocalOriginErrors: true
      consecutiveLocalOriginFailures: 3
      consecutiveGatewayErrors: 2
      consecutive5xxErrors: 5
      interval: 10s
      baseEjectionTime: 30s
      maxEjectionPercent: 50
      minHealthPercent: 20
      outlierDetectionHttpErrorCodes: [500, 503]
    tls:
      mode: MUTUAL
      clientCertificate: /c.pem
      privateKey: /k.pem
      caCertificates: /ca.pem
      credentialName: cred
      subjectAltNames: [spiffe://a]
      sni: reviews.example
      insecureSkipVerify: false
      caCrl: /crl.pem
    portLevelSettings:
    - port: {number: 9080}
      loadBalancer: {simple: LEAST_CONN}
      connectionPool: {tcp: {maxConnections: 5}}
      outlierDetection: {consecutive5xxErrors: 1}
      tls: {mode: ISTIO_MUTUAL}
    - port: {number: 9443}
      loadBalancer:
        consistentHash: {useSourceIp: true, ringHash: {minimumRingSize: 2048}}
        zoneAwareLbSetting: {enabled: true, minClusterSize: 3, failover: [{from: us-east, to: us-west}], failoverPriority: [topology.kubernetes.io/zone]}
    tunnel: {protocol: POST, targetHost: proxy.example, targetPort: 8080}
    proxyProtocol: {version: V2}
    retryBudget: {percent: 25.5, minRetryConcurrency: 4, budgetInterval: 1s}
  subsets:
  - name: v1
    labels: {version: v1}
    trafficPolicy:
      loadBalancer: {simple: ROUND_ROBIN}
  - name: v2
    labels: {version: v2}
    trafficPolicy:
      loadBalancer:
        consistentHash: {httpHeaderName: x-user}
  - name: v3
    trafficPolicy:
      loadBalancer:
        consistentHash: {httpQueryParameterName: q}
)y";

TEST(ParseDestinationRule, ReadsEveryField) {
  auto out = parseClean(kFullDestinationRule);
  ASSERT_EQ(out.snapshot.destinationRules.size(), 1u);
  const model::DestinationRule& dr = out.snapshot.destinationRules[0];
  EXPECT_EQ(dr.apiVersion, "networking.istio.io/v1beta1");
  EXPECT_EQ(dr.spec.host, "reviews");
  EXPECT_EQ(dr.spec.exportTo, (std::vector<std::string>{"*"}));
  ASSERT_TRUE(dr.spec.workloadSelector);
  EXPECT_EQ(dr.spec.workloadSelector->matchLabels.at("app"), "client");
  ASSERT_TRUE(dr.spec.trafficPolicy);
  const model::TrafficPolicy& tp = *dr.spec.trafficPolicy;

  ASSERT_TRUE(tp.loadBalancer && tp.loadBalancer->consistentHash);
  EXPECT_FALSE(tp.loadBalancer->simple);
  const auto& ch = *tp.loadBalancer->consistentHash;
  ASSERT_TRUE(ch.httpCookie);
  EXPECT_EQ(ch.httpCookie->name, "session");
  EXPECT_EQ(ch.httpCookie->path, "/");
  EXPECT_EQ(ch.httpCookie->ttl, 0s);
  ASSERT_EQ(ch.httpCookie->attributes.size(), 2u);
  EXPECT_EQ(ch.httpCookie->attributes[0].value, "Strict");
  EXPECT_EQ(ch.httpCookie->attributes[1].name, "Secure");
  ASSERT_TRUE(ch.maglev);
  EXPECT_EQ(ch.maglev->tableSize, 65537u);
  EXPECT_EQ(ch.minimumRingSize, 1024u);
  EXPECT_FALSE(ch.useSourceIp);
  const auto& loc = *tp.loadBalancer->localityLbSetting;
  ASSERT_EQ(loc.distribute.size(), 1u);
  EXPECT_EQ(loc.distribute[0].from, "us-west/zone1/*");
  EXPECT_EQ(loc.distribute[0].to.at("us-west/zone2/*"), 20u);
  EXPECT_EQ(loc.failover.at(0).to, "eu-west");
  EXPECT_EQ(loc.failoverPriority, (std::vector<std::string>{"topology.kubernetes.io/region"}));
  EXPECT_EQ(loc.enabled, true);
  EXPECT_EQ(tp.loadBalancer->warmupDurationSecs, 10s);
  ASSERT_TRUE(tp.loadBalancer->warmup);
  EXPECT_EQ(tp.loadBalancer->warmup->duration, 30s);
  EXPECT_EQ(tp.loadBalancer->warmup->minimumPercent, 10.0);
  EXPECT_EQ(tp.loadBalancer->warmup->aggression, 1.5);

  const auto& tcp = *tp.connectionPool->tcp;
  EXPECT_EQ(tcp.maxConnections, 100);
  EXPECT_EQ(tcp.connectTimeout, 30ms);
  EXPECT_EQ(tcp.tcpKeepalive->probes, 5u);
  EXPECT_EQ(tcp.tcpKeepalive->time, 7200s);
  EXPECT_EQ(tcp.tcpKeepalive->interval, 75s);
  EXPECT_EQ(tcp.maxConnectionDuration, 1h);
  EXPECT_EQ(tcp.idleTimeout, 0s);
  const auto& http = *tp.connectionPool->http;
  EXPECT_EQ(http.http1MaxPendingRequests, 10);
  EXPECT_EQ(http.http2MaxRequests, 1000);
  EXPECT_EQ(http.maxRequestsPerConnection, 1);
  EXPECT_EQ(http.maxRetries, 3);
  EXPECT_EQ(http.idleTimeout, 1min);
  EXPECT_EQ(http.h2UpgradePolicy, model::H2UpgradePolicy::Upgrade);
  EXPECT_FALSE(http.useClientProtocol);
  EXPECT_EQ(http.maxConcurrentStreams, 64);
  EXPECT_EQ(http.http2KeepAlive->interval, 10s);
  EXPECT_EQ(http.http2KeepAlive->timeout, 2s);

  const auto& od = *tp.outlierDetection;
  EXPECT_EQ(od.consecutiveErrors, 7);
  EXPECT_TRUE(od.splitExternalLocalOriginErrors);
  EXPECT_EQ(od.consecutiveLocalOriginFailures, 3u);
  EXPECT_EQ(od.consecutiveGatewayErrors, 2u);
  EXPECT_EQ(od.consecutive5xxErrors, 5u);
  EXPECT_EQ(od.interval, 10s);
  EXPECT_EQ(od.baseEjectionTime, 30s);
  EXPECT_EQ(od.maxEjectionPercent, 50);
  EXPECT_EQ(od.minHealthPercent, 20);
  EXPECT_EQ(od.outlierDetectionHttpErrorCodes, (std::vector<uint32_t>{500, 503}));

  const auto& tls = *tp.tls;
  EXPECT_EQ(tls.mode, model::TLSMode::Mutual);
  EXPECT_EQ(tls.clientCertificate, "/c.pem");
  EXPECT_EQ(tls.privateKey, "/k.pem");
  EXPECT_EQ(tls.caCertificates, "/ca.pem");
  EXPECT_EQ(tls.credentialName, "cred");
  EXPECT_EQ(tls.subjectAltNames, (std::vector<std::string>{"spiffe://a"}));
  EXPECT_EQ(tls.sni, "reviews.example");
  EXPECT_EQ(tls.insecureSkipVerify, false);
  EXPECT_EQ(tls.caCrl, "/crl.pem");

  ASSERT_EQ(tp.portLevelSettings.size(), 2u);
  const auto& p0 = tp.portLevelSettings[0];
  EXPECT_EQ(p0.port, 9080u);
  EXPECT_EQ(p0.loadBalancer->simple, model::SimpleLB::LeastConn);
  EXPECT_EQ(p0.connectionPool->tcp->maxConnections, 5);
  EXPECT_EQ(p0.outlierDetection->consecutive5xxErrors, 1u);
  EXPECT_EQ(p0.tls->mode, model::TLSMode::IstioMutual);
  const auto& p1 = tp.portLevelSettings[1];
  EXPECT_TRUE(p1.loadBalancer->consistentHash->useSourceIp);
  EXPECT_EQ(p1.loadBalancer->consistentHash->ringHash->minimumRingSize, 2048u);
  EXPECT_EQ(p1.loadBalancer->zoneAwareLbSetting->enabled, true);
  EXPECT_EQ(p1.loadBalancer->zoneAwareLbSetting->minClusterSize, 3u);
  ASSERT_EQ(p1.loadBalancer->zoneAwareLbSetting->failover.size(), 1u);
  EXPECT_EQ(p1.loadBalancer->zoneAwareLbSetting->failover[0].to, "us-west");
  EXPECT_EQ(p1.loadBalancer->zoneAwareLbSetting->failoverPriority,
            (std::vector<std::string>{"topology.kubernetes.io/zone"}));

  EXPECT_EQ(tp.tunnel->protocol, "POST");
  EXPECT_EQ(tp.tunnel->targetHost, "proxy.example");
  EXPECT_EQ(tp.tunnel->targetPort, 8080u);
  EXPECT_EQ(tp.proxyProtocol->version, model::ProxyProtocolVersion::V2);
  EXPECT_EQ(tp.retryBudget->percent, 25.5);
  EXPECT_EQ(tp.retryBudget->minRetryConcurrency, 4u);
  EXPECT_EQ(tp.retryBudget->budgetInterval, 1s);

  ASSERT_EQ(dr.spec.subsets.size(), 3u);
  EXPECT_EQ(dr.spec.subsets[0].name, "v1");
  EXPECT_EQ(dr.spec.subsets[0].labels.at("version"), "v1");
  EXPECT_EQ(dr.spec.subsets[0].trafficPolicy->loadBalancer->simple, model::SimpleLB::RoundRobin);
  EXPECT_EQ(dr.spec.subsets[1].trafficPolicy->loadBalancer->consistentHash->httpHeaderName,
            "x-user");
  EXPECT_EQ(dr.spec.subsets[2].trafficPolicy->loadBalancer->consistentHash->httpQueryParameterName,
            "q");
  EXPECT_TRUE(dr.spec.subsets[2].labels.empty());
}

TEST(ParseDestinationRule, AcceptsEveryIstioApiVersion) {
  for (const char* version : {"v1", "v1beta1", "v1alpha3"}) {
    auto out = parseClean(std::string("apiVersion: networking.istio.io/") + version +
                          "\nkind: DestinationRule\nmetadata: {name: d}\nspec: {host: h}\n");
    ASSERT_EQ(out.snapshot.destinationRules.size(), 1u) << version;
    EXPECT_EQ(out.snapshot.destinationRules[0].apiVersion,
              std::string("networking.istio.io/") + version);
  }
}

TEST(ParseDestinationRule, AcceptsProtojsonStringsFor64BitIntegers) {
  auto out = parseClean(R"y(apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: d, generation: "3"}
spec:
  host: h
  trafficPolicy:
    loadBalancer:
      consistentHash: {useSourceIp: true, maglev: {tableSize: "65537"}, minimumRingSize: "64"}
)y");
  ASSERT_EQ(out.snapshot.destinationRules.size(), 1u);
  const auto& ch = *out.snapshot.destinationRules[0].spec.trafficPolicy->loadBalancer->consistentHash;
  EXPECT_EQ(ch.maglev->tableSize, 65537u);
  EXPECT_EQ(ch.minimumRingSize, 64u);
  EXPECT_EQ(out.snapshot.destinationRules[0].meta.generation, 3);

  auto bad = parseYaml(
      "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: d}\nspec:\n"
      "  host: h\n  trafficPolicy:\n    loadBalancer: {consistentHash: {maglev: {tableSize: "
      "\"-1\"}}}\n",
      "b.yaml");
  EXPECT_TRUE(bad.snapshot.destinationRules.empty());
  EXPECT_EQ(bad.diagnostics.errorCount(), 1u) << dump(bad.diagnostics);
}

TEST(ParseService, ReadsPortsAndDualStack) {
  auto out = parseClean(R"y(apiVersion: v1
kind: Service
metadata:
  name: reviews
  namespace: bookinfo
spec:
  type: ClusterIP
  clusterIP: 10.96.0.10
  clusterIPs: [10.96.0.10, "fd00::a"]
  ipFamilies: [IPv4, IPv6]
  ipFamilyPolicy: PreferDualStack
  selector: {app: reviews}
  sessionAffinity: None
  publishNotReadyAddresses: true
  internalTrafficPolicy: Local
  trafficDistribution: PreferClose
  ports:
  - name: http
    port: 9080
    targetPort: 8080
    appProtocol: http
  - name: grpc
    protocol: UDP
    port: 9090
    targetPort: grpc-port
  - port: 80
status: {loadBalancer: {}}
---
apiVersion: v1
kind: Service
metadata: {name: headless}
spec:
  clusterIP: None
  ports: [{port: 5432}]
)y");
  ASSERT_EQ(out.snapshot.services.size(), 2u);
  const model::Service& s = out.snapshot.services[0];
  EXPECT_EQ(s.meta.ns, "bookinfo");
  EXPECT_EQ(s.spec.type, "ClusterIP");
  EXPECT_EQ(s.spec.clusterIP, "10.96.0.10");
  EXPECT_EQ(s.spec.clusterIPs, (std::vector<std::string>{"10.96.0.10", "fd00::a"}));
  EXPECT_EQ(s.spec.ipFamilies, (std::vector<std::string>{"IPv4", "IPv6"}));
  EXPECT_EQ(s.spec.ipFamilyPolicy, "PreferDualStack");
  EXPECT_EQ(s.spec.selector.at("app"), "reviews");
  EXPECT_EQ(s.spec.sessionAffinity, "None");
  EXPECT_TRUE(s.spec.publishNotReadyAddresses);
  EXPECT_EQ(s.spec.internalTrafficPolicy, "Local");
  EXPECT_EQ(s.spec.trafficDistribution, "PreferClose");
  ASSERT_EQ(s.spec.ports.size(), 3u);
  EXPECT_EQ(s.spec.ports[0].name, "http");
  EXPECT_EQ(s.spec.ports[0].protocol, "TCP");
  EXPECT_EQ(s.spec.ports[0].appProtocol, "http");
  EXPECT_EQ(s.spec.ports[0].port, 9080);
  EXPECT_EQ(s.spec.ports[0].targetPort.number, 8080);
  EXPECT_EQ(s.spec.ports[1].protocol, "UDP");
  EXPECT_EQ(s.spec.ports[1].targetPort.name, "grpc-port");
  EXPECT_FALSE(s.spec.ports[1].targetPort.number);
  EXPECT_FALSE(s.spec.ports[2].targetPort.isSet());
  EXPECT_FALSE(s.headless());
  EXPECT_TRUE(out.snapshot.services[1].headless());
  EXPECT_EQ(out.snapshot.services[1].source.line, 29);
}

TEST(ParseEndpointSlice, ReadsEndpointsAndPorts) {
  auto out = parseClean(R"y(apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: reviews-abc
  namespace: bookinfo
  labels: {kubernetes.io/service-name: reviews}
addressType: IPv4
endpoints:
- addresses: [10.1.0.5]
  conditions: {ready: true, serving: true, terminating: false}
  nodeName: node-a
  zone: us-west1-a
  hostname: r0
  targetRef: {kind: Pod, name: reviews-v1-xyz, namespace: bookinfo, uid: u1}
- addresses: [10.1.0.6]
ports:
- name: http
  port: 9080
  protocol: TCP
  appProtocol: http
)y");
  ASSERT_EQ(out.snapshot.endpointSlices.size(), 1u);
  const model::EndpointSlice& es = out.snapshot.endpointSlices[0];
  EXPECT_EQ(es.serviceName(), "reviews");
  EXPECT_EQ(es.addressType, "IPv4");
  ASSERT_EQ(es.endpoints.size(), 2u);
  const model::Endpoint& e = es.endpoints[0];
  EXPECT_EQ(e.addresses, (std::vector<std::string>{"10.1.0.5"}));
  EXPECT_EQ(e.conditions.ready, true);
  EXPECT_EQ(e.conditions.serving, true);
  EXPECT_EQ(e.conditions.terminating, false);
  EXPECT_EQ(e.nodeName, "node-a");
  EXPECT_EQ(e.zone, "us-west1-a");
  EXPECT_EQ(e.hostname, "r0");
  ASSERT_TRUE(e.targetRef);
  EXPECT_EQ(e.targetRef->kind, "Pod");
  EXPECT_EQ(e.targetRef->name, "reviews-v1-xyz");
  EXPECT_EQ(e.targetRef->ns, "bookinfo");
  EXPECT_EQ(e.targetRef->uid, "u1");
  EXPECT_FALSE(es.endpoints[1].conditions.ready);
  ASSERT_EQ(es.ports.size(), 1u);
  EXPECT_EQ(es.ports[0].name, "http");
  EXPECT_EQ(es.ports[0].port, 9080);
  EXPECT_EQ(es.ports[0].appProtocol, "http");
}

TEST(ParsePod, ReadsWhatSluiceUsesAndIgnoresTheRest) {
  auto out = parseClean(R"y(apiVersion: v1
kind: Pod
metadata:
  name: reviews-v1-xyz
  namespace: bookinfo
  labels: {app: reviews, version: v1}
spec:
  nodeName: node-a
  serviceAccountName: bookinfo-reviews
  restartPolicy: Always
  containers:
  - name: reviews
    image: reviews:1
    env: [{name: A, value: b}]
    ports:
    - {name: http, containerPort: 9080}
    - {containerPort: 9443, protocol: TCP}
  - name: sidecar
    ports: [{name: metrics, containerPort: 15090, protocol: UDP}]
status:
  phase: Running
  podIP: 10.1.0.5
  podIPs: [{ip: 10.1.0.5}, {ip: "fd00::5"}]
  hostIP: 192.168.1.10
  conditions: [{type: Ready, status: "True"}]
)y");
  ASSERT_EQ(out.snapshot.pods.size(), 1u);
  const model::Pod& p = out.snapshot.pods[0];
  EXPECT_EQ(p.meta.labels.at("version"), "v1");
  EXPECT_EQ(p.nodeName, "node-a");
  EXPECT_EQ(p.serviceAccountName, "bookinfo-reviews");
  ASSERT_EQ(p.ports.size(), 3u);
  EXPECT_EQ(p.ports[0].name, "http");
  EXPECT_EQ(p.ports[0].containerPort, 9080);
  EXPECT_EQ(p.ports[1].containerPort, 9443);
  EXPECT_EQ(p.ports[2].name, "metrics");
  EXPECT_EQ(p.ports[2].protocol, "UDP");
  EXPECT_EQ(p.status.phase, "Running");
  EXPECT_EQ(p.status.podIP, "10.1.0.5");
  EXPECT_EQ(p.status.podIPs, (std::vector<std::string>{"10.1.0.5", "fd00::5"}));
  EXPECT_EQ(p.status.hostIP, "192.168.1.10");
}

TEST(ParseStream, ReadsListsAndMultipleDocuments) {
  auto out = parseYaml(R"y(# leading comment
---
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Service
  metadata: {name: a}
  spec: {ports: [{port: 80}]}
- apiVersion: networking.istio.io/v1
  kind: VirtualService
  metadata: {name: b}
  spec:
    hosts: [a]
    http: [{route: [{destination: {host: a}}]}]
---
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
spec: {replicas: 1}
--- # a comment after the marker
apiVersion: networking.istio.io/v1alpha3
kind: DestinationRuleList
items:
- apiVersion: networking.istio.io/v1alpha3
  kind: DestinationRule
  metadata: {name: c}
  spec: {host: a}
...
)y",
                       "s.yaml");
  EXPECT_EQ(out.snapshot.services.size(), 1u);
  ASSERT_EQ(out.snapshot.virtualServices.size(), 1u);
  EXPECT_EQ(out.snapshot.virtualServices[0].source.line, 10);
  EXPECT_EQ(out.snapshot.virtualServices[0].source.fieldLines.at("spec.hosts"), 14);
  ASSERT_EQ(out.snapshot.destinationRules.size(), 1u);
  EXPECT_EQ(out.snapshot.destinationRules[0].source.line, 26);
  ASSERT_EQ(out.diagnostics.items().size(), 1u) << dump(out.diagnostics);
  const Diagnostic& d = out.diagnostics.items()[0];
  EXPECT_EQ(d.severity, Severity::Warning);
  EXPECT_EQ(d.line, 18);
  EXPECT_EQ(d.kind, "Deployment");
  EXPECT_EQ(d.name, "d");
  EXPECT_EQ(d.message, "ignored: kind Deployment (apps/v1) is not used by Sluice");
}

TEST(ParseStream, AcceptsJson) {
  auto out = parseClean(R"y({"apiVersion": "v1", "kind": "Service",
  "metadata": {"name": "j"}, "spec": {"ports": [{"port": 80, "targetPort": "http"}]}})y");
  ASSERT_EQ(out.snapshot.services.size(), 1u);
  EXPECT_EQ(out.snapshot.services[0].spec.ports[0].targetPort.name, "http");
}

TEST(ParseStream, EmptyInputIsEmpty) {
  for (const char* text : {"", "\n", "# only a comment\n", "---\n---\n", "...\n"}) {
    auto out = parseYaml(text, "e.yaml");
    EXPECT_EQ(out.snapshot.objectCount(), 0u) << text;
    EXPECT_TRUE(out.diagnostics.empty()) << text << dump(out.diagnostics);
  }
}

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/sluice-parse-XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }
  void write(const std::string& rel, std::string_view text) const {
    auto p = path_ / rel;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p) << text;
  }

 private:
  std::filesystem::path path_;
};

TEST(LoadPaths, ReadsDirectoriesRecursivelyInSortedOrder) {
  TempDir dir;
  dir.write("b.yaml", "apiVersion: v1\nkind: Service\nmetadata: {name: b}\n");
  dir.write("a/z.yml", "apiVersion: v1\nkind: Service\nmetadata: {name: az}\n");
  dir.write("c.json", R"y({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "c"}})y");
  dir.write("notes.txt", "not yaml: [");
  auto out = loadPaths({dir.path().string()});
  EXPECT_TRUE(out.diagnostics.empty()) << dump(out.diagnostics);
  ASSERT_EQ(out.snapshot.services.size(), 3u);
  EXPECT_EQ(out.snapshot.services[0].meta.name, "az");
  EXPECT_EQ(out.snapshot.services[1].meta.name, "b");
  EXPECT_EQ(out.snapshot.services[2].meta.name, "c");
  EXPECT_EQ(out.snapshot.services[1].source.file, (dir.path() / "b.yaml").string());
}

TEST(LoadPaths, ReportsMissingPaths) {
  TempDir dir;
  const std::string missing = (dir.path() / "missing.yaml").string();
  dir.write("ok.yaml", "apiVersion: v1\nkind: Service\nmetadata: {name: ok}\n");
  auto out = loadPaths({missing, (dir.path() / "ok.yaml").string()});
  EXPECT_EQ(out.snapshot.services.size(), 1u);
  ASSERT_EQ(out.diagnostics.items().size(), 1u);
  EXPECT_EQ(out.diagnostics.items()[0].file, missing);
  EXPECT_EQ(out.diagnostics.items()[0].severity, Severity::Error);
  EXPECT_NE(out.diagnostics.items()[0].message.find("cannot read"), std::string::npos);
}

}  // namespace
}  // namespace sluice::parse
