// DestinationRule rules, both directions, ported from istio/istio pkg/config/validation
// (TestValidateDestinationRule, TestValidateTrafficPolicy, TestValidateConnectionPool,
// TestValidateLoadBalancer, TestValidateOutlierDetection, agent TestValidateTLS and
// TestValidateLocalityLbSetting, Test_validateExportTo).
#include <sluice/validate/validate.h>

#include "test_util.h"

namespace sluice::validate::testing {
namespace {

using DR = model::DestinationRule;
using C = Case<DR>;

model::TrafficPolicy& tp(DR& d) {
  if (!d.spec.trafficPolicy)
    d.spec.trafficPolicy.emplace();
  return *d.spec.trafficPolicy;
}

model::LoadBalancerSettings& lb(DR& d) {
  if (!tp(d).loadBalancer)
    tp(d).loadBalancer.emplace();
  return *tp(d).loadBalancer;
}

model::ConsistentHashLB& ch(DR& d) {
  if (!lb(d).consistentHash)
    lb(d).consistentHash.emplace();
  return *lb(d).consistentHash;
}

model::LocalityLoadBalancerSetting& locality(DR& d) {
  if (!lb(d).localityLbSetting)
    lb(d).localityLbSetting.emplace();
  return *lb(d).localityLbSetting;
}

model::HTTPSettings& http(DR& d) {
  if (!tp(d).connectionPool)
    tp(d).connectionPool.emplace();
  if (!tp(d).connectionPool->http)
    tp(d).connectionPool->http.emplace();
  return *tp(d).connectionPool->http;
}

model::TCPSettings& tcp(DR& d) {
  if (!tp(d).connectionPool)
    tp(d).connectionPool.emplace();
  if (!tp(d).connectionPool->tcp)
    tp(d).connectionPool->tcp.emplace();
  return *tp(d).connectionPool->tcp;
}

model::OutlierDetection& od(DR& d) {
  if (!tp(d).outlierDetection)
    tp(d).outlierDetection.emplace();
  return *tp(d).outlierDetection;
}

model::ClientTLSSettings& tls(DR& d, model::TLSMode mode) {
  tp(d).tls.emplace().mode = mode;
  return *tp(d).tls;
}

void subsets(DR& d) {
  d.spec.subsets = {{"v1", {{"version", "v1"}}, std::nullopt}, {"v2", {{"version", "v2"}}, std::nullopt}};
}

model::TrafficPolicy validPolicy() {
  model::TrafficPolicy p;
  p.loadBalancer.emplace().simple = model::SimpleLB::RoundRobin;
  p.connectionPool.emplace().tcp.emplace().maxConnections = 7;
  p.connectionPool->http.emplace().http2MaxRequests = 11;
  p.outlierDetection.emplace().minHealthPercent = 20;
  return p;
}

const std::vector<C>& cases() {
  static const std::vector<C> kCases = {
      {"simple", subsets, Verdict::Valid, ""},
      {"empty workload selector warns",
       [](DR& d) {
         subsets(d);
         d.spec.workloadSelector.emplace();
       },
       Verdict::Warning, "spec.workloadSelector"},
      {"wildcard workload selector",
       [](DR& d) { d.spec.workloadSelector.emplace().matchLabels["app"] = "*"; }, Verdict::Invalid,
       "spec.workloadSelector.matchLabels.app"},
      {"missing host", [](DR& d) { d.spec.host = ""; }, Verdict::Invalid, "spec.host"},
      {"bad host", [](DR& d) { d.spec.host = "foo.*.com"; }, Verdict::Invalid, "spec.host"},
      {"wildcard host", [](DR& d) { d.spec.host = "*.example.com"; }, Verdict::Valid, ""},
      {"missing subset name",
       [](DR& d) {
         subsets(d);
         d.spec.subsets[0].name = "";
       },
       Verdict::Invalid, "spec.subsets[0].name"},
      {"duplicate subset names",
       [](DR& d) {
         subsets(d);
         d.spec.subsets[1].name = "v1";
       },
       Verdict::Invalid, "spec.subsets[1].name"},
      {"bad subset label",
       [](DR& d) {
         subsets(d);
         d.spec.subsets[0].labels["bad key"] = "x";
       },
       Verdict::Invalid, "spec.subsets[0].labels.bad key"},
      {"valid top-level policy", [](DR& d) { d.spec.trafficPolicy = validPolicy(); }, Verdict::Valid, ""},
      {"empty connection pool",
       [](DR& d) {
         d.spec.trafficPolicy = validPolicy();
         d.spec.trafficPolicy->connectionPool.emplace();
       },
       Verdict::Invalid, "spec.trafficPolicy.connectionPool"},
      {"valid subset policy",
       [](DR& d) {
         subsets(d);
         d.spec.subsets[0].trafficPolicy = validPolicy();
       },
       Verdict::Valid, ""},
      {"empty connection pool in subset",
       [](DR& d) {
         subsets(d);
         d.spec.subsets[0].trafficPolicy = validPolicy();
         d.spec.subsets[0].trafficPolicy->connectionPool.emplace();
       },
       Verdict::Invalid, "spec.subsets[0].trafficPolicy.connectionPool"},
      {"empty traffic policy", [](DR& d) { d.spec.trafficPolicy.emplace(); }, Verdict::Invalid,
       "spec.trafficPolicy"},
      {"port level without port",
       [](DR& d) {
         auto p = validPolicy();
         model::PortTrafficPolicy pl;
         pl.loadBalancer = p.loadBalancer;
         tp(d).portLevelSettings.push_back(pl);
       },
       Verdict::Invalid, "spec.trafficPolicy.portLevelSettings[0].port"},
      {"empty port level entry", [](DR& d) { tp(d).portLevelSettings.emplace_back().port = 80; },
       Verdict::Invalid, "spec.trafficPolicy.portLevelSettings[0]"},
      {"port level entry",
       [](DR& d) {
         auto& pl = tp(d).portLevelSettings.emplace_back();
         pl.port = 80;
         pl.loadBalancer.emplace().simple = model::SimpleLB::Random;
       },
       Verdict::Valid, ""},
      {"bad max connection duration",
       [](DR& d) { tcp(d).maxConnectionDuration = std::chrono::nanoseconds(500); }, Verdict::Invalid,
       "spec.trafficPolicy.connectionPool.tcp.maxConnectionDuration"},
      {"min health percent -1", [](DR& d) { od(d).minHealthPercent = -1; }, Verdict::Invalid,
       "spec.trafficPolicy.outlierDetection.minHealthPercent"},
      {"upgrade with client protocol",
       [](DR& d) {
         http(d).h2UpgradePolicy = model::H2UpgradePolicy::Upgrade;
         http(d).useClientProtocol = true;
       },
       Verdict::Invalid, "spec.trafficPolicy.connectionPool.http.useClientProtocol"},
      {"tunnel and proxy protocol",
       [](DR& d) {
         tp(d).tunnel = model::TunnelSettings{"CONNECT", "example.com", 443};
         tp(d).proxyProtocol.emplace();
       },
       Verdict::Invalid, "spec.trafficPolicy"},
      {"tunnel",
       [](DR& d) {
         tp(d).tunnel = model::TunnelSettings{"POST", "10.0.0.1", 443};
       },
       Verdict::Valid, ""},
      {"tunnel bad protocol",
       [](DR& d) {
         tp(d).tunnel = model::TunnelSettings{"GET", "example.com", 443};
       },
       Verdict::Invalid, "spec.trafficPolicy.tunnel.protocol"},
      {"tunnel bad host",
       [](DR& d) {
         tp(d).tunnel = model::TunnelSettings{"", "bad_host", 443};
       },
       Verdict::Invalid, "spec.trafficPolicy.tunnel.targetHost"},
      {"tunnel bad port",
       [](DR& d) {
         tp(d).tunnel = model::TunnelSettings{"", "example.com", 0};
       },
       Verdict::Invalid, "spec.trafficPolicy.tunnel.targetPort"},
      {"retry budget", [](DR& d) { tp(d).retryBudget.emplace().percent = 25; }, Verdict::Valid, ""},
      {"retry budget over 100", [](DR& d) { tp(d).retryBudget.emplace().percent = 101; }, Verdict::Invalid,
       "spec.trafficPolicy.retryBudget.percent"},

      // ---- connection pool
      {"pool tcp and http",
       [](DR& d) {
         tcp(d).maxConnections = 7;
         tcp(d).connectTimeout = sec(2);
         http(d).http1MaxPendingRequests = 2;
         http(d).http2MaxRequests = 11;
         http(d).maxRequestsPerConnection = 5;
         http(d).maxRetries = 4;
         http(d).idleTimeout = sec(30);
         http(d).maxConcurrentStreams = 5;
       },
       Verdict::Valid, ""},
      {"http2 keepalive",
       [](DR& d) {
         http(d).http2KeepAlive = model::Http2KeepAlive{sec(15), sec(5)};
       },
       Verdict::Valid, ""},
      {"negative max connections", [](DR& d) { tcp(d).maxConnections = -1; }, Verdict::Invalid,
       "spec.trafficPolicy.connectionPool.tcp.maxConnections"},
      {"connect timeout with nanos",
       [](DR& d) { tcp(d).connectTimeout = sec(2) + std::chrono::nanoseconds(5); }, Verdict::Invalid,
       "spec.trafficPolicy.connectionPool.tcp.connectTimeout"},
      {"negative pending requests", [](DR& d) { http(d).http1MaxPendingRequests = -1; }, Verdict::Invalid,
       "spec.trafficPolicy.connectionPool.http.http1MaxPendingRequests"},
      {"negative max requests", [](DR& d) { http(d).http2MaxRequests = -1; }, Verdict::Invalid,
       "spec.trafficPolicy.connectionPool.http.http2MaxRequests"},
      {"negative requests per connection", [](DR& d) { http(d).maxRequestsPerConnection = -1; },
       Verdict::Invalid, "spec.trafficPolicy.connectionPool.http.maxRequestsPerConnection"},
      {"negative max retries", [](DR& d) { http(d).maxRetries = -1; }, Verdict::Invalid,
       "spec.trafficPolicy.connectionPool.http.maxRetries"},
      {"idle timeout with nanos", [](DR& d) { http(d).idleTimeout = sec(30) + std::chrono::nanoseconds(5); },
       Verdict::Invalid, "spec.trafficPolicy.connectionPool.http.idleTimeout"},
      {"tcp idle timeout 0s disables", [](DR& d) { tcp(d).idleTimeout = sec(0); }, Verdict::Valid, ""},
      {"negative concurrent streams", [](DR& d) { http(d).maxConcurrentStreams = -1; }, Verdict::Invalid,
       "spec.trafficPolicy.connectionPool.http.maxConcurrentStreams"},
      {"keepalive without interval",
       [](DR& d) {
         http(d).http2KeepAlive = model::Http2KeepAlive{std::nullopt, sec(5)};
       },
       Verdict::Invalid, "spec.trafficPolicy.connectionPool.http.http2KeepAlive.interval"},
      {"keepalive without timeout",
       [](DR& d) {
         http(d).http2KeepAlive = model::Http2KeepAlive{sec(15), std::nullopt};
       },
       Verdict::Invalid, "spec.trafficPolicy.connectionPool.http.http2KeepAlive.timeout"},
      {"keepalive interval with nanos",
       [](DR& d) {
         http(d).http2KeepAlive = model::Http2KeepAlive{sec(15) + std::chrono::nanoseconds(5), sec(5)};
       },
       Verdict::Invalid, "spec.trafficPolicy.connectionPool.http.http2KeepAlive.interval"},
      {"tcp keepalive time",
       [](DR& d) { tcp(d).tcpKeepalive.emplace().time = std::chrono::microseconds(10); }, Verdict::Invalid,
       "spec.trafficPolicy.connectionPool.tcp.tcpKeepalive.time"},

      // ---- load balancer
      {"round robin", [](DR& d) { lb(d).simple = model::SimpleLB::RoundRobin; }, Verdict::Valid, ""},
      {"cookie hash with deprecated ring size warns",
       [](DR& d) {
         ch(d).minimumRingSize = 1024;
         ch(d).httpCookie = model::HTTPCookie{"test", "", sec(3600), {}};
       },
       Verdict::Warning, "spec.trafficPolicy.loadBalancer.consistentHash.minimumRingSize"},
      {"cookie without name",
       [](DR& d) {
         ch(d).httpCookie = model::HTTPCookie{"", "", sec(3600), {}};
       },
       Verdict::Invalid, "spec.trafficPolicy.loadBalancer.consistentHash.httpCookie.name"},
      {"maglev not prime", [](DR& d) { ch(d).maglev.emplace().tableSize = 1000; }, Verdict::Invalid,
       "spec.trafficPolicy.loadBalancer.consistentHash.maglev.tableSize"},
      {"maglev prime", [](DR& d) { ch(d).maglev.emplace().tableSize = 65537; }, Verdict::Valid, ""},
      {"maglev unset", [](DR& d) { ch(d).maglev.emplace(); }, Verdict::Invalid,
       "spec.trafficPolicy.loadBalancer.consistentHash.maglev.tableSize"},
      {"maglev too large", [](DR& d) { ch(d).maglev.emplace().tableSize = 5000011; }, Verdict::Invalid,
       "spec.trafficPolicy.loadBalancer.consistentHash.maglev.tableSize"},
      {"deprecated ring size with ringHash",
       [](DR& d) {
         ch(d).minimumRingSize = 1024;
         ch(d).ringHash.emplace().minimumRingSize = 2048;
       },
       Verdict::Invalid, "spec.trafficPolicy.loadBalancer.consistentHash.minimumRingSize"},
      {"unique cookie attributes",
       [](DR& d) {
         ch(d).httpCookie =
             model::HTTPCookie{"c", "", sec(3600), {{"SameSite", "Strict"}, {"Secure", "true"}}};
       },
       Verdict::Valid, ""},
      {"duplicate cookie attributes",
       [](DR& d) {
         ch(d).httpCookie =
             model::HTTPCookie{"c", "", sec(3600), {{"SameSite", "Strict"}, {"SameSite", "Lax"}}};
       },
       Verdict::Invalid, "spec.trafficPolicy.loadBalancer.consistentHash.httpCookie.attributes[1].name"},
      {"empty cookie attribute name",
       [](DR& d) {
         ch(d).httpCookie = model::HTTPCookie{"c", "", sec(3600), {{"", "v"}}};
       },
       Verdict::Invalid, "spec.trafficPolicy.loadBalancer.consistentHash.httpCookie.attributes[0].name"},
      {"simple and consistent hash",
       [](DR& d) {
         lb(d).simple = model::SimpleLB::Random;
         ch(d).useSourceIp = true;
       },
       Verdict::Invalid, "spec.trafficPolicy.loadBalancer"},
      {"locality and zone aware",
       [](DR& d) {
         lb(d).localityLbSetting.emplace();
         lb(d).zoneAwareLbSetting.emplace();
       },
       Verdict::Invalid, "spec.trafficPolicy.loadBalancer"},
      {"zone aware only", [](DR& d) { lb(d).zoneAwareLbSetting.emplace().enabled = true; }, Verdict::Valid,
       ""},
      {"zone aware failover without outlier detection",
       [](DR& d) { lb(d).zoneAwareLbSetting.emplace().failover = {{"us-east", "us-west"}}; },
       Verdict::Warning, "spec.trafficPolicy.loadBalancer.zoneAwareLbSetting"},
      {"zone aware failover to the same region",
       [](DR& d) {
         lb(d).zoneAwareLbSetting.emplace().failover = {{"us-east", "us-east"}};
         d.spec.trafficPolicy->outlierDetection.emplace();
       },
       Verdict::Invalid, "spec.trafficPolicy.loadBalancer.zoneAwareLbSetting.failover[0]"},
      {"zone aware failover with a zone",
       [](DR& d) {
         lb(d).zoneAwareLbSetting.emplace().failover = {{"us-east/a", "us-west"}};
         d.spec.trafficPolicy->outlierDetection.emplace();
       },
       Verdict::Invalid, "spec.trafficPolicy.loadBalancer.zoneAwareLbSetting.failover[0]"},
      {"zone aware failover priority on a topology label",
       [](DR& d) {
         lb(d).zoneAwareLbSetting.emplace().failoverPriority = {"topology.kubernetes.io/zone"};
         d.spec.trafficPolicy->outlierDetection.emplace();
       },
       Verdict::Invalid, "spec.trafficPolicy.loadBalancer.zoneAwareLbSetting.failoverPriority[0]"},
      {"zone aware failover priority on a custom label",
       [](DR& d) {
         lb(d).zoneAwareLbSetting.emplace().failoverPriority = {"example.com/rack"};
         d.spec.trafficPolicy->outlierDetection.emplace();
       },
       Verdict::Valid, ""},
      {"warmup", [](DR& d) { lb(d).warmup.emplace().duration = sec(10); }, Verdict::Valid, ""},
      {"warmup without duration", [](DR& d) { lb(d).warmup.emplace(); }, Verdict::Invalid,
       "spec.trafficPolicy.loadBalancer.warmup.duration"},
      {"warmup minimum percent over 100",
       [](DR& d) {
         lb(d).warmup.emplace().duration = sec(10);
         lb(d).warmup->minimumPercent = 101;
       },
       Verdict::Invalid, "spec.trafficPolicy.loadBalancer.warmup.minimumPercent"},
      {"warmup aggression 0",
       [](DR& d) {
         lb(d).warmup.emplace().duration = sec(10);
         lb(d).warmup->aggression = 0;
       },
       Verdict::Invalid, "spec.trafficPolicy.loadBalancer.warmup.aggression"},
      {"warmupDurationSecs below 1ms",
       [](DR& d) { lb(d).warmupDurationSecs = std::chrono::microseconds(10); }, Verdict::Invalid,
       "spec.trafficPolicy.loadBalancer.warmupDurationSecs"},

      // ---- locality
      {"distribute over 100",
       [](DR& d) {
         od(d);
         locality(d).distribute = {{"a/b/c", {{"a/b/c", 80}, {"a/b1", 25}}}};
       },
       Verdict::Invalid, "spec.trafficPolicy.loadBalancer.localityLbSetting.distribute[0].to"},
      {"distribute under 100",
       [](DR& d) {
         od(d);
         locality(d).distribute = {{"a/b/c", {{"a/b/c", 80}, {"a/b1", 15}}}};
       },
       Verdict::Invalid, "spec.trafficPolicy.loadBalancer.localityLbSetting.distribute[0].to"},
      {"distribute weight 0",
       [](DR& d) {
         od(d);
         locality(d).distribute = {{"a/b/c", {{"a/b/c", 0}, {"a/b1", 100}}}};
       },
       Verdict::Invalid, "spec.trafficPolicy.loadBalancer.localityLbSetting.distribute[0].to.a/b/c"},
      {"distribute",
       [](DR& d) {
         od(d);
         locality(d).distribute = {{"a/b/c", {{"a/b/c", 80}, {"a/b1", 20}}}};
       },
       Verdict::Valid, ""},
      {"distribute overlapping destinations",
       [](DR& d) {
         locality(d).distribute = {{"a/b/c", {{"a/b", 50}, {"a/b/c", 50}}}};
       },
       Verdict::Invalid, "spec.trafficPolicy.loadBalancer.localityLbSetting.distribute[0].to"},
      {"distribute and failover",
       [](DR& d) {
         od(d);
         locality(d).distribute = {{"a/b/c", {{"a/b/c", 80}, {"a/b1", 20}}}};
         locality(d).failover = {{"region1", "region2"}};
       },
       Verdict::Invalid, "spec.trafficPolicy.loadBalancer.localityLbSetting"},
      {"failover same region",
       [](DR& d) {
         od(d);
         locality(d).failover = {{"region1", "region1"}};
       },
       Verdict::Invalid, "spec.trafficPolicy.loadBalancer.localityLbSetting.failover[0]"},
      {"failover wildcard",
       [](DR& d) {
         od(d);
         locality(d).failover = {{"*", "region2"}};
       },
       Verdict::Invalid, "spec.trafficPolicy.loadBalancer.localityLbSetting.failover[0]"},
      {"failover zone",
       [](DR& d) {
         od(d);
         locality(d).failover = {{"region1/zone1", "region2"}};
       },
       Verdict::Invalid, "spec.trafficPolicy.loadBalancer.localityLbSetting.failover[0]"},
      {"failover without outlier detection warns",
       [](DR& d) {
         locality(d).failover = {{"us-east", "eu-west"}};
       },
       Verdict::Warning, "spec.trafficPolicy.loadBalancer.localityLbSetting"},
      {"failover priority without outlier detection warns",
       [](DR& d) {
         locality(d).failoverPriority = {"topology.istio.io/network", "topology.kubernetes.io/region"};
       },
       Verdict::Warning, "spec.trafficPolicy.loadBalancer.localityLbSetting"},
      {"failover with outlier detection",
       [](DR& d) {
         od(d);
         locality(d).failover = {{"us-east", "eu-west"}};
       },
       Verdict::Valid, ""},
      {"failover with region priority",
       [](DR& d) {
         od(d);
         locality(d).failover = {{"region1", "region2"}};
         locality(d).failoverPriority = {"topology.kubernetes.io/region"};
       },
       Verdict::Invalid, "spec.trafficPolicy.loadBalancer.localityLbSetting.failoverPriority[0]"},

      // ---- outlier detection
      {"outlier detection",
       [](DR& d) {
         od(d).interval = sec(2);
         od(d).baseEjectionTime = sec(2);
         od(d).maxEjectionPercent = 50;
       },
       Verdict::Valid, ""},
      {"bad interval", [](DR& d) { od(d).interval = sec(2) + std::chrono::nanoseconds(5); }, Verdict::Invalid,
       "spec.trafficPolicy.outlierDetection.interval"},
      {"bad base ejection time", [](DR& d) { od(d).baseEjectionTime = sec(2) + std::chrono::nanoseconds(5); },
       Verdict::Invalid, "spec.trafficPolicy.outlierDetection.baseEjectionTime"},
      {"max ejection 105", [](DR& d) { od(d).maxEjectionPercent = 105; }, Verdict::Invalid,
       "spec.trafficPolicy.outlierDetection.maxEjectionPercent"},
      {"min health 101", [](DR& d) { od(d).minHealthPercent = 101; }, Verdict::Invalid,
       "spec.trafficPolicy.outlierDetection.minHealthPercent"},
      {"deprecated consecutive errors warns", [](DR& d) { od(d).consecutiveErrors = 101; }, Verdict::Warning,
       "spec.trafficPolicy.outlierDetection.consecutiveErrors"},
      {"local origin failures without split", [](DR& d) { od(d).consecutiveLocalOriginFailures = 10; },
       Verdict::Invalid, "spec.trafficPolicy.outlierDetection.consecutiveLocalOriginFailures"},
      {"local origin failures with split",
       [](DR& d) {
         od(d).consecutiveLocalOriginFailures = 10;
         od(d).splitExternalLocalOriginErrors = true;
       },
       Verdict::Valid, ""},
      {"bad error code",
       [](DR& d) {
         od(d).outlierDetectionHttpErrorCodes = {500, 99};
       },
       Verdict::Invalid, "spec.trafficPolicy.outlierDetection.outlierDetectionHttpErrorCodes[1]"},

      // ---- TLS
      {"simple with ca", [](DR& d) { tls(d, model::TLSMode::Simple).caCertificates = "test"; },
       Verdict::Valid, ""},
      {"simple with credential and san",
       [](DR& d) {
         auto& t = tls(d, model::TLSMode::Simple);
         t.credentialName = "test";
         t.subjectAltNames = {"reviews.default.svc"};
         t.insecureSkipVerify = false;
       },
       Verdict::Valid, ""},
      {"simple insecure with credential",
       [](DR& d) {
         auto& t = tls(d, model::TLSMode::Simple);
         t.credentialName = "test";
         t.insecureSkipVerify = true;
       },
       Verdict::Invalid, "spec.trafficPolicy.tls.insecureSkipVerify"},
      {"simple insecure with ca",
       [](DR& d) {
         auto& t = tls(d, model::TLSMode::Simple);
         t.caCertificates = "test";
         t.insecureSkipVerify = true;
       },
       Verdict::Invalid, "spec.trafficPolicy.tls.insecureSkipVerify"},
      {"simple insecure with san",
       [](DR& d) {
         auto& t = tls(d, model::TLSMode::Simple);
         t.subjectAltNames = {"reviews.default.svc"};
         t.insecureSkipVerify = true;
       },
       Verdict::Invalid, "spec.trafficPolicy.tls.insecureSkipVerify"},
      {"mutual with files",
       [](DR& d) {
         auto& t = tls(d, model::TLSMode::Mutual);
         t.caCertificates = "test";
         t.privateKey = "key";
         t.clientCertificate = "cert";
       },
       Verdict::Valid, ""},
      {"mutual insecure with ca",
       [](DR& d) {
         auto& t = tls(d, model::TLSMode::Mutual);
         t.caCertificates = "test";
         t.privateKey = "key";
         t.clientCertificate = "cert";
         t.insecureSkipVerify = true;
       },
       Verdict::Invalid, "spec.trafficPolicy.tls.insecureSkipVerify"},
      {"mutual insecure with credential",
       [](DR& d) {
         auto& t = tls(d, model::TLSMode::Mutual);
         t.credentialName = "test";
         t.insecureSkipVerify = true;
       },
       Verdict::Valid, ""},
      {"mutual insecure with san",
       [](DR& d) {
         auto& t = tls(d, model::TLSMode::Mutual);
         t.privateKey = "key";
         t.clientCertificate = "cert";
         t.subjectAltNames = {"x"};
         t.insecureSkipVerify = true;
       },
       Verdict::Invalid, "spec.trafficPolicy.tls.insecureSkipVerify"},
      {"credential and client certificate",
       [](DR& d) {
         auto& t = tls(d, model::TLSMode::Simple);
         t.credentialName = "credential";
         t.clientCertificate = "cert";
       },
       Verdict::Invalid, "spec.trafficPolicy.tls.credentialName"},
      {"credential and crl",
       [](DR& d) {
         auto& t = tls(d, model::TLSMode::Mutual);
         t.credentialName = "credential";
         t.caCrl = "ca";
       },
       Verdict::Invalid, "spec.trafficPolicy.tls.credentialName"},
      {"mutual without key", [](DR& d) { tls(d, model::TLSMode::Mutual).clientCertificate = "cert"; },
       Verdict::Invalid, "spec.trafficPolicy.tls.privateKey"},
      {"mutual without certificate", [](DR& d) { tls(d, model::TLSMode::Mutual).privateKey = "key"; },
       Verdict::Invalid, "spec.trafficPolicy.tls.clientCertificate"},
      {"configmap credential in own namespace",
       [](DR& d) { tls(d, model::TLSMode::Simple).credentialName = "configmap://ns5/ca"; }, Verdict::Valid,
       ""},
      {"configmap credential without namespace",
       [](DR& d) { tls(d, model::TLSMode::Simple).credentialName = "configmap://ca"; }, Verdict::Invalid,
       "spec.trafficPolicy.tls.credentialName"},
      {"configmap credential without name",
       [](DR& d) { tls(d, model::TLSMode::Simple).credentialName = "configmap://ns5/"; }, Verdict::Invalid,
       "spec.trafficPolicy.tls.credentialName"},
      {"kubernetes credential without namespace",
       [](DR& d) { tls(d, model::TLSMode::Simple).credentialName = "kubernetes://ca"; }, Verdict::Valid, ""},
      {"configmap credential in other namespace",
       [](DR& d) { tls(d, model::TLSMode::Simple).credentialName = "configmap://other/ca"; },
       Verdict::Invalid, "spec.trafficPolicy.tls.credentialName"},
      {"istio mutual", [](DR& d) { tls(d, model::TLSMode::IstioMutual); }, Verdict::Valid, ""},

      // ---- exportTo with a workload selector
      {"selector exportTo *",
       [](DR& d) {
         d.spec.workloadSelector.emplace().matchLabels["app"] = "a";
         d.spec.exportTo = {"*"};
       },
       Verdict::Invalid, "spec.exportTo"},
      {"selector exportTo .",
       [](DR& d) {
         d.spec.workloadSelector.emplace().matchLabels["app"] = "a";
         d.spec.exportTo = {"."};
       },
       Verdict::Valid, ""},
      {"selector exportTo other namespace",
       [](DR& d) {
         d.spec.workloadSelector.emplace().matchLabels["app"] = "a";
         d.spec.exportTo = {"somens"};
       },
       Verdict::Invalid, "spec.exportTo"},
      {"selector exportTo . and other",
       [](DR& d) {
         d.spec.workloadSelector.emplace().matchLabels["app"] = "a";
         d.spec.exportTo = {".", "somens"};
       },
       Verdict::Invalid, "spec.exportTo"},
  };
  return kCases;
}

class DestinationRuleRules : public ::testing::TestWithParam<C> {};

TEST_P(DestinationRuleRules, Verdict) {
  const C& c = GetParam();
  DR dr = baseDr();
  c.mutate(dr);
  expectVerdict(validateDestinationRule(dr), c.want, c.field);
}

INSTANTIATE_TEST_SUITE_P(Istio, DestinationRuleRules, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<C>& info) {
                           std::string n;
                           for (char ch : info.param.name) {
                             n += std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
                           }
                           return n + "_" + std::to_string(info.index);
                         });

}  // namespace
}  // namespace sluice::validate::testing
