#include "unreachable.h"

#include <map>

namespace sluice::validate::detail {

namespace {

// Canonical text of a match (its name left out) so equal matches compare equal, like Istio's asJSON.
std::string key(const model::StringMatch& m) {
  return std::to_string(static_cast<int>(m.kind)) + ":" + quote(m.value);
}

std::string key(const std::optional<model::StringMatch>& m) {
  return m ? key(*m) : std::string("-");
}

std::string key(const std::map<std::string, model::StringMatch>& m) {
  std::string out = "{";
  for (const auto& [k, v] : m) {
    out += quote(k) + "=" + key(v) + ",";
  }
  return out + "}";
}

std::string key(const model::Labels& m) {
  std::string out = "{";
  for (const auto& [k, v] : m) {
    out += quote(k) + "=" + quote(v) + ",";
  }
  return out + "}";
}

std::string key(const std::vector<std::string>& v) {
  std::string out = "[";
  for (const auto& s : v) {
    out += quote(s) + ",";
  }
  return out + "]";
}

std::string key(const model::HTTPMatchRequest& m) {
  return key(m.uri) + key(m.scheme) + key(m.method) + key(m.authority) + key(m.headers) + "p" +
         std::to_string(m.port.value_or(0)) + key(m.sourceLabels) + key(m.gateways) + key(m.queryParams) +
         (m.ignoreUriCase ? "i" : "c") + key(m.withoutHeaders) + quote(m.sourceNamespace) +
         quote(m.statPrefix);
}

std::string key(const model::TLSMatchAttributes& m) {
  return key(m.sniHosts) + key(m.destinationSubnets) + "p" + std::to_string(m.port.value_or(0)) +
         key(m.sourceLabels) + key(m.gateways) + quote(m.sourceNamespace);
}

std::string key(const model::L4MatchAttributes& m) {
  return key(m.destinationSubnets) + "p" + std::to_string(m.port.value_or(0)) + quote(m.sourceSubnet) +
         key(m.sourceLabels) + key(m.gateways) + quote(m.sourceNamespace);
}

std::string routeName(const model::HTTPRoute& route, size_t i) {
  return route.name.empty() ? "#" + std::to_string(i) : quote(route.name);
}
template <typename Route>
std::string routeName(const Route&, size_t i) {
  return "#" + std::to_string(i);
}

std::string requestName(const model::HTTPMatchRequest& m, size_t i) {
  return m.name.empty() ? "#" + std::to_string(i) : quote(m.name);
}
template <typename Match>
std::string requestName(const Match&, size_t i) {
  return "#" + std::to_string(i);
}

void warnUnused(Reporter& r, const std::string& path, const std::string& rule, const std::string& reason) {
  r.warning(path, "virtualService rule " + rule + " not used (" + reason + ")");
}

void warnIneffective(Reporter& r, const std::string& path, const std::string& rule, const std::string& match,
                     const std::string& dup) {
  r.warning(path, "virtualService rule " + rule + " match " + match +
                      " is not used (duplicate/overlapping match in rule " + dup + ")");
}

// The parts of a prefix match Istio compares for overlaps ("exact:v" / "prefix:v" / "").
struct PrefixMatch {
  std::string path;
  std::string routeStr;
  std::string matchStr;
  std::string prefix;
  uint32_t port = 0;
  std::string method;
  std::string authority;
  std::map<std::string, std::string> headers;
  std::map<std::string, std::string> queryParams;
  std::map<std::string, std::string> withoutHeaders;
};

std::string exactOrPrefix(const std::optional<model::StringMatch>& m) {
  if (m && !m->value.empty()) {
    if (m->kind == model::StringMatch::Kind::Exact) {
      return "exact:" + m->value;
    }
    if (m->kind == model::StringMatch::Kind::Prefix) {
      return "prefix:" + m->value;
    }
  }
  return "";
}

std::map<std::string, std::string> exactOrPrefix(const std::map<std::string, model::StringMatch>& m) {
  std::map<std::string, std::string> out;
  for (const auto& [k, v] : m) {
    out[k] = exactOrPrefix(std::optional<model::StringMatch>(v));
  }
  return out;
}

bool mapCovered(const std::map<std::string, std::string>& a, const std::map<std::string, std::string>& b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (const auto& [k, v] : a) {
    auto it = b.find(k);
    if (it == b.end() || (v != it->second && !v.starts_with(it->second))) {
      return false;
    }
  }
  return true;
}

// coveredValidation: does the earlier match `a` take every request the later match `b` would?
bool covered(const PrefixMatch& a, const PrefixMatch& b) {
  if (!b.prefix.starts_with(a.prefix) || a.port != b.port) {
    return false;
  }
  if (a.method != b.method && !a.method.starts_with(b.method)) {
    return false;
  }
  if (a.authority != b.authority && !a.authority.starts_with(b.authority)) {
    return false;
  }
  return mapCovered(a.headers, b.headers) && mapCovered(a.queryParams, b.queryParams) &&
         mapCovered(a.withoutHeaders, b.withoutHeaders);
}

template <typename Route>
void analyzeRules(Reporter& r, const std::string& listPath, const std::vector<Route>& routes,
                  std::vector<PrefixMatch>* prefixMatches) {
  std::map<std::string, size_t> seen;
  bool catchAllSeen = false;
  for (size_t i = 0; i < routes.size(); ++i) {
    const auto& route = routes[i];
    const std::string rp = index(listPath, i);
    if (route.match.empty()) {
      if (catchAllSeen) {
        warnUnused(r, rp, routeName(route, i), "only the last rule can have no matches");
      }
      catchAllSeen = true;
      continue;
    }
    size_t duplicates = 0;
    for (size_t j = 0; j < route.match.size(); ++j) {
      const auto& m = route.match[j];
      if (catchAllSeen) {
        warnUnused(r, rp, routeName(route, i), "route without matches defined before");
        continue;
      }
      const std::string k = key(m);
      if (auto it = seen.find(k); it != seen.end()) {
        warnIneffective(r, index(field(rp, "match"), j), routeName(route, i), requestName(m, j),
                        routeName(routes[it->second], it->second));
        ++duplicates;
        continue;
      }
      seen[k] = i;
      if constexpr (std::is_same_v<Route, model::HTTPRoute>) {
        if (m.uri && m.uri->kind == model::StringMatch::Kind::Prefix && !m.uri->value.empty()) {
          PrefixMatch pm;
          pm.path = index(field(rp, "match"), j);
          pm.routeStr = routeName(route, i);
          pm.matchStr = requestName(m, j);
          pm.prefix = m.uri->value;
          pm.port = m.port.value_or(0);
          // No method condition is compared as GET, as Istio does.
          pm.method = exactOrPrefix(m.method);
          if (pm.method.empty()) {
            pm.method = "exact:GET";
          }
          pm.authority = exactOrPrefix(m.authority);
          pm.headers = exactOrPrefix(m.headers);
          pm.queryParams = exactOrPrefix(m.queryParams);
          pm.withoutHeaders = exactOrPrefix(m.withoutHeaders);
          prefixMatches->push_back(std::move(pm));
        }
      }
    }
    if (duplicates == route.match.size()) {
      warnUnused(r, rp, routeName(route, i), "all matches used by prior rules");
    }
  }
}

}  // namespace

void analyzeUnreachableRules(Reporter& r, const model::VirtualServiceSpec& spec) {
  std::vector<PrefixMatch> prefixes;
  analyzeRules(r, "spec.http", spec.http, &prefixes);
  for (size_t a = 0; a < prefixes.size(); ++a) {
    for (size_t b = a + 1; b < prefixes.size(); ++b) {
      if (prefixes[b].prefix == prefixes[a].prefix) {
        continue;  // identical matches were reported above
      }
      if (covered(prefixes[a], prefixes[b])) {
        warnIneffective(
            r, prefixes[b].path, prefixes[b].routeStr,
            prefixes[b].matchStr + " of prefix " + prefixes[b].prefix,
            prefixes[a].matchStr + " of prefix " + prefixes[a].prefix + " on " + prefixes[a].routeStr);
      }
    }
  }
  analyzeRules(r, "spec.tcp", spec.tcp, static_cast<std::vector<PrefixMatch>*>(nullptr));
  analyzeRules(r, "spec.tls", spec.tls, static_cast<std::vector<PrefixMatch>*>(nullptr));
}

}  // namespace sluice::validate::detail
