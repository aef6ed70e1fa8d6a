#include <gtest/gtest.h>
#include <sluice/diagnostic.h>
#include <sluice/model/snapshot.h>

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
