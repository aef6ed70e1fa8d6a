// normalize(): name resolution, gateway references and Istio's defaults made explicit; idempotent.
#include <sluice/validate/normalize.h>
#include <sluice/validate/validate.h>

#include "test_util.h"

namespace sluice::validate::testing {
namespace {

const model::MeshSettings kMesh;

model::Snapshot fixture() {
  model::Snapshot snap;
  auto vs = baseVs();
  vs.meta.ns = "";
  vs.spec.hosts = {"reviews", "*.example.com", "10.0.0.1", "*"};
  vs.spec.gateways = {};
  auto& h = vs.spec.http[0];
  h.route[0].destination.host = "reviews";
  h.route[0].weight = 7;
  h.mirror = model::Destination{"shadow", "", std::nullopt};
  h.mirrorPercent = 30;
  h.match.emplace_back().gateways = {"gw", "./gw2", "mesh", "gw3.other.svc.cluster.local", "ns/gw4"};
  h.fault.emplace().delay.emplace().fixedDelay = sec(1);
  h.fault->delay->percent = 5;
  h.fault->abort.emplace().httpStatus = 503;
  model::HTTPRoute redirect;
  redirect.redirect.emplace().uri = "/x";
  vs.spec.http.push_back(redirect);
  model::HTTPRoute split;
  split.route = {httpDest("a", 1), httpDest("b.other", 3)};
  split.retries.emplace().attempts = 5;
  split.mirrors.emplace_back().destination.host = "shadow2";
  vs.spec.http.push_back(split);
  model::TCPRoute tcp;
  tcp.route.push_back(l4Dest("db"));
  vs.spec.tcp.push_back(tcp);
  snap.virtualServices.push_back(vs);

  auto gwvs = baseVs();
  gwvs.meta.name = "gwvs";
  gwvs.spec.gateways = {"ingress"};
  snap.virtualServices.push_back(gwvs);

  auto delegate = baseVs();
  delegate.meta.name = "leaf";
  delegate.spec.hosts.clear();
  snap.virtualServices.push_back(delegate);

  auto dr = baseDr();
  dr.meta.ns = "";
  dr.spec.trafficPolicy.emplace().outlierDetection.emplace();
  auto& pl = dr.spec.trafficPolicy->portLevelSettings.emplace_back();
  pl.port = 9080;
  pl.loadBalancer.emplace().consistentHash.emplace().httpHeaderName = "x-user";
  dr.spec.subsets.push_back({"v1", {{"version", "v1"}}, std::nullopt});
  auto& sub = dr.spec.subsets.emplace_back();
  sub.name = "v2";
  sub.trafficPolicy.emplace().loadBalancer.emplace().simple = model::SimpleLB::LeastConn;
  snap.destinationRules.push_back(dr);

  auto hashDr = baseDr();
  hashDr.meta.name = "hash";
  hashDr.spec.host = "ratings.prod.svc.cluster.local";
  hashDr.spec.trafficPolicy.emplace().loadBalancer.emplace().consistentHash.emplace().minimumRingSize = 2048;
  hashDr.spec.workloadSelector.emplace().matchLabels["app"] = "x";
  snap.destinationRules.push_back(hashDr);

  model::Service svc;
  svc.meta.name = "reviews";
  svc.spec.ports.emplace_back().port = 9080;
  snap.services.push_back(svc);
  return snap;
}

TEST(Normalize, ResolvesNames) {
  auto out = normalize(fixture(), kMesh);
  const auto& vs = out.virtualServices[0];
  EXPECT_EQ(vs.meta.ns, "default");
  EXPECT_EQ(vs.spec.hosts, (std::vector<std::string>{"reviews.default.svc.cluster.local", "*.example.com",
                                                     "10.0.0.1", "*"}));
  EXPECT_EQ(vs.spec.gateways, std::vector<std::string>{"mesh"});
  EXPECT_EQ(vs.spec.http[0].route[0].destination.host, "reviews.default.svc.cluster.local");
  EXPECT_EQ(vs.spec.http[0].mirror->host, "shadow.default.svc.cluster.local");
  EXPECT_EQ(vs.spec.http[2].mirrors[0].destination.host, "shadow2.default.svc.cluster.local");
  EXPECT_EQ(vs.spec.http[0].match[0].gateways,
            (std::vector<std::string>{"default/gw", "default/gw2", "mesh", "other/gw3", "ns/gw4"}));
  EXPECT_EQ(vs.spec.http[2].route[0].destination.host, "a.default.svc.cluster.local");
  EXPECT_EQ(vs.spec.http[2].route[1].destination.host, "b.other");
  EXPECT_EQ(vs.spec.tcp[0].route[0].destination.host, "db.default.svc.cluster.local");
  EXPECT_EQ(out.virtualServices[1].spec.gateways, std::vector<std::string>{"ns5/ingress"});
  // A delegate gets its gateways from the root.
  EXPECT_TRUE(out.virtualServices[2].spec.gateways.empty());
  EXPECT_EQ(out.destinationRules[0].spec.host, "reviews.default.svc.cluster.local");
  EXPECT_EQ(out.destinationRules[1].spec.host, "ratings.prod.svc.cluster.local");
  EXPECT_EQ(out.services[0].meta.ns, "default");
  EXPECT_EQ(out.services[0].spec.ports[0].targetPort.number, 9080);
}

TEST(Normalize, FillsRouteDefaults) {
  auto out = normalize(fixture(), kMesh);
  const auto& vs = out.virtualServices[0];
  const auto& h = vs.spec.http[0];
  EXPECT_EQ(h.route[0].weight, 100);
  ASSERT_TRUE(h.retries);
  EXPECT_EQ(h.retries->attempts, 2);
  EXPECT_EQ(h.retries->retryOn,
            "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes");
  EXPECT_EQ(h.retries->retryIgnorePreviousHosts, true);
  EXPECT_EQ(h.retries->backoff, ms(25));
  EXPECT_EQ(h.mirrorPercentage, 30.0);  // carried over from the deprecated mirrorPercent
  EXPECT_FALSE(h.mirrorPercent);
  EXPECT_EQ(vs.spec.http[2].mirrors[0].percentage, 100.0);
  EXPECT_EQ(h.fault->delay->percentage, 5.0);
  EXPECT_FALSE(h.fault->delay->percent);
  EXPECT_EQ(h.fault->abort->percentage, 0.0);
  EXPECT_EQ(vs.spec.http[1].redirect->redirectCode, 301u);
  EXPECT_FALSE(vs.spec.http[1].retries);  // nothing is forwarded, so nothing is retried
  EXPECT_EQ(vs.spec.http[2].route[0].weight, 1);
  EXPECT_EQ(vs.spec.http[2].retries->attempts, 5);
  EXPECT_EQ(vs.spec.http[2].retries->backoff, ms(25));
  EXPECT_EQ(vs.spec.tcp[0].route[0].weight, 100);
  EXPECT_EQ(vs.spec.exportTo, std::vector<std::string>{"*"});
}

TEST(Normalize, MirrorWithoutPercentageIsFull) {
  auto snap = fixture();
  snap.virtualServices[0].spec.http[0].mirrorPercent.reset();
  auto out = normalize(std::move(snap), kMesh);
  EXPECT_EQ(out.virtualServices[0].spec.http[0].mirrorPercentage, 100.0);
}

TEST(Normalize, RetriesOffStayOff) {
  auto snap = fixture();
  snap.virtualServices[0].spec.http[2].retries->attempts = 0;
  auto out = normalize(std::move(snap), kMesh);
  const auto& r = out.virtualServices[0].spec.http[2].retries;
  EXPECT_EQ(r->attempts, 0);
  EXPECT_FALSE(r->retryOn);
}

TEST(Normalize, FillsDestinationRuleDefaults) {
  auto out = normalize(fixture(), kMesh);
  const auto& dr = out.destinationRules[0];
  const auto& tp = *dr.spec.trafficPolicy;
  EXPECT_EQ(tp.loadBalancer->simple, model::SimpleLB::LeastRequest);
  EXPECT_EQ(tp.connectionPool->tcp->connectTimeout, sec(10));
  EXPECT_EQ(tp.connectionPool->tcp->idleTimeout, std::chrono::hours(1));
  EXPECT_EQ(tp.connectionPool->http->idleTimeout, std::chrono::hours(1));
  const auto& od = *tp.outlierDetection;
  EXPECT_EQ(od.consecutive5xxErrors, 5u);
  EXPECT_EQ(od.interval, sec(10));
  EXPECT_EQ(od.baseEjectionTime, sec(30));
  EXPECT_EQ(od.maxEjectionPercent, 10);
  EXPECT_EQ(od.minHealthPercent, 0);
  // Port-level entries replace all four blocks, so their absent blocks take the defaults.
  const auto& pl = tp.portLevelSettings[0];
  EXPECT_FALSE(pl.loadBalancer->simple);
  EXPECT_EQ(pl.loadBalancer->consistentHash->ringHash->minimumRingSize, 1024u);
  EXPECT_EQ(pl.connectionPool->tcp->connectTimeout, sec(10));
  EXPECT_FALSE(pl.outlierDetection);
  // A subset's absent blocks inherit from the DR, so they stay absent.
  EXPECT_FALSE(dr.spec.subsets[0].trafficPolicy);
  EXPECT_EQ(dr.spec.subsets[1].trafficPolicy->loadBalancer->simple, model::SimpleLB::LeastRequest);
  EXPECT_FALSE(dr.spec.subsets[1].trafficPolicy->connectionPool);
  EXPECT_EQ(dr.spec.exportTo, std::vector<std::string>{"*"});

  const auto& hash = out.destinationRules[1];
  const auto& ch = *hash.spec.trafficPolicy->loadBalancer->consistentHash;
  EXPECT_EQ(ch.ringHash->minimumRingSize, 2048u);  // the deprecated field carried over
  EXPECT_FALSE(ch.minimumRingSize);
  EXPECT_EQ(hash.spec.exportTo, std::vector<std::string>{"."});
}

TEST(Normalize, MaglevDefault) {
  auto snap = fixture();
  snap.destinationRules[1].spec.trafficPolicy->loadBalancer->consistentHash->minimumRingSize.reset();
  snap.destinationRules[1].spec.trafficPolicy->loadBalancer->consistentHash->maglev.emplace();
  auto out = normalize(std::move(snap), kMesh);
  const auto& ch = *out.destinationRules[1].spec.trafficPolicy->loadBalancer->consistentHash;
  EXPECT_EQ(ch.maglev->tableSize, 65537u);
  EXPECT_FALSE(ch.ringHash);
}

TEST(Normalize, CustomClusterDomain) {
  model::MeshSettings mesh;
  mesh.clusterDomain = "corp.internal";
  auto out = normalize(fixture(), mesh);
  EXPECT_EQ(out.virtualServices[0].spec.hosts[0], "reviews.default.svc.corp.internal");
}

// Field-by-field comparison of what normalize() touches (the model has no operator==).
void expectSameNormalizedFields(const model::Snapshot& a, const model::Snapshot& b) {
  ASSERT_EQ(a.virtualServices.size(), b.virtualServices.size());
  for (size_t i = 0; i < a.virtualServices.size(); ++i) {
    const auto& x = a.virtualServices[i];
    const auto& y = b.virtualServices[i];
    EXPECT_EQ(x.meta.ns, y.meta.ns);
    EXPECT_EQ(x.spec.hosts, y.spec.hosts);
    EXPECT_EQ(x.spec.gateways, y.spec.gateways);
    EXPECT_EQ(x.spec.exportTo, y.spec.exportTo);
    ASSERT_EQ(x.spec.http.size(), y.spec.http.size());
    for (size_t j = 0; j < x.spec.http.size(); ++j) {
      const auto& p = x.spec.http[j];
      const auto& q = y.spec.http[j];
      ASSERT_EQ(p.route.size(), q.route.size());
      for (size_t k = 0; k < p.route.size(); ++k) {
        EXPECT_EQ(p.route[k].destination.host, q.route[k].destination.host);
        EXPECT_EQ(p.route[k].weight, q.route[k].weight);
      }
      for (size_t k = 0; k < p.match.size(); ++k) {
        EXPECT_EQ(p.match[k].gateways, q.match[k].gateways);
      }
      EXPECT_EQ(p.retries.has_value(), q.retries.has_value());
      if (p.retries && q.retries) {
        EXPECT_EQ(p.retries->attempts, q.retries->attempts);
        EXPECT_EQ(p.retries->retryOn, q.retries->retryOn);
        EXPECT_EQ(p.retries->backoff, q.retries->backoff);
        EXPECT_EQ(p.retries->retryIgnorePreviousHosts, q.retries->retryIgnorePreviousHosts);
      }
      EXPECT_EQ(p.mirrorPercentage, q.mirrorPercentage);
      EXPECT_EQ(p.mirrorPercent, q.mirrorPercent);
      if (p.mirror) {
        EXPECT_EQ(p.mirror->host, q.mirror->host);
      }
      if (p.fault) {
        EXPECT_EQ(p.fault->delay->percentage, q.fault->delay->percentage);
        EXPECT_EQ(p.fault->abort->percentage, q.fault->abort->percentage);
      }
      if (p.redirect) {
        EXPECT_EQ(p.redirect->redirectCode, q.redirect->redirectCode);
      }
    }
  }
  ASSERT_EQ(a.destinationRules.size(), b.destinationRules.size());
  for (size_t i = 0; i < a.destinationRules.size(); ++i) {
    const auto& x = a.destinationRules[i].spec;
    const auto& y = b.destinationRules[i].spec;
    EXPECT_EQ(x.host, y.host);
    EXPECT_EQ(x.exportTo, y.exportTo);
    const auto& lx = *x.trafficPolicy->loadBalancer;
    const auto& ly = *y.trafficPolicy->loadBalancer;
    EXPECT_EQ(lx.simple, ly.simple);
    EXPECT_EQ(lx.consistentHash.has_value(), ly.consistentHash.has_value());
    if (lx.consistentHash) {
      EXPECT_EQ(lx.consistentHash->ringHash->minimumRingSize, ly.consistentHash->ringHash->minimumRingSize);
      EXPECT_EQ(lx.consistentHash->minimumRingSize, ly.consistentHash->minimumRingSize);
    }
    EXPECT_EQ(x.trafficPolicy->connectionPool->tcp->connectTimeout,
              y.trafficPolicy->connectionPool->tcp->connectTimeout);
    ASSERT_EQ(x.trafficPolicy->outlierDetection.has_value(), y.trafficPolicy->outlierDetection.has_value());
    if (const auto& od = x.trafficPolicy->outlierDetection) {
      EXPECT_EQ(od->consecutive5xxErrors, y.trafficPolicy->outlierDetection->consecutive5xxErrors);
      EXPECT_EQ(od->interval, y.trafficPolicy->outlierDetection->interval);
      EXPECT_EQ(od->baseEjectionTime, y.trafficPolicy->outlierDetection->baseEjectionTime);
      EXPECT_EQ(od->maxEjectionPercent, y.trafficPolicy->outlierDetection->maxEjectionPercent);
    }
    ASSERT_EQ(x.trafficPolicy->portLevelSettings.size(), y.trafficPolicy->portLevelSettings.size());
    for (size_t k = 0; k < x.trafficPolicy->portLevelSettings.size(); ++k) {
      const auto& px = x.trafficPolicy->portLevelSettings[k];
      const auto& py = y.trafficPolicy->portLevelSettings[k];
      EXPECT_EQ(px.loadBalancer->simple, py.loadBalancer->simple);
      EXPECT_EQ(px.loadBalancer->consistentHash.has_value(), py.loadBalancer->consistentHash.has_value());
      EXPECT_EQ(px.connectionPool->tcp->connectTimeout, py.connectionPool->tcp->connectTimeout);
      EXPECT_EQ(px.connectionPool->http->idleTimeout, py.connectionPool->http->idleTimeout);
    }
    ASSERT_EQ(x.subsets.size(), y.subsets.size());
    for (size_t k = 0; k < x.subsets.size(); ++k) {
      const auto& sx = x.subsets[k].trafficPolicy;
      const auto& sy = y.subsets[k].trafficPolicy;
      ASSERT_EQ(sx.has_value(), sy.has_value());
      if (sx) {
        EXPECT_EQ(sx->loadBalancer.has_value(), sy->loadBalancer.has_value());
        EXPECT_EQ(sx->connectionPool.has_value(), sy->connectionPool.has_value());
        if (sx->loadBalancer) {
          EXPECT_EQ(sx->loadBalancer->simple, sy->loadBalancer->simple);
        }
      }
    }
  }
}

TEST(Normalize, Idempotent) {
  auto once = normalize(fixture(), kMesh);
  auto twice = normalize(once, kMesh);
  expectSameNormalizedFields(once, twice);
}

TEST(Normalize, OutputStillValidates) {
  auto snap = fixture();
  // The fixture's "*" host is only valid on a gateway VirtualService.
  snap.virtualServices[0].spec.hosts.pop_back();
  auto out = normalize(std::move(snap), kMesh);
  auto d = validate(out, kMesh);
  EXPECT_FALSE(d.hasErrors()) << dump(d);
}

}  // namespace
}  // namespace sluice::validate::testing
