#pragma once
// Istio's name resolution (pilot/pkg/model/config.go), shared by normalize() and the snapshot checks.
#include <sluice/model/snapshot.h>

#include <string>

namespace sluice::validate::detail {

// ResolveShortnameToFQDN: a name without a dot becomes <name>.<ns>.svc.<domain>; "*", IPs and names
// with a dot are kept as written.
std::string resolveHost(const std::string& host, const std::string& ns, const std::string& domain);

// resolveGatewayName: "gw" and "./gw" → "<ns>/gw", legacy "gw.ns.svc.cluster.local" → "ns/gw".
// "mesh" is not a gateway reference; callers keep it.
std::string resolveGatewayName(const std::string& gateway, const std::string& ns);

// Whether a VirtualService with these gateways applies to sidecars (mesh traffic).
bool appliesToMesh(const std::vector<std::string>& gateways);

}  // namespace sluice::validate::detail
