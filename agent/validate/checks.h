#pragma once
// Value checks shared by the VirtualService, DestinationRule and snapshot validators. Each mirrors one
// helper of istio/istio pkg/config/validation (named in its comment) so verdicts and messages agree;
// a check returns the error message, or nothing when the value is fine.
#include <sluice/diagnostic.h>
#include <sluice/model/common.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::validate::detail {

using Problem = std::optional<std::string>;

// Collects the diagnostics of one object, positioned through its SourceInfo.
class Reporter {
 public:
  Reporter(Diagnostics& out, std::string kind, const model::ObjectMeta& meta, const model::SourceInfo& source)
      : out_(out), kind_(std::move(kind)), meta_(meta), source_(source) {}

  void error(const std::string& path, std::string message);
  void warning(const std::string& path, std::string message);
  void add(Severity severity, const std::string& path, std::string message);
  // Reports `problem` as an error when there is one.
  void check(const std::string& path, const Problem& problem);

 private:
  Diagnostics& out_;
  std::string kind_;
  const model::ObjectMeta& meta_;
  const model::SourceInfo& source_;
};

// validateMetadata: annotations the webhook rejects outright. False when the rest of the object
// must not be checked (Istio returns that error alone).
bool checkMetadata(Reporter& r, const model::ObjectMeta& meta);
// Reports checkLabels / checkExportTo problems under `path`.
void reportLabels(Reporter& r, const std::string& path, const model::Labels& labels);
void reportExportTo(Reporter& r, const std::string& path, std::string_view ns,
                    const std::vector<std::string>& exportTo, bool destinationRuleWithSelector);
// The namespace namespace-relative rules use: an object written without one lands in "default".
std::string namespaceOrDefault(const model::ObjectMeta& meta);

// Go's %q for the ASCII cases config contains: quotes, escapes backslash, quote and controls.
std::string quote(std::string_view s);
// "a.b" + "c" → "a.b.c"; "a" + 3 → "a[3]".
std::string field(const std::string& parent, std::string_view child);
std::string index(const std::string& parent, size_t i);

// labels.IsDNS1123Label (Istio's variant accepts upper case) and IsWildcardDNS1123Label.
bool isDns1123Label(std::string_view s);
bool isWildcardDns1123Label(std::string_view s);
// net.ParseIP / netip.ParseAddr.
bool isIpAddress(std::string_view s);

Problem checkFqdn(std::string_view fqdn);              // agent.ValidateFQDN
Problem checkWildcardDomain(std::string_view domain);  // agent.ValidateWildcardDomain
// agent.ValidateWildcardDomainForVirtualServiceBoundToGateway (auto-generated outbound_ SNI names).
Problem checkWildcardDomainForGateway(bool sni, std::string_view domain);
Problem checkIpSubnet(std::string_view subnet);    // agent.ValidateIPSubnet
Problem checkIpAddress(std::string_view addr);     // agent.ValidateIPAddress
Problem checkPort(int64_t port);                   // agent.ValidatePort
Problem checkDuration(model::Duration d);          // agent.ValidateDuration
Problem checkPercentage(double value);             // validatePercentage (Percent message)
Problem checkIntPercent(int64_t value);            // ValidatePercent
Problem checkHttpStatus(int64_t status);           // validateHTTPStatus
Problem checkGrpcStatus(std::string_view status);  // validateGRPCStatus
Problem checkSubsetName(std::string_view name);    // validateSubsetName
// A problem with one entry of a map (its key) or a list (its index; none for the list as a whole).
struct KeyedProblem {
  std::string key;
  std::string message;
};
struct IndexedProblem {
  std::optional<size_t> index;
  std::string message;
};

// labels.Instance.Validate: one message per bad key or value.
std::vector<KeyedProblem> checkLabels(const model::Labels& labels);
// validateStringRegexp: length ≤ 1024 and compiles (RE2, the engine Envoy uses).
Problem checkRegex(std::string_view re, std::string_view where);
// validateStringMatch (prefix must not be empty) and validateStringMatchRegexp (uri allows "").
Problem checkStringMatch(const model::StringMatch& m, std::string_view where);
Problem checkStringMatchRegex(const model::StringMatch& m, std::string_view where);

// Header names and values (validation.go).
Problem checkHeaderNameOrJwtClaim(std::string_view name);  // ValidateHTTPHeaderNameOrJwtClaimRoute
Problem checkHeaderWithAuthorityOperationName(std::string_view name);
Problem checkHeaderOperationName(std::string_view name);
Problem checkCorsHeaderName(std::string_view name);
Problem checkHeaderValue(std::string_view value);   // ValidateHTTPHeaderValue
bool isJwtClaimRoute(std::string_view headerName);  // jwt.ToRoutingClaim(..).Match
bool isAuthorityHeader(std::string_view name);

bool isKnownRetryOn(std::string_view policy);  // supportedRetryOnPolicies or a Go-known HTTP status
bool isCorsMethod(std::string_view method);

// host.Name.Matches / SubsetOf.
bool hostMatches(std::string_view a, std::string_view b);
bool hostSubsetOf(std::string_view a, std::string_view b);

// validateExportTo (not a ServiceEntry).
std::vector<IndexedProblem> checkExportTo(std::string_view ns, const std::vector<std::string>& exportTo,
                                          bool destinationRuleWithSelector);

// Envoy's isPrime, as Istio copies it for maglev table sizes.
bool isPrime(uint64_t x);

}  // namespace sluice::validate::detail
