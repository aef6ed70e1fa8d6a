#include <gtest/gtest.h>
#include <sluice/compile/enforcement.h>

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
            (std::vector<std::string>{"spec.http[1].fault.abort.grpcStatus",
                                      "spec.http[1].retries.retryRemoteLocalities", "spec.tls"}));
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
  dr.spec.subsets = {v1};
  s.destinationRules.push_back(dr);
  EXPECT_EQ(fields(unenforcedFields(s)),
            (std::vector<std::string>{"spec.trafficPolicy.outlierDetection",
                                      "spec.trafficPolicy.portLevelSettings[0].tls",
                                      "spec.subsets[0].trafficPolicy.proxyProtocol"}));
}

}  // namespace
}  // namespace sluice::compile
