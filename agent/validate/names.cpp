#include "names.h"

#include <algorithm>

#include "checks.h"

namespace sluice::validate::detail {

std::string resolveHost(const std::string& host, const std::string& ns, const std::string& domain) {
  if (host.empty() || host == "*" || isIpAddress(host) || host.find('.') != std::string::npos) {
    return host;
  }
  std::string out = host;
  if (!ns.empty()) {
    out += "." + ns;
  }
  if (!domain.empty()) {
    out += ".svc." + domain;
  }
  return out;
}

std::string resolveGatewayName(const std::string& gateway, const std::string& ns) {
  auto slash = gateway.find('/');
  if (slash == std::string::npos) {
    auto dot = gateway.find('.');
    if (dot == std::string::npos) {
      return ns + "/" + gateway;
    }
    // Legacy FQDN form, kept by Istio for backward compatibility only.
    auto rest = gateway.substr(dot + 1);
    return rest.substr(0, rest.find('.')) + "/" + gateway.substr(0, dot);
  }
  if (gateway.substr(0, slash) == ".") {
    return ns + gateway.substr(slash);
  }
  return gateway;
}

bool appliesToMesh(const std::vector<std::string>& gateways) {
  return gateways.empty() || std::find(gateways.begin(), gateways.end(), "mesh") != gateways.end();
}

}  // namespace sluice::validate::detail
