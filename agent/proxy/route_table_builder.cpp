#include "route_table_builder.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

namespace sluice::proxy {
namespace {

using model::StringMatch;

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

std::string resolveHost(const std::string& host, const std::string& ns, const std::string& domain) {
  if (host.empty() || host.find('.') != std::string::npos || host == "*") {
    return host;
  }
  return host + "." + (ns.empty() ? "default" : ns) + ".svc." + domain;
}

std::string nsOf(const model::ObjectMeta& meta) { return meta.ns.empty() ? "default" : meta.ns; }

bool appliesToMesh(const std::vector<std::string>& gateways) {
  return gateways.empty() || std::find(gateways.begin(), gateways.end(), "mesh") != gateways.end();
}

bool labelsContain(const model::Labels& have, const model::Labels& want) {
  for (const auto& [k, v] : want) {
    auto it = have.find(k);
    if (it == have.end() || it->second != v) {
      return false;
    }
  }
  return true;
}

// Older objects first, then by namespace/name: Istio keeps the oldest VirtualService per host and
// processes DestinationRules in the same order.
template <typename T>
std::vector<const T*> byAge(const std::vector<T>& objects) {
  std::vector<const T*> out;
  for (const auto& o : objects) {
    out.push_back(&o);
  }
  std::stable_sort(out.begin(), out.end(), [](const T* a, const T* b) {
    return std::tie(a->meta.creationTimestamp, a->meta.ns, a->meta.name) <
           std::tie(b->meta.creationTimestamp, b->meta.ns, b->meta.name);
  });
  return out;
}

// ------------------------------------------------------------------ delegate merge (Istio §3.12)

bool stringMatchConflict(const std::optional<StringMatch>& root,
                         const std::optional<StringMatch>& leaf) {
  if (!root || !leaf) {
    return false;
  }
  using K = StringMatch::Kind;
  if (root->kind == K::Regex || leaf->kind == K::Regex) {
    return true;
  }
  if (root->kind == K::Exact) {
    return leaf->kind != K::Exact || leaf->value != root->value;
  }
  if (root->kind == K::Prefix) {
    return !leaf->value.starts_with(root->value);
  }
  return false;
}

bool mapConflict(const std::map<std::string, StringMatch>& root,
                 const std::map<std::string, StringMatch>& leaf) {
  for (const auto& [k, m] : leaf) {
    auto it = root.find(k);
    if (it != root.end() && stringMatchConflict(it->second, m)) {
      return true;
    }
  }
  return false;
}

std::optional<model::HTTPMatchRequest> mergeMatch(const model::HTTPMatchRequest& root,
                                                  const model::HTTPMatchRequest& leaf) {
  if (stringMatchConflict(root.uri, leaf.uri) || stringMatchConflict(root.scheme, leaf.scheme) ||
      stringMatchConflict(root.method, leaf.method) ||
      stringMatchConflict(root.authority, leaf.authority) || mapConflict(root.headers, leaf.headers) ||
      mapConflict(root.withoutHeaders, leaf.withoutHeaders) ||
      mapConflict(root.queryParams, leaf.queryParams) || root.ignoreUriCase != leaf.ignoreUriCase ||
      (root.port && leaf.port && *root.port != *leaf.port) ||
      (!root.sourceNamespace.empty() && !leaf.sourceNamespace.empty() &&
       root.sourceNamespace != leaf.sourceNamespace)) {
    return std::nullopt;
  }
  for (const auto& [k, v] : leaf.sourceLabels) {
    auto it = root.sourceLabels.find(k);
    if (it != root.sourceLabels.end() && it->second != v) {
      return std::nullopt;
    }
  }
  for (const auto& g : leaf.gateways) {
    if (!root.gateways.empty() &&
        std::find(root.gateways.begin(), root.gateways.end(), g) == root.gateways.end()) {
      return std::nullopt;
    }
  }
  model::HTTPMatchRequest m = leaf;
  if (!m.uri) m.uri = root.uri;
  if (!m.scheme) m.scheme = root.scheme;
  if (!m.method) m.method = root.method;
  if (!m.authority) m.authority = root.authority;
  if (!m.port) m.port = root.port;
  if (m.sourceNamespace.empty()) m.sourceNamespace = root.sourceNamespace;
  if (m.gateways.empty()) m.gateways = root.gateways;
  m.headers.insert(root.headers.begin(), root.headers.end());  // insert keeps the leaf's keys
  m.withoutHeaders.insert(root.withoutHeaders.begin(), root.withoutHeaders.end());
  m.queryParams.insert(root.queryParams.begin(), root.queryParams.end());
  m.sourceLabels.insert(root.sourceLabels.begin(), root.sourceLabels.end());
  if (!root.name.empty() && !leaf.name.empty()) {
    m.name = root.name + "-" + leaf.name;
  } else if (m.name.empty()) {
    m.name = root.name;
  }
  return m;
}

std::optional<model::HTTPRoute> mergeRoute(const model::HTTPRoute& root,
                                           const model::HTTPRoute& leaf) {
  model::HTTPRoute merged = leaf;
  merged.delegate.reset();
  if (!root.match.empty()) {
    if (leaf.match.empty()) {
      merged.match = root.match;
    } else {
      merged.match.clear();
      for (const auto& r : root.match) {
        for (const auto& l : leaf.match) {
          if (auto m = mergeMatch(r, l)) {
            merged.match.push_back(std::move(*m));
          }
        }
      }
      if (merged.match.empty()) {
        return std::nullopt;  // no leaf match fits any root match: Istio drops the whole route
      }
    }
  }
  if (!merged.rewrite) merged.rewrite = root.rewrite;
  if (!merged.directResponse) merged.directResponse = root.directResponse;
  if (!merged.timeout) merged.timeout = root.timeout;
  if (!merged.retries) merged.retries = root.retries;
  if (!merged.fault) merged.fault = root.fault;
  if (!merged.mirror) merged.mirror = root.mirror;
  if (merged.mirrors.empty()) merged.mirrors = root.mirrors;
  if (!merged.corsPolicy) merged.corsPolicy = root.corsPolicy;
  if (!merged.headers) merged.headers = root.headers;
  if (!root.name.empty() && !leaf.name.empty()) {
    merged.name = root.name + "-" + leaf.name;
  } else if (merged.name.empty()) {
    merged.name = root.name;
  }
  return merged;
}

// ------------------------------------------------------------------ the builder

struct Selector {
  model::Labels labels;
  std::string ns;
  auto operator<=>(const Selector&) const = default;
};

struct PendingListener {
  net::IpAddress vip;
  uint16_t port = 0;
  const model::Service* service = nullptr;
  std::string fqdn;
  std::string vsNamespace;  // of the VirtualService the routes came from
  std::vector<model::HTTPRoute> routes;  // delegates expanded; empty → default route
  bool hasVirtualService = false;
};

class Builder {
 public:
  Builder(const model::Snapshot& snapshot, const model::MeshSettings& mesh)
      : snap_(snapshot), domain_(mesh.clusterDomain) {}

  RouteTable build() {
    indexObjects();
    collectListeners();
    assignClientClasses();
    for (const auto& p : pending_) {
      compileListener(p);
    }
    return std::move(table_);
  }

 private:
  void warn(std::string message) { table_.warnings.push_back(std::move(message)); }

  void indexObjects() {
    for (const auto& s : snap_.services) {
      services_[s.meta.name + "." + nsOf(s.meta) + ".svc." + domain_] = &s;
    }
    for (const auto& p : snap_.pods) {
      podsByName_[nsOf(p.meta) + "/" + p.meta.name] = &p;
      for (const auto& ip : p.status.podIPs) {
        podsByIp_[ip] = &p;
      }
      if (!p.status.podIP.empty()) {
        podsByIp_[p.status.podIP] = &p;
      }
    }
    for (const auto* dr : byAge(snap_.destinationRules)) {
      if (dr->spec.workloadSelector) {
        continue;  // per-workload DRs: not honoured by the node proxy (see docs/proxy.md)
      }
      drsByHost_[resolveHost(dr->spec.host, nsOf(dr->meta), domain_)].push_back(dr);
    }
    for (const auto* vs : byAge(snap_.virtualServices)) {
      if (vs->spec.hosts.empty()) {
        delegates_[nsOf(vs->meta) + "/" + vs->meta.name] = vs;
        continue;
      }
      if (!appliesToMesh(vs->spec.gateways)) {
        continue;
      }
      for (const auto& h : vs->spec.hosts) {
        std::string host = resolveHost(h, nsOf(vs->meta), domain_);
        if (!vsByHost_.emplace(host, vs).second) {
          warn("VirtualService " + nsOf(vs->meta) + "/" + vs->meta.name + ": host " + host +
               " already bound to an older VirtualService; ignored");
        }
      }
    }
  }

  // Exact host first, else the most specific wildcard ("*.ns.svc.cluster.local" beats "*.local").
  const model::VirtualService* virtualServiceFor(const std::string& fqdn) const {
    if (auto it = vsByHost_.find(fqdn); it != vsByHost_.end()) {
      return it->second;
    }
    const model::VirtualService* best = nullptr;
    size_t bestLen = 0;
    for (const auto& [host, vs] : vsByHost_) {
      if (host.starts_with("*") && fqdn.ends_with(std::string_view(host).substr(1)) &&
          host.size() > bestLen) {
        best = vs;
        bestLen = host.size();
      }
    }
    return best;
  }

  std::vector<model::HTTPRoute> expandDelegates(const model::VirtualService& vs) {
    std::vector<model::HTTPRoute> out;
    for (const auto& route : vs.spec.http) {
      if (!route.delegate) {
        out.push_back(route);
        continue;
      }
      std::string ns = route.delegate->ns.empty() ? nsOf(vs.meta) : route.delegate->ns;
      auto it = delegates_.find(ns + "/" + route.delegate->name);
      if (it == delegates_.end()) {
        warn("VirtualService " + nsOf(vs.meta) + "/" + vs.meta.name + ": delegate " + ns + "/" +
             route.delegate->name + " not found; route dropped");
        continue;
      }
      for (const auto& leaf : it->second->spec.http) {
        if (leaf.delegate) {
          continue;  // one level only; validation reports it
        }
        if (auto merged = mergeRoute(route, leaf)) {
          out.push_back(std::move(*merged));
        }
      }
    }
    return out;
  }

  void collectListeners() {
    for (const auto& [fqdn, svc] : services_) {
      if (svc->headless() || svc->spec.type == "ExternalName") {
        continue;
      }
      std::vector<std::string> ips = svc->spec.clusterIPs;
      if (ips.empty() && !svc->spec.clusterIP.empty()) {
        ips.push_back(svc->spec.clusterIP);
      }
      const model::VirtualService* vs = virtualServiceFor(fqdn);
      std::vector<model::HTTPRoute> routes;
      if (vs) {
        routes = expandDelegates(*vs);
      }
      for (const auto& port : svc->spec.ports) {
        if (port.protocol != "TCP") {
          continue;
        }
        for (const auto& ipText : ips) {
          auto ip = net::IpAddress::parse(ipText);
          if (!ip) {
            continue;
          }
          PendingListener p;
          p.vip = *ip;
          p.port = static_cast<uint16_t>(port.port);
          p.service = svc;
          p.fqdn = fqdn;
          p.hasVirtualService = vs != nullptr && !vs->spec.http.empty();
          if (vs) {
            p.vsNamespace = nsOf(vs->meta);
          }
          p.routes = routes;
          for (const auto& r : p.routes) {
            for (const auto& m : r.match) {
              if (!m.sourceLabels.empty() || !m.sourceNamespace.empty()) {
                selectors_.insert(Selector{m.sourceLabels, m.sourceNamespace});
              }
            }
          }
          pending_.push_back(std::move(p));
        }
      }
    }
    std::sort(pending_.begin(), pending_.end(), [](const auto& a, const auto& b) {
      return std::tie(a.vip, a.port) < std::tie(b.vip, b.port);
    });
  }

  // Pods that satisfy the same set of selectors see the same routes: one class per distinct set.
  // Class 0 satisfies none (and is what clients the table does not know get).
  void assignClientClasses() {
    selectorList_.assign(selectors_.begin(), selectors_.end());
    std::map<std::vector<bool>, uint32_t> classes;
    classes[std::vector<bool>(selectorList_.size(), false)] = 0;
    classSatisfies_.push_back(std::vector<bool>(selectorList_.size(), false));
    for (const auto& pod : snap_.pods) {
      std::vector<bool> sig;
      for (const auto& s : selectorList_) {
        sig.push_back(labelsContain(pod.meta.labels, s.labels) &&
                      (s.ns.empty() || s.ns == nsOf(pod.meta)));
      }
      auto [it, inserted] = classes.emplace(sig, static_cast<uint32_t>(classSatisfies_.size()));
      if (inserted) {
        classSatisfies_.push_back(sig);
      }
      std::vector<std::string> ips = pod.status.podIPs;
      ips.push_back(pod.status.podIP);
      for (const auto& text : ips) {
        if (auto ip = net::IpAddress::parse(text); ip && it->second != 0) {
          table_.classByClientIp[*ip] = it->second;
        }
      }
    }
    table_.classCount = static_cast<uint32_t>(classSatisfies_.size());
  }

  bool classSelects(uint32_t cls, const model::HTTPMatchRequest& m) const {
    if (m.sourceLabels.empty() && m.sourceNamespace.empty()) {
      return true;
    }
    auto it = std::lower_bound(selectorList_.begin(), selectorList_.end(),
                               Selector{m.sourceLabels, m.sourceNamespace});
    return classSatisfies_[cls][static_cast<size_t>(it - selectorList_.begin())];
  }

  static CompiledStringMatch::Kind kindOf(StringMatch::Kind k) {
    switch (k) {
      case StringMatch::Kind::Any:
        return CompiledStringMatch::Kind::Any;
      case StringMatch::Kind::Exact:
        return CompiledStringMatch::Kind::Exact;
      case StringMatch::Kind::Prefix:
        return CompiledStringMatch::Kind::Prefix;
      case StringMatch::Kind::Regex:
        return CompiledStringMatch::Kind::Regex;
    }
    return CompiledStringMatch::Kind::Any;
  }

  std::optional<CompiledStringMatch> compileMatch(const StringMatch& m, bool ignoreCase,
                                                  bool presenceRegex) {
    // Istio reads `regex: "*"` in headers and queryParams as a presence check.
    if (presenceRegex && m.kind == StringMatch::Kind::Regex && m.value == "*") {
      return CompiledStringMatch::create(CompiledStringMatch::Kind::Any, "");
    }
    auto c = CompiledStringMatch::create(kindOf(m.kind), m.value, ignoreCase);
    if (!c) {
      warn("regex does not compile: " + m.value);
    }
    return c;
  }

  static std::string joinComma(const std::vector<std::string>& v) {
    std::string out;
    for (const auto& x : v) {
      if (!out.empty()) out += ",";
      out += x;
    }
    return out;
  }

  void compileRetry(const model::HTTPRetry& in, RetryPolicy& out) {
    out.numRetries = in.attempts > 0 ? static_cast<uint32_t>(in.attempts) : 0;
    if (in.retryOn && !in.retryOn->empty()) {
      out.connectFailure = false;
      out.grpcStatuses.clear();
      std::string_view s = *in.retryOn;
      while (!s.empty()) {
        size_t comma = s.find(',');
        std::string_view tok = s.substr(0, comma);
        s = comma == std::string_view::npos ? std::string_view() : s.substr(comma + 1);
        while (!tok.empty() && tok.front() == ' ') tok.remove_prefix(1);
        while (!tok.empty() && tok.back() == ' ') tok.remove_suffix(1);
        if (tok == "5xx") {
          out.on5xx = out.reset = out.connectFailure = true;
        } else if (tok == "gateway-error") {
          out.gatewayError = out.reset = out.connectFailure = true;
        } else if (tok == "reset") {
          out.reset = true;
        } else if (tok == "connect-failure") {
          out.connectFailure = true;
        } else if (tok == "retriable-4xx") {
          out.retriable4xx = true;
        } else if (tok == "cancelled") {
          out.grpcStatuses.push_back(1);
        } else if (tok == "deadline-exceeded") {
          out.grpcStatuses.push_back(4);
        } else if (tok == "resource-exhausted") {
          out.grpcStatuses.push_back(8);
        } else if (tok == "internal") {
          out.grpcStatuses.push_back(13);
        } else if (tok == "unavailable") {
          out.grpcStatuses.push_back(14);
        } else if (!tok.empty() && tok.size() <= 3 &&
                   tok.find_first_not_of("0123456789") == std::string_view::npos) {
          out.statuses.push_back(static_cast<uint16_t>(std::stoi(std::string(tok))));
        }
        // refused-stream and the rest: not distinguished (a refused stream is a reset).
      }
    }
    if (in.backoff && in.backoff->count() > 0) {
      out.backoffBase = std::max(std::chrono::milliseconds(1),
                                 std::chrono::duration_cast<std::chrono::milliseconds>(*in.backoff));
    }
    out.previousHosts = in.retryIgnorePreviousHosts.value_or(true);
    if (in.perTryTimeout) {
      out.perTryTimeout = std::chrono::duration_cast<std::chrono::milliseconds>(*in.perTryTimeout);
    }
  }

  void compileCors(const model::CorsPolicy& c, Route& out) {
    Cors cors;
    for (const auto& o : c.allowOrigin) {
      if (auto m = CompiledStringMatch::create(CompiledStringMatch::Kind::Exact, o)) {
        cors.origins.push_back(std::move(*m));
      }
    }
    for (const auto& o : c.allowOrigins) {
      if (o.kind == StringMatch::Kind::Any) continue;
      if (auto m = compileMatch(o, false, false)) {
        cors.origins.push_back(std::move(*m));
      } else {
        warn("route " + out.name + ": corsPolicy origin regex dropped");
      }
    }
    cors.allowMethods = joinComma(c.allowMethods);
    cors.allowHeaders = joinComma(c.allowHeaders);
    cors.exposeHeaders = joinComma(c.exposeHeaders);
    if (c.maxAge) {
      cors.maxAge = std::to_string(std::chrono::duration_cast<std::chrono::seconds>(*c.maxAge).count());
    }
    cors.allowCredentials = c.allowCredentials.value_or(false);
    cors.forwardUnmatchedPreflights = c.unmatchedPreflights != model::UnmatchedPreflights::Ignore;
    out.cors = std::move(cors);
  }

  bool compileMap(const std::map<std::string, StringMatch>& in, std::vector<HeaderMatch>& out,
                  bool isHeader) {
    for (const auto& [name, m] : in) {
      std::string key = isHeader ? lower(name) : name;
      if (isHeader && (key == "uri" || key == "scheme" || key == "method" || key == "authority")) {
        continue;  // Istio ignores these keys in header maps
      }
      if (isHeader && key.starts_with("@request.auth.claims")) {
        warn("JWT claim match on " + key + " needs a gateway; match block never matches here");
        return false;
      }
      auto c = compileMatch(m, false, true);
      if (!c) {
        return false;
      }
      out.push_back(HeaderMatch{std::move(key), std::move(*c)});
    }
    return true;
  }

  std::optional<MatchBlock> compileBlock(const model::HTTPMatchRequest& m) {
    MatchBlock b;
    b.name = m.name;
    auto one = [&](const std::optional<StringMatch>& in, std::optional<CompiledStringMatch>& out,
                   bool ignoreCase) {
      if (!in) {
        return true;
      }
      out = compileMatch(*in, ignoreCase, false);
      return out.has_value();
    };
    if (!one(m.uri, b.uri, m.ignoreUriCase) || !one(m.scheme, b.scheme, false) ||
        !one(m.method, b.method, false) || !one(m.authority, b.authority, false) ||
        !compileMap(m.headers, b.headers, true) ||
        !compileMap(m.withoutHeaders, b.withoutHeaders, true) ||
        !compileMap(m.queryParams, b.queryParams, false)) {
      return std::nullopt;
    }
    return b;
  }

  // Istio §3.8: host/:authority keys become the authority; pseudo-headers are never mutated.
  void compileOps(const model::HeaderOperations& in, HeaderOps& out, std::string* setAuthority,
                  std::string* addAuthority) {
    for (const auto& name : in.remove) {
      std::string key = lower(name);
      if (key == "host" || key.starts_with(":")) {
        continue;
      }
      out.remove.push_back(std::move(key));
    }
    auto lift = [&](const std::map<std::string, std::string>& from, bool append,
                    std::string* authority) {
      for (const auto& [name, value] : from) {
        std::string key = lower(name);
        if (key == "host" || key == ":authority") {
          if (authority && authority->empty()) {
            *authority = value;
          }
          continue;
        }
        if (key.starts_with(":")) {
          continue;
        }
        out.mutations.push_back(HeaderMutation{std::move(key), value, append});
      }
    };
    lift(in.set, false, setAuthority);
    lift(in.add, true, addAuthority);
  }

  static void appendOps(HeaderOps& into, const HeaderOps& from) {
    into.remove.insert(into.remove.end(), from.remove.begin(), from.remove.end());
    into.mutations.insert(into.mutations.end(), from.mutations.begin(), from.mutations.end());
  }

  // Request and response ops of a Headers block; the returned authority follows set > add.
  std::string compileHeaders(const std::optional<model::Headers>& h, HeaderOps& req, HeaderOps& resp) {
    std::string setAuthority;
    std::string addAuthority;
    if (h && h->request) {
      compileOps(*h->request, req, &setAuthority, &addAuthority);
    }
    if (h && h->response) {
      compileOps(*h->response, resp, nullptr, nullptr);
    }
    return setAuthority.empty() ? addAuthority : setAuthority;
  }

  uint32_t clusterFor(const model::Destination& d, const std::string& ns, uint16_t listenerPort,
                      std::string& name) {
    std::string host = resolveHost(d.host, ns, domain_);
    uint32_t port = listenerPort;
    auto svcIt = services_.find(host);
    if (d.port) {
      port = *d.port;
    } else if (svcIt != services_.end() && svcIt->second->spec.ports.size() == 1) {
      port = static_cast<uint32_t>(svcIt->second->spec.ports[0].port);
    }
    name = "outbound|" + std::to_string(port) + "|" + d.subset + "|" + host;
    if (auto it = table_.clusterIndex.find(name); it != table_.clusterIndex.end()) {
      return it->second;
    }
    if (svcIt == services_.end()) {
      warn("destination " + host + " is not a known service: " + name + " answers 503");
      return kNoCluster;
    }
    const model::Subset* subset = nullptr;
    if (!d.subset.empty()) {
      subset = findSubset(host, d.subset);
      if (!subset) {
        warn("subset " + d.subset + " of " + host + " is not defined: " + name + " answers 503");
        return kNoCluster;
      }
    }
    Cluster c = makeCluster(*svcIt->second, static_cast<uint16_t>(port), host, subset, name);
    auto index = static_cast<uint32_t>(table_.clusters.size());
    table_.clusters.push_back(std::move(c));
    table_.clusterIndex.emplace(name, index);
    return index;
  }

  const model::Subset* findSubset(const std::string& host, const std::string& name) const {
    auto it = drsByHost_.find(host);
    if (it == drsByHost_.end()) {
      return nullptr;
    }
    for (const auto* dr : it->second) {  // concatenated in age order: the first definition wins
      for (const auto& s : dr->spec.subsets) {
        if (s.name == name) {
          return &s;
        }
      }
    }
    return nullptr;
  }

  // Istio §3.10, the loadBalancer block only: subset port-level > subset > DR port-level > DR. A
  // matching port-level entry replaces the block whole, so an entry without loadBalancer means the
  // default even when a lower-precedence level sets one.
  std::optional<model::LoadBalancerSettings> effectiveLb(const std::string& host, uint16_t port,
                                                         const model::Subset* subset) const {
    auto fromPolicy = [port](const model::TrafficPolicy& tp,
                             std::optional<model::LoadBalancerSettings>& out) {
      for (const auto& pl : tp.portLevelSettings) {
        if (pl.port && *pl.port == port) {
          out = pl.loadBalancer;
          return true;
        }
      }
      if (tp.loadBalancer) {
        out = tp.loadBalancer;
        return true;
      }
      return false;
    };
    std::optional<model::LoadBalancerSettings> lb;
    if (subset && subset->trafficPolicy && fromPolicy(*subset->trafficPolicy, lb)) {
      return lb;
    }
    auto it = drsByHost_.find(host);
    if (it != drsByHost_.end()) {
      for (const auto* dr : it->second) {  // the first top-level trafficPolicy wins
        if (dr->spec.trafficPolicy) {
          fromPolicy(*dr->spec.trafficPolicy, lb);
          return lb;
        }
      }
    }
    return lb;
  }

  // connectionPool for a cluster, Istio's precedence: the subset's policy over the DR's (the
  // first with a top-level trafficPolicy), and within one, a matching port-level connectionPool
  // over the top-level one; the block is taken whole. Null: Istio's defaults (DO_NOT_UPGRADE, no
  // limits).
  const model::ConnectionPoolSettings* effectivePool(const std::string& host, uint16_t port,
                                                     const model::Subset* subset) const {
    auto fromPolicy = [port](const model::TrafficPolicy& tp) -> const model::ConnectionPoolSettings* {
      for (const auto& pl : tp.portLevelSettings) {
        if (pl.port && *pl.port == port && pl.connectionPool) {
          return &*pl.connectionPool;
        }
      }
      return tp.connectionPool ? &*tp.connectionPool : nullptr;
    };
    const model::ConnectionPoolSettings* pool =
        subset && subset->trafficPolicy ? fromPolicy(*subset->trafficPolicy) : nullptr;
    if (auto it = drsByHost_.find(host); !pool && it != drsByHost_.end()) {
      for (const auto* dr : it->second) {
        if (dr->spec.trafficPolicy) {
          pool = fromPolicy(*dr->spec.trafficPolicy);
          break;
        }
      }
    }
    return pool;
  }

  // Istio's applyConnectionPool: a limit is set only when above 0.
  static CircuitLimits circuitLimits(const model::ConnectionPoolSettings* pool) {
    CircuitLimits limits;
    auto set = [](const std::optional<int32_t>& value, uint32_t& limit) {
      if (value && *value > 0) {
        limit = static_cast<uint32_t>(*value);
      }
    };
    if (pool && pool->tcp) {
      set(pool->tcp->maxConnections, limits.maxConnections);
    }
    if (pool && pool->http) {
      set(pool->http->http1MaxPendingRequests, limits.maxPendingRequests);
      set(pool->http->http2MaxRequests, limits.maxRequests);
      set(pool->http->maxRetries, limits.maxRetries);
      set(pool->http->maxRequestsPerConnection, limits.maxRequestsPerConnection);
    }
    return limits;
  }

  // Istio's protocol.Parse on appProtocol, else on the port name's prefix up to '-', then
  // IsHTTP2(): HTTP2, GRPC and GRPCWeb (agent/compile/protocol.cpp classifies the same names).
  static bool speaksHttp2(const model::ServicePort& port) {
    auto lowered = [](std::string s) {
      for (char& c : s) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      }
      return s;
    };
    auto http2Name = [](const std::string& n) {
      return n == "http2" || n == "grpc" || n == "grpc-web" || n == "h2c" ||
             n == "kubernetes.io/h2c";
    };
    // An appProtocol Istio does not know falls back to the name, as in protocol.cpp.
    static const std::set<std::string> kKnown = {
        "http", "http2", "grpc", "grpc-web", "h2c", "kubernetes.io/h2c", "kubernetes.io/ws",
        "https", "tls", "kubernetes.io/wss", "tcp", "mongo", "redis", "mysql", "thrift"};
    if (std::string app = lowered(port.appProtocol); kKnown.count(app)) {
      return http2Name(app);
    }
    std::string name = lowered(port.name);
    return http2Name(name.substr(0, name.find('-')));
  }

  Cluster makeCluster(const model::Service& svc, uint16_t port, const std::string& host,
                      const model::Subset* subset, const std::string& name) {
    Cluster c;
    c.name = name;
    const model::ServicePort* sp = nullptr;
    for (const auto& p : svc.spec.ports) {
      if (p.port == port) {
        sp = &p;
      }
    }
    std::map<std::string, Endpoint> endpoints;  // by key: deduplicated, deterministic order
    for (const auto& slice : snap_.endpointSlices) {
      if (sp == nullptr || slice.addressType == "FQDN" || slice.serviceName() != svc.meta.name ||
          nsOf(slice.meta) != nsOf(svc.meta)) {
        continue;
      }
      std::optional<int32_t> targetPort;
      for (const auto& ep : slice.ports) {
        if (ep.name.value_or("") == sp->name) {
          targetPort = ep.port;
        }
      }
      if (!targetPort) {
        continue;
      }
      for (const auto& e : slice.endpoints) {
        if (!e.conditions.ready.value_or(true)) {
          continue;
        }
        for (const auto& addr : e.addresses) {
          const model::Pod* pod = nullptr;
          if (e.targetRef && e.targetRef->kind == "Pod") {
            std::string ns = e.targetRef->ns.empty() ? nsOf(slice.meta) : e.targetRef->ns;
            if (auto it = podsByName_.find(ns + "/" + e.targetRef->name); it != podsByName_.end()) {
              pod = it->second;
            }
          }
          if (!pod) {
            if (auto it = podsByIp_.find(addr); it != podsByIp_.end()) {
              pod = it->second;
            }
          }
          if (subset && (!pod || !labelsContain(pod->meta.labels, subset->labels))) {
            continue;
          }
          auto ip = net::IpAddress::parse(addr);
          if (!ip) {
            continue;
          }
          Endpoint ep{*ip, static_cast<uint16_t>(*targetPort),
                      pod ? nsOf(pod->meta) + "/" + pod->meta.name : std::string()};
          endpoints.emplace(ep.key(), std::move(ep));
        }
      }
    }
    for (auto& [key, ep] : endpoints) {
      c.endpoints.push_back(std::move(ep));
    }
    const model::ConnectionPoolSettings* pool = effectivePool(host, port, subset);
    const model::HTTPSettings* http = pool && pool->http ? &*pool->http : nullptr;
    c.http2 = (sp && speaksHttp2(*sp)) ||
              (http && http->h2UpgradePolicy == model::H2UpgradePolicy::Upgrade);
    c.useClientProtocol = http && http->useClientProtocol;
    c.limits = circuitLimits(pool);
    c.counters = std::make_shared<LbCounters>(c.endpoints.size());
    applyLb(c, effectiveLb(host, port, subset));
    return c;
  }

  void applyLb(Cluster& c, const std::optional<model::LoadBalancerSettings>& lb) {
    c.lb = LbPolicy::LeastRequest;
    if (!lb) {
      return;
    }
    if (lb->consistentHash) {
      const auto& ch = *lb->consistentHash;
      if (ch.httpHeaderName) {
        c.hash.source = HashPolicy::Source::Header;
        c.hash.name = lower(*ch.httpHeaderName);
      } else if (ch.httpCookie) {
        c.hash.source = HashPolicy::Source::Cookie;
        c.hash.name = ch.httpCookie->name;
        c.hash.cookiePath = ch.httpCookie->path;
        if (ch.httpCookie->ttl) {
          c.hash.cookieTtlSeconds = static_cast<uint64_t>(
              std::chrono::duration_cast<std::chrono::seconds>(*ch.httpCookie->ttl).count());
        }
        for (const auto& a : ch.httpCookie->attributes) {
          c.hash.cookieAttributes.emplace_back(a.name, a.value);
        }
      } else if (ch.httpQueryParameterName) {
        c.hash.source = HashPolicy::Source::QueryParameter;
        c.hash.name = *ch.httpQueryParameterName;
      } else if (ch.useSourceIp) {
        c.hash.source = HashPolicy::Source::SourceIp;
      }
      if (ch.maglev) {
        c.lb = LbPolicy::Maglev;
        buildMaglev(c, ch.maglev->tableSize.value_or(65537));
      } else {
        c.lb = LbPolicy::RingHash;
        uint64_t size = ch.ringHash ? ch.ringHash->minimumRingSize.value_or(1024)
                                    : ch.minimumRingSize.value_or(1024);
        buildRing(c, size);
      }
      return;
    }
    switch (lb->simple.value_or(model::SimpleLB::Unspecified)) {
      case model::SimpleLB::RoundRobin:
        c.lb = LbPolicy::RoundRobin;
        break;
      case model::SimpleLB::Random:
        c.lb = LbPolicy::Random;
        break;
      case model::SimpleLB::Passthrough:
        warn(c.name + ": PASSTHROUGH is not supported by the node proxy; using LEAST_REQUEST");
        break;
      default:
        break;  // UNSPECIFIED, LEAST_CONN and LEAST_REQUEST all mean P2C least request
    }
  }

  // Envoy-style ketama ring: each endpoint gets ceil(size / n) points.
  static void buildRing(Cluster& c, uint64_t minimumSize) {
    if (c.endpoints.empty()) {
      return;
    }
    minimumSize = std::clamp<uint64_t>(minimumSize, 1, 1u << 23);
    uint64_t perHost = (minimumSize + c.endpoints.size() - 1) / c.endpoints.size();
    for (uint32_t i = 0; i < c.endpoints.size(); ++i) {
      std::string key = c.endpoints[i].key() + "_";
      for (uint64_t r = 0; r < perHost; ++r) {
        c.ring.emplace_back(hashKey(key + std::to_string(r)), i);
      }
    }
    std::sort(c.ring.begin(), c.ring.end());
  }

  // Maglev (Eisenbud et al. 2016, §3.4): each endpoint walks its own permutation of the table.
  static void buildMaglev(Cluster& c, uint64_t tableSize) {
    if (c.endpoints.empty() || tableSize < 2) {
      return;
    }
    const uint64_t m = tableSize;
    std::vector<uint64_t> offset;
    std::vector<uint64_t> skip;
    std::vector<uint64_t> next(c.endpoints.size(), 0);
    for (const auto& e : c.endpoints) {
      std::string key = e.key();
      offset.push_back(hashKey(key) % m);
      skip.push_back(hashKey(key + "#skip") % (m - 1) + 1);
    }
    c.maglev.assign(m, UINT32_MAX);
    uint64_t filled = 0;
    while (filled < m) {
      for (uint32_t i = 0; i < c.endpoints.size() && filled < m; ++i) {
        uint64_t slot = (offset[i] + next[i] * skip[i]) % m;
        while (c.maglev[slot] != UINT32_MAX) {
          ++next[i];
          slot = (offset[i] + next[i] * skip[i]) % m;
        }
        c.maglev[slot] = i;
        ++next[i];
        ++filled;
      }
    }
  }

  // An unset percentage means 0% (istio-semantics §3.6); a delay falls back to the deprecated
  // integer `percent`.
  void compileFault(const model::HTTPFaultInjection& f, Route& out) {
    auto perMillion = [](double percent) {
      return static_cast<uint32_t>(std::clamp(percent, 0.0, 100.0) * 10000.0 + 0.5);
    };
    if (f.delay && f.delay->fixedDelay) {
      out.fault.delay = std::chrono::duration_cast<std::chrono::milliseconds>(*f.delay->fixedDelay);
      out.fault.delayPerMillion = f.delay->percentage ? perMillion(*f.delay->percentage)
                                                      : perMillion(f.delay->percent.value_or(0));
    }
    if (f.abort && f.abort->httpStatus) {
      out.fault.abortStatus = static_cast<uint16_t>(*f.abort->httpStatus);
      out.fault.abortPerMillion = perMillion(f.abort->percentage.value_or(0));
    } else if (f.abort && f.abort->grpcStatus) {
      // The 17 standard names, in code order (validation accepts no others).
      static constexpr std::string_view kCodes[] = {
          "OK",        "CANCELLED",         "UNKNOWN",          "INVALID_ARGUMENT",
          "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",   "PERMISSION_DENIED",
          "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
          "UNIMPLEMENTED", "INTERNAL",      "UNAVAILABLE",      "DATA_LOSS",
          "UNAUTHENTICATED"};
      auto code = std::find(std::begin(kCodes), std::end(kCodes), *f.abort->grpcStatus);
      if (code == std::end(kCodes)) {
        warn("route " + out.name + ": unknown gRPC status " + *f.abort->grpcStatus + " dropped");
        return;
      }
      out.fault.abortGrpcStatus = static_cast<int16_t>(code - std::begin(kCodes));
      out.fault.abortStatus = 503;  // what a client that is not gRPC gets
      out.fault.abortPerMillion = perMillion(f.abort->percentage.value_or(0));
    }
  }

  std::optional<Route> compileRoute(const model::HTTPRoute& r, const std::string& ns,
                                    uint16_t listenerPort) {
    Route out;
    out.name = r.name;
    if (r.redirect) {
      const auto& rd = *r.redirect;
      out.kind = Route::Kind::Redirect;
      out.redirect.uri = rd.uri;
      out.redirect.prefixRewrite = rd.prefixRewrite;
      out.redirect.authority = rd.authority;
      out.redirect.scheme = rd.scheme;
      if (rd.port) {
        out.redirect.portMode = Redirect::PortMode::Explicit;
        out.redirect.port = static_cast<uint16_t>(*rd.port);
      } else if (rd.derivePort) {
        out.redirect.portMode = *rd.derivePort == model::RedirectPortSelection::FromRequestPort
                                    ? Redirect::PortMode::RequestPort
                                    : Redirect::PortMode::ProtocolDefault;
      }
      uint32_t code = rd.redirectCode.value_or(301);
      if (code != 301 && code != 302 && code != 303 && code != 307 && code != 308) {
        // Istio accepts 300-399 but Envoy supports only these; istiod drops the route action.
        warn("route " + r.name + ": redirect code " + std::to_string(code) +
             " is not supported by Envoy; route dropped");
        return std::nullopt;
      }
      out.redirect.code = static_cast<uint16_t>(code);
    } else if (r.directResponse) {
      out.kind = Route::Kind::DirectResponse;
      out.directResponse.status = static_cast<uint16_t>(r.directResponse->status);
      if (const auto& body = r.directResponse->body) {
        out.directResponse.body = body->string ? body->string : body->bytes;
      }
    } else if (!r.route.empty()) {
      out.kind = Route::Kind::Forward;
    } else {
      warn("route " + r.name + " has no action; dropped");
      return std::nullopt;
    }

    out.authority = compileHeaders(r.headers, out.requestOps, out.responseOps);
    if (r.timeout) {
      out.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(*r.timeout);
    }
    if (r.fault) {
      compileFault(*r.fault, out);
    }
    if (r.corsPolicy) {
      compileCors(*r.corsPolicy, out);
    }
    if (r.retries) {
      compileRetry(*r.retries, out.retry);
    }
    if (r.rewrite) {
      if (!r.rewrite->uri.empty()) {
        out.rewrite.uri = r.rewrite->uri;
      }
      if (r.rewrite->uriRegexRewrite) {
        out.rewrite.regexMatch = CompiledStringMatch::create(
            CompiledStringMatch::Kind::Regex, r.rewrite->uriRegexRewrite->match);
        out.rewrite.regexSubstitution = r.rewrite->uriRegexRewrite->rewrite;
        if (!out.rewrite.regexMatch) {
          warn("route " + r.name + ": uriRegexRewrite does not compile; route dropped");
          return std::nullopt;
        }
      }
      if (!r.rewrite->authority.empty()) {
        out.authority = r.rewrite->authority;  // beats any headers-level authority
      }
    }

    if (out.kind == Route::Kind::Forward) {
      // Mirrors: `mirror` with mirrorPercentage (else the deprecated mirrorPercent, else 100%);
      // each of `mirrors` with its own percentage (absent 100%). 0% turns a mirror off.
      auto mirrorPerMillion = [](double percent) {
        return static_cast<uint32_t>(std::clamp(percent, 0.0, 100.0) * 10000.0 + 0.5);
      };
      auto addMirror = [&](const model::Destination& md, double percent) {
        Mirror m;
        std::string name;
        m.clusterIndex = clusterFor(md, ns, listenerPort, name);
        m.perMillion = mirrorPerMillion(percent);
        if (m.clusterIndex == kNoCluster) {
          warn("route " + out.name + ": mirror " + name + " has no cluster; not mirrored");
        } else if (m.perMillion > 0) {
          out.mirrors.push_back(m);
        }
      };
      if (r.mirror) {
        double pct = r.mirrorPercentage ? *r.mirrorPercentage
                     : r.mirrorPercent  ? static_cast<double>(*r.mirrorPercent)
                                        : 100.0;
        addMirror(*r.mirror, pct);
      }
      for (const auto& mp : r.mirrors) {
        addMirror(mp.destination, mp.percentage.value_or(100.0));
      }
      bool single = r.route.size() == 1;
      for (const auto& d : r.route) {
        if (!single && d.weight <= 0) {
          continue;  // with several destinations, weight 0 means none of the traffic
        }
        WeightedCluster wc;
        wc.clusterIndex = clusterFor(d.destination, ns, listenerPort, wc.cluster);
        wc.weight = single ? 1 : static_cast<uint32_t>(d.weight);
        HeaderOps req;
        HeaderOps resp;
        std::string authority = compileHeaders(d.headers, req, resp);
        if (single) {
          appendOps(out.requestOps, req);
          appendOps(out.responseOps, resp);
          if (out.authority.empty()) {
            out.authority = authority;
          }
        } else {
          wc.requestOps = std::move(req);
          wc.responseOps = std::move(resp);
          wc.authority = std::move(authority);
        }
        out.totalWeight += wc.weight;
        out.clusters.push_back(std::move(wc));
      }
      if (out.totalWeight == 0) {
        warn("route " + r.name + ": total weight is 0; route dropped");
        return std::nullopt;
      }
    }
    return out;
  }

  void compileListener(const PendingListener& p) {
    Listener l;
    l.vip = p.vip;
    l.port = p.port;
    l.host = p.fqdn;
    // Per route: which model match blocks were kept (by index into Route::blocks) and their model
    // originals, for the per-class selection below.
    std::vector<std::vector<const model::HTTPMatchRequest*>> kept;
    if (!p.hasVirtualService) {
      // No VirtualService: Istio's default route to the service itself.
      Route def;
      def.name = "default";
      def.matchAll = true;
      WeightedCluster wc;
      wc.clusterIndex = clusterFor(model::Destination{p.fqdn, "", p.port}, p.vsNamespace, p.port,
                                   wc.cluster);
      wc.weight = 1;
      def.clusters.push_back(std::move(wc));
      def.totalWeight = 1;
      l.routes.push_back(std::move(def));
      kept.emplace_back();
    } else {
      for (const auto& r : p.routes) {
        auto route = compileRoute(r, p.vsNamespace, p.port);
        if (!route) {
          continue;
        }
        std::vector<const model::HTTPMatchRequest*> origins;
        if (r.match.empty()) {
          route->matchAll = true;
        }
        for (const auto& m : r.match) {
          // port and gateways are config-time selectors: a block for another port or only for
          // gateways does not exist on this listener.
          if ((m.port && *m.port != p.port) || !appliesToMesh(m.gateways)) {
            continue;
          }
          if (auto b = compileBlock(m)) {
            route->blocks.push_back(std::move(*b));
            origins.push_back(&m);
          }
        }
        if (!route->matchAll && route->blocks.empty()) {
          continue;
        }
        l.routes.push_back(std::move(*route));
        kept.push_back(std::move(origins));
      }
    }
    l.routesByClass.resize(table_.classCount);
    for (uint32_t cls = 0; cls < table_.classCount; ++cls) {
      for (uint32_t ri = 0; ri < l.routes.size(); ++ri) {
        ClassRoute cr;
        cr.route = ri;
        for (uint32_t bi = 0; bi < kept[ri].size(); ++bi) {
          if (classSelects(cls, *kept[ri][bi])) {
            cr.blocks.push_back(bi);
          }
        }
        if (l.routes[ri].matchAll || !cr.blocks.empty()) {
          l.routesByClass[cls].push_back(std::move(cr));
        }
      }
    }
    table_.listenerIndex.emplace(ListenerKey{l.vip, l.port},
                                 static_cast<uint32_t>(table_.listeners.size()));
    table_.listeners.push_back(std::move(l));
  }

  const model::Snapshot& snap_;
  std::string domain_;
  RouteTable table_;
  std::map<std::string, const model::Service*> services_;
  std::map<std::string, const model::Pod*> podsByName_;
  std::map<std::string, const model::Pod*> podsByIp_;
  std::map<std::string, std::vector<const model::DestinationRule*>> drsByHost_;
  std::map<std::string, const model::VirtualService*> vsByHost_;
  std::map<std::string, const model::VirtualService*> delegates_;
  std::set<Selector> selectors_;
  std::vector<Selector> selectorList_;
  std::vector<std::vector<bool>> classSatisfies_;
  std::vector<PendingListener> pending_;
};

}  // namespace

RouteTable buildRouteTable(const model::Snapshot& snapshot, const model::MeshSettings& mesh) {
  return Builder(snapshot, mesh).build();
}

}  // namespace sluice::proxy
