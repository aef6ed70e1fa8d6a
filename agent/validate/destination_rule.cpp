// DestinationRule rules of the Istio validation webhook (ValidateDestinationRule and the traffic policy
// helpers in pkg/config/validation/validation.go; ValidateTLS and ValidateLocalityLbSetting in
// pkg/config/validation/agent/validation.go), plus the CRD bounds and oneOf rules the model can express.
#include <sluice/validate/validate.h>

#include <algorithm>
#include <map>
#include <set>

#include "checks.h"

namespace sluice::validate {

using namespace detail;  // NOLINT: the helpers are this file's vocabulary

namespace {

void checkOptionalDuration(Reporter& r, const std::string& path, const std::optional<model::Duration>& d) {
  if (d) {
    r.check(path, checkDuration(*d));
  }
}

void checkOutlierDetection(Reporter& r, const std::string& p, const model::OutlierDetection& od) {
  checkOptionalDuration(r, field(p, "baseEjectionTime"), od.baseEjectionTime);
  if (od.consecutiveErrors && *od.consecutiveErrors != 0) {
    r.warning(field(p, "consecutiveErrors"),
              "outlier detection consecutive errors is deprecated, use consecutiveGatewayErrors or "
              "consecutive5xxErrors instead");
  }
  if (!od.splitExternalLocalOriginErrors && od.consecutiveLocalOriginFailures.value_or(0) > 0) {
    r.error(
        field(p, "consecutiveLocalOriginFailures"),
        "outlier detection consecutive local origin failures is specified, but split external local origin "
        "errors is set to false");
  }
  checkOptionalDuration(r, field(p, "interval"), od.interval);
  r.check(field(p, "maxEjectionPercent"), checkIntPercent(od.maxEjectionPercent.value_or(0)));
  r.check(field(p, "minHealthPercent"), checkIntPercent(od.minHealthPercent.value_or(0)));
  for (size_t i = 0; i < od.outlierDetectionHttpErrorCodes.size(); ++i) {
    const uint32_t code = od.outlierDetectionHttpErrorCodes[i];
    if (code < 100 || code > 599) {
      r.error(index(field(p, "outlierDetectionHttpErrorCodes"), i),
              "should be less than or equal to 599 and greater than or equal to 100");
    }
  }
}

void checkConnectionPool(Reporter& r, const std::string& p, const model::ConnectionPoolSettings& cp) {
  if (!cp.http && !cp.tcp) {
    r.error(p, "connection pool must have at least one field");
    return;
  }
  if (const auto& h = cp.http) {
    const std::string hp = field(p, "http");
    auto negative = [&](const std::optional<int32_t>& v, const char* name, const char* what) {
      if (v.value_or(0) < 0) {
        r.error(field(hp, name), std::string(what) + " must be non-negative");
      }
    };
    negative(h->http1MaxPendingRequests, "http1MaxPendingRequests", "http1 max pending requests");
    negative(h->http2MaxRequests, "http2MaxRequests", "http2 max requests");
    negative(h->maxRequestsPerConnection, "maxRequestsPerConnection", "max requests per connection");
    negative(h->maxRetries, "maxRetries", "max retries");
    checkOptionalDuration(r, field(hp, "idleTimeout"), h->idleTimeout);
    if (h->h2UpgradePolicy == model::H2UpgradePolicy::Upgrade && h->useClientProtocol) {
      r.error(field(hp, "useClientProtocol"),
              "use client protocol must not be true when H2UpgradePolicy is UPGRADE");
    }
    negative(h->maxConcurrentStreams, "maxConcurrentStreams", "max concurrent streams");
    if (const auto& ka = h->http2KeepAlive) {
      const std::string kp = field(hp, "http2KeepAlive");
      if (!ka->interval) {
        r.error(field(kp, "interval"), "http2 keepalive interval is required");
      } else {
        r.check(field(kp, "interval"), checkDuration(*ka->interval));
      }
      if (!ka->timeout) {
        r.error(field(kp, "timeout"), "http2 keepalive timeout is required");
      } else {
        r.check(field(kp, "timeout"), checkDuration(*ka->timeout));
      }
    }
  }
  if (const auto& t = cp.tcp) {
    const std::string tp = field(p, "tcp");
    if (t->maxConnections.value_or(0) < 0) {
      r.error(field(tp, "maxConnections"), "max connections must be non-negative");
    }
    checkOptionalDuration(r, field(tp, "connectTimeout"), t->connectTimeout);
    checkOptionalDuration(r, field(tp, "maxConnectionDuration"), t->maxConnectionDuration);
    // 0s (whole milliseconds) turns the idle timeout off, so only other values are checked.
    if (t->idleTimeout &&
        std::chrono::duration_cast<std::chrono::milliseconds>(*t->idleTimeout).count() != 0) {
      r.check(field(tp, "idleTimeout"), checkDuration(*t->idleTimeout));
    }
    if (const auto& ka = t->tcpKeepalive) {
      checkOptionalDuration(r, field(tp, "tcpKeepalive.time"), ka->time);
      checkOptionalDuration(r, field(tp, "tcpKeepalive.interval"), ka->interval);
    }
  }
}

// getLocalityParam + validateLocalities: wildcards only at the end, no overlapping localities.
Problem checkLocalities(const std::vector<std::string>& localities) {
  // region → zone → subzone; "*" marks "everything below".
  std::map<std::string, std::map<std::string, std::map<std::string, bool>>> seen;
  for (const auto& locality : localities) {
    const auto stars = std::count(locality.begin(), locality.end(), '*');
    if (stars > 0 && (stars > 1 || !locality.ends_with("*"))) {
      return "locality " + locality + " wildcard '*' number can not exceed 1 and must be in the end";
    }
    if (seen.count("*") > 0) {
      return "locality " + locality + " overlap with previous specified ones";
    }
    std::vector<std::string> items;
    size_t start = 0;
    while (items.size() < 2) {
      auto slash = locality.find('/', start);
      if (slash == std::string::npos) {
        break;
      }
      items.push_back(locality.substr(start, slash - start));
      start = slash + 1;
    }
    items.push_back(locality.substr(start));
    for (const auto& item : items) {
      if (item.empty()) {
        return "locality " + locality + " must not contain empty region/zone/subzone info";
      }
    }
    const std::string overlap = "locality " + locality + " overlap with previous specified ones";
    const std::string& region = items[0];
    if (items.size() == 1) {
      if (seen.count(region) > 0) {
        return overlap;
      }
      seen[region]["*"]["*"] = true;
    } else if (items.size() == 2) {
      const std::string& zone = items[1];
      if (auto it = seen.find(region); it != seen.end()) {
        if (it->second.count("*") > 0 || it->second.count(zone) > 0) {
          return overlap;
        }
      }
      seen[region][zone]["*"] = true;
    } else {
      const std::string& zone = items[1];
      const std::string& subzone = items[2];
      if (auto it = seen.find(region); it != seen.end()) {
        if (it->second.count("*") > 0) {
          return overlap;
        }
        if (auto z = it->second.find(zone); z != it->second.end()) {
          if (z->second.count("*") > 0 || z->second.count(subzone) > 0) {
            return overlap;
          }
        }
      }
      seen[region][zone][subzone] = true;
    }
  }
  return std::nullopt;
}

bool isTopologyLabel(const std::string& label) {
  return label == "topology.kubernetes.io/region" || label == "topology.kubernetes.io/zone" ||
         label == "topology.istio.io/subzone";
}

void checkLocalityLb(Reporter& r, const std::string& p, const model::LocalityLoadBalancerSetting& lb,
                     bool hasOutlierDetection) {
  // Istio stops at the first structural problem of a locality setting.
  if (!lb.distribute.empty() && !lb.failover.empty()) {
    r.error(p, "can not simultaneously specify 'distribute' and 'failover'");
    return;
  }
  if (!lb.failover.empty()) {
    for (size_t i = 0; i < lb.failoverPriority.size(); ++i) {
      if (isTopologyLabel(lb.failoverPriority[i])) {
        r.error(index(field(p, "failoverPriority"), i),
                "can not simultaneously set 'failover' and topology label '" + lb.failoverPriority[i] +
                    "' in 'failover_priority'");
        return;
      }
    }
  }
  std::vector<std::string> sources;
  for (size_t i = 0; i < lb.distribute.size(); ++i) {
    const auto& d = lb.distribute[i];
    const std::string dp = index(field(p, "distribute"), i);
    sources.push_back(d.from);
    uint64_t total = 0;
    std::vector<std::string> destinations;
    for (const auto& [loc, weight] : d.to) {
      destinations.push_back(loc);
      if (weight == 0 || weight > 100) {
        r.error(field(field(dp, "to"), loc), "locality weight must be in range [1, 100]");
        return;
      }
      total += weight;
    }
    if (total != 100) {
      r.error(field(dp, "to"), "total locality weight " + std::to_string(total) + " != 100");
      return;
    }
    r.check(field(dp, "to"), checkLocalities(destinations));
  }
  r.check(field(p, "distribute"), checkLocalities(sources));
  if ((!lb.failover.empty() || !lb.failoverPriority.empty()) && !hasOutlierDetection) {
    r.warning(p, "outlier detection policy must be provided for failover");
  }
  for (size_t i = 0; i < lb.failover.size(); ++i) {
    const auto& f = lb.failover[i];
    const std::string fp = index(field(p, "failover"), i);
    if (f.from == f.to) {
      r.error(fp, "locality lb failover settings must specify different regions");
    }
    if (f.from.find('/') != std::string::npos || f.to.find('/') != std::string::npos) {
      r.error(fp, "locality lb failover only specify region");
    }
    if (f.from.find('*') != std::string::npos || f.to.find('*') != std::string::npos) {
      r.error(fp, "locality lb failover region should not contain '*' wildcard");
    }
  }
}

// Istio's ValidateZoneAwareLbSetting: zone and subzone tiers are implicit, so failover names regions
// only and failoverPriority may not use the topology labels.
void checkZoneAwareLb(Reporter& r, const std::string& p, const model::ZoneAwareLoadBalancerSetting& za,
                      bool hasOutlierDetection) {
  if (za.minClusterSize && *za.minClusterSize < 1) {
    r.error(field(p, "minClusterSize"), "should be greater than or equal to 1");
  }
  for (size_t i = 0; i < za.failoverPriority.size(); ++i) {
    if (isTopologyLabel(za.failoverPriority[i])) {
      r.error(index(field(p, "failoverPriority"), i),
              "'failover_priority' for zone aware lb must not use topology label '" +
                  za.failoverPriority[i] + "'; region- and zone-level routing are handled automatically");
    }
  }
  if ((!za.failover.empty() || !za.failoverPriority.empty()) && !hasOutlierDetection) {
    r.warning(p, "outlier detection policy must be provided for failover");
  }
  for (size_t i = 0; i < za.failover.size(); ++i) {
    const auto& f = za.failover[i];
    const std::string fp = index(field(p, "failover"), i);
    if (f.from == f.to) {
      r.error(fp, "zone aware lb failover settings must specify different regions");
    }
    if (f.from.find('/') != std::string::npos || f.to.find('/') != std::string::npos) {
      r.error(fp, "zone aware lb failover only specifies region; zone and subzone failover are handled "
                  "automatically");
    }
    if (f.from.find('*') != std::string::npos || f.to.find('*') != std::string::npos) {
      r.error(fp, "zone aware lb failover region should not contain '*' wildcard");
    }
  }
}

void checkLoadBalancer(Reporter& r, const std::string& p, const model::LoadBalancerSettings& lb,
                       bool hasOutlierDetection) {
  if (lb.simple && lb.consistentHash) {
    r.error(p, "only one of simple or consistentHash may be set");
  }
  if (const auto& ch = lb.consistentHash) {
    const std::string cp = field(p, "consistentHash");
    const int keys = ch->httpHeaderName.has_value() + ch->httpCookie.has_value() + (ch->useSourceIp ? 1 : 0) +
                     ch->httpQueryParameterName.has_value();
    if (keys > 1) {
      r.error(cp, "only one of httpHeaderName, httpCookie, useSourceIp or httpQueryParameterName may be set");
    }
    if (ch->ringHash && ch->maglev) {
      r.error(cp, "only one of ringHash or maglev may be set");
    }
    if (const auto& cookie = ch->httpCookie) {
      const std::string kp = field(cp, "httpCookie");
      if (cookie->name.empty()) {
        r.error(field(kp, "name"), "name required for HttpCookie");
      }
      std::set<std::string> names;
      for (size_t i = 0; i < cookie->attributes.size(); ++i) {
        const auto& attr = cookie->attributes[i];
        const std::string ap = field(index(field(kp, "attributes"), i), "name");
        if (attr.name.empty()) {
          r.error(ap, "cookie attribute name cannot be empty");
          continue;
        }
        if (!names.insert(attr.name).second) {
          r.error(ap, "duplicate cookie attribute name: " + attr.name);
        }
      }
    }
    const bool deprecatedRing = ch->minimumRingSize.value_or(0) != 0;
    if (deprecatedRing) {
      r.warning(
          field(cp, "minimumRingSize"),
          "consistent hash MinimumRingSize is deprecated, use ConsistentHashLB's RingHash configuration "
          "instead");
      if (ch->ringHash || ch->maglev) {
        r.error(field(cp, "minimumRingSize"),
                "only one of MinimumRingSize or Maglev/Ringhash can be specified");
      }
    }
    if (const auto& ml = ch->maglev) {
      const uint64_t size = ml->tableSize.value_or(0);
      const std::string mp = field(cp, "maglev.tableSize");
      if (size == 0) {
        r.error(mp, "tableSize must be set for maglev");
      }
      if (size >= 5000011) {
        r.error(mp, "tableSize must be less than 5000011 for maglev");
      } else if (!isPrime(size)) {  // trial division stays cheap below the bound
        r.error(mp, "tableSize must be a prime number for maglev");
      }
    }
  }
  if (lb.localityLbSetting && lb.zoneAwareLbSetting) {
    r.error(p, "only one of localityLbSetting and zoneAwareLbSetting can be set");
  }
  if (lb.localityLbSetting) {
    checkLocalityLb(r, field(p, "localityLbSetting"), *lb.localityLbSetting, hasOutlierDetection);
  }
  if (lb.zoneAwareLbSetting) {
    checkZoneAwareLb(r, field(p, "zoneAwareLbSetting"), *lb.zoneAwareLbSetting, hasOutlierDetection);
  }
  // The CRD rejects a warmupDurationSecs below 1ms; the webhook does not look at it.
  if (lb.warmupDurationSecs && *lb.warmupDurationSecs < std::chrono::milliseconds(1)) {
    r.error(field(p, "warmupDurationSecs"), "must be a valid duration greater than 1ms");
  }
  if (const auto& w = lb.warmup) {
    const std::string wp = field(p, "warmup");
    if (!w->duration) {
      r.error(field(wp, "duration"), "duration is required");
    } else {
      r.check(field(wp, "duration"), checkDuration(*w->duration));
    }
    if (w->minimumPercent.value_or(0) > 100) {
      r.error(field(wp, "minimumPercent"), "minimumPercent value should be less than or equal to 100");
    } else if (w->minimumPercent.value_or(0) < 0) {
      r.error(field(wp, "minimumPercent"), "should be greater than or equal to 0");
    }
    if (w->aggression && *w->aggression <= 0) {
      r.error(field(wp, "aggression"), "aggression should be greater than 0");
    }
  }
}

void checkTls(Reporter& r, const std::string& p, const std::string& ns, const model::ClientTLSSettings& tls) {
  constexpr std::string_view kConfigMap = "configmap://";
  if (tls.credentialName.starts_with(kConfigMap)) {
    // credentials.ParseResourceName: configmap://<ns>/<name>, namespace required (unlike kubernetes://),
    // and only the object's own namespace may be read.
    std::string_view rest = std::string_view(tls.credentialName).substr(kConfigMap.size());
    auto slash = rest.find('/');
    const std::string bad =
        "invalid configmap:// credentialName: invalid resource name " + quote(tls.credentialName);
    if (slash == std::string_view::npos) {
      r.error(field(p, "credentialName"), bad + ". Expected namespace and name");
    } else if (slash == 0) {
      r.error(field(p, "credentialName"), bad + ". Expected namespace");
    } else if (rest.substr(slash + 1, rest.find('/', slash + 1) - slash - 1).empty()) {
      r.error(field(p, "credentialName"), bad + ". Expected name");
    } else if (rest.substr(0, slash) != ns || ns.empty()) {
      r.error(field(p, "credentialName"),
              "invalid configmap:// credentialName: namespace must match the configuration namespace " +
                  quote(ns));
    }
  }
  if (tls.insecureSkipVerify.value_or(false)) {
    if (tls.mode == model::TLSMode::Simple &&
        (!tls.caCertificates.empty() || !tls.credentialName.empty() || !tls.subjectAltNames.empty())) {
      r.error(field(p, "insecureSkipVerify"),
              "cannot specify CaCertificates or CredentialName or SubjectAltNames when InsecureSkipVerify is "
              "set true");
    }
    if (tls.mode == model::TLSMode::Mutual && (!tls.caCertificates.empty() || !tls.subjectAltNames.empty())) {
      r.error(field(p, "insecureSkipVerify"),
              "cannot specify CaCertificates or SubjectAltNames when InsecureSkipVerify is set true");
    }
  }
  const bool userTls = tls.mode == model::TLSMode::Simple || tls.mode == model::TLSMode::Mutual;
  if (userTls && !tls.credentialName.empty()) {
    if (!tls.clientCertificate.empty() || !tls.caCertificates.empty() || !tls.privateKey.empty() ||
        !tls.caCrl.empty()) {
      r.error(field(p, "credentialName"),
              "cannot specify client certificates or CA certificate or CA CRL If credentialName is set");
    }
    return;
  }
  if (tls.mode == model::TLSMode::Mutual) {
    if (tls.clientCertificate.empty()) {
      r.error(field(p, "clientCertificate"), "client certificate required for mutual tls");
    }
    if (tls.privateKey.empty()) {
      r.error(field(p, "privateKey"), "private key required for mutual tls");
    }
  }
}

void checkTunnel(Reporter& r, const std::string& p, const model::TunnelSettings& t) {
  if (!t.protocol.empty() && t.protocol != "CONNECT" && t.protocol != "POST") {
    r.error(field(p, "protocol"), "tunnel protocol must be \"CONNECT\" or \"POST\"");
  }
  auto fqdnErr = checkFqdn(t.targetHost);
  auto ipErr = checkIpAddress(t.targetHost);
  if (fqdnErr && ipErr) {
    r.error(field(p, "targetHost"),
            "tunnel target host must be valid FQDN or IP address: " + *fqdnErr + "; " + *ipErr);
  }
  if (auto e = checkPort(t.targetPort)) {
    r.error(field(p, "targetPort"), "tunnel target port is invalid: " + *e);
  }
}

void checkRetryBudget(Reporter& r, const std::string& p, const model::RetryBudget& b) {
  // CRD bounds: the webhook has no rule for the retry budget.
  if (b.percent && (*b.percent < 0 || *b.percent > 100)) {
    r.error(field(p, "percent"), "should be less than or equal to 100 and greater than or equal to 0");
  }
}

template <typename Policy>
void checkPolicyBlocks(Reporter& r, const std::string& p, const std::string& ns, const Policy& tp) {
  if (tp.outlierDetection) {
    checkOutlierDetection(r, field(p, "outlierDetection"), *tp.outlierDetection);
  }
  if (tp.connectionPool) {
    checkConnectionPool(r, field(p, "connectionPool"), *tp.connectionPool);
  }
  if (tp.loadBalancer) {
    checkLoadBalancer(r, field(p, "loadBalancer"), *tp.loadBalancer, tp.outlierDetection.has_value());
  }
  if (tp.tls) {
    checkTls(r, field(p, "tls"), ns, *tp.tls);
  }
}

void checkTrafficPolicy(Reporter& r, const std::string& p, const std::string& ns,
                        const model::TrafficPolicy& tp) {
  if (!tp.outlierDetection && !tp.connectionPool && !tp.loadBalancer && !tp.tls &&
      tp.portLevelSettings.empty() && !tp.tunnel && !tp.proxyProtocol && !tp.retryBudget) {
    r.error(p, "traffic policy must have at least one field");
    return;
  }
  if (tp.tunnel && tp.proxyProtocol) {
    r.error(p, "tunnel and proxyProtocol must not be set together");
    return;
  }
  checkPolicyBlocks(r, p, ns, tp);
  for (size_t i = 0; i < tp.portLevelSettings.size(); ++i) {
    const auto& pl = tp.portLevelSettings[i];
    const std::string pp = index(field(p, "portLevelSettings"), i);
    if (!pl.port) {
      r.error(field(pp, "port"), "portTrafficPolicy must have valid port");
    }
    if (!pl.outlierDetection && !pl.connectionPool && !pl.loadBalancer && !pl.tls) {
      r.error(pp, "port traffic policy must have at least one field");
    } else {
      checkPolicyBlocks(r, pp, ns, pl);
    }
  }
  if (tp.portLevelSettings.size() > 4096) {
    r.error(field(p, "portLevelSettings"), "must have at most 4096 items");
  }
  if (tp.tunnel) {
    checkTunnel(r, field(p, "tunnel"), *tp.tunnel);
  }
  if (tp.retryBudget) {
    checkRetryBudget(r, field(p, "retryBudget"), *tp.retryBudget);
  }
}

}  // namespace

Diagnostics validateDestinationRule(const model::DestinationRule& dr) {
  Diagnostics out;
  Reporter r(out, "DestinationRule", dr.meta, dr.source);
  if (!checkMetadata(r, dr.meta)) {
    return out;
  }
  const auto& spec = dr.spec;
  const std::string ns = namespaceOrDefault(dr.meta);
  r.check("spec.host", checkWildcardDomain(spec.host));
  if (spec.trafficPolicy) {
    checkTrafficPolicy(r, "spec.trafficPolicy", ns, *spec.trafficPolicy);
  }
  std::set<std::string> names;
  for (size_t i = 0; i < spec.subsets.size(); ++i) {
    const auto& s = spec.subsets[i];
    const std::string sp = index("spec.subsets", i);
    if (!names.insert(s.name).second) {
      r.error(field(sp, "name"), "duplicate subset names: " + s.name);
    }
    r.check(field(sp, "name"), checkSubsetName(s.name));
    reportLabels(r, field(sp, "labels"), s.labels);
    if (s.trafficPolicy) {
      checkTrafficPolicy(r, field(sp, "trafficPolicy"), ns, *s.trafficPolicy);
    }
  }
  reportExportTo(r, "spec.exportTo", namespaceOrDefault(dr.meta), spec.exportTo,
                 spec.workloadSelector.has_value());
  if (const auto& ws = spec.workloadSelector) {
    const std::string wp = "spec.workloadSelector.matchLabels";
    for (const auto& [k, v] : ws->matchLabels) {
      if (k.empty()) {
        r.error(wp, "empty key is not supported in selector: " + quote(k + "=" + v));
      }
      if (k.find('*') != std::string::npos || v.find('*') != std::string::npos) {
        r.error(field(wp, k), "wildcard is not supported in selector: " + quote(k + "=" + v));
      }
      if (v.size() > 63) {
        r.error(field(wp, k), "may not be longer than 63");
      }
    }
    if (ws->matchLabels.empty()) {
      r.warning("spec.workloadSelector", "workload selector specified without labels");
    }
  }
  return out;
}

}  // namespace sluice::validate
