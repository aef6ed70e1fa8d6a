#include "router.h"

#include <algorithm>
#include <cstdio>

namespace sluice::proxy {
namespace {

std::string_view pathOnly(std::string_view path) {
  return path.substr(0, std::min(path.find('?'), path.size()));
}

// The first occurrence of `key` in the query string, as Envoy's query parameter matcher reads it
// (raw, not percent-decoded). "?key" and "?key=" both give "".
std::optional<std::string_view> queryValue(std::string_view path, std::string_view key) {
  size_t q = path.find('?');
  if (q == std::string_view::npos) {
    return std::nullopt;
  }
  std::string_view query = path.substr(q + 1);
  query = query.substr(0, std::min(query.find('#'), query.size()));
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    size_t eq = pair.find('=');
    if (pair.substr(0, eq) == key) {
      return eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    }
    if (amp == std::string_view::npos) {
      break;
    }
    query = query.substr(amp + 1);
  }
  return std::nullopt;
}

std::optional<std::string> cookieValue(const HeaderList& headers, std::string_view name) {
  for (const auto& h : headers) {
    if (h.name != "cookie") {
      continue;
    }
    std::string_view rest = h.value;
    while (!rest.empty()) {
      size_t semi = rest.find(';');
      std::string_view pair = rest.substr(0, semi);
      while (!pair.empty() && pair.front() == ' ') {
        pair.remove_prefix(1);
      }
      size_t eq = pair.find('=');
      if (eq != std::string_view::npos && pair.substr(0, eq) == name) {
        std::string_view v = pair.substr(eq + 1);
        if (v.size() >= 2 && v.front() == '"' && v.back() == '"') {
          v = v.substr(1, v.size() - 2);
        }
        return std::string(v);
      }
      if (semi == std::string_view::npos) {
        break;
      }
      rest = rest.substr(semi + 1);
    }
  }
  return std::nullopt;
}

// "host:port" / "[v6]:port" → (host, ":port" or "").
std::pair<std::string_view, std::string_view> splitHostPort(std::string_view host) {
  size_t colon;
  if (!host.empty() && host.front() == '[') {
    colon = host.rfind("]:");
    if (colon != std::string_view::npos) {
      ++colon;
    }
  } else {
    colon = host.rfind(':');
  }
  if (colon == std::string_view::npos) {
    return {host, {}};
  }
  return {host.substr(0, colon), host.substr(colon)};
}

// The path after Istio's rewrite.uri (Envoy prefix_rewrite): with a prefix match the matched prefix
// is replaced; with an exact or regex match the whole path (the query is kept); a block without a
// uri match is Istio's implicit prefix "/".
std::string prefixRewrite(std::string_view path, const MatchBlock* block,
                          const std::string& replacement) {
  const CompiledStringMatch* uri = block && block->uri ? &*block->uri : nullptr;
  if (uri && (uri->kind() == CompiledStringMatch::Kind::Exact ||
              uri->kind() == CompiledStringMatch::Kind::Regex)) {
    return replacement + std::string(path.substr(pathOnly(path).size()));
  }
  size_t matched = uri && uri->kind() == CompiledStringMatch::Kind::Prefix ? uri->value().size() : 1;
  matched = std::min(matched, path.size());
  return replacement + std::string(path.substr(matched));
}

std::string redirectLocation(const Redirect& r, const MatchBlock* block, const RequestView& req) {
  std::string scheme = r.scheme.empty() ? std::string(req.scheme) : r.scheme;
  std::string port;
  if (r.portMode == Redirect::PortMode::Explicit) {
    port = ":" + std::to_string(r.port);
  } else if (r.portMode == Redirect::PortMode::RequestPort) {
    port = ":" + std::to_string(req.port);
  }
  std::string host;
  if (!r.authority.empty()) {
    host = r.authority;
  } else {
    auto [name, requestPort] = splitHostPort(req.authority);
    // An explicit or derived port replaces the client's; a scheme change drops the old scheme's
    // default port (Envoy processRequestHost).
    bool removePort = r.portMode != Redirect::PortMode::Keep;
    if (scheme != req.scheme) {
      removePort |= (req.scheme == "https" && requestPort == ":443") ||
                    (req.scheme == "http" && requestPort == ":80");
    }
    host = removePort ? std::string(name) : std::string(req.authority);
  }
  if ((scheme == "http" && port == ":80") || (scheme == "https" && port == ":443")) {
    port.clear();
  }
  std::string path;
  if (!r.uri.empty()) {
    path = r.uri;
    if (r.uri.find('?') == std::string::npos) {
      path += req.path.substr(pathOnly(req.path).size());
    }
  } else if (!r.prefixRewrite.empty()) {
    path = prefixRewrite(req.path, block, r.prefixRewrite);
  } else {
    path = std::string(req.path);
  }
  if (path.empty() || path.front() != '/') {
    path.insert(path.begin(), '/');
  }
  return scheme + "://" + host + port + path;
}

}  // namespace

std::optional<std::string> headerValue(const HeaderList& headers, std::string_view name) {
  std::optional<std::string> out;
  for (const auto& h : headers) {
    if (h.name == name) {
      if (out) {
        *out += ',';
        *out += h.value;
      } else {
        out = h.value;
      }
    }
  }
  return out;
}

void applyHeaderOps(const HeaderOps& ops, HeaderList& headers) {
  auto erase = [&headers](std::string_view name) {
    std::erase_if(headers, [name](const HeaderField& h) { return h.name == name; });
  };
  for (const auto& name : ops.remove) {
    erase(name);
  }
  for (const auto& op : ops.mutations) {
    auto it = std::find_if(headers.begin(), headers.end(),
                           [&op](const HeaderField& h) { return h.name == op.name; });
    if (it == headers.end()) {
      headers.push_back(HeaderField{op.name, op.value});
    } else if (op.append) {
      it->value += ",";
      it->value += op.value;
    } else {
      erase(op.name);
      headers.push_back(HeaderField{op.name, op.value});
    }
  }
}

bool Router::blockMatches(const MatchBlock& b, const RequestView& req) {
  if (b.uri) {
    std::string_view subject =
        b.uri->kind() == CompiledStringMatch::Kind::Prefix ? req.path : pathOnly(req.path);
    if (!b.uri->matches(subject)) {
      return false;
    }
  }
  if ((b.scheme && !b.scheme->matches(req.scheme)) || (b.method && !b.method->matches(req.method)) ||
      (b.authority && !b.authority->matches(req.authority))) {
    return false;
  }
  static const HeaderList kNoHeaders;
  const HeaderList& headers = req.headers ? *req.headers : kNoHeaders;
  for (const auto& h : b.headers) {
    auto v = headerValue(headers, h.name);
    if (!v || !h.match.matches(*v)) {
      return false;
    }
  }
  for (const auto& h : b.withoutHeaders) {
    auto v = headerValue(headers, h.name);
    if (h.match.kind() == CompiledStringMatch::Kind::Any) {
      if (v) {
        return false;  // presence, inverted: the header must be absent
      }
    } else if (h.match.matches(v ? *v : std::string())) {
      return false;  // a missing header is matched as "" and then inverted
    }
  }
  for (const auto& q : b.queryParams) {
    auto v = queryValue(req.path, q.name);
    if (!v || !q.match.matches(*v)) {
      return false;
    }
  }
  return true;
}

uint64_t Router::nextRandom() {
  // xorshift64*: fast and good enough for weights and P2C; not for anything secret.
  rng_ ^= rng_ >> 12;
  rng_ ^= rng_ << 25;
  rng_ ^= rng_ >> 27;
  return rng_ * 0x2545f4914f6cdd1dULL;
}

uint32_t Router::pickEndpoint(const Cluster& c, const RequestView& req, std::string& setCookie) {
  const auto n = static_cast<uint32_t>(c.endpoints.size());
  if (n == 1) {
    return 0;
  }
  switch (c.lb) {
    case LbPolicy::RoundRobin:
      return static_cast<uint32_t>(c.counters->next.fetch_add(1, std::memory_order_relaxed) % n);
    case LbPolicy::Random:
      return static_cast<uint32_t>(nextRandom() % n);
    case LbPolicy::LeastRequest: {
      auto a = static_cast<uint32_t>(nextRandom() % n);
      auto b = static_cast<uint32_t>(nextRandom() % (n - 1));
      if (b >= a) {
        ++b;  // two distinct choices
      }
      return c.counters->active[b].load(std::memory_order_relaxed) <
                     c.counters->active[a].load(std::memory_order_relaxed)
                 ? b
                 : a;
    }
    case LbPolicy::RingHash:
    case LbPolicy::Maglev:
      break;
  }
  std::optional<uint64_t> hash;
  static const HeaderList kNoHeaders;
  const HeaderList& headers = req.headers ? *req.headers : kNoHeaders;
  switch (c.hash.source) {
    case HashPolicy::Source::Header:
      if (auto v = headerValue(headers, c.hash.name)) {
        hash = hashKey(*v);
      }
      break;
    case HashPolicy::Source::Cookie:
      if (auto v = cookieValue(headers, c.hash.name)) {
        hash = hashKey(*v);
      } else if (c.hash.cookieTtlSeconds) {
        // Envoy derives the generated cookie from the downstream address so that racing requests
        // of one connection get the same value.
        char value[17];
        std::snprintf(value, sizeof(value), "%016llx",
                      static_cast<unsigned long long>(hashKey(
                          req.client.toString() + ":" + std::to_string(req.clientPort))));
        hash = hashKey(value);
        setCookie = c.hash.name + "=\"" + value + "\"";
        if (*c.hash.cookieTtlSeconds > 0) {
          setCookie += "; Max-Age=" + std::to_string(*c.hash.cookieTtlSeconds);
        }
        if (!c.hash.cookiePath.empty()) {
          setCookie += "; Path=" + c.hash.cookiePath;
        }
        for (const auto& [name, value] : c.hash.cookieAttributes) {
          setCookie += "; " + name + (value.empty() ? "" : "=" + value);
        }
        setCookie += "; HttpOnly";
      }
      break;
    case HashPolicy::Source::QueryParameter:
      if (auto v = queryValue(req.path, c.hash.name)) {
        hash = hashKey(*v);
      }
      break;
    case HashPolicy::Source::SourceIp:
      hash = hashKey(req.client.toString());
      break;
    case HashPolicy::Source::None:
      break;
  }
  if (!hash) {
    return static_cast<uint32_t>(nextRandom() % n);  // no hash key: Envoy picks at random
  }
  if (c.lb == LbPolicy::Maglev) {
    return c.maglev[*hash % c.maglev.size()];
  }
  auto it = std::lower_bound(c.ring.begin(), c.ring.end(), std::make_pair(*hash, uint32_t{0}));
  return it == c.ring.end() ? c.ring.front().second : it->second;
}

Decision Router::route(const RouteTable& table, const Listener& listener, const RequestView& req) {
  Decision d;
  uint32_t cls = req.clientClass < listener.routesByClass.size() ? req.clientClass : 0;
  const MatchBlock* matched = nullptr;
  for (const auto& cr : listener.routesByClass[cls]) {
    const Route& r = listener.routes[cr.route];
    bool hit = r.matchAll;
    for (uint32_t bi : cr.blocks) {
      if (blockMatches(r.blocks[bi], req)) {
        matched = &r.blocks[bi];
        hit = true;
        break;
      }
    }
    if (hit) {
      d.route = &r;
      break;
    }
  }
  if (!d.route) {
    d.kind = Decision::Kind::NoRoute;
    d.status = 404;
    return d;
  }
  const Route& r = *d.route;
  // Istio's filter order puts the CORS filter before the fault filter.
  if (r.cors && req.headers) {
    auto origin = headerValue(*req.headers, "origin");
    bool allowed = origin && !origin->empty() && r.cors->originAllowed(*origin);
    if (allowed) {
      d.corsOrigin = *origin;
    }
    if (origin && !origin->empty() && req.method == "OPTIONS") {
      auto acrm = headerValue(*req.headers, "access-control-request-method");
      if (acrm && !acrm->empty()) {
        // A preflight: answered here when the origin matches, or when unmatched preflights are
        // not forwarded (IGNORE: 200 without CORS headers).
        if (allowed || !r.cors->forwardUnmatchedPreflights) {
          d.kind = Decision::Kind::DirectResponse;
          d.status = 200;
          d.corsPreflight = true;
          return d;
        }
      }
    }
  }
  // The fault filter runs before the router: delay and abort are independent draws.
  if (r.fault.delayPerMillion > 0 && nextRandom() % 1000000 < r.fault.delayPerMillion) {
    d.faultDelay = r.fault.delay;
  }
  if (r.fault.abortPerMillion > 0 && nextRandom() % 1000000 < r.fault.abortPerMillion) {
    d.kind = Decision::Kind::FaultAbort;
    d.status = r.fault.abortStatus;
    d.grpcStatus = r.fault.abortGrpcStatus;
    d.body = "fault filter abort";
    return d;
  }
  switch (r.kind) {
    case Route::Kind::Redirect:
      d.kind = Decision::Kind::Redirect;
      d.status = r.redirect.code;
      d.location = redirectLocation(r.redirect, matched, req);
      return d;
    case Route::Kind::DirectResponse:
      d.kind = Decision::Kind::DirectResponse;
      d.status = r.directResponse.status;
      d.body = r.directResponse.body.value_or(std::string());
      return d;
    case Route::Kind::Forward:
      break;
  }
  // Per-request weighted pick (Envoy weighted_clusters).
  uint64_t ticket = r.clusters.size() == 1 ? 0 : nextRandom() % r.totalWeight;
  for (const auto& wc : r.clusters) {
    if (ticket < wc.weight) {
      d.target = &wc;
      break;
    }
    ticket -= wc.weight;
  }
  if (d.target->clusterIndex == kNoCluster) {
    d.kind = Decision::Kind::NoCluster;
    d.status = 503;
    return d;
  }
  d.cluster = &table.clusters[d.target->clusterIndex];
  if (d.cluster->endpoints.empty()) {
    d.kind = Decision::Kind::NoHealthyUpstream;
    d.status = 503;
    return d;
  }
  d.kind = Decision::Kind::Forward;
  for (const auto& m : r.mirrors) {
    if (m.perMillion < 1000000 && nextRandom() % 1000000 >= m.perMillion) {
      continue;
    }
    const Cluster& mc = table.clusters[m.clusterIndex];
    if (!mc.endpoints.empty()) {
      d.mirrors.push_back(&mc.endpoints[nextRandom() % mc.endpoints.size()]);
    }
  }
  d.endpoint = pickEndpoint(*d.cluster, req, d.setCookie);
  d.cluster->counters->active[d.endpoint].fetch_add(1, std::memory_order_relaxed);

  if (r.rewrite.uri) {
    d.path = prefixRewrite(req.path, matched, *r.rewrite.uri);
  } else if (r.rewrite.regexMatch) {
    std::string p(pathOnly(req.path));
    // The builder made regexMatch a compiled Kind::Regex; GlobalReplace substitutes every match as
    // Envoy's regex_rewrite does.
    re2::RE2::GlobalReplace(&p, *r.rewrite.regexMatch->regex(), r.rewrite.regexSubstitution);
    d.path = p + std::string(req.path.substr(pathOnly(req.path).size()));
  } else {
    d.path = std::string(req.path);
  }
  d.authority = !r.authority.empty() ? r.authority : d.target->authority;
  return d;
}

void Router::applyRequestHeaders(const Decision& d, HeaderList& headers) {
  if (d.target) {
    applyHeaderOps(d.target->requestOps, headers);
  }
  if (d.route) {
    applyHeaderOps(d.route->requestOps, headers);
  }
}

void Router::applyResponseHeaders(const Decision& d, HeaderList& headers) {
  if (d.corsPreflight) {
    // The CORS filter's own answer: no route header operations (choice, see docs/proxy.md).
    if (!d.corsOrigin.empty() && d.route && d.route->cors) {
      const Cors& c = *d.route->cors;
      headers.push_back(HeaderField{"access-control-allow-origin", d.corsOrigin});
      if (c.allowCredentials) {
        headers.push_back(HeaderField{"access-control-allow-credentials", "true"});
      }
      if (!c.allowMethods.empty()) {
        headers.push_back(HeaderField{"access-control-allow-methods", c.allowMethods});
      }
      if (!c.allowHeaders.empty()) {
        headers.push_back(HeaderField{"access-control-allow-headers", c.allowHeaders});
      }
      if (!c.maxAge.empty()) {
        headers.push_back(HeaderField{"access-control-max-age", c.maxAge});
      }
    }
    return;
  }
  if (!d.corsOrigin.empty() && d.route && d.route->cors) {
    const Cors& c = *d.route->cors;
    std::erase_if(headers, [](const HeaderField& h) {
      return h.name == "access-control-allow-origin" ||
             (h.name == "access-control-allow-credentials") ||
             h.name == "access-control-expose-headers";
    });
    headers.push_back(HeaderField{"access-control-allow-origin", d.corsOrigin});
    if (c.allowCredentials) {
      headers.push_back(HeaderField{"access-control-allow-credentials", "true"});
    }
    if (!c.exposeHeaders.empty()) {
      headers.push_back(HeaderField{"access-control-expose-headers", c.exposeHeaders});
    }
  }
  if (d.target) {
    applyHeaderOps(d.target->responseOps, headers);
  }
  if (d.route) {
    applyHeaderOps(d.route->responseOps, headers);
  }
  if (!d.setCookie.empty()) {
    headers.push_back(HeaderField{"set-cookie", d.setCookie});
  }
}

void Router::release(const Decision& d) {
  if (d.kind == Decision::Kind::Forward && d.cluster) {
    d.cluster->counters->active[d.endpoint].fetch_sub(1, std::memory_order_relaxed);
  }
}

}  // namespace sluice::proxy
