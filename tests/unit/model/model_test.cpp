#include <gtest/gtest.h>
#include <sluice/diagnostic.h>
#include <sluice/model/snapshot.h>
#include <sluice/net/address.h>

namespace sluice::model {
namespace {

TEST(SourceInfo, LineOfFallsBackToNearestAncestor) {
  SourceInfo s;
  s.line = 3;
  s.fieldLines = {{"spec", 5}, {"spec.http", 6}, {"spec.http[0]", 7}, {"spec.http[0].timeout", 9}};
  EXPECT_EQ(s.lineOf("spec.http[0].timeout"), 9);
  EXPECT_EQ(s.lineOf("spec.http[0].retries.attempts"), 7);
  EXPECT_EQ(s.lineOf("spec.tcp[1]"), 5);
  EXPECT_EQ(s.lineOf("metadata.name"), 3);
}

TEST(EndpointSlice, ServiceNameComesFromLabel) {
  EndpointSlice es;
  EXPECT_EQ(es.serviceName(), "");
  es.meta.labels["kubernetes.io/service-name"] = "reviews";
  EXPECT_EQ(es.serviceName(), "reviews");
}

TEST(Diagnostic, FormatsLikeACompiler) {
  Diagnostic d{Severity::Error, "vs.yaml", 12, "VirtualService", "default", "reviews",
               "spec.http[0].timeout", "duration must be at least 1ms"};
  EXPECT_EQ(formatDiagnostic(d),
            "vs.yaml:12: error: VirtualService default/reviews: spec.http[0].timeout: duration must "
            "be at least 1ms");
  Diagnostics list;
  list.add(d);
  d.severity = Severity::Warning;
  list.add(d);
  EXPECT_EQ(list.errorCount(), 1u);
  EXPECT_EQ(list.warningCount(), 1u);
  EXPECT_TRUE(list.hasErrors());
}

}  // namespace
}  // namespace sluice::model

namespace sluice::net {
namespace {

TEST(IpAddress, ParsesAndFormatsBothFamilies) {
  auto v4 = IpAddress::parse("10.96.0.10");
  ASSERT_TRUE(v4);
  EXPECT_TRUE(v4->isV4());
  EXPECT_EQ(v4->toString(), "10.96.0.10");
  auto v6 = IpAddress::parse("fd00::a");
  ASSERT_TRUE(v6);
  EXPECT_FALSE(v6->isV4());
  EXPECT_EQ(v6->toString(), "fd00::a");
  EXPECT_FALSE(IpAddress::parse("10.0.0"));
  EXPECT_FALSE(IpAddress::parse(""));
}

TEST(Cidr, ContainsRespectsPrefixAndFamily) {
  auto c = Cidr::parse("10.96.0.0/12");
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->contains(*IpAddress::parse("10.100.1.1")));
  EXPECT_FALSE(c->contains(*IpAddress::parse("10.112.0.1")));
  EXPECT_FALSE(c->contains(*IpAddress::parse("fd00::1")));
  EXPECT_TRUE(Cidr::parse("fd00::/64")->contains(*IpAddress::parse("fd00::5")));
  EXPECT_TRUE(Cidr::parse("1.2.3.4")->contains(*IpAddress::parse("1.2.3.4")));
  EXPECT_FALSE(Cidr::parse("1.2.3.4/33"));
  EXPECT_FALSE(Cidr::parse("1.2.3.4/"));
}

}  // namespace
}  // namespace sluice::net
