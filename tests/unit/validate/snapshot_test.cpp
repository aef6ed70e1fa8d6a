// Checks across objects: IST0109-style conflicting mesh hosts, delegate resolution, IST0101-style
// missing hosts and subsets.
#include <sluice/validate/validate.h>

#include "test_util.h"

namespace sluice::validate::testing {
namespace {

model::VirtualService vsFor(std::string ns, std::string name, std::vector<std::string> hosts,
                            std::string created = "") {
  model::VirtualService vs = baseVs();
  vs.meta.ns = std::move(ns);
  vs.meta.name = std::move(name);
  vs.meta.creationTimestamp = std::move(created);
  vs.spec.hosts = std::move(hosts);
  vs.spec.http[0].route[0].destination.host = "reviews.default.svc.cluster.local";
  return vs;
}

model::Service service(std::string ns, std::string name) {
  model::Service s;
  s.meta.ns = std::move(ns);
  s.meta.name = std::move(name);
  return s;
}

const model::MeshSettings kMesh;

std::vector<std::string> messagesFor(const Diagnostics& d, const std::string& name) {
  std::vector<std::string> out;
  for (const auto& item : d.items()) {
    if (item.name == name) {
      out.push_back(item.field + ": " + item.message);
    }
  }
  return out;
}

// The cross-object checks need the registry, so every snapshot here holds a Service.
model::Snapshot withRegistry() {
  model::Snapshot snap;
  snap.services.push_back(service("default", "reviews"));
  return snap;
}

TEST(ConflictingHosts, OldestWins) {
  model::Snapshot snap = withRegistry();
  snap.virtualServices.push_back(vsFor("default", "newer", {"reviews"}, "2024-05-02T00:00:00Z"));
  snap.virtualServices.push_back(
      vsFor("default", "older", {"reviews.default.svc.cluster.local"}, "2024-05-01T00:00:00Z"));
  auto d = validateSnapshot(snap, kMesh);
  EXPECT_TRUE(messagesFor(d, "older").empty()) << dump(d);
  auto newer = messagesFor(d, "newer");
  ASSERT_EQ(newer.size(), 1u) << dump(d);
  EXPECT_NE(newer[0].find("spec.hosts[0]: IST0109"), std::string::npos) << newer[0];
  EXPECT_NE(newer[0].find("keep the oldest, default/older,"), std::string::npos) << newer[0];
  EXPECT_FALSE(d.hasErrors());
}

TEST(ConflictingHosts, TiesBreakByNamespaceThenName) {
  model::Snapshot snap = withRegistry();
  snap.virtualServices.push_back(vsFor("b", "a", {"x.example.com"}));
  snap.virtualServices.push_back(vsFor("a", "z", {"x.example.com"}));
  snap.virtualServices.push_back(vsFor("a", "y", {"x.example.com"}, "2024-01-01T00:00:00Z"));
  auto d = validateSnapshot(snap, kMesh);
  EXPECT_TRUE(messagesFor(d, "y").empty()) << dump(d);  // the only one with a timestamp is the oldest
  EXPECT_EQ(messagesFor(d, "z").size(), 1u) << dump(d);
  EXPECT_EQ(messagesFor(d, "a").size(), 1u) << dump(d);
}

TEST(ConflictingHosts, SameObjectTwiceIsNoConflict) {
  model::Snapshot snap = withRegistry();
  snap.virtualServices.push_back(vsFor("default", "reviews", {"reviews"}));
  snap.virtualServices.push_back(vsFor("default", "reviews", {"reviews"}));
  EXPECT_TRUE(validateSnapshot(snap, kMesh).empty());
  snap.virtualServices.push_back(vsFor("default", "zzz", {"reviews"}));
  auto d = validateSnapshot(snap, kMesh);
  EXPECT_EQ(d.warningCount(), 1u) << dump(d);
  EXPECT_EQ(messagesFor(d, "zzz").size(), 1u) << dump(d);
}

TEST(ConflictingHosts, NotReportedWithoutRegistry) {
  model::Snapshot snap;
  snap.virtualServices.push_back(vsFor("default", "a", {"reviews"}));
  snap.virtualServices.push_back(vsFor("default", "b", {"reviews"}));
  EXPECT_TRUE(validateSnapshot(snap, kMesh).empty());
  snap.services.push_back(service("default", "reviews"));
  EXPECT_EQ(validateSnapshot(snap, kMesh).warningCount(), 1u);
}

TEST(ConflictingHosts, GatewayOnlyVirtualServicesDoNotConflict) {
  model::Snapshot snap = withRegistry();
  snap.virtualServices.push_back(vsFor("default", "mesh", {"x.example.com"}));
  auto gw = vsFor("default", "gw", {"x.example.com"});
  gw.spec.gateways = {"istio-system/ingress"};
  snap.virtualServices.push_back(gw);
  EXPECT_TRUE(validateSnapshot(snap, kMesh).empty());
  snap.virtualServices.back().spec.gateways.push_back("mesh");
  EXPECT_EQ(validateSnapshot(snap, kMesh).warningCount(), 1u);
}

model::Snapshot delegation() {
  model::Snapshot snap;
  snap.services.push_back(service("default", "foo"));
  auto root = vsFor("default", "root", {"foo"});
  root.spec.http[0].route.clear();
  root.spec.http[0].delegate = model::Delegate{"leaf", "team"};
  snap.virtualServices.push_back(root);
  auto leaf = vsFor("team", "leaf", {});
  leaf.spec.http[0].route[0].destination.host = "foo.default.svc.cluster.local";
  snap.virtualServices.push_back(leaf);
  return snap;
}

TEST(Delegates, Resolved) {
  auto snap = delegation();
  EXPECT_TRUE(validate(snap, kMesh).empty()) << dump(validate(snap, kMesh));
}

TEST(Delegates, Missing) {
  auto snap = delegation();
  snap.virtualServices.pop_back();
  expectVerdict(validateSnapshot(snap, kMesh), Verdict::Warning, "spec.http[0].delegate");
  // Without the registry a missing delegate may simply live in another file.
  snap.services.clear();
  EXPECT_TRUE(validateSnapshot(snap, kMesh).empty());
}

TEST(Delegates, DelegateWithHosts) {
  auto snap = delegation();
  snap.virtualServices[1].spec.hosts = {"leaf.example.com"};
  expectVerdict(validateSnapshot(snap, kMesh), Verdict::Warning, "spec.http[0].delegate");
}

TEST(Delegates, DelegatesAgain) {
  auto snap = delegation();
  snap.virtualServices[1].spec.http.emplace_back().delegate = model::Delegate{"deeper", "team"};
  expectVerdict(validateSnapshot(snap, kMesh), Verdict::Warning, "spec.http[0].delegate");
}

TEST(Delegates, ExportTo) {
  auto snap = delegation();
  snap.virtualServices[1].spec.exportTo = {"."};
  expectVerdict(validateSnapshot(snap, kMesh), Verdict::Warning, "spec.http[0].delegate");
  snap.virtualServices[1].spec.exportTo = {"default"};
  EXPECT_TRUE(validateSnapshot(snap, kMesh).empty());
  snap.virtualServices[1].spec.exportTo = {"*"};
  EXPECT_TRUE(validateSnapshot(snap, kMesh).empty());
}

TEST(Delegates, DefaultNamespaceIsTheRoots) {
  auto snap = delegation();
  snap.virtualServices[0].spec.http[0].delegate->ns = "";
  expectVerdict(validateSnapshot(snap, kMesh), Verdict::Warning, "spec.http[0].delegate");
  snap.virtualServices[1].meta.ns = "default";
  EXPECT_TRUE(validateSnapshot(snap, kMesh).empty());
}

model::Snapshot references() {
  model::Snapshot snap;
  snap.services.push_back(service("default", "reviews"));
  auto vs = vsFor("default", "vs", {"reviews"});
  vs.spec.http[0].route[0].destination.host = "reviews";
  vs.spec.http[0].route[0].destination.subset = "v1";
  snap.virtualServices.push_back(vs);
  auto dr = baseDr();
  dr.meta.ns = "default";
  dr.spec.host = "reviews.default.svc.cluster.local";
  dr.spec.subsets.push_back({"v1", {{"version", "v1"}}, std::nullopt});
  snap.destinationRules.push_back(dr);
  return snap;
}

TEST(References, Found) {
  auto snap = references();
  EXPECT_TRUE(validate(snap, kMesh).empty()) << dump(validate(snap, kMesh));
}

TEST(References, MissingHost) {
  auto snap = references();
  snap.virtualServices[0].spec.http[0].route[0].destination.host = "ratings";
  auto d = validateSnapshot(snap, kMesh);
  expectVerdict(d, Verdict::Warning, "spec.http[0].route[0].destination.host");
  EXPECT_NE(d.items()[0].message.find("Referenced host not found: \"ratings.default.svc.cluster.local\""),
            std::string::npos);
}

TEST(References, MissingSubset) {
  auto snap = references();
  snap.virtualServices[0].spec.http[0].route[0].destination.subset = "v2";
  auto d = validateSnapshot(snap, kMesh);
  expectVerdict(d, Verdict::Warning, "spec.http[0].route[0].destination.subset");
  EXPECT_NE(
      d.items()[0].message.find(
          "Referenced host+subset in destinationrule not found: \"reviews.default.svc.cluster.local+v2\""),
      std::string::npos);
}

TEST(References, WildcardDestinationRuleCoversSubset) {
  auto snap = references();
  snap.destinationRules[0].spec.host = "*.default.svc.cluster.local";
  EXPECT_TRUE(validateSnapshot(snap, kMesh).empty());
}

TEST(References, MirrorsAndTcpAreChecked) {
  auto snap = references();
  snap.virtualServices[0].spec.http[0].mirror = model::Destination{"ghost", "", std::nullopt};
  model::TCPRoute t;
  t.route.push_back(l4Dest("ghost.other.svc.cluster.local"));
  snap.virtualServices[0].spec.tcp.push_back(t);
  auto d = validateSnapshot(snap, kMesh);
  EXPECT_TRUE(hasDiagnosticAt(d, Severity::Warning, "spec.http[0].mirror.host")) << dump(d);
  EXPECT_TRUE(hasDiagnosticAt(d, Severity::Warning, "spec.tcp[0].route[0].destination.host")) << dump(d);
}

TEST(References, SkippedWithoutRegistry) {
  auto snap = references();
  snap.services.clear();
  snap.virtualServices[0].spec.http[0].route[0].destination.subset = "v2";
  EXPECT_TRUE(validateSnapshot(snap, kMesh).empty());
}

TEST(Validate, IncludesObjectChecks) {
  auto snap = references();
  snap.virtualServices[0].spec.http[0].timeout = sec(0);
  snap.services[0].spec.ports.emplace_back().port = 0;
  auto d = validate(snap, kMesh);
  EXPECT_TRUE(hasDiagnosticAt(d, Severity::Error, "spec.http[0].timeout")) << dump(d);
  EXPECT_TRUE(hasDiagnosticAt(d, Severity::Error, "spec.ports[0].port")) << dump(d);
}

}  // namespace
}  // namespace sluice::validate::testing
