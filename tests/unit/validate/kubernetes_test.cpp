// Kubernetes object sanity: the API server's verdicts on ports, cluster IPs and endpoint addresses.
#include <sluice/validate/validate.h>

#include "test_util.h"

namespace sluice::validate::testing {
namespace {

model::Service baseService() {
  model::Service s;
  s.meta.name = "reviews";
  s.meta.ns = "default";
  s.spec.clusterIP = "10.96.0.10";
  model::ServicePort p;
  p.name = "http";
  p.port = 9080;
  s.spec.ports.push_back(p);
  return s;
}

TEST(ServiceSanity, ValidServices) {
  expectVerdict(validateService(baseService()), Verdict::Valid, "");
  auto headless = baseService();
  headless.spec.clusterIP = "None";
  headless.spec.clusterIPs = {"None"};
  expectVerdict(validateService(headless), Verdict::Valid, "");
  auto dual = baseService();
  dual.spec.clusterIPs = {"10.96.0.10", "fd00::10"};
  expectVerdict(validateService(dual), Verdict::Valid, "");
  auto named = baseService();
  named.spec.ports[0].targetPort.name = "http-web";
  expectVerdict(validateService(named), Verdict::Valid, "");
}

TEST(ServiceSanity, PortRange) {
  auto s = baseService();
  s.spec.ports[0].port = 0;
  expectVerdict(validateService(s), Verdict::Invalid, "spec.ports[0].port");
  s = baseService();
  s.spec.ports[0].port = 65536;
  expectVerdict(validateService(s), Verdict::Invalid, "spec.ports[0].port");
  s = baseService();
  s.spec.ports[0].targetPort.number = 70000;
  expectVerdict(validateService(s), Verdict::Invalid, "spec.ports[0].targetPort");
}

TEST(ServiceSanity, PortNamesAndProtocol) {
  auto s = baseService();
  s.spec.ports.push_back(s.spec.ports[0]);
  expectVerdict(validateService(s), Verdict::Invalid, "spec.ports[1].name");
  s.spec.ports[1].name = "";
  expectVerdict(validateService(s), Verdict::Invalid, "spec.ports[1].name");
  s.spec.ports[1].name = "grpc";
  expectVerdict(validateService(s), Verdict::Valid, "");
  s.spec.ports[1].protocol = "ICMP";
  expectVerdict(validateService(s), Verdict::Invalid, "spec.ports[1].protocol");
}

TEST(ServiceSanity, ClusterIPs) {
  auto s = baseService();
  s.spec.clusterIP = "10.96.0.300";
  expectVerdict(validateService(s), Verdict::Invalid, "spec.clusterIP");
  s = baseService();
  s.spec.clusterIPs = {"10.96.0.11"};
  expectVerdict(validateService(s), Verdict::Invalid, "spec.clusterIPs[0]");
  s = baseService();
  s.spec.clusterIPs = {"10.96.0.10", "10.96.0.11"};
  expectVerdict(validateService(s), Verdict::Invalid, "spec.clusterIPs[1]");
  s = baseService();
  s.spec.clusterIPs = {"10.96.0.10", "bogus"};
  expectVerdict(validateService(s), Verdict::Invalid, "spec.clusterIPs[1]");
}

model::EndpointSlice baseSlice(std::string type, std::vector<std::string> addresses) {
  model::EndpointSlice es;
  es.meta.name = "reviews-abc";
  es.addressType = std::move(type);
  es.endpoints.emplace_back().addresses = std::move(addresses);
  es.ports.emplace_back().port = 9080;
  return es;
}

TEST(EndpointSliceSanity, AddressesMatchType) {
  expectVerdict(validateEndpointSlice(baseSlice("IPv4", {"10.1.0.5"})), Verdict::Valid, "");
  expectVerdict(validateEndpointSlice(baseSlice("IPv6", {"fd00::5"})), Verdict::Valid, "");
  expectVerdict(validateEndpointSlice(baseSlice("FQDN", {"db.example.com"})), Verdict::Valid, "");
  expectVerdict(validateEndpointSlice(baseSlice("IPv4", {"fd00::5"})), Verdict::Invalid,
                "endpoints[0].addresses[0]");
  expectVerdict(validateEndpointSlice(baseSlice("IPv6", {"10.1.0.5"})), Verdict::Invalid,
                "endpoints[0].addresses[0]");
  expectVerdict(validateEndpointSlice(baseSlice("IPv4", {"not-an-ip"})), Verdict::Invalid,
                "endpoints[0].addresses[0]");
  expectVerdict(validateEndpointSlice(baseSlice("IPv4", {})), Verdict::Invalid, "endpoints[0].addresses");
  expectVerdict(validateEndpointSlice(baseSlice("IPX", {"10.1.0.5"})), Verdict::Invalid, "addressType");
}

TEST(EndpointSliceSanity, Ports) {
  auto es = baseSlice("IPv4", {"10.1.0.5"});
  es.ports[0].port = 0;
  expectVerdict(validateEndpointSlice(es), Verdict::Invalid, "ports[0].port");
}

TEST(PodSanity, Ips) {
  model::Pod pod;
  pod.meta.name = "p";
  pod.status.podIP = "10.1.0.5";
  pod.status.podIPs = {"10.1.0.5", "fd00::5"};
  expectVerdict(validatePod(pod), Verdict::Valid, "");
  pod.status.podIPs[1] = "fd00::zz";
  expectVerdict(validatePod(pod), Verdict::Invalid, "status.podIPs[1].ip");
}

}  // namespace
}  // namespace sluice::validate::testing
