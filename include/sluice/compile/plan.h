#pragma once
// DataplanePlan: what the compiler decides, before any kernel detail. Pure data, deterministic,
// printable (golden tests) and comparable (the applier diffs two plans).
//
// Everything is keyed by stable *names*, never by numeric IDs: the dataplane allocates IDs and keeps them
// across plans and agent restarts, so one changed service changes only its own map entries.
//
// A connection's journey: Frontend(vip, port, proto) → RouteAction for the client's class (or the
// default) → weighted pick of a BackendGroup → the group's LB policy picks a Backend.
#include <sluice/net/address.h>

#include <cstddef>
#include <map>
#include <string>
#include <vector>

namespace sluice::plan {

enum class Protocol : uint8_t { Tcp = 6, Udp = 17 };

enum class LbPolicy : uint8_t {
  LeastRequest,  // Istio's default: power of two choices over live connection counts
  RoundRobin,
  Random,
  Passthrough,  // keep the original destination (no LB)
  MaglevSourceIp,
  RingHashSourceIp,
};

// "least_request", "round_robin", ...: the names toText() and `sluicectl explain` print.
const char* lbPolicyName(LbPolicy lb);

enum class BackendState : uint8_t { Active, Terminating };

// Name: "ip:port" ("[ip]:port" for v6); one entry per distinct pod address and target port.
struct Backend {
  std::string name;
  net::IpAddress ip;
  uint16_t port = 0;
  BackendState state = BackendState::Active;
  std::string pod;  // "ns/name" when known, for display only
  std::string zone;

  friend bool operator==(const Backend&, const Backend&) = default;
};

// Istio's cluster: the endpoints of one service port, optionally narrowed to a subset.
// Name: "outbound|<port>|<subset>|<host>", exactly Envoy's cluster name, with "|udp" appended for a
// UDP port and "|ipv6" for the IPv6 half of a service (a group holds one address family only, the
// family of the VIP that leads to it). A route may name a group with no backends: a destination
// whose subset or host does not exist fails its share of connections, as Envoy does.
struct BackendGroup {
  std::string name;
  LbPolicy lb = LbPolicy::LeastRequest;
  // The selectable backends in a deterministic order: ready ones, or the terminating ones when no
  // ready one exists (as kube-proxy does). Empty means connect() fails with ECONNREFUSED.
  std::vector<std::string> backends;
  // For the hash policies: a lookup table of indexes into `backends`; the kernel picks
  // backends[hashTable[hash(client ip) % hashTable.size()]]. Maglev tables have a prime size.
  std::vector<uint32_t> hashTable;
  uint32_t maxConnectionsPerBackend = 0;  // 0 = unlimited (connectionPool.tcp.maxConnections)

  friend bool operator==(const BackendGroup&, const BackendGroup&) = default;
};

struct WeightedGroup {
  std::string group;  // BackendGroup name
  uint32_t weight = 0;

  friend bool operator==(const WeightedGroup&, const WeightedGroup&) = default;
};

// A kernel route's alias table holds this many groups (SL_MAX_DESTS in bpf/abi/sluice_abi.h; the
// applier checks that the two agree).
inline constexpr size_t kMaxSplitGroups = 16;

// One connection-time decision: a relative-weight split over groups (weights > 0). An empty split
// means the service is known but has nowhere to go: connect() fails fast.
struct RouteAction {
  std::vector<WeightedGroup> split;

  friend bool operator==(const RouteAction&, const RouteAction&) = default;
};

enum class FrontendMode : uint8_t {
  Kernel,    // decided at connect() by BPF (L4 fast path)
  L7Proxy,   // handed to the node proxy (needs HTTP/TLS semantics)
};

// A set of client workloads that sourceLabels/sourceNamespace selectors treat alike. Name is a
// canonical description of the selectors it satisfies; pods are "ns/name".
struct ClientClass {
  std::string name;
  std::vector<std::string> pods;

  friend bool operator==(const ClientClass&, const ClientClass&) = default;
};

struct Frontend {
  net::IpAddress vip;
  uint16_t port = 0;
  Protocol protocol = Protocol::Tcp;
  std::string service;  // FQDN of the Service
  FrontendMode mode = FrontendMode::Kernel;
  RouteAction defaultRoute;
  std::map<std::string, RouteAction> byClientClass;  // ClientClass name → action, when it differs
  std::string reason;  // why this mode (e.g. "http route uses header match"), for explain/status

  // "ip:port/tcp" ("[ip]:port/udp" for v6)
  std::string key() const;
  friend bool operator==(const Frontend&, const Frontend&) = default;
};

struct DataplanePlan {
  std::vector<Frontend> frontends;          // sorted by key()
  std::map<std::string, BackendGroup> groups;
  std::map<std::string, Backend> backends;
  std::vector<ClientClass> clientClasses;   // sorted by name; pods not listed are in no class

  friend bool operator==(const DataplanePlan&, const DataplanePlan&) = default;
};

// Stable, line-oriented text form for golden tests and `sluicectl compile`.
std::string toText(const DataplanePlan& plan);

}  // namespace sluice::plan
