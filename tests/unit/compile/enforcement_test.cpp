#include <gtest/gtest.h>
#include <sluice/compile/enforcement.h>
#include <sluice/compile/plan.h>

namespace sluice::compile {
namespace {

std::vector<std::string> fields(const Diagnostics& d) {
  std::vector<std::string> out;
  for (const auto& item : d.items()) {
    EXPECT_EQ(item.severity, Severity::Warning);
    EXPECT_NE(item.message.find("not enforced by this version"), std::string::npos);
    out.push_back(item.field);
  }
  return out;
}

TEST(Enforcement, ReportsAcceptedButUnenforcedVirtualServiceFields) {
  model::Snapshot s;
  model::VirtualService vs;
  vs.meta.name = "reviews";
  vs.meta.ns = "default";
  model::HTTPRoute plain;
  model::HTTPRoute rich;
  rich.fault = model::HTTPFaultInjection{};
  rich.fault->abort = model::FaultAbort{};
  rich.fault->abort->grpcStatus = "UNAVAILABLE";
  rich.retries = model::HTTPRetry{};
  rich.retries->attempts = 3;
  rich.retries->retryRemoteLocalities = true;
  model::TLSRoute sni;
  vs.spec.http = {plain, rich};
  vs.spec.tls = {sni};
  s.virtualServices.push_back(vs);
  EXPECT_EQ(fields(unenforcedFields(s)),
            (std::vector<std::string>{"spec.http[1].retries.retryRemoteLocalities", "spec.tls"}));
}

TEST(Enforcement, EnforcedFieldsProduceNoWarning) {
  model::Snapshot s;
  model::DestinationRule dr;
  dr.meta.name = "reviews";
  dr.meta.ns = "default";
  model::TrafficPolicy p;
  p.loadBalancer = model::LoadBalancerSettings{};
  p.loadBalancer->simple = model::SimpleLB::RoundRobin;
  p.connectionPool = model::ConnectionPoolSettings{};
  p.connectionPool->tcp = model::TCPSettings{};
  p.connectionPool->tcp->maxConnections = 10;
  p.connectionPool->http = model::HTTPSettings{};
  p.connectionPool->http->h2UpgradePolicy = model::H2UpgradePolicy::Upgrade;
  p.connectionPool->http->useClientProtocol = true;
  p.connectionPool->http->http1MaxPendingRequests = 1;
  p.connectionPool->http->http2MaxRequests = 10;
  p.connectionPool->http->maxRequestsPerConnection = 1;
  p.connectionPool->http->maxRetries = 3;
  dr.spec.trafficPolicy = p;
  s.destinationRules.push_back(dr);
  model::VirtualService vs;
  model::HTTPRoute r;
  r.retries = model::HTTPRetry{};
  r.retries->attempts = 2;
  r.retries->retryOn = "5xx,reset";
  r.mirror = model::Destination{};
  r.mirror->host = "shadow";
  r.corsPolicy = model::CorsPolicy{};
  r.fault = model::HTTPFaultInjection{};
  r.fault->abort = model::FaultAbort{};
  r.fault->abort->grpcStatus = "UNAVAILABLE";
  vs.spec.http = {r};
  s.virtualServices.push_back(vs);
  EXPECT_TRUE(unenforcedFields(s).empty());
}

TEST(Enforcement, ReportsPolicyBlocksAtEveryLevel) {
  model::Snapshot s;
  model::DestinationRule dr;
  model::TrafficPolicy od;
  od.outlierDetection = model::OutlierDetection{};
  model::PortTrafficPolicy port;
  port.port = 80;
  port.tls = model::ClientTLSSettings{};
  port.tls->mode = model::TLSMode::Simple;
  od.portLevelSettings = {port};
  dr.spec.trafficPolicy = od;
  model::Subset v1;
  v1.name = "v1";
  v1.trafficPolicy = model::TrafficPolicy{};
  v1.trafficPolicy->proxyProtocol = model::ProxyProtocol{};
  v1.trafficPolicy->connectionPool = model::ConnectionPoolSettings{};
  v1.trafficPolicy->connectionPool->http = model::HTTPSettings{};
  v1.trafficPolicy->connectionPool->http->maxRetries = 1;  // enforced
  v1.trafficPolicy->connectionPool->http->maxConcurrentStreams = 10;  // not enforced
  dr.spec.subsets = {v1};
  s.destinationRules.push_back(dr);
  EXPECT_EQ(fields(unenforcedFields(s)),
            (std::vector<std::string>{"spec.trafficPolicy.outlierDetection",
                                      "spec.trafficPolicy.portLevelSettings[0].tls",
                                      "spec.subsets[0].trafficPolicy.proxyProtocol",
                                      "spec.subsets[0].trafficPolicy.connectionPool.http"}));
}

// A tcp route over `n` distinct destinations (one subset each), weight 1 apiece.
model::VirtualService tcpSplit(size_t n) {
  model::VirtualService vs;
  vs.meta.name = "wide";
  vs.meta.ns = "default";
  model::TCPRoute route;
  for (size_t i = 0; i < n; ++i) {
    route.route.push_back({{"backend", "v" + std::to_string(i), std::nullopt}, 1});
  }
  vs.spec.tcp = {route};
  return vs;
}

TEST(KernelLimits, RejectsATcpSplitWiderThanTheKernelRoute) {
  model::Snapshot s;
  s.virtualServices.push_back(tcpSplit(plan::kMaxSplitGroups + 1));
  Diagnostics d = kernelLimits(s);
  ASSERT_EQ(d.items().size(), 1u);
  const auto& e = d.items().front();
  EXPECT_EQ(e.severity, Severity::Error);
  EXPECT_EQ(e.kind, "VirtualService");
  EXPECT_EQ(e.name, "wide");
  EXPECT_EQ(e.field, "spec.tcp[0].route");
  EXPECT_NE(e.message.find("17 destinations"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("at most 16"), std::string::npos) << e.message;
}

TEST(KernelLimits, CountsWhatTheCompilerKeeps) {
  model::Snapshot s;
  // Exactly the limit, plus a repeated destination and a zero weight: neither adds a group.
  model::VirtualService vs = tcpSplit(plan::kMaxSplitGroups);
  vs.spec.tcp[0].route.push_back(vs.spec.tcp[0].route.front());
  vs.spec.tcp[0].route.push_back({{"backend", "idle", std::nullopt}, 0});
  s.virtualServices.push_back(vs);
  EXPECT_TRUE(kernelLimits(s).empty());
}

TEST(KernelLimits, IgnoresGatewayOnlyRoutes) {
  model::Snapshot s;
  model::VirtualService vs = tcpSplit(plan::kMaxSplitGroups + 4);
  vs.spec.gateways = {"istio-system/ingress"};
  s.virtualServices.push_back(vs);
  EXPECT_TRUE(kernelLimits(s).empty());
  s.virtualServices.front().spec.tcp[0].match.push_back({});
  s.virtualServices.front().spec.tcp[0].match.back().gateways = {"mesh"};
  EXPECT_FALSE(kernelLimits(s).empty());
}

}  // namespace
}  // namespace sluice::compile
