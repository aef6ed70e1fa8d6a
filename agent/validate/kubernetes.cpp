// Basic sanity of the Kubernetes objects Sluice reads, with the API server's verdicts and wording
// (k8s.io/kubernetes pkg/apis/core/validation and discovery/validation), limited to the fields the data
// plane depends on: ports, cluster IPs and endpoint addresses.
#include <sluice/net/address.h>
#include <sluice/validate/validate.h>

#include <algorithm>
#include <set>

#include "checks.h"

namespace sluice::validate {

using namespace detail;  // NOLINT: the helpers are this file's vocabulary

namespace {

std::string invalid(const std::string& value, const std::string& why) {
  return "Invalid value: " + value + ": " + why;
}

void checkPortNumber(Reporter& r, const std::string& path, int64_t port) {
  if (port < 1 || port > 65535) {
    r.error(path, invalid(std::to_string(port), "must be between 1 and 65535, inclusive"));
  }
}

void checkProtocol(Reporter& r, const std::string& path, const std::string& protocol) {
  if (protocol != "TCP" && protocol != "UDP" && protocol != "SCTP") {
    r.error(path, "Unsupported value: " + quote(protocol) + ": supported values: \"SCTP\", \"TCP\", \"UDP\"");
  }
}

// Kubernetes' own DNS-1123 label (lower case only), used for port names.
bool isLowerDns1123Label(const std::string& s) {
  return isDns1123Label(s) && std::none_of(s.begin(), s.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

}  // namespace

Diagnostics validateService(const model::Service& svc) {
  Diagnostics out;
  Reporter r(out, "Service", svc.meta, svc.source);
  const auto& spec = svc.spec;
  static const std::set<std::string> kTypes = {"ClusterIP", "NodePort", "LoadBalancer", "ExternalName"};
  if (kTypes.count(spec.type) == 0) {
    r.error("spec.type",
            "Unsupported value: " + quote(spec.type) +
                ": supported values: \"ClusterIP\", \"ExternalName\", \"LoadBalancer\", \"NodePort\"");
  }
  if (spec.type == "ExternalName") {
    if (auto e = checkFqdn(spec.externalName)) {
      r.error("spec.externalName",
              spec.externalName.empty() ? "Required value" : invalid(quote(spec.externalName), *e));
    }
  }
  if (!spec.clusterIP.empty() && spec.clusterIP != "None" && !isIpAddress(spec.clusterIP)) {
    r.error("spec.clusterIP", invalid(quote(spec.clusterIP), "must be empty, 'None', or a valid IP address"));
  }
  if (spec.clusterIPs.size() > 2) {
    r.error("spec.clusterIPs", "Invalid value: may contain at most 2 IPs");
  }
  std::optional<net::IpAddress::Family> firstFamily;
  for (size_t i = 0; i < spec.clusterIPs.size(); ++i) {
    const auto& ip = spec.clusterIPs[i];
    const std::string p = index("spec.clusterIPs", i);
    if (i == 0 && !spec.clusterIP.empty() && ip != spec.clusterIP) {
      r.error(p, invalid(quote(ip), "must be equal to clusterIP"));
    }
    if (ip == "None") {
      if (i > 0) {
        r.error(p, invalid(quote(ip), "must be a valid IP address"));
      }
      continue;
    }
    auto parsed = net::IpAddress::parse(ip);
    if (!parsed) {
      r.error(p, invalid(quote(ip), "must be a valid IP address"));
      continue;
    }
    if (i == 0) {
      firstFamily = parsed->family();
    } else if (firstFamily && *firstFamily == parsed->family()) {
      r.error(p, invalid(quote(ip), "may specify no more than one IP for each IP family"));
    }
  }
  std::set<std::string> names;
  for (size_t i = 0; i < spec.ports.size(); ++i) {
    const auto& port = spec.ports[i];
    const std::string p = index("spec.ports", i);
    if (port.name.empty()) {
      if (spec.ports.size() > 1) {
        r.error(field(p, "name"), "Required value");
      }
    } else if (!isLowerDns1123Label(port.name)) {
      r.error(field(p, "name"), invalid(quote(port.name),
                                        "a lowercase RFC 1123 label must consist of lower case "
                                        "alphanumeric characters or '-'"));
    } else if (!names.insert(port.name).second) {
      r.error(field(p, "name"), "Duplicate value: " + quote(port.name));
    }
    checkPortNumber(r, field(p, "port"), port.port);
    checkProtocol(r, field(p, "protocol"), port.protocol);
    if (port.targetPort.number) {
      checkPortNumber(r, field(p, "targetPort"), *port.targetPort.number);
    } else if (!port.targetPort.name.empty() && !isLowerDns1123Label(port.targetPort.name)) {
      r.error(field(p, "targetPort"), invalid(quote(port.targetPort.name), "must be a valid port name"));
    }
    if (port.nodePort && *port.nodePort != 0) {
      checkPortNumber(r, field(p, "nodePort"), *port.nodePort);
    }
  }
  return out;
}

Diagnostics validateEndpointSlice(const model::EndpointSlice& slice) {
  Diagnostics out;
  Reporter r(out, "EndpointSlice", slice.meta, slice.source);
  const std::string& type = slice.addressType;
  if (type != "IPv4" && type != "IPv6" && type != "FQDN") {
    r.error("addressType",
            "Unsupported value: " + quote(type) + ": supported values: \"FQDN\", \"IPv4\", \"IPv6\"");
  }
  for (size_t i = 0; i < slice.endpoints.size(); ++i) {
    const auto& ep = slice.endpoints[i];
    const std::string p = index("endpoints", i);
    if (ep.addresses.empty() || ep.addresses.size() > 100) {
      r.error(field(p, "addresses"),
              ep.addresses.empty() ? "Required value" : "Too many: must have at most 100 items");
    }
    for (size_t j = 0; j < ep.addresses.size(); ++j) {
      const auto& a = ep.addresses[j];
      const std::string ap = index(field(p, "addresses"), j);
      if (type == "FQDN") {
        if (auto e = checkFqdn(a)) {
          r.error(ap, invalid(quote(a), *e));
        }
        continue;
      }
      auto ip = net::IpAddress::parse(a);
      if (!ip || (type == "IPv4") != ip->isV4()) {
        r.error(ap, invalid(quote(a), "must be a valid " + type + " address"));
      }
    }
  }
  for (size_t i = 0; i < slice.ports.size(); ++i) {
    const auto& port = slice.ports[i];
    const std::string p = index("ports", i);
    if (port.port) {
      checkPortNumber(r, field(p, "port"), *port.port);
    }
    checkProtocol(r, field(p, "protocol"), port.protocol);
  }
  return out;
}

Diagnostics validatePod(const model::Pod& pod) {
  Diagnostics out;
  Reporter r(out, "Pod", pod.meta, pod.source);
  if (!pod.status.podIP.empty() && !isIpAddress(pod.status.podIP)) {
    r.error("status.podIP", invalid(quote(pod.status.podIP), "must be a valid IP address"));
  }
  for (size_t i = 0; i < pod.status.podIPs.size(); ++i) {
    if (!isIpAddress(pod.status.podIPs[i])) {
      r.error(index("status.podIPs", i) + ".ip",
              invalid(quote(pod.status.podIPs[i]), "must be a valid IP address"));
    }
  }
  for (size_t i = 0; i < pod.ports.size(); ++i) {
    checkPortNumber(r, field(index("spec.containers[].ports", i), "containerPort"),
                    pod.ports[i].containerPort);
  }
  return out;
}

}  // namespace sluice::validate
