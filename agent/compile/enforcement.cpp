#include <sluice/compile/enforcement.h>
#include <sluice/compile/plan.h>

#include <algorithm>
#include <optional>
#include <set>
#include <string>
#include <tuple>

namespace sluice::compile {
namespace {

// Collects warnings for one object; `what` explains the gap in the user's terms.
class Reporter {
 public:
  Reporter(Diagnostics& out, std::string kind, const model::ObjectMeta& meta,
           const model::SourceInfo& source)
      : out_(out), kind_(std::move(kind)), meta_(meta), source_(source) {}

  void operator()(const std::string& path, const std::string& what) {
    out_.add(model::diagnosticAt(Severity::Warning, kind_, meta_, source_, path,
                                 "not enforced by this version of Sluice: " + what));
  }

 private:
  Diagnostics& out_;
  std::string kind_;
  const model::ObjectMeta& meta_;
  const model::SourceInfo& source_;
};

void checkHttpRoute(Reporter& report, const model::HTTPRoute& route, const std::string& path) {
  if (route.retries && route.retries->retryRemoteLocalities.value_or(false)) {
    report(path + ".retries.retryRemoteLocalities", "locality-aware retries");
  }
}

// The proxy enforces the circuit-breaker fields (http1MaxPendingRequests, http2MaxRequests,
// maxRetries, maxRequestsPerConnection), h2UpgradePolicy and useClientProtocol.
bool hasUnenforcedHttpSettings(const model::HTTPSettings& http) {
  return http.idleTimeout || http.maxConcurrentStreams || http.http2KeepAlive;
}

void checkPolicy(Reporter& report, const model::TrafficPolicy& p, const std::string& path) {
  if (p.outlierDetection) {
    report(path + ".outlierDetection", "outlier detection");
  }
  if (p.tls && p.tls->mode != model::TLSMode::Disable) {
    report(path + ".tls", "TLS origination");
  }
  if (p.tunnel) {
    report(path + ".tunnel", "tunnelling");
  }
  if (p.proxyProtocol) {
    report(path + ".proxyProtocol", "PROXY protocol");
  }
  if (p.retryBudget) {
    report(path + ".retryBudget", "retry budgets");
  }
  if (p.loadBalancer) {
    const auto& lb = *p.loadBalancer;
    if (lb.localityLbSetting || lb.zoneAwareLbSetting) {
      report(path + ".loadBalancer.localityLbSetting", "locality-aware load balancing");
    }
    if (lb.warmup || lb.warmupDurationSecs) {
      report(path + ".loadBalancer.warmup", "slow start");
    }
  }
  if (p.connectionPool) {
    const auto& pool = *p.connectionPool;
    if (pool.http && hasUnenforcedHttpSettings(*pool.http)) {
      report(path + ".connectionPool.http",
             "idleTimeout, maxConcurrentStreams and http2KeepAlive (the circuit-breaker limits, "
             "h2UpgradePolicy and useClientProtocol are enforced)");
    }
    if (pool.tcp && (pool.tcp->connectTimeout || pool.tcp->tcpKeepalive ||
                     pool.tcp->maxConnectionDuration || pool.tcp->idleTimeout)) {
      report(path + ".connectionPool.tcp", "TCP timeouts and keepalive (maxConnections is enforced)");
    }
  }
  for (size_t i = 0; i < p.portLevelSettings.size(); ++i) {
    const auto& port = p.portLevelSettings[i];
    model::TrafficPolicy asPolicy;
    asPolicy.loadBalancer = port.loadBalancer;
    asPolicy.connectionPool = port.connectionPool;
    asPolicy.outlierDetection = port.outlierDetection;
    asPolicy.tls = port.tls;
    checkPolicy(report, asPolicy, path + ".portLevelSettings[" + std::to_string(i) + "]");
  }
}

bool namesMesh(const std::vector<std::string>& gateways) {
  return std::find(gateways.begin(), gateways.end(), "mesh") != gateways.end();
}

// Whether sidecars (and so the kernel plan) can see this tcp route.
bool tcpRouteBindsMesh(const model::VirtualService& vs, const model::TCPRoute& route) {
  if (vs.spec.gateways.empty() || namesMesh(vs.spec.gateways)) {
    return true;
  }
  return std::any_of(route.match.begin(), route.match.end(),
                     [](const auto& m) { return namesMesh(m.gateways); });
}

// Destinations the compiler keeps for a tcp route: all of them when there is one, else those with
// a positive weight; the same destination twice is one group.
size_t splitDestinations(const model::TCPRoute& route) {
  std::set<std::tuple<std::string, std::string, std::optional<uint32_t>>> distinct;
  for (const auto& rd : route.route) {
    if (route.route.size() == 1 || rd.weight > 0) {
      distinct.emplace(rd.destination.host, rd.destination.subset, rd.destination.port);
    }
  }
  return distinct.size();
}

}  // namespace

Diagnostics kernelLimits(const model::Snapshot& asWritten) {
  Diagnostics out;
  for (const auto& vs : asWritten.virtualServices) {
    for (size_t i = 0; i < vs.spec.tcp.size(); ++i) {
      const auto& route = vs.spec.tcp[i];
      const size_t n = splitDestinations(route);
      if (n > plan::kMaxSplitGroups && tcpRouteBindsMesh(vs, route)) {
        out.add(model::diagnosticAt(
            Severity::Error, "VirtualService", vs.meta, vs.source,
            "spec.tcp[" + std::to_string(i) + "].route",
            "splits over " + std::to_string(n) + " destinations; the kernel route holds at most " +
                std::to_string(plan::kMaxSplitGroups)));
      }
    }
  }
  return out;
}

Diagnostics unenforcedFields(const model::Snapshot& asWritten) {
  Diagnostics out;
  for (const auto& vs : asWritten.virtualServices) {
    Reporter report(out, "VirtualService", vs.meta, vs.source);
    for (size_t i = 0; i < vs.spec.http.size(); ++i) {
      checkHttpRoute(report, vs.spec.http[i], "spec.http[" + std::to_string(i) + "]");
    }
    if (!vs.spec.tls.empty()) {
      report("spec.tls", "TLS (SNI) routes");
    }
  }
  for (const auto& dr : asWritten.destinationRules) {
    Reporter report(out, "DestinationRule", dr.meta, dr.source);
    if (dr.spec.trafficPolicy) {
      checkPolicy(report, *dr.spec.trafficPolicy, "spec.trafficPolicy");
    }
    for (size_t i = 0; i < dr.spec.subsets.size(); ++i) {
      if (dr.spec.subsets[i].trafficPolicy) {
        checkPolicy(report, *dr.spec.subsets[i].trafficPolicy,
                    "spec.subsets[" + std::to_string(i) + "].trafficPolicy");
      }
    }
    if (dr.spec.workloadSelector) {
      report("spec.workloadSelector", "per-workload DestinationRules");
    }
  }
  return out;
}

}  // namespace sluice::compile
