#pragma once
// Which VirtualService route list governs a Service port, the way Istio picks it: appProtocol first,
// else the port name's prefix before the first '-'.
#include <sluice/model/kubernetes.h>

namespace sluice::compile {

enum class PortProtocol {
  Http,  // http, http2, grpc, grpc-web, h2c: VirtualService http routes
  Tls,   // https, tls: tls routes (SNI), then tcp routes
  Tcp,   // tcp and every other recognized opaque protocol: tcp routes
  Auto,  // unnamed or unrecognized: Istio sniffs the protocol
  Udp,   // Istio does not capture UDP: kube-proxy behaviour
  None,  // SCTP: no frontend
};

PortProtocol portProtocol(const model::ServicePort& port);

}  // namespace sluice::compile
