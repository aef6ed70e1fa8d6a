#include "protocol.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <string>

namespace sluice::compile {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// Istio's protocol.Parse plus the Kubernetes-standard appProtocol values it accepts.
std::optional<PortProtocol> parseName(const std::string& name) {
  if (name == "http" || name == "http2" || name == "grpc" || name == "grpc-web" || name == "h2c" ||
      name == "kubernetes.io/h2c" || name == "kubernetes.io/ws") {
    return PortProtocol::Http;
  }
  if (name == "https" || name == "tls" || name == "kubernetes.io/wss") {
    return PortProtocol::Tls;
  }
  if (name == "tcp" || name == "mongo" || name == "redis" || name == "mysql" || name == "thrift") {
    return PortProtocol::Tcp;
  }
  return std::nullopt;
}

}  // namespace

PortProtocol portProtocol(const model::ServicePort& port) {
  const std::string proto = lower(port.protocol);
  if (proto == "udp") {
    return PortProtocol::Udp;
  }
  if (proto != "tcp") {
    return PortProtocol::None;
  }
  if (!port.appProtocol.empty()) {
    if (auto p = parseName(lower(port.appProtocol))) {
      return *p;
    }
  }
  // "grpc-web" needs no special case: its prefix "grpc" is HTTP too.
  const std::string name = lower(port.name);
  if (auto p = parseName(name.substr(0, name.find('-')))) {
    return *p;
  }
  return PortProtocol::Auto;
}

}  // namespace sluice::compile
