// The value checks, against the cases of istio/istio pkg/config/validation/agent/validation_test.go
// (TestValidateFQDN, TestValidateWildcardDomain*, TestValidationIPSubnet, TestValidateDuration,
// TestValidatePort, TestValidateLocalities via the DR tests) and validation_test.go
// (TestValidateHTTPHeaderValue, TestValidateHTTPHeaderName, TestValidateHTTPStatus).
#include "checks.h"

#include <gtest/gtest.h>

namespace sluice::validate::detail {
namespace {

TEST(Checks, Fqdn) {
  EXPECT_TRUE(checkFqdn(std::string(256, 'x')));
  EXPECT_TRUE(checkFqdn(""));
  EXPECT_FALSE(checkFqdn("istio.io"));
  EXPECT_FALSE(checkFqdn("istio.io."));
  EXPECT_FALSE(checkFqdn("istio-pilot.istio-system.svc.cluster.local"));
  EXPECT_FALSE(checkFqdn("istio-pilot.istio-system.svc.cluster.local."));
  EXPECT_TRUE(checkFqdn("1.2.3.4"));  // all-numeric top level domain
  EXPECT_TRUE(checkFqdn("-foo.bar.com"));
  // Go's Atoi fails on a TLD beyond 64 bits, so Istio does not call it all-numeric.
  EXPECT_FALSE(checkFqdn("foo.99999999999999999999"));
  EXPECT_TRUE(checkFqdn("foo.+1"));
}

TEST(Checks, WildcardDomain) {
  EXPECT_EQ(checkWildcardDomain("").value_or(""), "empty domain name not allowed");
  EXPECT_NE(checkWildcardDomain(std::string(256, 'x')).value_or("").find("too long"), std::string::npos);
  EXPECT_FALSE(checkWildcardDomain(std::string(63, 'x')));
  EXPECT_TRUE(checkWildcardDomain(std::string(64, 'x')));
  for (const char* ok : {"*", "*.bar.com", "*foo", "*foo.bar.com", "*-foo.bar.com", "Foo.Bar"}) {
    EXPECT_FALSE(checkWildcardDomain(ok)) << ok;
  }
  for (const char* bad : {"foo.*.com", "foo*.bar.com", "1.1.1.1", "a..b", "default/baz"}) {
    EXPECT_NE(checkWildcardDomain(bad).value_or("").find("invalid"), std::string::npos) << bad;
  }
}

TEST(Checks, WildcardDomainForGateway) {
  EXPECT_FALSE(checkWildcardDomainForGateway(true, "outbound_.80_._.e2e.foobar.mesh"));
  EXPECT_FALSE(checkWildcardDomainForGateway(true, "outbound.com"));
  EXPECT_TRUE(checkWildcardDomainForGateway(true, "neverbound_.80_._.e2e.foobar.mesh"));
  EXPECT_TRUE(checkWildcardDomainForGateway(true, "outbound_.thisIsNotAPort_._.e2e.foobar.mesh"));
  EXPECT_TRUE(checkWildcardDomainForGateway(true, "outbound_.80_._"));
  EXPECT_TRUE(checkWildcardDomainForGateway(false, "outbound_.80_._.e2e.foobar.mesh"));
  EXPECT_FALSE(checkWildcardDomainForGateway(false, "*"));
}

TEST(Checks, IpAndSubnet) {
  EXPECT_FALSE(checkIpAddress("1.1.1.1"));
  EXPECT_TRUE(checkIpAddress("1.1.A.1"));
  EXPECT_FALSE(checkIpAddress("2001:1::1"));
  EXPECT_TRUE(checkIpAddress("2001:1:G::1"));
  EXPECT_FALSE(checkIpSubnet("1.1.1.1/24"));
  EXPECT_TRUE(checkIpSubnet("1.1.1.1/48"));
  EXPECT_FALSE(checkIpSubnet("2001:1::1/64"));
  EXPECT_TRUE(checkIpSubnet("2001:1::1/132"));
  EXPECT_FALSE(checkIpSubnet("10.0.0.1"));
  EXPECT_TRUE(checkIpSubnet("10.0.0.0/8/8"));
}

TEST(Checks, PortAndDuration) {
  EXPECT_TRUE(checkPort(0));
  EXPECT_TRUE(checkPort(65536));
  EXPECT_TRUE(checkPort(-1));
  EXPECT_FALSE(checkPort(1));
  EXPECT_FALSE(checkPort(65535));
  using namespace std::chrono;
  EXPECT_FALSE(checkDuration(seconds(1)));
  EXPECT_FALSE(checkDuration(milliseconds(1)));
  EXPECT_TRUE(checkDuration(seconds(1) - nanoseconds(1)));
  EXPECT_TRUE(checkDuration(-seconds(11)));
  EXPECT_TRUE(checkDuration(nanoseconds(1)));
  EXPECT_TRUE(checkDuration(seconds(1) + nanoseconds(1)));
  EXPECT_TRUE(checkDuration(seconds(0)));
}

TEST(Checks, HeaderValue) {
  for (const char* ok : {"foo", "%HOSTNAME%", "100%%", "prefix %HOSTNAME% suffix",
                         "%DOWNSTREAM_PEER_CERT_V_END(%b %d %H:%M:%S %Y %Z)%",
                         "%DYNAMIC_METADATA(com.test.my_filter)%", "%REQ([\"x-a\", \"x-b\"])%", ""}) {
    EXPECT_FALSE(checkHeaderValue(ok)) << ok;
  }
  for (const char* bad : {"%START_TIME%%", "abc%123", "%REQ([x])%",
                          "a\x01"
                          "b"}) {
    EXPECT_TRUE(checkHeaderValue(bad)) << bad;
  }
}

TEST(Checks, HeaderNames) {
  for (const char* ok : {"header1", "X-Requested-With", ":authority", "funky!$#_", "@request.auth.claims.sub",
                         "@request.auth.claims[a][b]"}) {
    EXPECT_FALSE(checkHeaderNameOrJwtClaim(ok)) << ok;
  }
  for (const char* bad : {"", "::", "illegal\"char", "@request.auth.claims", "@request.auth.claims[]"}) {
    EXPECT_TRUE(checkHeaderNameOrJwtClaim(bad)) << bad;
  }
  EXPECT_FALSE(checkHeaderWithAuthorityOperationName("Host"));
  EXPECT_FALSE(checkHeaderWithAuthorityOperationName(":authority"));
  EXPECT_TRUE(checkHeaderWithAuthorityOperationName(":path"));
  EXPECT_TRUE(checkHeaderOperationName("HOST"));
  EXPECT_TRUE(checkHeaderOperationName(":authority"));
  EXPECT_FALSE(checkHeaderOperationName("x-foo"));
}

TEST(Checks, StatusesAndRetryOn) {
  EXPECT_TRUE(checkHttpStatus(-100));
  EXPECT_TRUE(checkHttpStatus(0));
  EXPECT_FALSE(checkHttpStatus(200));
  EXPECT_FALSE(checkHttpStatus(600));
  EXPECT_TRUE(checkHttpStatus(601));
  EXPECT_FALSE(checkGrpcStatus("UNAVAILABLE"));
  EXPECT_TRUE(checkGrpcStatus("unavailable"));
  for (const char* ok :
       {"5xx", "gateway-error", "retriable-status-codes", "cancelled", "503", "418", "+503"}) {
    EXPECT_TRUE(isKnownRetryOn(ok)) << ok;
  }
  for (const char* bad : {"", " 5xx", "600", "306", "-503", "unknown", "99999999999999999999503"}) {
    EXPECT_FALSE(isKnownRetryOn(bad)) << bad;
  }
}

TEST(Checks, Labels) {
  EXPECT_TRUE(checkLabels({{"app", "reviews"}, {"app.kubernetes.io/name", "x"}, {"k", ""}}).empty());
  EXPECT_EQ(checkLabels({{"-app", "x"}}).size(), 1u);
  EXPECT_EQ(checkLabels({{"app", "-x"}}).size(), 1u);
  EXPECT_EQ(checkLabels({{std::string(64, 'a'), "x"}}).size(), 1u);
  EXPECT_EQ(checkLabels({{"bad_prefix/app", "x"}}).size(), 1u);
}

TEST(Checks, RegexFollowsGoSyntax) {
  for (const char* ok :
       {"^/service/([^/]+)(/.*)$", "(?i)abc", "(?P<n>x)", "(?<n>x)", "\\pL", "[[:word:]]", "\\\\C"}) {
    EXPECT_FALSE(checkRegex(ok, "uri")) << ok;
  }
  for (const char* bad : {"*", "?", "[", "(abc", "x**", "a{1001}", "\\C", "\\Z", "(?=x)", "\\1"}) {
    EXPECT_TRUE(checkRegex(bad, "uri")) << bad;
  }
  EXPECT_TRUE(checkRegex(std::string(1025, 'a'), "uri"));
  EXPECT_EQ(checkRegex("(", "uri").value_or("").rfind("\"uri\": error parsing regexp: ", 0), 0u);
}

TEST(Checks, HostMatching) {
  EXPECT_TRUE(hostMatches("*.foo.bar", "*.bar"));
  EXPECT_TRUE(hostMatches("a.foo.bar", "*.bar"));
  EXPECT_FALSE(hostMatches("a.foo", "b.foo"));
  EXPECT_TRUE(hostSubsetOf("a.foo.bar", "*.bar"));
  EXPECT_FALSE(hostSubsetOf("*.bar", "a.bar"));
  EXPECT_TRUE(hostSubsetOf("*.foo.bar", "*.bar"));
  EXPECT_FALSE(hostSubsetOf("*.bar", "*.foo.bar"));
}

TEST(Checks, ExportTo) {
  EXPECT_TRUE(checkExportTo("ns5", {}, false).empty());
  EXPECT_TRUE(checkExportTo("ns5", {"*"}, false).empty());
  EXPECT_TRUE(checkExportTo("ns5", {".", "ns1"}, false).empty());
  EXPECT_FALSE(checkExportTo("ns5", {"~", "ns1"}, false).empty());
  EXPECT_FALSE(checkExportTo("ns5", {".", "*"}, false).empty());
  EXPECT_FALSE(checkExportTo("ns5", {".", "ns5"}, false).empty());
  EXPECT_FALSE(checkExportTo("ns5", {"ns1", "ns2", "ns1"}, false).empty());
  EXPECT_FALSE(checkExportTo("ns5", {"ns1_"}, false).empty());
  EXPECT_FALSE(checkExportTo("ns5", {"*"}, true).empty());
  EXPECT_TRUE(checkExportTo("ns5", {"."}, true).empty());
  EXPECT_FALSE(checkExportTo("ns5", {"somens"}, true).empty());
  EXPECT_FALSE(checkExportTo("ns5", {".", "somens"}, true).empty());
}

TEST(Checks, PrimesAndQuote) {
  EXPECT_TRUE(isPrime(65537));
  EXPECT_TRUE(isPrime(2));
  EXPECT_FALSE(isPrime(1000));
  EXPECT_FALSE(isPrime(0));
  EXPECT_FALSE(isPrime(9));
  EXPECT_EQ(quote("a\"b\n"), "\"a\\\"b\\n\"");
}

}  // namespace
}  // namespace sluice::validate::detail
