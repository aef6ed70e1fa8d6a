// Fills Istio's defaults in explicitly and resolves names, so compile never re-derives them. Every
// default and its Istio source is listed in docs/config-model.md. Each step only fills what is absent
// (or rewrites a name into its resolved form), so normalize(normalize(s)) == normalize(s).
#include <sluice/validate/normalize.h>

#include "names.h"

namespace sluice::validate {

using namespace detail;  // NOLINT: the helpers are this file's vocabulary

namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr std::string_view kDefaultRetryOn =
    "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes";
constexpr int32_t kDefaultRetryAttempts = 2;
constexpr milliseconds kDefaultRetryBackoff{25};
constexpr uint32_t kDefaultRedirectCode = 301;
constexpr uint64_t kDefaultRingSize = 1024;
constexpr uint64_t kDefaultMaglevTableSize = 65537;
constexpr seconds kDefaultConnectTimeout{10};
constexpr hours kDefaultIdleTimeout{1};

template <typename T, typename V>
void fill(std::optional<T>& field, V value) {
  if (!field) {
    field = T(value);
  }
}

void normalizeMeta(model::ObjectMeta& meta) {
  if (meta.ns.empty()) {
    meta.ns = "default";
  }
}

void resolveDestination(model::Destination& d, const std::string& ns, const model::MeshSettings& mesh) {
  d.host = resolveHost(d.host, ns, mesh.clusterDomain);
}

void resolveGateways(std::vector<std::string>& gateways, const std::string& ns) {
  for (auto& g : gateways) {
    if (g != "mesh") {
      g = resolveGatewayName(g, ns);
    }
  }
}

// Istio's built-in retry policy (pilot/pkg/networking/core/route/retry/retry.go DefaultPolicy); user
// fields replace the defaults one by one, and attempts: 0 turns retries off altogether.
void normalizeRetries(std::optional<model::HTTPRetry>& retries) {
  if (!retries) {
    retries = model::HTTPRetry{};
    retries->attempts = kDefaultRetryAttempts;
  }
  if (retries->attempts <= 0) {
    return;
  }
  if (!retries->retryOn || retries->retryOn->empty()) {
    retries->retryOn = std::string(kDefaultRetryOn);
  }
  fill(retries->retryRemoteLocalities, false);
  fill(retries->retryIgnorePreviousHosts, true);
  fill(retries->backoff, kDefaultRetryBackoff);
}

void normalizeFault(model::HTTPFaultInjection& fault) {
  if (auto& d = fault.delay) {
    // An unset percentage falls back to the deprecated integer percent, so unset means 0%.
    if (!d->percentage) {
      d->percentage = static_cast<double>(d->percent.value_or(0));
    }
    d->percent.reset();
  }
  if (auto& a = fault.abort) {
    fill(a->percentage, 0.0);
  }
}

void normalizeHttpRoute(model::HTTPRoute& h, const std::string& ns, const model::MeshSettings& mesh) {
  for (auto& m : h.match) {
    resolveGateways(m.gateways, ns);
  }
  for (auto& rd : h.route) {
    resolveDestination(rd.destination, ns, mesh);
  }
  if (h.route.size() == 1) {
    h.route.front().weight = 100;  // a single destination takes all traffic whatever its weight
  }
  if (h.delegate && h.delegate->ns.empty()) {
    h.delegate->ns = ns;
  }
  if (h.mirror) {
    resolveDestination(*h.mirror, ns, mesh);
    if (!h.mirrorPercentage) {
      h.mirrorPercentage = h.mirrorPercent ? static_cast<double>(*h.mirrorPercent) : 100.0;
    }
  }
  h.mirrorPercent.reset();
  for (auto& m : h.mirrors) {
    resolveDestination(m.destination, ns, mesh);
    fill(m.percentage, 100.0);
  }
  if (h.redirect) {
    fill(h.redirect->redirectCode, kDefaultRedirectCode);
  }
  if (!h.route.empty()) {
    normalizeRetries(h.retries);
  }
  if (h.fault) {
    normalizeFault(*h.fault);
  }
  if (h.corsPolicy && h.corsPolicy->unmatchedPreflights == model::UnmatchedPreflights::Unspecified) {
    h.corsPolicy->unmatchedPreflights = model::UnmatchedPreflights::Forward;
  }
}

template <typename Route>
void normalizeL4Route(Route& route, const std::string& ns, const model::MeshSettings& mesh) {
  for (auto& m : route.match) {
    resolveGateways(m.gateways, ns);
  }
  for (auto& rd : route.route) {
    resolveDestination(rd.destination, ns, mesh);
  }
  if (route.route.size() == 1) {
    route.route.front().weight = 100;
  }
}

void normalizeVirtualService(model::VirtualService& vs, const model::MeshSettings& mesh) {
  normalizeMeta(vs.meta);
  const std::string& ns = vs.meta.ns;
  auto& spec = vs.spec;
  for (auto& h : spec.hosts) {
    h = resolveHost(h, ns, mesh.clusterDomain);
  }
  resolveGateways(spec.gateways, ns);
  // A delegate (no hosts) takes its gateways from the root, so it keeps an empty list.
  if (spec.gateways.empty() && !spec.hosts.empty()) {
    spec.gateways.push_back("mesh");
  }
  if (spec.exportTo.empty()) {
    spec.exportTo.push_back("*");  // MeshConfig defaultVirtualServiceExportTo
  }
  for (auto& h : spec.http) {
    normalizeHttpRoute(h, ns, mesh);
  }
  for (auto& t : spec.tls) {
    normalizeL4Route(t, ns, mesh);
  }
  for (auto& t : spec.tcp) {
    normalizeL4Route(t, ns, mesh);
  }
}

void normalizeLoadBalancer(model::LoadBalancerSettings& lb) {
  if (auto& ch = lb.consistentHash) {
    if (!ch->ringHash && !ch->maglev) {
      // No algorithm: RING_HASH with the deprecated minimumRingSize, or 1024.
      ch->ringHash = model::RingHash{};
      ch->ringHash->minimumRingSize =
          ch->minimumRingSize.value_or(0) != 0 ? *ch->minimumRingSize : kDefaultRingSize;
    }
    ch->minimumRingSize.reset();
    if (ch->ringHash) {
      fill(ch->ringHash->minimumRingSize, kDefaultRingSize);
    }
    if (ch->maglev) {
      fill(ch->maglev->tableSize, kDefaultMaglevTableSize);
    }
  } else if (!lb.simple || *lb.simple == model::SimpleLB::Unspecified ||
             *lb.simple == model::SimpleLB::LeastConn) {
    // UNSPECIFIED lets Istio pick LEAST_REQUEST (since 1.14); LEAST_CONN is its deprecated alias.
    lb.simple = model::SimpleLB::LeastRequest;
  }
  if (auto& loc = lb.localityLbSetting) {
    fill(loc->enabled, true);
  }
  if (auto& za = lb.zoneAwareLbSetting) {
    fill(za->minClusterSize, 6u);
  }
  if (auto& w = lb.warmup) {
    fill(w->minimumPercent, 10.0);
    fill(w->aggression, 1.0);
  }
}

void normalizeConnectionPool(model::ConnectionPoolSettings& cp) {
  fill(cp.tcp, model::TCPSettings{});
  fill(cp.tcp->connectTimeout, kDefaultConnectTimeout);  // MeshConfig connectTimeout
  fill(cp.tcp->idleTimeout, kDefaultIdleTimeout);
  fill(cp.http, model::HTTPSettings{});
  fill(cp.http->idleTimeout, kDefaultIdleTimeout);
  fill(cp.http->maxRequestsPerConnection, 0);  // 0 = unlimited
}

void normalizeOutlierDetection(model::OutlierDetection& od) {
  fill(od.consecutive5xxErrors, 5u);
  fill(od.interval, seconds(10));
  fill(od.baseEjectionTime, seconds(30));
  // Istio passes 0 as unset, which leaves Envoy's 10%.
  if (od.maxEjectionPercent.value_or(0) == 0) {
    od.maxEjectionPercent = 10;
  }
  fill(od.minHealthPercent, 0);
  if (od.splitExternalLocalOriginErrors) {
    fill(od.consecutiveLocalOriginFailures, 5u);
  }
}

// Fills the blocks a policy level owns. `complete` is true where an absent block means Istio's default
// (the DR top level and every port-level entry), false where it means "inherit" (a subset's top level).
template <typename Policy>
void normalizePolicyBlocks(Policy& p, bool complete) {
  if (complete) {
    fill(p.loadBalancer, model::LoadBalancerSettings{});
    fill(p.connectionPool, model::ConnectionPoolSettings{});
  }
  if (p.loadBalancer) {
    normalizeLoadBalancer(*p.loadBalancer);
  }
  if (p.connectionPool) {
    normalizeConnectionPool(*p.connectionPool);
  }
  if (p.outlierDetection) {
    normalizeOutlierDetection(*p.outlierDetection);
  }
}

void normalizeTrafficPolicy(model::TrafficPolicy& tp, bool complete) {
  normalizePolicyBlocks(tp, complete);
  for (auto& pl : tp.portLevelSettings) {
    normalizePolicyBlocks(pl, true);
  }
  if (auto& t = tp.tunnel; t && t->protocol.empty()) {
    t->protocol = "CONNECT";
  }
  if (auto& b = tp.retryBudget) {
    fill(b->percent, 20.0);
    fill(b->minRetryConcurrency, 3u);
  }
}

void normalizeDestinationRule(model::DestinationRule& dr, const model::MeshSettings& mesh) {
  normalizeMeta(dr.meta);
  auto& spec = dr.spec;
  spec.host = resolveHost(spec.host, dr.meta.ns, mesh.clusterDomain);
  fill(spec.trafficPolicy, model::TrafficPolicy{});
  normalizeTrafficPolicy(*spec.trafficPolicy, true);
  for (auto& s : spec.subsets) {
    if (s.trafficPolicy) {
      normalizeTrafficPolicy(*s.trafficPolicy, false);
    }
  }
  if (spec.exportTo.empty()) {
    // MeshConfig defaultDestinationRuleExportTo is "*"; a workload-selector DR only ever applies in its
    // own namespace, and validation allows nothing wider for it.
    spec.exportTo.push_back(spec.workloadSelector ? "." : "*");
  }
}

void normalizeService(model::Service& svc) {
  normalizeMeta(svc.meta);
  for (auto& p : svc.spec.ports) {
    if (!p.targetPort.isSet()) {
      p.targetPort.number = p.port;
    }
  }
}

}  // namespace

model::Snapshot normalize(model::Snapshot snapshot, const model::MeshSettings& mesh) {
  for (auto& svc : snapshot.services) {
    normalizeService(svc);
  }
  for (auto& slice : snapshot.endpointSlices) {
    normalizeMeta(slice.meta);
  }
  for (auto& pod : snapshot.pods) {
    normalizeMeta(pod.meta);
  }
  for (auto& vs : snapshot.virtualServices) {
    normalizeVirtualService(vs, mesh);
  }
  for (auto& dr : snapshot.destinationRules) {
    normalizeDestinationRule(dr, mesh);
  }
  return snapshot;
}

}  // namespace sluice::validate
