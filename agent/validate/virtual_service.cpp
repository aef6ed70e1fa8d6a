// VirtualService rules of the Istio validation webhook: ValidateVirtualService in
// pkg/config/validation/validation.go, validateHTTPRoute in virtualservice.go and ValidateHTTPRetry in
// pkg/config/validation/agent/validation.go, plus the CRD oneOf rules the model can express.
#include <sluice/validate/validate.h>

#include <algorithm>
#include <cstdio>

#include "checks.h"
#include "unreachable.h"

namespace sluice::validate {

using namespace detail;  // NOLINT: the helpers are this file's vocabulary

namespace {

constexpr std::string_view kMeshGateway = "mesh";

std::string percentString(double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%f", v);
  return buf;
}

void checkGatewayNames(Reporter& r, const std::string& path, const std::vector<std::string>& names,
                       bool gatewaySemantics) {
  for (size_t i = 0; i < names.size(); ++i) {
    const std::string& name = names[i];
    const std::string p = index(path, i);
    auto slash = name.find('/');
    if (slash == std::string::npos) {
      if (name.find('.') != std::string::npos) {
        auto dot = name.find('.');
        auto rest = name.substr(dot + 1);
        auto ns = rest.substr(0, rest.find('.'));
        r.warning(p, "using legacy gatewayName format " + quote(name) +
                         "; prefer the <namespace>/<name> format: " + quote(ns + "/" + name.substr(0, dot)));
      }
      r.check(p, checkFqdn(name));
      // Istio stops at the first name without a namespace (validateGatewayNames returns early).
      return;
    }
    const std::string ns = name.substr(0, slash);
    const std::string gw = name.substr(slash + 1);
    if (ns.empty() || gw.empty()) {
      r.error(p, "config namespace and gateway name cannot be empty");
    }
    if (!isDns1123Label(ns)) {
      r.error(p, "invalid value for namespace: " + quote(ns));
    }
    if (!isDns1123Label(gw) && !gatewaySemantics) {
      r.error(p, "invalid value for gateway name: " + quote(gw));
    }
  }
}

void checkDestination(Reporter& r, const std::string& path, const model::Destination& d) {
  if (d.host == "*") {
    r.error(field(path, "host"), "invalid destination host " + d.host);
  } else {
    r.check(field(path, "host"), checkWildcardDomain(d.host));
  }
  if (!d.subset.empty()) {
    r.check(field(path, "subset"), checkSubsetName(d.subset));
  }
  if (d.port) {
    r.check(field(path, "port.number"), checkPort(*d.port));
  }
}

void checkHeaderOperations(Reporter& r, const std::string& path,
                           const std::optional<model::Headers>& headers) {
  if (!headers) {
    return;
  }
  if (const auto& req = headers->request) {
    const std::string p = field(path, "request");
    for (const auto& [name, value] : req->add) {
      r.check(field(field(p, "add"), name), checkHeaderWithAuthorityOperationName(name));
      r.check(field(field(p, "add"), name), checkHeaderValue(value));
    }
    for (const auto& [name, value] : req->set) {
      r.check(field(field(p, "set"), name), checkHeaderWithAuthorityOperationName(name));
      r.check(field(field(p, "set"), name), checkHeaderValue(value));
    }
    for (size_t i = 0; i < req->remove.size(); ++i) {
      r.check(index(field(p, "remove"), i), checkHeaderOperationName(req->remove[i]));
    }
  }
  if (const auto& resp = headers->response) {
    const std::string p = field(path, "response");
    for (const auto& [name, value] : resp->add) {
      r.check(field(field(p, "add"), name), checkHeaderOperationName(name));
      r.check(field(field(p, "add"), name), checkHeaderValue(value));
    }
    for (const auto& [name, value] : resp->set) {
      r.check(field(field(p, "set"), name), checkHeaderOperationName(name));
      r.check(field(field(p, "set"), name), checkHeaderValue(value));
    }
    for (size_t i = 0; i < resp->remove.size(); ++i) {
      r.check(index(field(p, "remove"), i), checkHeaderOperationName(resp->remove[i]));
    }
  }
}

template <typename RouteDest>
void checkRouteDestinations(Reporter& r, const std::string& path, const std::vector<RouteDest>& routes,
                            bool gatewaySemantics) {
  int64_t total = 0;
  for (size_t i = 0; i < routes.size(); ++i) {
    const std::string p = index(path, i);
    if constexpr (std::is_same_v<RouteDest, model::HTTPRouteDestination>) {
      checkHeaderOperations(r, field(p, "headers"), routes[i].headers);
    }
    if (!gatewaySemantics) {
      checkDestination(r, field(p, "destination"), routes[i].destination);
    }
    if (routes[i].weight < 0) {
      r.error(field(p, "weight"), "weight " + std::to_string(routes[i].weight) + " < 0");
    }
    total += routes[i].weight;
  }
  if (routes.size() > 1 && total == 0) {
    r.error(path, "total destination weight = 0");
  }
}

void checkMatchRequest(Reporter& r, const std::string& p, const model::HTTPMatchRequest& m) {
  for (const auto& [name, sm] : m.headers) {
    const std::string hp = field(field(p, "headers"), name);
    r.check(hp, checkHeaderNameOrJwtClaim(name));
    r.check(hp, checkStringMatch(sm, "headers"));
  }
  for (const auto& [name, sm] : m.withoutHeaders) {
    const std::string hp = field(field(p, "withoutHeaders"), name);
    r.check(hp, checkHeaderNameOrJwtClaim(name));
    // regex "*" is Istio's spelling of a presence match, not an RE2 pattern.
    if (!(sm.kind == model::StringMatch::Kind::Regex && sm.value == "*")) {
      r.check(hp, checkStringMatch(sm, "withoutHeaders"));
    }
  }
  // uri alone may use an empty prefix (Envoy's path matcher accepts it; string matchers do not).
  if (m.uri) {
    r.check(field(p, "uri"), checkStringMatchRegex(*m.uri, "uri"));
  }
  if (m.scheme) {
    r.check(field(p, "scheme"), checkStringMatch(*m.scheme, "scheme"));
  }
  if (m.method) {
    r.check(field(p, "method"), checkStringMatch(*m.method, "method"));
  }
  if (m.authority) {
    r.check(field(p, "authority"), checkStringMatch(*m.authority, "authority"));
  }
  for (const auto& [name, sm] : m.queryParams) {
    r.check(field(field(p, "queryParams"), name), checkStringMatch(sm, "queryParams"));
  }
  if (m.port && *m.port != 0) {
    r.check(field(p, "port"), checkPort(*m.port));
  }
  reportLabels(r, field(p, "sourceLabels"), m.sourceLabels);
  checkGatewayNames(r, field(p, "gateways"), m.gateways, false);
  if (!m.sourceNamespace.empty() && !isDns1123Label(m.sourceNamespace)) {
    r.error(field(p, "sourceNamespace"), "sourceNamespace match " + m.sourceNamespace + " is invalid");
  }
}

enum class RouteType { Independent, Root, Delegate };

void checkRouteConflicts(Reporter& r, const std::string& p, const model::HTTPRoute& h, RouteType type) {
  if (type == RouteType::Root) {
    // A delegating route takes its action from the delegate.
    if (h.redirect) {
      r.error(field(p, "redirect"), "root HTTP route " + h.name + " must not specify redirect");
    }
    if (!h.route.empty()) {
      r.error(field(p, "route"), "root HTTP route " + h.name + " must not specify route");
    }
    return;
  }
  if (type == RouteType::Delegate && h.delegate) {
    r.error(field(p, "delegate"), "delegate HTTP route cannot contain delegate");
  }
  if (h.redirect) {
    if (!h.route.empty()) {
      r.error(field(p, "route"), "HTTP route cannot contain both route and redirect");
    }
    if (h.fault) {
      r.error(field(p, "fault"), "HTTP route cannot contain both fault and redirect");
    }
    if (h.rewrite) {
      r.error(field(p, "rewrite"), "HTTP route rule cannot contain both rewrite and redirect");
    }
    if (h.directResponse) {
      r.error(field(p, "directResponse"), "HTTP route rule cannot contain both direct_response and redirect");
    }
  } else if (h.directResponse) {
    if (!h.route.empty()) {
      r.error(field(p, "route"), "HTTP route cannot contain both route and direct_response");
    }
    if (h.fault) {
      r.error(field(p, "fault"), "HTTP route cannot contain both fault and direct_response");
    }
    if (h.rewrite) {
      r.error(field(p, "rewrite"), "HTTP route rule cannot contain both rewrite and direct_response");
    }
  } else if (h.route.empty()) {
    r.error(field(p, "route"), "HTTP route, redirect or direct_response is required");
  }
  if (h.mirror && !h.mirrors.empty()) {
    r.error(field(p, "mirrors"), "HTTP route cannot contain both mirror and mirrors");
  }
}

void checkCors(Reporter& r, const std::string& p, const model::CorsPolicy& c) {
  for (size_t i = 0; i < c.allowOrigins.size(); ++i) {
    const auto& o = c.allowOrigins[i];
    const std::string op = index(field(p, "allowOrigins"), i);
    if (o.value.empty()) {
      r.error(op, "'' is not a valid match type for CORS allow origins");
      continue;
    }
    r.check(op, checkStringMatchRegex(o, "corsPolicy.allowOrigins"));
  }
  for (size_t i = 0; i < c.allowMethods.size(); ++i) {
    if (!isCorsMethod(c.allowMethods[i])) {
      r.error(index(field(p, "allowMethods"), i),
              quote(c.allowMethods[i]) + " is not a supported HTTP method");
    }
  }
  for (size_t i = 0; i < c.allowHeaders.size(); ++i) {
    r.check(index(field(p, "allowHeaders"), i), checkCorsHeaderName(c.allowHeaders[i]));
  }
  for (size_t i = 0; i < c.exposeHeaders.size(); ++i) {
    r.check(index(field(p, "exposeHeaders"), i), checkCorsHeaderName(c.exposeHeaders[i]));
  }
  if (c.maxAge) {
    r.check(field(p, "maxAge"), checkDuration(*c.maxAge));
    if (*c.maxAge % std::chrono::seconds(1) != model::Duration::zero()) {
      r.error(field(p, "maxAge"), "max_age duration is accurate only to seconds precision");
    }
  }
}

void checkFault(Reporter& r, const std::string& p, const model::HTTPFaultInjection& f) {
  if (!f.abort && !f.delay) {
    r.error(p, "HTTP fault injection must have an abort and/or a delay");
  }
  if (const auto& a = f.abort) {
    const std::string ap = field(p, "abort");
    if (a->percentage) {
      r.check(field(ap, "percentage.value"), checkPercentage(*a->percentage));
    }
    const int types = a->httpStatus.has_value() + a->grpcStatus.has_value() + a->http2Error.has_value();
    if (types > 1) {
      r.error(ap, "only one of httpStatus, grpcStatus or http2Error may be set");
    }
    if (a->grpcStatus) {
      r.check(field(ap, "grpcStatus"), checkGrpcStatus(*a->grpcStatus));
    } else if (a->http2Error) {
      r.error(field(ap, "http2Error"), "HTTP/2 abort fault injection not supported yet");
    } else if (a->httpStatus) {
      r.check(field(ap, "httpStatus"), checkHttpStatus(*a->httpStatus));
    } else {
      r.warning(ap, "abort configured, but error type not set");
    }
  }
  if (const auto& d = f.delay) {
    const std::string dp = field(p, "delay");
    if (d->percentage) {
      r.check(field(dp, "percentage.value"), checkPercentage(*d->percentage));
    }
    if (d->fixedDelay && d->exponentialDelay) {
      r.error(dp, "only one of fixedDelay or exponentialDelay may be set");
    }
    if (d->fixedDelay) {
      r.check(field(dp, "fixedDelay"), checkDuration(*d->fixedDelay));
    } else if (d->exponentialDelay) {
      r.check(field(dp, "exponentialDelay"), checkDuration(*d->exponentialDelay));
      r.error(field(dp, "exponentialDelay"), "exponentialDelay not supported yet");
    }
  }
}

void checkRedirect(Reporter& r, const std::string& p, const model::HTTPRedirect& rd,
                   const std::vector<model::HTTPMatchRequest>& matches) {
  // Istio reports only the first redirect problem.
  if (rd.port && rd.derivePort) {
    r.error(p, "only one of port or derivePort may be set");
    return;
  }
  if (!rd.uri.empty() && !rd.prefixRewrite.empty()) {
    r.error(field(p, "prefixRewrite"), "redirect may only specify one of uri or prefix_rewrite");
    return;
  }
  if (!rd.prefixRewrite.empty()) {
    for (const auto& m : matches) {
      if (m.uri && m.uri->kind != model::StringMatch::Kind::Prefix) {
        r.error(field(p, "prefixRewrite"),
                "redirect prefix_rewrite requires all URI matches to use prefix match type");
        return;
      }
    }
  }
  if (rd.uri.empty() && rd.prefixRewrite.empty() && rd.authority.empty() && !rd.port && !rd.derivePort &&
      rd.scheme.empty()) {
    r.error(p, "redirect must specify URI, authority, scheme, or port");
    return;
  }
  if (rd.redirectCode && *rd.redirectCode != 0 && (*rd.redirectCode < 300 || *rd.redirectCode > 399)) {
    r.error(field(p, "redirectCode"),
            std::to_string(*rd.redirectCode) + " is not a valid redirect code, must be 3xx");
    return;
  }
  if (!rd.scheme.empty() && rd.scheme != "http" && rd.scheme != "https") {
    r.error(field(p, "scheme"), "invalid redirect scheme, must be \"http\" or \"https\"");
    return;
  }
  if (rd.port && *rd.port > 0) {
    r.check(field(p, "port"), checkPort(*rd.port));
  }
}

void checkDirectResponse(Reporter& r, const std::string& p, const model::HTTPDirectResponse& dr) {
  constexpr size_t kKb = 1024;
  constexpr size_t kMb = 1024 * kKb;
  if (const auto& body = dr.body) {
    if (body->string && body->bytes) {
      r.error(field(p, "body"), "only one of string or bytes may be set");
    }
    const size_t size = body->string ? body->string->size() : body->bytes ? body->bytes->size() : 0;
    if (size > kMb) {
      r.error(field(p, "body"),
              "large direct_responses may impact control plane performance, must be less than 1MB");
    } else if (size > 100 * kKb) {
      r.warning(field(p, "body"), "large direct_responses may impact control plane performance");
    }
  }
  r.check(field(p, "status"), checkHttpStatus(dr.status));
}

void checkRetry(Reporter& r, const std::string& p, const model::HTTPRetry& rt) {
  if (rt.attempts < 0) {
    r.error(field(p, "attempts"), "attempts cannot be negative");
  }
  const bool retryOnSet = rt.retryOn && !rt.retryOn->empty();
  if (rt.attempts == 0 && (rt.perTryTimeout || retryOnSet || rt.retryRemoteLocalities)) {
    r.error(field(p, "attempts"), "http retry policy configured when attempts are set to 0 (disabled)");
  }
  if (rt.perTryTimeout) {
    r.check(field(p, "perTryTimeout"), checkDuration(*rt.perTryTimeout));
  }
  if (retryOnSet) {
    // Split without trimming, as Istio does: "5xx, reset" is invalid.
    std::string_view rest = *rt.retryOn;
    while (true) {
      auto comma = rest.find(',');
      std::string_view policy = rest.substr(0, comma);
      if (!isKnownRetryOn(policy)) {
        r.error(field(p, "retryOn"), quote(policy) + " is not a valid retryOn policy");
      }
      if (comma == std::string_view::npos) {
        break;
      }
      rest.remove_prefix(comma + 1);
    }
  }
  if (rt.backoff) {
    r.check(field(p, "backoff"), checkDuration(*rt.backoff));
  }
}

void checkRewrite(Reporter& r, const std::string& p, const model::HTTPRewrite& rw) {
  if (!rw.uri.empty() && rw.uriRegexRewrite) {
    r.error(field(p, "uriRegexRewrite"), "rewrite may only contain one of URI or UriRegexRewrite");
    return;
  }
  if (rw.uri.empty() && !rw.uriRegexRewrite && rw.authority.empty()) {
    r.error(p,
            "rewrite must specify at least one of URI, UriRegexRewrite, or authority. Only one of URI or "
            "UriRegexRewrite may be specified");
    return;
  }
  if (const auto& rr = rw.uriRegexRewrite) {
    const std::string rp = field(p, "uriRegexRewrite");
    if (rr->match.empty() || rr->rewrite.empty()) {
      r.error(rr->match.empty() ? field(rp, "match") : field(rp, "rewrite"),
              "UriRegexRewrite has errors\nUriRegexRewrite requires both Rewrite and Match fields to be "
              "specified");
      return;
    }
    if (auto e = checkRegex(rr->match, "HTTPRewrite.UriRegexRewrite.Match")) {
      r.error(field(rp, "match"), "UriRegexRewrite has errors\n" + *e);
    }
  }
}

// The authority may be rewritten in one place only: rewrite.authority, or a host/:authority header.
void checkAuthorityRewrite(Reporter& r, const std::string& p, const model::HTTPRoute& h) {
  std::string current = h.rewrite ? h.rewrite->authority : std::string();
  if (!h.headers || !h.headers->request) {
    return;
  }
  for (const char* op : {"set", "add"}) {
    const auto& ops = std::string_view(op) == "set" ? h.headers->request->set : h.headers->request->add;
    for (const auto& [k, v] : ops) {
      if (!isAuthorityHeader(k)) {
        continue;
      }
      if (!current.empty()) {
        r.error(field(field(field(p, "headers.request"), op), k),
                "authority header cannot be set multiple times: have " + quote(current) +
                    ", attempting to set " + quote(v));
        return;
      }
      current = v;
    }
  }
}

void checkHttpRoute(Reporter& r, const std::string& p, const model::HTTPRoute& h, bool delegateVs,
                    bool gatewaySemantics) {
  const RouteType type = delegateVs   ? RouteType::Delegate
                         : h.delegate ? RouteType::Root
                                      : RouteType::Independent;
  checkRouteConflicts(r, p, h, type);
  for (size_t i = 0; i < h.match.size(); ++i) {
    checkMatchRequest(r, index(field(p, "match"), i), h.match[i]);
  }
  checkHeaderOperations(r, field(p, "headers"), h.headers);
  if (h.corsPolicy) {
    checkCors(r, field(p, "corsPolicy"), *h.corsPolicy);
  }
  if (h.fault) {
    checkFault(r, field(p, "fault"), *h.fault);
  }
  if (h.mirrorPercent) {
    if (*h.mirrorPercent > 100) {
      r.error(field(p, "mirrorPercent"), "mirror_percent must have a max value of 100 (it has " +
                                             std::to_string(*h.mirrorPercent) + ")");
    }
    r.warning(field(p, "mirrorPercent"),
              "using deprecated setting \"mirrorPercent\", use \"mirrorPercentage\" instead");
  }
  if (h.mirrorPercentage) {
    const double v = *h.mirrorPercentage;
    if (v > 100) {
      r.error(field(p, "mirrorPercentage.value"),
              "mirror_percentage must have a max value of 100 (it has " + percentString(v) + ")");
    }
    if (v < 0) {
      r.error(field(p, "mirrorPercentage.value"),
              "mirror_percentage must have a min value of 0 (it has " + percentString(v) + ")");
    }
  }
  if (h.mirror) {
    checkDestination(r, field(p, "mirror"), *h.mirror);
  }
  for (size_t i = 0; i < h.mirrors.size(); ++i) {
    const std::string mp = index(field(p, "mirrors"), i);
    checkDestination(r, field(mp, "destination"), h.mirrors[i].destination);
    if (const auto& pct = h.mirrors[i].percentage) {
      if (*pct > 100) {
        r.error(field(mp, "percentage.value"),
                "mirror percentage must have a max value of 100 (it has " + percentString(*pct) + ")");
      }
      if (*pct < 0) {
        r.error(field(mp, "percentage.value"),
                "mirror percentage must have a min value of 0 (it has " + percentString(*pct) + ")");
      }
    }
  }
  if (h.redirect) {
    checkRedirect(r, field(p, "redirect"), *h.redirect, h.match);
  }
  if (h.directResponse) {
    checkDirectResponse(r, field(p, "directResponse"), *h.directResponse);
  }
  if (h.retries) {
    checkRetry(r, field(p, "retries"), *h.retries);
  }
  if (h.rewrite) {
    checkRewrite(r, field(p, "rewrite"), *h.rewrite);
  }
  checkAuthorityRewrite(r, p, h);
  checkRouteDestinations(r, field(p, "route"), h.route, gatewaySemantics);
  if (h.timeout) {
    r.check(field(p, "timeout"), checkDuration(*h.timeout));
  }
}

bool appliesOnlyToGateways(const std::vector<std::string>& gateways) {
  return std::find(gateways.begin(), gateways.end(), kMeshGateway) == gateways.end();
}

void checkSniHost(Reporter& r, const std::string& p, const std::string& sni,
                  const model::VirtualServiceSpec& spec) {
  // Istio's isGateway() here treats an empty gateway list as "not mesh", unlike the host checks.
  auto err = appliesOnlyToGateways(spec.gateways) ? checkWildcardDomainForGateway(true, sni)
                                                  : checkWildcardDomain(sni);
  if (err) {
    if (isIpAddress(sni)) {
      r.warning(p, "using an IP address (" + quote(sni) +
                       ") goes against SNI spec and most clients do not support this");
      return;
    }
    r.error(p, *err);
    return;
  }
  for (const auto& h : spec.hosts) {
    if (hostSubsetOf(sni, h)) {
      return;
    }
  }
  std::string hosts;
  for (size_t i = 0; i < spec.hosts.size(); ++i) {
    hosts += (i ? ", " : "") + spec.hosts[i];
  }
  r.error(p, "SNI host " + quote(sni) + " is not a compatible subset of any of the virtual service hosts: [" +
                 hosts + "]");
}

template <typename Match>
void checkL4Match(Reporter& r, const std::string& mp, const Match& m) {
  for (size_t k = 0; k < m.destinationSubnets.size(); ++k) {
    r.check(index(field(mp, "destinationSubnets"), k), checkIpSubnet(m.destinationSubnets[k]));
  }
  if (m.port && *m.port != 0) {
    r.check(field(mp, "port"), checkPort(*m.port));
  }
  reportLabels(r, field(mp, "sourceLabels"), m.sourceLabels);
  checkGatewayNames(r, field(mp, "gateways"), m.gateways, false);
}

void checkTlsRoute(Reporter& r, const std::string& p, const model::TLSRoute& t,
                   const model::VirtualServiceSpec& spec, bool gatewaySemantics) {
  if (t.match.empty()) {
    r.error(field(p, "match"), "TLS route must have at least one match condition");
  }
  for (size_t j = 0; j < t.match.size(); ++j) {
    const std::string mp = index(field(p, "match"), j);
    const auto& m = t.match[j];
    if (m.sniHosts.empty()) {
      r.error(field(mp, "sniHosts"), "TLS match must have at least one SNI host");
    }
    for (size_t k = 0; k < m.sniHosts.size(); ++k) {
      checkSniHost(r, index(field(mp, "sniHosts"), k), m.sniHosts[k], spec);
    }
    checkL4Match(r, mp, m);
  }
  if (t.route.empty()) {
    r.error(field(p, "route"), "TLS route is required");
  }
  checkRouteDestinations(r, field(p, "route"), t.route, gatewaySemantics);
}

void checkTcpRoute(Reporter& r, const std::string& p, const model::TCPRoute& t, bool gatewaySemantics) {
  for (size_t j = 0; j < t.match.size(); ++j) {
    checkL4Match(r, index(field(p, "match"), j), t.match[j]);
  }
  if (t.route.empty()) {
    r.error(field(p, "route"), "TCP route is required");
  }
  checkRouteDestinations(r, field(p, "route"), t.route, gatewaySemantics);
}

}  // namespace

Diagnostics validateVirtualService(const model::VirtualService& vs) {
  Diagnostics out;
  Reporter r(out, "VirtualService", vs.meta, vs.source);
  if (!checkMetadata(r, vs.meta)) {
    return out;
  }
  const auto& spec = vs.spec;
  const auto semantics = vs.meta.annotations.find("internal.istio.io/route-semantics");
  const bool gatewaySemantics = semantics != vs.meta.annotations.end() && semantics->second == "gateway";

  if (spec.hosts.empty()) {
    // No hosts means a delegate VirtualService: it only contributes http routes to a root.
    if (!spec.gateways.empty()) {
      r.error("spec.gateways", "delegate virtual service must have no gateways specified");
    }
    if (!spec.tls.empty()) {
      r.error("spec.tls", "delegate virtual service must have no tls route specified");
    }
    if (!spec.tcp.empty()) {
      r.error("spec.tcp", "delegate virtual service must have no tcp route specified");
    }
  }

  bool appliesToMesh = spec.gateways.empty();
  bool appliesToGateway = false;
  if (!spec.gateways.empty()) {
    checkGatewayNames(r, "spec.gateways", spec.gateways, gatewaySemantics);
    appliesToGateway = appliesOnlyToGateways(spec.gateways);
    appliesToMesh = !appliesToGateway;
  }

  if (!appliesToGateway) {
    for (size_t i = 0; i < spec.http.size(); ++i) {
      for (size_t j = 0; j < spec.http[i].match.size(); ++j) {
        const std::string mp = index(field(index("spec.http", i), "match"), j);
        for (const auto* headers : {&spec.http[i].match[j].headers, &spec.http[i].match[j].withoutHeaders}) {
          for (const auto& [key, sm] : *headers) {
            if (isJwtClaimRoute(key)) {
              std::string gws;
              for (size_t g = 0; g < spec.gateways.size(); ++g) {
                gws += (g ? " " : "") + spec.gateways[g];
              }
              r.error(
                  field(field(mp, headers == &spec.http[i].match[j].headers ? "headers" : "withoutHeaders"),
                        key),
                  "JWT claim based routing (key: " + key +
                      ") is only supported for gateway, found no gateways: [" + gws + "]");
            }
          }
        }
      }
    }
  }

  bool allHostsValid = true;
  bool sni = false;
  for (const auto& t : spec.tls) {
    for (const auto& m : t.match) {
      sni = sni || !m.sniHosts.empty();
    }
  }
  for (size_t i = 0; i < spec.hosts.size(); ++i) {
    const std::string& host = spec.hosts[i];
    auto err = appliesToGateway ? checkWildcardDomainForGateway(sni, host) : checkWildcardDomain(host);
    if (err) {
      if (!isIpAddress(host)) {
        r.error(index("spec.hosts", i), *err);
        allHostsValid = false;
      }
    } else if (appliesToMesh && host == "*") {
      r.error(index("spec.hosts", i),
              "wildcard host * is not allowed for virtual services bound to the mesh gateway");
      allHostsValid = false;
    }
  }
  if (allHostsValid) {
    for (size_t i = 0; i < spec.hosts.size(); ++i) {
      for (size_t j = i + 1; j < spec.hosts.size(); ++j) {
        if (hostMatches(spec.hosts[i], spec.hosts[j])) {
          r.error(index("spec.hosts", j),
                  "duplicate hosts in virtual service: " + spec.hosts[i] + " & " + spec.hosts[j]);
        }
      }
    }
  }

  if (spec.http.empty() && spec.tcp.empty() && spec.tls.empty()) {
    r.error("spec.http", "http, tcp or tls must be provided in virtual service");
  }
  for (size_t i = 0; i < spec.http.size(); ++i) {
    checkHttpRoute(r, index("spec.http", i), spec.http[i], spec.hosts.empty(), gatewaySemantics);
  }
  for (size_t i = 0; i < spec.tls.size(); ++i) {
    checkTlsRoute(r, index("spec.tls", i), spec.tls[i], spec, gatewaySemantics);
  }
  for (size_t i = 0; i < spec.tcp.size(); ++i) {
    checkTcpRoute(r, index("spec.tcp", i), spec.tcp[i], gatewaySemantics);
  }
  reportExportTo(r, "spec.exportTo", namespaceOrDefault(vs.meta), spec.exportTo, false);
  analyzeUnreachableRules(r, spec);
  return out;
}

}  // namespace sluice::validate
