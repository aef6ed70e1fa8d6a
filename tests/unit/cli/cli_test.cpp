// Runs the real sluicectl binary on fixture files and checks its output and exit code.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <array>
#include <cstdio>
#include <string>

namespace {

struct CliRun {
  std::string out;
  int exitCode = -1;
};

const std::string kFixtures = std::string(SLUICE_SOURCE_DIR) + "/tests/unit/cli/fixtures/";

CliRun sluicectl(const std::string& args) {
  CliRun run;
  const std::string cmd = std::string(SLUICECTL) + " " + args + " 2>/dev/null";
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) {
    ADD_FAILURE() << "popen failed: " << cmd;
    return run;
  }
  std::array<char, 4096> buf{};
  size_t n = 0;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) {
    run.out.append(buf.data(), n);
  }
  const int status = pclose(pipe);
  run.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

TEST(SluicectlValidate, ValidConfigExitsZero) {
  CliRun r = sluicectl("validate " + kFixtures + "valid.yaml");
  EXPECT_EQ(r.exitCode, 0) << r.out;
  EXPECT_EQ(r.out, "0 errors, 0 warnings\n");
}

TEST(SluicectlValidate, PrintsCompilerStyleErrorsAndExitsOne) {
  CliRun r = sluicectl("validate " + kFixtures + "errors.yaml");
  EXPECT_EQ(r.exitCode, 1);
  const std::string f = kFixtures + "errors.yaml";
  EXPECT_EQ(r.out,
            f + ":8: error: VirtualService bookinfo/ratings: spec.http[0].timout: unknown field "
                "\"spec.http[0].timout\"\n" +
                f +
                ":18: error: VirtualService bookinfo/details: spec.http[0].retries.attempts: "
                "Invalid value: \"string\": spec.http[0].retries.attempts in body must be of type "
                "integer: \"string\"\n" +
                f +
                ":26: error: DestinationRule bookinfo/details: "
                "spec.trafficPolicy.loadBalancer.simple: Unsupported value: \"FASTEST\": "
                "supported values: \"UNSPECIFIED\", \"LEAST_CONN\", \"RANDOM\", \"PASSTHROUGH\", "
                "\"ROUND_ROBIN\", \"LEAST_REQUEST\"\n"
                "3 errors, 0 warnings\n");
}

TEST(SluicectlValidate, RunsIstioValidationAfterParsing) {
  CliRun r = sluicectl("validate --output json " + kFixtures + "semantic.yaml");
  EXPECT_EQ(r.exitCode, 1);
  auto list = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_TRUE(list.is_array()) << r.out;
  ASSERT_EQ(list.size(), 1u) << r.out;
  EXPECT_EQ(list[0]["field"], "spec.http[0].timeout");
  EXPECT_EQ(list[0]["line"], 8);
  EXPECT_EQ(list[0]["severity"], "error");
}

TEST(SluicectlValidate, JsonOutputHasTheDocumentedKeys) {
  CliRun r = sluicectl("validate --output json " + kFixtures + "errors.yaml " + kFixtures +
                    "ignored.yaml");
  EXPECT_EQ(r.exitCode, 1);
  auto list = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_TRUE(list.is_array()) << r.out;
  ASSERT_EQ(list.size(), 4u);
  const auto& first = list[0];
  EXPECT_EQ(first["file"], kFixtures + "errors.yaml");
  EXPECT_EQ(first["line"], 8);
  EXPECT_EQ(first["kind"], "VirtualService");
  EXPECT_EQ(first["namespace"], "bookinfo");
  EXPECT_EQ(first["name"], "ratings");
  EXPECT_EQ(first["field"], "spec.http[0].timout");
  EXPECT_EQ(first["severity"], "error");
  EXPECT_EQ(first["message"], "unknown field \"spec.http[0].timout\"");
  EXPECT_EQ(first.size(), 8u);
  EXPECT_EQ(list[3]["severity"], "warning");
  EXPECT_EQ(list[3]["kind"], "Deployment");
}

TEST(SluicectlValidate, WarningsAloneExitZero) {
  CliRun r = sluicectl("validate " + kFixtures + "ignored.yaml");
  EXPECT_EQ(r.exitCode, 0);
  EXPECT_NE(r.out.find(":1: warning: Deployment bookinfo/reviews-v1: ignored"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("0 errors, 1 warning\n"), std::string::npos) << r.out;
}

TEST(SluicectlValidate, MalformedYamlHasAPosition) {
  CliRun r = sluicectl("validate " + kFixtures + "malformed.yaml");
  EXPECT_EQ(r.exitCode, 1);
  EXPECT_EQ(r.out.rfind(kFixtures + "malformed.yaml:5: error: malformed YAML: ", 0), 0u) << r.out;
}

TEST(SluicectlValidate, ReadsDirectories) {
  CliRun r = sluicectl("validate " + kFixtures);
  EXPECT_EQ(r.exitCode, 1);
  EXPECT_NE(r.out.find("5 errors, 2 warnings\n"), std::string::npos) << r.out;
}

TEST(SluicectlValidate, MissingFileIsAnError) {
  CliRun r = sluicectl("validate " + kFixtures + "does-not-exist.yaml");
  EXPECT_EQ(r.exitCode, 1);
  EXPECT_NE(r.out.find("does-not-exist.yaml: error: cannot read"), std::string::npos) << r.out;
}

TEST(SluicectlValidate, UsageErrorsExitTwo) {
  EXPECT_EQ(sluicectl("validate").exitCode, 2);
  EXPECT_EQ(sluicectl("validate --output xml " + kFixtures + "valid.yaml").exitCode, 2);
  EXPECT_EQ(sluicectl("").exitCode, 2);
  EXPECT_EQ(sluicectl("frobnicate").exitCode, 2);
  EXPECT_EQ(sluicectl("--help").exitCode, 0);
}

TEST(SluicectlNormalize, PrintsTheNormalizedSnapshotAsJson) {
  CliRun r = sluicectl("normalize " + kFixtures + "valid.yaml");
  ASSERT_EQ(r.exitCode, 0) << r.out;
  auto list = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_TRUE(list.is_object()) << r.out;
  EXPECT_EQ(list["kind"], "List");
  ASSERT_EQ(list["items"].size(), 3u);
  const auto& vs = list["items"][1];
  EXPECT_EQ(vs["kind"], "VirtualService");
  EXPECT_EQ(vs["spec"]["hosts"][0], "reviews.bookinfo.svc.cluster.local");
  EXPECT_EQ(vs["spec"]["http"][1]["timeout"], "2s");
  EXPECT_EQ(vs["spec"]["http"][1]["retries"]["perTryTimeout"], "0.500s");
}

TEST(SluicectlNormalize, OutputReadsBackWithoutDiagnostics) {
  CliRun r = sluicectl("normalize " + kFixtures + "valid.yaml");
  ASSERT_EQ(r.exitCode, 0);
  char tmpl[] = "/tmp/sluicectl-normalized-XXXXXX.json";
  const int fd = mkstemps(tmpl, 5);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, r.out.data(), r.out.size()), static_cast<ssize_t>(r.out.size()));
  close(fd);
  CliRun again = sluicectl(std::string("validate ") + tmpl);
  unlink(tmpl);
  EXPECT_EQ(again.exitCode, 0) << again.out;
  EXPECT_EQ(again.out, "0 errors, 0 warnings\n");
}

TEST(SluicectlNormalize, RefusesInvalidConfig) {
  CliRun r = sluicectl("normalize " + kFixtures + "errors.yaml");
  EXPECT_EQ(r.exitCode, 1);
  EXPECT_EQ(r.out, "");  // diagnostics go to stderr
}

}  // namespace

namespace {

TEST(SluicectlValidate, DataplaneFlagWarnsAboutAcceptedButUnenforcedFields) {
  const std::string f = kFixtures + "unenforced.yaml";
  CliRun plain = sluicectl("validate " + f);
  EXPECT_EQ(plain.exitCode, 0);
  EXPECT_EQ(plain.out, "0 errors, 0 warnings\n") << "Istio accepts TLS routes without a warning";
  CliRun r = sluicectl("validate --dataplane " + f);
  EXPECT_EQ(r.exitCode, 0) << r.out;
  EXPECT_EQ(r.out, f + ":6: warning: VirtualService bookinfo/ratings: spec.tls: not enforced "
                       "by this version of Sluice: TLS (SNI) routes\n0 errors, 1 warning\n");
}

}  // namespace

// explain runs on the demo's config (deploy/demo), the one users see first.
const std::string kDemo = std::string(SLUICE_SOURCE_DIR) + "/deploy/demo";

CliRun explain(const std::string& args) {
  return sluicectl("explain -c " + kDemo + " demo/productpage " + args);
}

TEST(SluicectlExplain, KernelRouteShowsTheWeightedSubsetsAndTheirBackends) {
  CliRun r = explain("reviews:9080");
  EXPECT_EQ(r.exitCode, 0) << r.out;
  EXPECT_NE(r.out.find("10.96.0.10:9080/tcp  reviews.demo.svc.cluster.local"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("decided in the kernel at connect()"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(" 75.0%  outbound|9080|v1|reviews.demo.svc.cluster.local  lb round_robin, "
                       "at most 100 connections a backend\n"
                       "        10.77.0.11:9080  demo/reviews-v1-a\n"
                       "        10.77.0.12:9080  demo/reviews-v1-b\n"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find(" 25.0%  outbound|9080|v2|reviews.demo.svc.cluster.local  lb least_request"),
            std::string::npos)
      << r.out;
}

TEST(SluicectlExplain, HostsResolveAsPodDnsDoes) {
  for (const char* host : {"reviews", "reviews.demo", "reviews.demo.svc",
                           "reviews.demo.svc.cluster.local", "10.96.0.10"}) {
    CliRun r = explain(std::string(host) + ":9080");
    EXPECT_NE(r.out.find("10.96.0.10:9080/tcp"), std::string::npos) << host << "\n" << r.out;
  }
  CliRun other = explain("reviews:1234");
  EXPECT_EQ(other.exitCode, 0);
  EXPECT_NE(other.out.find("no Service frontend"), std::string::npos) << other.out;
}

TEST(SluicectlExplain, L7PortListsTheRoutesInOrderWithoutARequest) {
  CliRun r = explain("catalog:8080");
  EXPECT_EQ(r.exitCode, 0) << r.out;
  EXPECT_NE(r.out.find("handed to sluice-proxy at connect()"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("    \"jason-sees-v2\" (http[0])\n    \"api-v1\" (http[1])\n"
                       "    \"legacy-paths\" (http[2])\n    \"moved\" (http[3])\n"),
            std::string::npos)
      << r.out;
}

TEST(SluicectlExplain, RequestTakesTheFirstMatchingRoute) {
  CliRun split = explain("catalog:8080 'GET /api/v1/items'");
  EXPECT_NE(split.out.find("matches route \"api-v1\" (http[1])"), std::string::npos) << split.out;
  EXPECT_NE(split.out.find(" 90.0%  outbound|8080|v1|catalog.demo.svc.cluster.local"),
            std::string::npos)
      << split.out;
  EXPECT_NE(split.out.find(" 10.0%  outbound|8080||catalog-canary.demo.svc.cluster.local"),
            std::string::npos)
      << split.out;
  EXPECT_NE(split.out.find("timeout 10000 ms, retries 3 (2000 ms per try)"), std::string::npos)
      << split.out;

  // The header route comes first, so it wins whatever the path.
  CliRun jason = explain("catalog:8080 /api/v1/items -H 'End-User: jason'");
  EXPECT_NE(jason.out.find("matches route \"jason-sees-v2\" (http[0])"), std::string::npos)
      << jason.out;
  EXPECT_NE(jason.out.find("10.77.0.32:8080  demo/catalog-v2"), std::string::npos) << jason.out;

  CliRun rewrite = explain("catalog:8080 /legacy/items");
  EXPECT_NE(rewrite.out.find("path rewritten to /api/v1/items"), std::string::npos) << rewrite.out;

  CliRun redirect = explain("catalog:8080 /catalog");
  EXPECT_NE(redirect.out.find("redirect 301 to http://catalog:8080/api/v1/items"),
            std::string::npos)
      << redirect.out;

  CliRun none = explain("catalog:8080 /other");
  EXPECT_NE(none.out.find("no route matches: 404"), std::string::npos) << none.out;
}

TEST(SluicectlExplain, UnknownPodAndBadTargetAreErrors) {
  EXPECT_EQ(sluicectl("explain -c " + kDemo + " demo/nobody reviews:9080").exitCode, 1);
  EXPECT_EQ(explain("reviews").exitCode, 2);
  EXPECT_EQ(explain("reviews:99999").exitCode, 2);
  EXPECT_EQ(explain("catalog:8080 /x -H no-colon").exitCode, 2);
}
