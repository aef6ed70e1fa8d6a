#include <sluice/compile/compiler.h>

#include "client_classes.h"
#include "endpoints.h"
#include "hash_table.h"
#include "policy.h"
#include "protocol.h"

#include <algorithm>
#include <chrono>
#include <iterator>
#include <optional>
#include <set>
#include <span>
#include <tuple>
#include <unordered_map>

namespace sluice::compile {
namespace {

constexpr const char* kMeshGateway = "mesh";

std::string serviceHost(const model::Service& s, const model::MeshSettings& mesh) {
  return s.meta.name + "." + s.meta.ns + ".svc." + mesh.clusterDomain;
}

bool bindsMesh(const std::vector<std::string>& gateways) {
  return gateways.empty() ||
         std::find(gateways.begin(), gateways.end(), kMeshGateway) != gateways.end();
}

template <typename Route>
bool anyMatchNamesMesh(const std::vector<Route>& routes) {
  for (const auto& r : routes) {
    for (const auto& m : r.match) {
      if (std::find(m.gateways.begin(), m.gateways.end(), kMeshGateway) != m.gateways.end()) {
        return true;
      }
    }
  }
  return false;
}

// Istio indexes a VirtualService under every gateway it or one of its match blocks names.
bool appliesToMesh(const model::VirtualService& vs) {
  return bindsMesh(vs.spec.gateways) || anyMatchNamesMesh(vs.spec.http) ||
         anyMatchNamesMesh(vs.spec.tls) || anyMatchNamesMesh(vs.spec.tcp);
}

// The config-time part of a match block: does it exist for this listener port and this client?
struct BlockScope {
  std::optional<uint32_t> port;
  const model::Labels* sourceLabels;
  const std::string* sourceNamespace;
  const std::vector<std::string>* gateways;
};

bool blockApplies(const BlockScope& b, const model::VirtualService& vs, uint32_t listenPort,
                  const SelectorSet& client) {
  if (!bindsMesh(b.gateways->empty() ? vs.spec.gateways : *b.gateways)) {
    return false;
  }
  if (b.port && *b.port != listenPort) {
    return false;
  }
  SourceSelector sel{*b.sourceNamespace, *b.sourceLabels};
  return sel.empty() || client.count(sel) > 0;
}

BlockScope scopeOf(const model::L4MatchAttributes& m) {
  return {m.port, &m.sourceLabels, &m.sourceNamespace, &m.gateways};
}
BlockScope scopeOf(const model::TLSMatchAttributes& m) {
  return {m.port, &m.sourceLabels, &m.sourceNamespace, &m.gateways};
}
BlockScope scopeOf(const model::HTTPMatchRequest& m) {
  return {m.port, &m.sourceLabels, &m.sourceNamespace, &m.gateways};
}

template <typename Match>
void collectSelectors(const std::vector<Match>& blocks, SelectorSet& into) {
  for (const auto& m : blocks) {
    SourceSelector sel{m.sourceNamespace, m.sourceLabels};
    if (!sel.empty()) {
      into.insert(sel);
    }
  }
}

// Request predicates: what only an HTTP parser can evaluate.
bool hasRequestPredicate(const model::HTTPMatchRequest& m) {
  return m.uri || m.scheme || m.method || m.authority || !m.headers.empty() ||
         !m.queryParams.empty() || !m.withoutHeaders.empty();
}

// Normalization writes Istio's default retry policy into every forwarding route
// (retry/retry.go DefaultPolicy, see docs/config-model.md). The kernel path deliberately drops that
// default (docs/compiler.md), so only a policy that differs from it asks for the proxy.
bool isDefaultRetryPolicy(const model::HTTPRetry& r) {
  return r.attempts == 2 && !r.perTryTimeout &&
         r.retryOn.value_or("") ==
             "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes" &&
         !r.retryRemoteLocalities.value_or(false) && r.retryIgnorePreviousHosts.value_or(true) &&
         r.backoff.value_or(std::chrono::milliseconds(25)) == std::chrono::milliseconds(25);
}

// Limits only a proxy can enforce; the idle timeout and maxRequestsPerConnection 0 that
// normalization fills in are Envoy's defaults, not limits.
bool hasHttpLimits(const model::HTTPSettings& h) {
  return h.http1MaxPendingRequests || h.http2MaxRequests || h.maxRetries ||
         h.maxConcurrentStreams || h.maxRequestsPerConnection.value_or(0) > 0;
}

// The first route feature that needs the proxy, or "" when a connection-level decision is enough.
std::string l7Feature(const model::HTTPRoute& r) {
  const std::pair<bool, const char*> features[] = {
      {r.redirect.has_value(), "redirect"},
      {r.directResponse.has_value(), "directResponse"},
      {r.delegate.has_value(), "delegate"},
      {r.rewrite.has_value(), "rewrite"},
      {r.timeout.has_value(), "timeout"},
      {r.retries && r.retries->attempts > 0 && !isDefaultRetryPolicy(*r.retries), "retries"},
      {r.fault.has_value(), "fault injection"},
      {r.mirror || !r.mirrors.empty(), "mirroring"},
      {r.corsPolicy.has_value(), "corsPolicy"},
      {r.headers || std::any_of(r.route.begin(), r.route.end(),
                                [](const auto& d) { return d.headers.has_value(); }),
       "header operations"},
  };
  for (const auto& [used, name] : features) {
    if (used) {
      return name;
    }
  }
  return "";
}

struct Decision {
  bool l7 = false;
  std::string reason;
  plan::RouteAction action;
};

Decision proxy(std::string reason) {
  return Decision{true, std::move(reason), {}};
}

struct WeightedDestination {
  const model::Destination* destination;
  int32_t weight;
};

class Compiler {
 public:
  Compiler(const model::Snapshot& snapshot, const CompileOptions& options)
      : snapshot_(snapshot), options_(options), endpoints_(snapshot),
        rules_(snapshot, options.mesh) {
    for (const auto& s : snapshot.services) {
      services_.emplace(serviceHost(s, options.mesh), &s);
    }
    indexVirtualServices();
  }

  plan::DataplanePlan run();

 private:
  struct FrontendContext {
    const model::Service* service;
    const std::string* host;  // the service's FQDN
    const model::ServicePort* port;
    net::IpAddress vip;
    bool udp;
    const model::VirtualService* vs;
  };
  struct GroupInfo {
    bool l7Hash = false;
    bool httpPool = false;
  };

  void indexVirtualServices();
  const model::VirtualService* virtualServiceFor(const std::string& host) const;
  Decision decide(const FrontendContext& f, const SelectorSet& client);
  Decision decideTcp(const FrontendContext& f, const SelectorSet& client);
  Decision decideHttp(const FrontendContext& f, const SelectorSet& client);
  plan::RouteAction toService(const FrontendContext& f);
  plan::RouteAction split(const FrontendContext& f, const std::vector<WeightedDestination>& dests);
  // The group a destination leads to; nullopt when it leads nowhere.
  std::optional<std::string> destinationGroup(const FrontendContext& f,
                                              const model::Destination& d);
  std::string groupName(uint32_t port, const std::string& subset, const std::string& host,
                        const FrontendContext& f) const;
  std::string ensureGroup(const FrontendContext& f, const model::Service& svc, const std::string& host,
                          const model::ServicePort& port, const std::string& subsetName);
  const std::optional<MergedRule>& ruleFor(const model::Service& svc, const std::string& host);

  const model::Snapshot& snapshot_;
  const CompileOptions& options_;
  EndpointIndex endpoints_;
  DestinationRuleIndex rules_;
  std::map<std::string, const model::Service*> services_;  // by FQDN
  std::map<std::string, const model::VirtualService*> vsExact_;
  std::vector<std::pair<std::string, const model::VirtualService*>> vsWildcard_;
  std::map<std::string, std::optional<MergedRule>> ruleCache_;
  std::unordered_map<std::string, GroupInfo> groupInfo_;
  plan::DataplanePlan plan_;
};

void Compiler::indexVirtualServices() {
  std::vector<const model::VirtualService*> ordered;
  for (const auto& vs : snapshot_.virtualServices) {
    ordered.push_back(&vs);
  }
  // Sidecars keep one VirtualService per host: the oldest (Istio orders configs by creation time,
  // then by name and namespace).
  std::sort(ordered.begin(), ordered.end(), [](const auto* a, const auto* b) {
    return std::tie(a->meta.creationTimestamp, a->meta.name, a->meta.ns) <
           std::tie(b->meta.creationTimestamp, b->meta.name, b->meta.ns);
  });
  for (const auto* vs : ordered) {
    if (!appliesToMesh(*vs)) {
      continue;  // gateway-only: sidecars never see it, so it cannot shadow a mesh one
    }
    for (const auto& h : vs->spec.hosts) {
      if (h.starts_with("*")) {
        vsWildcard_.emplace_back(h, vs);
      } else {
        vsExact_.emplace(h, vs);  // keeps the first, the oldest
      }
    }
  }
}

const model::VirtualService* Compiler::virtualServiceFor(const std::string& host) const {
  if (auto it = vsExact_.find(host); it != vsExact_.end()) {
    return it->second;
  }
  // The most specific wildcard; among equals, the oldest (vsWildcard_ is in age order).
  const model::VirtualService* best = nullptr;
  size_t bestLen = 0;
  for (const auto& [pattern, vs] : vsWildcard_) {
    if (hostMatchesPattern(pattern, host) && (!best || pattern.size() > bestLen)) {
      best = vs;
      bestLen = pattern.size();
    }
  }
  return best;
}

const std::optional<MergedRule>& Compiler::ruleFor(const model::Service& svc,
                                                   const std::string& host) {
  static const std::optional<MergedRule> kNone;
  if (rules_.empty()) {
    return kNone;  // the common case at scale: no cache entry per host
  }
  auto it = ruleCache_.find(host);
  if (it == ruleCache_.end()) {
    it = ruleCache_.emplace(host, rules_.find(host, svc.meta.ns)).first;
  }
  return it->second;
}

std::string Compiler::groupName(uint32_t port, const std::string& subset, const std::string& host,
                                const FrontendContext& f) const {
  // Envoy's cluster name, qualified for what Envoy never splits: UDP, and one address family per
  // group (a v6 VIP must land on v6 pods).
  std::string name = "outbound|" + std::to_string(port) + "|" + subset + "|" + host;
  if (f.udp) {
    name += "|udp";
  }
  if (!f.vip.isV4()) {
    name += "|ipv6";
  }
  return name;
}

std::string Compiler::ensureGroup(const FrontendContext& f, const model::Service& svc,
                                  const std::string& host, const model::ServicePort& port,
                                  const std::string& subsetName) {
  const std::string name = groupName(static_cast<uint32_t>(port.port), subsetName, host, f);
  // One lookup: nothing else inserts groups until this one is placed at `slot`.
  const auto slot = plan_.groups.lower_bound(name);
  if (slot != plan_.groups.end() && slot->first == name) {
    return name;
  }
  const auto& rule = ruleFor(svc, host);
  const model::Subset* subset = rule && !subsetName.empty() ? rule->subset(subsetName) : nullptr;

  auto candidates = endpoints_.endpoints(svc, port, f.vip.family());
  if (subset) {
    // Subsets select endpoints by their pod's labels; an endpoint whose pod is unknown cannot be
    // shown to carry them.
    std::erase_if(candidates, [&](const EndpointCandidate& c) {
      if (subset->labels.empty()) {
        return false;
      }
      return !c.pod || !SourceSelector{"", subset->labels}.matches(*c.pod);
    });
  }
  plan::BackendGroup group;
  group.name = name;
  for (auto& b : selectBackends(std::move(candidates), svc.spec.publishNotReadyAddresses)) {
    group.backends.push_back(b.name);
    const bool active = b.state == plan::BackendState::Active;
    auto [it, inserted] = plan_.backends.try_emplace(group.backends.back(), std::move(b));
    // Two services can share an address; one that counts it as active wins.
    if (!inserted && active) {
      it->second.state = plan::BackendState::Active;
    }
  }

  EffectivePolicy policy =
      effectivePolicy(rule ? &*rule : nullptr, subset, static_cast<uint32_t>(port.port));
  LbChoice lb = lbChoice(policy);
  group.lb = lb.lb;
  if (lb.lb == plan::LbPolicy::MaglevSourceIp) {
    uint64_t size = std::min<uint64_t>(lb.hashSize, options_.maxHashTableSize);
    uint32_t prime = largestPrimeAtMost(static_cast<uint32_t>(std::max<uint64_t>(size, 2)));
    group.hashTable = maglevTable(group.backends, prime);
  } else if (lb.lb == plan::LbPolicy::RingHashSourceIp) {
    uint64_t size = std::clamp<uint64_t>(lb.hashSize, 1, options_.maxHashTableSize);
    group.hashTable = ringHashTable(group.backends, lb.hashSize, static_cast<uint32_t>(size));
  }
  if (policy.connectionPool && policy.connectionPool->tcp &&
      policy.connectionPool->tcp->maxConnections) {
    group.maxConnectionsPerBackend =
        static_cast<uint32_t>(std::max(0, *policy.connectionPool->tcp->maxConnections));
  }
  groupInfo_[name] = GroupInfo{lb.l7Hash, policy.connectionPool && policy.connectionPool->http &&
                                              hasHttpLimits(*policy.connectionPool->http)};
  plan_.groups.emplace_hint(slot, name, std::move(group));
  return name;
}

std::optional<std::string> Compiler::destinationGroup(const FrontendContext& f,
                                                      const model::Destination& d) {
  const std::string proto = f.udp ? "UDP" : "TCP";
  auto svcIt = services_.find(d.host);
  if (svcIt == services_.end()) {
    return std::nullopt;
  }
  const model::Service& svc = *svcIt->second;
  const model::ServicePort* port = nullptr;
  std::vector<const model::ServicePort*> sameProto;
  for (const auto& p : svc.spec.ports) {
    if (p.protocol == proto) {
      sameProto.push_back(&p);
    }
  }
  // An explicit port, else the listener's port when the destination has it, else its only port.
  const uint32_t wanted = d.port.value_or(f.port->port);
  for (const auto* p : sameProto) {
    if (static_cast<uint32_t>(p->port) == wanted) {
      port = p;
    }
  }
  if (!port && !d.port && sameProto.size() == 1) {
    port = sameProto.front();
  }
  if (!port) {
    return std::nullopt;
  }
  if (!d.subset.empty()) {
    const auto& rule = ruleFor(svc, d.host);
    if (!rule || !rule->subset(d.subset)) {
      return std::nullopt;
    }
  }
  return ensureGroup(f, svc, svcIt->first, *port, d.subset);
}

plan::RouteAction Compiler::toService(const FrontendContext& f) {
  return plan::RouteAction{{{ensureGroup(f, *f.service, *f.host, *f.port, ""), 1}}};
}

plan::RouteAction Compiler::split(const FrontendContext& f,
                                  const std::vector<WeightedDestination>& dests) {
  plan::RouteAction action;
  std::set<std::string> nowhere;
  for (const auto& wd : dests) {
    // One destination takes everything whatever its weight; among several, weight 0 means none.
    const uint32_t weight =
        wd.weight > 0 ? static_cast<uint32_t>(wd.weight) : (dests.size() == 1 ? 1u : 0u);
    if (weight == 0) {
      continue;
    }
    std::string group;
    if (auto g = destinationGroup(f, *wd.destination)) {
      group = *g;
    } else {
      // Envoy fails this share of connections (no such cluster); an empty group does the same.
      const uint32_t port = wd.destination->port.value_or(static_cast<uint32_t>(f.port->port));
      group = groupName(port, wd.destination->subset, wd.destination->host, f);
      nowhere.insert(group);
    }
    auto same = std::find_if(action.split.begin(), action.split.end(),
                             [&](const auto& wg) { return wg.group == group; });
    if (same != action.split.end()) {
      same->weight += weight;
    } else {
      action.split.push_back({group, weight});
    }
  }
  if (nowhere.size() == action.split.size()) {
    return {};  // nothing exists: refuse outright
  }
  for (const auto& name : nowhere) {
    plan::BackendGroup empty;
    empty.name = name;
    plan_.groups.emplace(name, std::move(empty));
  }
  return action;
}

Decision Compiler::decideTcp(const FrontendContext& f, const SelectorSet& client) {
  if (f.vs) {
    const uint32_t listenPort = static_cast<uint32_t>(f.port->port);
    for (const auto& route : f.vs->spec.tcp) {
      bool matched = route.match.empty() && bindsMesh(f.vs->spec.gateways);
      for (const auto& m : route.match) {
        if (!blockApplies(scopeOf(m), *f.vs, listenPort, client)) {
          continue;
        }
        bool subnetOk = m.destinationSubnets.empty();
        for (const auto& s : m.destinationSubnets) {
          auto cidr = net::Cidr::parse(s);
          subnetOk = subnetOk || (cidr && cidr->contains(f.vip));
        }
        if (subnetOk) {
          matched = true;
          break;
        }
      }
      if (matched) {
        std::vector<WeightedDestination> dests;
        for (const auto& rd : route.route) {
          dests.push_back({&rd.destination, rd.weight});
        }
        return Decision{false, "", split(f, dests)};
      }
    }
  }
  // istiod appends a route to the service itself when no tcp route matches.
  return Decision{false, "", toService(f)};
}

Decision Compiler::decideHttp(const FrontendContext& f, const SelectorSet& client) {
  plan::RouteAction action;
  std::string via;
  const model::HTTPRoute* chosen = nullptr;
  size_t index = 0;
  if (f.vs) {
    const uint32_t listenPort = static_cast<uint32_t>(f.port->port);
    for (; index < f.vs->spec.http.size(); ++index) {
      const auto& route = f.vs->spec.http[index];
      bool applies = route.match.empty() && bindsMesh(f.vs->spec.gateways);
      bool catchAll = applies;
      for (const auto& m : route.match) {
        if (blockApplies(scopeOf(m), *f.vs, listenPort, client)) {
          applies = true;
          catchAll = catchAll || !hasRequestPredicate(m);
        }
      }
      if (!applies) {
        continue;  // dropped at config time for this listener and client
      }
      const std::string where = "http[" + std::to_string(index) + "]";
      if (!catchAll) {
        return proxy(where + " matches on request attributes");
      }
      if (auto feature = l7Feature(route); !feature.empty()) {
        return proxy(where + " uses " + feature);
      }
      int positive = 0;
      for (const auto& d : route.route) {
        positive += d.weight > 0 ? 1 : 0;
      }
      if (route.route.size() > 1 && positive > 1) {
        return proxy(where + " splits by weight per request");
      }
      chosen = &route;
      break;
    }
  }
  if (chosen) {
    std::vector<WeightedDestination> dests;
    for (const auto& d : chosen->route) {
      if (chosen->route.size() == 1 || d.weight > 0) {
        dests.push_back({&d.destination, d.weight});
      }
    }
    action = split(f, dests);
  } else {
    // No VirtualService, or none of its routes exists for this port and client: istiod keeps the
    // service's default route.
    action = toService(f);
  }
  for (const auto& wg : action.split) {
    const auto& info = groupInfo_[wg.group];
    if (info.l7Hash) {
      return proxy("DestinationRule for " + wg.group + " hashes on a request attribute");
    }
    if (info.httpPool) {
      return proxy("DestinationRule for " + wg.group + " sets connectionPool.http limits");
    }
  }
  return Decision{false, "", std::move(action)};
}

Decision Compiler::decide(const FrontendContext& f, const SelectorSet& client) {
  switch (f.udp ? PortProtocol::Udp : portProtocol(*f.port)) {
    case PortProtocol::Udp:
      // Istio captures no UDP, so VirtualService routes never apply; balance like kube-proxy with
      // the DestinationRule's policy.
      return Decision{false, "", toService(f)};
    case PortProtocol::Http:
      return decideHttp(f, client);
    case PortProtocol::Auto:
      // Istio sniffs such ports; HTTP traffic takes the http routes when the VirtualService has any.
      return f.vs && !f.vs->spec.http.empty() ? decideHttp(f, client) : decideTcp(f, client);
    case PortProtocol::Tls:
      if (f.vs) {
        const uint32_t listenPort = static_cast<uint32_t>(f.port->port);
        for (size_t i = 0; i < f.vs->spec.tls.size(); ++i) {
          for (const auto& m : f.vs->spec.tls[i].match) {
            if (blockApplies(scopeOf(m), *f.vs, listenPort, client)) {
              return proxy("tls[" + std::to_string(i) + "] routes on SNI");
            }
          }
        }
      }
      return decideTcp(f, client);
    case PortProtocol::Tcp:
    case PortProtocol::None:
      break;
  }
  return decideTcp(f, client);
}

plan::DataplanePlan Compiler::run() {
  std::vector<std::pair<const std::string*, const model::Service*>> services;  // FQDN, service
  for (const auto& [host, svc] : services_) {
    if (svc->spec.type != "ExternalName" && !svc->headless()) {
      services.emplace_back(&host, svc);
    }
  }
  // Client classes come from every selector of every VirtualService that governs a frontend.
  std::map<const model::VirtualService*, SelectorSet> vsSelectors;
  SelectorSet selectors;
  for (const auto& [host, svc] : services) {
    if (const auto* vs = virtualServiceFor(*host)) {
      auto& own = vsSelectors[vs];
      for (const auto& r : vs->spec.http) collectSelectors(r.match, own);
      for (const auto& r : vs->spec.tls) collectSelectors(r.match, own);
      for (const auto& r : vs->spec.tcp) collectSelectors(r.match, own);
      selectors.insert(own.begin(), own.end());
    }
  }
  const auto classes = buildClientClasses(snapshot_.pods, selectors);

  const SelectorSet kNoSelectors;
  const std::vector<ClientClassDef> kNoClasses;
  std::map<std::string, plan::Frontend> frontends;  // by key(); the first service wins a clash
  std::set<std::string> usedClasses;
  for (const auto& [hostPtr, svc] : services) {
    const std::string& host = *hostPtr;
    std::span<const std::string> vips = svc->spec.clusterIPs;
    if (vips.empty() && !svc->spec.clusterIP.empty()) {
      vips = std::span(&svc->spec.clusterIP, 1);
    }
    const model::VirtualService* vs = virtualServiceFor(host);
    for (const auto& vipText : vips) {
      auto vip = net::IpAddress::parse(vipText);
      if (!vip) {
        continue;
      }
      for (const auto& port : svc->spec.ports) {
        const PortProtocol proto = portProtocol(port);
        if (proto == PortProtocol::None) {
          continue;
        }
        FrontendContext ctx{svc, &host, &port, *vip, proto == PortProtocol::Udp, vs};
        plan::Frontend fe;
        fe.vip = *vip;
        fe.port = static_cast<uint16_t>(port.port);
        fe.protocol = ctx.udp ? plan::Protocol::Udp : plan::Protocol::Tcp;
        fe.service = host;
        std::string key = fe.key();
        if (frontends.count(key)) {
          continue;
        }
        Decision def = decide(ctx, {});
        std::map<std::string, plan::RouteAction> perClass;
        std::string l7Reason = def.l7 ? def.reason : "";
        // Only this VirtualService's selectors can change its routes: classes that agree on them
        // share one decision, and classes that satisfy none of them take the default.
        const SelectorSet& relevant = vs ? vsSelectors[vs] : kNoSelectors;
        std::map<SelectorSet, Decision> byProjection;
        for (const auto& cls : relevant.empty() ? kNoClasses : classes) {
          SelectorSet projection;
          std::set_intersection(cls.satisfied.begin(), cls.satisfied.end(), relevant.begin(),
                                relevant.end(), std::inserter(projection, projection.end()));
          if (projection.empty()) {
            continue;
          }
          auto it = byProjection.find(projection);
          if (it == byProjection.end()) {
            it = byProjection.emplace(projection, decide(ctx, projection)).first;
          }
          const Decision& d = it->second;
          if (d.l7 && l7Reason.empty()) {
            l7Reason = "for clients " + cls.name + ": " + d.reason;
          }
          if (!d.l7 && d.action != def.action) {
            perClass.emplace(cls.name, d.action);
          }
        }
        if (!l7Reason.empty()) {
          fe.mode = plan::FrontendMode::L7Proxy;
          fe.reason = l7Reason;
        } else {
          fe.defaultRoute = std::move(def.action);
          for (const auto& [name, action] : perClass) {
            usedClasses.insert(name);
          }
          fe.byClientClass = std::move(perClass);
        }
        frontends.emplace(std::move(key), std::move(fe));
      }
    }
  }
  for (auto& [key, fe] : frontends) {
    plan_.frontends.push_back(std::move(fe));
  }
  for (const auto& cls : classes) {
    if (usedClasses.count(cls.name)) {
      plan_.clientClasses.push_back(plan::ClientClass{cls.name, cls.pods});
    }
  }
  return std::move(plan_);
}

}  // namespace

plan::DataplanePlan compile(const model::Snapshot& normalized, const CompileOptions& options) {
  return Compiler(normalized, options).run();
}

}  // namespace sluice::compile
