#pragma once
// Istio networking.istio.io VirtualService and DestinationRule (v1, v1beta1, v1alpha3 share one schema).
// Field names follow the protos (istio/api networking/v1alpha3). Presence matters for Istio's defaults,
// so fields whose absence means something are std::optional. After normalize() the defaults are
// filled in and later stages never re-derive them (see docs/config-model.md).
#include <sluice/model/common.h>

namespace sluice::model {

// ---------------------------------------------------------------- VirtualService

struct Destination {
  std::string host;
  std::string subset;
  std::optional<uint32_t> port;  // PortSelector.number
};

struct HeaderOperations {
  std::map<std::string, std::string> set;
  std::map<std::string, std::string> add;
  std::vector<std::string> remove;
};

struct Headers {
  std::optional<HeaderOperations> request;
  std::optional<HeaderOperations> response;
};

struct HTTPMatchRequest {
  std::string name;
  std::optional<StringMatch> uri;
  std::optional<StringMatch> scheme;
  std::optional<StringMatch> method;
  std::optional<StringMatch> authority;
  std::map<std::string, StringMatch> headers;
  std::optional<uint32_t> port;
  Labels sourceLabels;
  std::vector<std::string> gateways;
  std::map<std::string, StringMatch> queryParams;
  bool ignoreUriCase = false;
  std::map<std::string, StringMatch> withoutHeaders;
  std::string sourceNamespace;
  std::string statPrefix;
};

struct HTTPRouteDestination {
  Destination destination;
  int32_t weight = 0;
  std::optional<Headers> headers;
};

enum class RedirectPortSelection { FromProtocolDefault, FromRequestPort };

struct HTTPRedirect {
  std::string uri;
  std::string authority;
  std::optional<uint32_t> port;
  std::optional<RedirectPortSelection> derivePort;
  std::string scheme;
  std::optional<uint32_t> redirectCode;  // default 301
  std::string prefixRewrite;
};

struct HTTPBody {
  std::optional<std::string> string;
  std::optional<std::string> bytes;  // decoded from base64 by the parser
};

struct HTTPDirectResponse {
  uint32_t status = 0;
  std::optional<HTTPBody> body;
};

struct RegexRewrite {
  std::string match;
  std::string rewrite;
};

struct HTTPRewrite {
  std::string uri;
  std::string authority;
  std::optional<RegexRewrite> uriRegexRewrite;
};

struct HTTPRetry {
  int32_t attempts = 0;
  std::optional<Duration> perTryTimeout;
  std::optional<std::string> retryOn;
  std::optional<bool> retryRemoteLocalities;
  std::optional<bool> retryIgnorePreviousHosts;
  std::optional<Duration> backoff;
};

struct FaultDelay {
  std::optional<Duration> fixedDelay;
  std::optional<Duration> exponentialDelay;  // hidden in the API; rejected by validation
  std::optional<double> percentage;          // Percent.value
  std::optional<int32_t> percent;            // deprecated integer percent
};

struct FaultAbort {
  std::optional<int32_t> httpStatus;
  std::optional<std::string> grpcStatus;
  std::optional<std::string> http2Error;  // hidden in the API; rejected by validation
  std::optional<double> percentage;
};

struct HTTPFaultInjection {
  std::optional<FaultDelay> delay;
  std::optional<FaultAbort> abort;
};

struct HTTPMirrorPolicy {
  Destination destination;
  std::optional<double> percentage;  // absent = 100
};

enum class UnmatchedPreflights { Unspecified, Forward, Ignore };

struct CorsPolicy {
  std::vector<std::string> allowOrigin;  // deprecated exact origins
  std::vector<StringMatch> allowOrigins;
  std::vector<std::string> allowMethods;
  std::vector<std::string> allowHeaders;
  std::vector<std::string> exposeHeaders;
  std::optional<Duration> maxAge;
  std::optional<bool> allowCredentials;
  UnmatchedPreflights unmatchedPreflights = UnmatchedPreflights::Unspecified;
};

struct Delegate {
  std::string name;
  std::string ns;
};

struct HTTPRoute {
  std::string name;
  std::vector<HTTPMatchRequest> match;
  std::vector<HTTPRouteDestination> route;
  std::optional<HTTPRedirect> redirect;
  std::optional<HTTPDirectResponse> directResponse;
  std::optional<Delegate> delegate;
  std::optional<HTTPRewrite> rewrite;
  std::optional<Duration> timeout;
  std::optional<HTTPRetry> retries;
  std::optional<HTTPFaultInjection> fault;
  std::optional<Destination> mirror;
  std::vector<HTTPMirrorPolicy> mirrors;
  std::optional<uint32_t> mirrorPercent;  // deprecated
  std::optional<double> mirrorPercentage;
  std::optional<CorsPolicy> corsPolicy;
  std::optional<Headers> headers;
};

struct RouteDestination {
  Destination destination;
  int32_t weight = 0;
};

struct TLSMatchAttributes {
  std::vector<std::string> sniHosts;
  std::vector<std::string> destinationSubnets;
  std::optional<uint32_t> port;
  Labels sourceLabels;
  std::vector<std::string> gateways;
  std::string sourceNamespace;
};

struct TLSRoute {
  std::vector<TLSMatchAttributes> match;
  std::vector<RouteDestination> route;
};

struct L4MatchAttributes {
  std::vector<std::string> destinationSubnets;
  std::optional<uint32_t> port;
  std::string sourceSubnet;  // hidden; not implemented by Istio either
  Labels sourceLabels;
  std::vector<std::string> gateways;
  std::string sourceNamespace;
};

struct TCPRoute {
  std::vector<L4MatchAttributes> match;
  std::vector<RouteDestination> route;
};

struct VirtualServiceSpec {
  std::vector<std::string> hosts;
  std::vector<std::string> gateways;
  std::vector<HTTPRoute> http;
  std::vector<TLSRoute> tls;
  std::vector<TCPRoute> tcp;
  std::vector<std::string> exportTo;
};

struct VirtualService {
  std::string apiVersion;
  ObjectMeta meta;
  SourceInfo source;
  VirtualServiceSpec spec;
};

// ---------------------------------------------------------------- DestinationRule

enum class SimpleLB { Unspecified, LeastConn, Random, Passthrough, RoundRobin, LeastRequest };

struct HTTPCookieAttribute {
  std::string name;
  std::string value;
};

struct HTTPCookie {
  std::string name;
  std::string path;
  std::optional<Duration> ttl;
  std::vector<HTTPCookieAttribute> attributes;
};

struct RingHash {
  std::optional<uint64_t> minimumRingSize;
};

struct MagLev {
  std::optional<uint64_t> tableSize;
};

struct ConsistentHashLB {
  std::optional<std::string> httpHeaderName;
  std::optional<HTTPCookie> httpCookie;
  bool useSourceIp = false;
  std::optional<std::string> httpQueryParameterName;
  std::optional<RingHash> ringHash;
  std::optional<MagLev> maglev;
  std::optional<uint64_t> minimumRingSize;  // deprecated
};

struct LocalityDistribute {
  std::string from;
  std::map<std::string, uint32_t> to;
};

struct LocalityFailover {
  std::string from;
  std::string to;
};

struct LocalityLoadBalancerSetting {
  std::vector<LocalityDistribute> distribute;
  std::vector<LocalityFailover> failover;
  std::vector<std::string> failoverPriority;
  std::optional<bool> enabled;
};

struct WarmupConfiguration {
  std::optional<Duration> duration;
  std::optional<double> minimumPercent;
  std::optional<double> aggression;
};

struct ZoneAwareLoadBalancerSetting {
  std::optional<bool> enabled;
  std::vector<LocalityFailover> failover;
  std::vector<std::string> failoverPriority;
  std::optional<uint32_t> minClusterSize;
};

struct LoadBalancerSettings {
  std::optional<SimpleLB> simple;
  std::optional<ConsistentHashLB> consistentHash;
  std::optional<LocalityLoadBalancerSetting> localityLbSetting;
  std::optional<ZoneAwareLoadBalancerSetting> zoneAwareLbSetting;
  std::optional<Duration> warmupDurationSecs;
  std::optional<WarmupConfiguration> warmup;
};

struct TcpKeepalive {
  std::optional<uint32_t> probes;
  std::optional<Duration> time;
  std::optional<Duration> interval;
};

struct TCPSettings {
  std::optional<int32_t> maxConnections;
  std::optional<Duration> connectTimeout;
  std::optional<TcpKeepalive> tcpKeepalive;
  std::optional<Duration> maxConnectionDuration;
  std::optional<Duration> idleTimeout;
};

enum class H2UpgradePolicy { Default, DoNotUpgrade, Upgrade };

struct Http2KeepAlive {
  std::optional<Duration> interval;
  std::optional<Duration> timeout;
};

struct HTTPSettings {
  std::optional<int32_t> http1MaxPendingRequests;
  std::optional<int32_t> http2MaxRequests;
  std::optional<int32_t> maxRequestsPerConnection;
  std::optional<int32_t> maxRetries;
  std::optional<Duration> idleTimeout;
  H2UpgradePolicy h2UpgradePolicy = H2UpgradePolicy::Default;
  bool useClientProtocol = false;
  std::optional<int32_t> maxConcurrentStreams;
  std::optional<Http2KeepAlive> http2KeepAlive;
};

struct ConnectionPoolSettings {
  std::optional<TCPSettings> tcp;
  std::optional<HTTPSettings> http;
};

struct OutlierDetection {
  std::optional<int32_t> consecutiveErrors;  // deprecated; ignored at runtime
  bool splitExternalLocalOriginErrors = false;
  std::optional<uint32_t> consecutiveLocalOriginFailures;
  std::optional<uint32_t> consecutiveGatewayErrors;
  std::optional<uint32_t> consecutive5xxErrors;
  std::optional<Duration> interval;
  std::optional<Duration> baseEjectionTime;
  std::optional<int32_t> maxEjectionPercent;
  std::optional<int32_t> minHealthPercent;
  std::vector<uint32_t> outlierDetectionHttpErrorCodes;
};

enum class TLSMode { Disable, Simple, Mutual, IstioMutual };

struct ClientTLSSettings {
  TLSMode mode = TLSMode::Disable;
  std::string clientCertificate;
  std::string privateKey;
  std::string caCertificates;
  std::string credentialName;
  std::vector<std::string> subjectAltNames;
  std::string sni;
  std::optional<bool> insecureSkipVerify;
  std::string caCrl;
};

struct TunnelSettings {
  std::string protocol;  // CONNECT (default) | POST
  std::string targetHost;
  uint32_t targetPort = 0;
};

enum class ProxyProtocolVersion { V1, V2 };

struct ProxyProtocol {
  ProxyProtocolVersion version = ProxyProtocolVersion::V1;
};

struct RetryBudget {
  std::optional<double> percent;
  std::optional<uint32_t> minRetryConcurrency;
  std::optional<Duration> budgetInterval;
};

struct PortTrafficPolicy {
  std::optional<uint32_t> port;
  std::optional<LoadBalancerSettings> loadBalancer;
  std::optional<ConnectionPoolSettings> connectionPool;
  std::optional<OutlierDetection> outlierDetection;
  std::optional<ClientTLSSettings> tls;
};

struct TrafficPolicy {
  std::optional<LoadBalancerSettings> loadBalancer;
  std::optional<ConnectionPoolSettings> connectionPool;
  std::optional<OutlierDetection> outlierDetection;
  std::optional<ClientTLSSettings> tls;
  std::vector<PortTrafficPolicy> portLevelSettings;
  std::optional<TunnelSettings> tunnel;
  std::optional<ProxyProtocol> proxyProtocol;
  std::optional<RetryBudget> retryBudget;
};

struct Subset {
  std::string name;
  Labels labels;
  std::optional<TrafficPolicy> trafficPolicy;
};

struct WorkloadSelector {
  Labels matchLabels;
};

struct DestinationRuleSpec {
  std::string host;
  std::optional<TrafficPolicy> trafficPolicy;
  std::vector<Subset> subsets;
  std::vector<std::string> exportTo;
  std::optional<WorkloadSelector> workloadSelector;
};

struct DestinationRule {
  std::string apiVersion;
  ObjectMeta meta;
  SourceInfo source;
  DestinationRuleSpec spec;
};

}  // namespace sluice::model
