// How the parser reports bad input: one table row per error class, each checking file:line, object,
// field path and message, and that the bad object (only it) is left out of the snapshot.
#include <gtest/gtest.h>
#include <sluice/parse/parser.h>

namespace sluice::parse {
namespace {

std::string dump(const Diagnostics& diags) {
  std::string out;
  for (const auto& d : diags.items()) {
    out += formatDiagnostic(d) + "\n";
  }
  return out;
}

const std::string kVsHead =
    "apiVersion: networking.istio.io/v1\n"
    "kind: VirtualService\n"
    "metadata: {name: r, namespace: ns}\n"
    "spec:\n";  // spec bodies start on line 5
const std::string kDrHead =
    "apiVersion: networking.istio.io/v1\n"
    "kind: DestinationRule\n"
    "metadata: {name: d, namespace: ns}\n"
    "spec:\n";

struct ErrorCase {
  const char* name;
  std::string yaml;
  int line;
  const char* field;
  const char* message;  // exact
};

void PrintTo(const ErrorCase& c, std::ostream* os) {
  *os << c.name;
}

class ParseErrors : public testing::TestWithParam<ErrorCase> {};

TEST_P(ParseErrors, ReportsPositionFieldAndMessage) {
  const ErrorCase& c = GetParam();
  auto out = parseYaml(c.yaml, "bad.yaml");
  EXPECT_EQ(out.snapshot.objectCount(), 0u);
  ASSERT_EQ(out.diagnostics.errorCount(), 1u) << dump(out.diagnostics);
  const Diagnostic& d = out.diagnostics.items()[0];
  EXPECT_EQ(d.file, "bad.yaml");
  EXPECT_EQ(d.line, c.line) << formatDiagnostic(d);
  EXPECT_EQ(d.field, c.field) << formatDiagnostic(d);
  EXPECT_EQ(d.message, c.message) << formatDiagnostic(d);
}

INSTANTIATE_TEST_SUITE_P(
    Table, ParseErrors,
    testing::Values(
        ErrorCase{"UnknownField", kVsHead + "  hosts: [a]\n  http:\n  - foo: 1\n    route: []\n", 7,
                  "spec.http[0].foo", "unknown field \"spec.http[0].foo\""},
        ErrorCase{"UnknownTopLevelField", kVsHead + "  hosts: [a]\nextra: 1\n", 6, "extra",
                  "unknown field \"extra\""},
        ErrorCase{"UnknownMetadataField",
                  "apiVersion: v1\nkind: Service\nmetadata:\n  name: s\n  nmespace: x\n", 5,
                  "metadata.nmespace", "unknown field \"metadata.nmespace\""},
        ErrorCase{"DuplicateField", kVsHead + "  hosts: [a]\n  hosts: [b]\n", 6, "spec.hosts",
                  "duplicate field \"spec.hosts\""},
        ErrorCase{"StringForInteger",
                  kVsHead + "  http:\n  - retries:\n      attempts: three\n", 7,
                  "spec.http[0].retries.attempts",
                  "Invalid value: \"string\": spec.http[0].retries.attempts in body must be of "
                  "type integer: \"string\""},
        ErrorCase{"QuotedNumberIsAString", kVsHead + "  http:\n  - retries: {attempts: \"3\"}\n", 6,
                  "spec.http[0].retries.attempts",
                  "Invalid value: \"string\": spec.http[0].retries.attempts in body must be of "
                  "type integer: \"string\""},
        ErrorCase{"FloatForInteger", kVsHead + "  http:\n  - retries: {attempts: 1.5}\n", 6,
                  "spec.http[0].retries.attempts",
                  "Invalid value: \"number\": spec.http[0].retries.attempts in body must be of "
                  "type integer: \"number\""},
        ErrorCase{"NumberForString", kVsHead + "  hosts: [123]\n", 5, "spec.hosts[0]",
                  "Invalid value: \"integer\": spec.hosts[0] in body must be of type string: "
                  "\"integer\""},
        ErrorCase{"ScalarForArray", kVsHead + "  hosts: reviews\n", 5, "spec.hosts",
                  "Invalid value: \"string\": spec.hosts in body must be of type array: "
                  "\"string\""},
        ErrorCase{"ArrayForObject", kVsHead + "  http:\n  - retries: [1]\n", 6,
                  "spec.http[0].retries",
                  "Invalid value: \"array\": spec.http[0].retries in body must be of type object: "
                  "\"array\""},
        ErrorCase{"StringForBoolean", kVsHead + "  http:\n  - match: [{ignoreUriCase: yes}]\n", 6,
                  "spec.http[0].match[0].ignoreUriCase",
                  "Invalid value: \"string\": spec.http[0].match[0].ignoreUriCase in body must be "
                  "of type boolean: \"string\""},
        ErrorCase{"StringForNumber",
                  kVsHead + "  http:\n  - mirrorPercentage: {value: half}\n", 6,
                  "spec.http[0].mirrorPercentage.value",
                  "Invalid value: \"string\": spec.http[0].mirrorPercentage.value in body must be "
                  "of type number: \"string\""},
        ErrorCase{"UnknownEnumValue",
                  kDrHead + "  host: h\n  trafficPolicy:\n    loadBalancer: {simple: FOO}\n", 7,
                  "spec.trafficPolicy.loadBalancer.simple",
                  "Unsupported value: \"FOO\": supported values: \"UNSPECIFIED\", \"LEAST_CONN\", "
                  "\"RANDOM\", \"PASSTHROUGH\", \"ROUND_ROBIN\", \"LEAST_REQUEST\""},
        ErrorCase{"IntegerEnumValue", kDrHead + "  host: h\n  trafficPolicy: {tls: {mode: 2}}\n", 6,
                  "spec.trafficPolicy.tls.mode",
                  "Invalid value: \"integer\": spec.trafficPolicy.tls.mode in body must be of type "
                  "string: \"integer\""},
        ErrorCase{"Int32Overflow",
                  kVsHead + "  http:\n  - route:\n    - weight: 2147483648\n"
                            "      destination: {host: a}\n",
                  7,
                  "spec.http[0].route[0].weight",
                  "Invalid value: 2147483648: spec.http[0].route[0].weight in body should be less "
                  "than or equal to 2147483647"},
        ErrorCase{"NegativeUint32", kVsHead + "  http:\n  - match: [{port: -1}]\n", 6,
                  "spec.http[0].match[0].port",
                  "Invalid value: -1: spec.http[0].match[0].port in body should be greater than or "
                  "equal to 0"},
        ErrorCase{"Uint32Overflow",
                  kVsHead + "  http:\n  - directResponse: {status: 4294967296}\n", 6,
                  "spec.http[0].directResponse.status",
                  "Invalid value: 4294967296: spec.http[0].directResponse.status in body should "
                  "be less than or equal to 4294967295"},
        ErrorCase{"CrdMaximum",
                  kDrHead + "  host: h\n  trafficPolicy: {retryBudget: {percent: 101}}\n", 6,
                  "spec.trafficPolicy.retryBudget.percent",
                  "Invalid value: 101: spec.trafficPolicy.retryBudget.percent in body should be "
                  "less than or equal to 100"},
        ErrorCase{"CrdMinimum",
                  kDrHead + "  host: h\n  trafficPolicy:\n    outlierDetection:\n"
                            "      outlierDetectionHttpErrorCodes: [99]\n",
                  8, "spec.trafficPolicy.outlierDetection.outlierDetectionHttpErrorCodes[0]",
                  "Invalid value: 99: "
                  "spec.trafficPolicy.outlierDetection.outlierDetectionHttpErrorCodes[0] in body "
                  "should be greater than or equal to 100"},
        ErrorCase{"BadDuration", kVsHead + "  http:\n  - timeout: 10 seconds\n", 6,
                  "spec.http[0].timeout",
                  "Invalid value: \"10 seconds\": spec.http[0].timeout in body must be a valid "
                  "duration: time: invalid duration \"10 seconds\""},
        ErrorCase{"DurationWithoutUnit", kVsHead + "  http:\n  - retries: {perTryTimeout: \"5\"}\n",
                  6, "spec.http[0].retries.perTryTimeout",
                  "Invalid value: \"5\": spec.http[0].retries.perTryTimeout in body must be a "
                  "valid duration: time: invalid duration \"5\""},
        ErrorCase{"IntegerDuration", kVsHead + "  http:\n  - timeout: 5\n", 6,
                  "spec.http[0].timeout",
                  "Invalid value: \"integer\": spec.http[0].timeout in body must be of type "
                  "string: \"integer\""},
        ErrorCase{"BadBase64",
                  kVsHead + "  http:\n  - directResponse: {status: 200, body: {bytes: \"a!\"}}\n",
                  6, "spec.http[0].directResponse.body.bytes",
                  "Invalid value: \"a!\": spec.http[0].directResponse.body.bytes in body must be "
                  "of type byte: \"a!\""},
        ErrorCase{"OneOfLoadBalancer",
                  kDrHead + "  host: h\n  trafficPolicy:\n    loadBalancer:\n"
                            "      simple: ROUND_ROBIN\n      consistentHash: {useSourceIp: true}\n",
                  9, "spec.trafficPolicy.loadBalancer",
                  "Invalid value: \"object\": spec.trafficPolicy.loadBalancer in body must "
                  "validate one and only one schema (oneOf): \"simple\", \"consistentHash\" are "
                  "mutually exclusive"},
        ErrorCase{"OneOfHashKey",
                  kDrHead + "  host: h\n  trafficPolicy:\n    loadBalancer:\n      consistentHash:\n"
                            "        httpHeaderName: x\n        useSourceIp: true\n",
                  10, "spec.trafficPolicy.loadBalancer.consistentHash",
                  "Invalid value: \"object\": spec.trafficPolicy.loadBalancer.consistentHash in "
                  "body must validate one and only one schema (oneOf): \"httpHeaderName\", "
                  "\"useSourceIp\" are mutually exclusive"},
        ErrorCase{"OneOfHashAlgorithm",
                  kDrHead + "  host: h\n  trafficPolicy:\n    loadBalancer:\n      consistentHash:\n"
                            "        ringHash: {}\n        maglev: {tableSize: 7}\n",
                  10, "spec.trafficPolicy.loadBalancer.consistentHash",
                  "Invalid value: \"object\": spec.trafficPolicy.loadBalancer.consistentHash in "
                  "body must validate one and only one schema (oneOf): \"ringHash\", \"maglev\" "
                  "are mutually exclusive"},
        ErrorCase{"OneOfStringMatch",
                  kVsHead + "  http:\n  - match:\n    - uri: {exact: /a, prefix: /b}\n", 7,
                  "spec.http[0].match[0].uri",
                  "Invalid value: \"object\": spec.http[0].match[0].uri in body must validate one "
                  "and only one schema (oneOf): \"exact\", \"prefix\" are mutually exclusive"},
        ErrorCase{"OneOfRedirectPort",
                  kVsHead + "  http:\n  - redirect:\n      port: 8080\n"
                            "      derivePort: FROM_REQUEST_PORT\n",
                  8, "spec.http[0].redirect",
                  "Invalid value: \"object\": spec.http[0].redirect in body must validate one and "
                  "only one schema (oneOf): \"port\", \"derivePort\" are mutually exclusive"},
        ErrorCase{"OneOfAbort",
                  kVsHead + "  http:\n  - fault:\n      abort: {httpStatus: 503, grpcStatus: "
                            "UNAVAILABLE}\n",
                  7, "spec.http[0].fault.abort",
                  "Invalid value: \"object\": spec.http[0].fault.abort in body must validate one "
                  "and only one schema (oneOf): \"httpStatus\", \"grpcStatus\" are mutually "
                  "exclusive"},
        ErrorCase{"RequiredDestinationHost",
                  kVsHead + "  http:\n  - route:\n    - destination: {subset: v1}\n", 7,
                  "spec.http[0].route[0].destination.host", "Required value"},
        ErrorCase{"RequiredDrHost", kDrHead + "  exportTo: [\".\"]\n", 4, "spec.host",
                  "Required value"},
        ErrorCase{"RequiredSubsetName", kDrHead + "  host: h\n  subsets:\n  - labels: {a: b}\n", 7,
                  "spec.subsets[0].name", "Required value"},
        ErrorCase{"RequiredTunnelPort",
                  kDrHead + "  host: h\n  trafficPolicy:\n    tunnel: {targetHost: p}\n", 7,
                  "spec.trafficPolicy.tunnel.targetPort", "Required value"},
        ErrorCase{"MissingApiVersion", "kind: Service\nmetadata: {name: s}\n", 1, "apiVersion",
                  "apiVersion not set"},
        ErrorCase{"MissingKind", "apiVersion: v1\nmetadata: {name: s}\n", 1, "kind",
                  "kind not set"},
        ErrorCase{"UnsupportedIstioVersion",
                  "apiVersion: networking.istio.io/v2\nkind: VirtualService\nmetadata: {name: "
                  "r}\n",
                  1, "apiVersion",
                  "no matches for kind \"VirtualService\" in version \"networking.istio.io/v2\""},
        ErrorCase{"UnsupportedEndpointSliceVersion",
                  "kind: EndpointSlice\napiVersion: discovery.k8s.io/v1beta1\n", 2, "apiVersion",
                  "no matches for kind \"EndpointSlice\" in version \"discovery.k8s.io/v1beta1\""},
        ErrorCase{"MissingName", "apiVersion: v1\nkind: Service\nmetadata: {namespace: x}\n", 1,
                  "metadata.name", "Required value: name or generateName is required"},
        ErrorCase{"ServiceProtocol",
                  "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n  ports:\n"
                  "  - {port: 80, protocol: tcp}\n",
                  6, "spec.ports[0].protocol",
                  "Unsupported value: \"tcp\": supported values: \"TCP\", \"UDP\", \"SCTP\""},
        ErrorCase{"NumericPortName",
                  "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n  ports:\n"
                  "  - {port: 80, targetPort: \"8080\"}\n",
                  6, "spec.ports[0].targetPort",
                  "Invalid value: \"8080\": must contain at least one letter (a-z)"},
        ErrorCase{"EndpointSliceAddressType",
                  "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: e}\n"
                  "addressType: IPv5\n",
                  4, "addressType",
                  "Unsupported value: \"IPv5\": supported values: \"IPv4\", \"IPv6\", \"FQDN\""},
        ErrorCase{"PodPhase",
                  "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nstatus: {phase: Runing}\n", 4,
                  "status.phase",
                  "Unsupported value: \"Runing\": supported values: \"Pending\", \"Running\", "
                  "\"Succeeded\", \"Failed\", \"Unknown\""},
        ErrorCase{"NotAnObject", "- a\n- b\n", 1, "",
                  "Object 'Kind' is missing: the document is of type array, not an object"},
        ErrorCase{"MalformedYaml", "apiVersion: v1\nkind: Service\nmetadata:\n  name: [a\n", 5, "",
                  "malformed YAML: end of sequence flow not found (column 1)"},
        ErrorCase{"TabIndentation", "apiVersion: v1\nkind: Service\nmetadata:\n\tname: a\n", 4, "",
                  "malformed YAML: illegal map value (column 6)"}),
    [](const testing::TestParamInfo<ErrorCase>& info) { return std::string(info.param.name); });

TEST(ParseErrorsInContext, DiagnosticCarriesKindNamespaceAndName) {
  auto out = parseYaml(kVsHead + "  hosts: [a]\n  bogus: 1\n", "vs.yaml");
  ASSERT_EQ(out.diagnostics.items().size(), 1u);
  EXPECT_EQ(formatDiagnostic(out.diagnostics.items()[0]),
            "vs.yaml:6: error: VirtualService ns/r: spec.bogus: unknown field \"spec.bogus\"");
}

TEST(ParseErrorsInContext, OnlyTheBadObjectIsDropped) {
  auto out = parseYaml(R"y(apiVersion: v1
kind: Service
metadata: {name: good1}
---
apiVersion: v1
kind: Service
metadata: {name: broken
---
apiVersion: v1
kind: Service
metadata: {name: bad}
spec: {ports: [{port: x}]}
---
apiVersion: v1
kind: List
items:
- {apiVersion: v1, kind: Service, metadata: {name: good2}}
- {apiVersion: v1, kind: Service, metadata: {name: bad2}, spec: {type: Fancy}}
)y",
                       "m.yaml");
  ASSERT_EQ(out.snapshot.services.size(), 2u) << dump(out.diagnostics);
  EXPECT_EQ(out.snapshot.services[0].meta.name, "good1");
  EXPECT_EQ(out.snapshot.services[1].meta.name, "good2");
  ASSERT_EQ(out.diagnostics.errorCount(), 3u) << dump(out.diagnostics);
  EXPECT_EQ(out.diagnostics.items()[0].line, 8);  // the unterminated flow map, reported at the end
  EXPECT_EQ(out.diagnostics.items()[1].line, 12);
  EXPECT_EQ(out.diagnostics.items()[1].name, "bad");
  EXPECT_EQ(out.diagnostics.items()[2].line, 18);
  EXPECT_EQ(out.diagnostics.items()[2].name, "bad2");
  EXPECT_EQ(out.diagnostics.items()[2].field, "spec.type");
}

TEST(ParseErrorsInContext, WarningsDoNotDropTheObject) {
  auto out = parseYaml(kDrHead + "  host: h\n  trafficPolicy:\n    loadBalancer:\n"
                                 "      backendUtilization: {}\n",
                       "w.yaml");
  EXPECT_EQ(out.snapshot.destinationRules.size(), 1u);
  ASSERT_EQ(out.diagnostics.items().size(), 1u);
  EXPECT_EQ(out.diagnostics.items()[0].severity, Severity::Warning);
  EXPECT_EQ(out.diagnostics.items()[0].field, "spec.trafficPolicy.loadBalancer.backendUtilization");
}

TEST(ParseErrorsInContext, ReportsEveryErrorOfAnObject) {
  auto out = parseYaml(kVsHead + "  hosts: [1]\n  http:\n  - timeout: x\n    foo: 1\n", "e.yaml");
  EXPECT_EQ(out.diagnostics.errorCount(), 3u) << dump(out.diagnostics);
}

TEST(ParseRobustness, NeverCrashesOnHostileInput) {
  const std::string deepFlow = std::string(100000, '[') + std::string(100000, ']');
  std::string deepBlock;
  for (int i = 0; i < 3000; ++i) {
    deepBlock += std::string(static_cast<size_t>(i), ' ') + "a:\n";
  }
  // Each level doubles the work of a naive tree walk: 2^40 nodes if aliases were expanded.
  std::string bomb = "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: "
                     "b}\nx0: &x0 [{route: []}]\n";
  for (int i = 1; i <= 40; ++i) {
    bomb += "x" + std::to_string(i) + ": &x" + std::to_string(i) + " [*x" + std::to_string(i - 1) +
            ", *x" + std::to_string(i - 1) + "]\n";
  }
  bomb += "spec: {http: *x40}\n";
  const std::string inputs[] = {
      deepFlow,
      deepBlock,
      bomb,
      "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: *undefined}\n",
      "{{{{{",
      "\"unterminated",
      "? [a, b]\n: c\n",
      std::string("\0\xff\xfe", 3),
      "apiVersion: v1\nkind: List\nitems: [{apiVersion: v1, kind: List, items: []}]\n",
      "apiVersion: [v1]\nkind: {a: b}\n",
      "!!binary AAAA\n",
  };
  for (const std::string& text : inputs) {
    auto out = parseYaml(text, "hostile.yaml");
    EXPECT_EQ(out.snapshot.objectCount(), 0u);
    EXPECT_TRUE(out.diagnostics.hasErrors()) << text.substr(0, 80);
  }
}

}  // namespace
}  // namespace sluice::parse
