#pragma once
// The proxy's immutable route table: the L7 part of the plan, compiled once per config so the request
// path only looks things up. Built by proxy::buildRouteTable() (agent/proxy/route_table_builder.h),
// read by proxy::Router. A table is never mutated after it is built; a config change builds a new one
// and swaps a shared_ptr, so requests in flight keep the table they started with.
//
// A request's journey through the table:
//   original destination (VIP:port) → Listener → the route list of the client's class → first Route
//   whose match blocks accept the request → its Action → (forward) a weighted Cluster → an Endpoint.
#include <sluice/net/address.h>

#include <re2/re2.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace sluice::proxy {

// A request header as the proxy sees it: name lower-cased, value as received.
struct HeaderField {
  std::string name;
  std::string value;
};
using HeaderList = std::vector<HeaderField>;

// Istio StringMatch with the regex compiled once. Kind::Any is the presence check of headers and
// query parameters.
class CompiledStringMatch {
 public:
  enum class Kind : uint8_t { Any, Exact, Prefix, Regex };

  // ignoreCase applies to Exact and Prefix only, as Envoy's case_sensitive=false does. A regex that
  // does not compile yields nullopt (validation rejects those before this point).
  static std::optional<CompiledStringMatch> create(Kind kind, std::string value,
                                                   bool ignoreCase = false);

  bool matches(std::string_view input) const;
  Kind kind() const { return kind_; }
  const std::string& value() const { return value_; }
  const re2::RE2* regex() const { return regex_.get(); }  // Kind::Regex only

 private:
  Kind kind_ = Kind::Any;
  bool ignoreCase_ = false;
  std::string value_;
  std::shared_ptr<const re2::RE2> regex_;  // shared: tables copy matches between client classes
};

struct HeaderMatch {
  std::string name;  // lower-case
  CompiledStringMatch match;
};

// One HTTPMatchRequest after config-time selection: port, sourceLabels, sourceNamespace and gateways
// are resolved when the table is built, so only request predicates remain. Fields are ANDed.
struct MatchBlock {
  std::string name;
  std::optional<CompiledStringMatch> uri;
  std::optional<CompiledStringMatch> scheme;
  std::optional<CompiledStringMatch> method;
  std::optional<CompiledStringMatch> authority;
  std::vector<HeaderMatch> headers;
  std::vector<HeaderMatch> withoutHeaders;  // inverted, treat_missing_header_as_empty
  std::vector<HeaderMatch> queryParams;
};

// Envoy header mutations of one level: every remove first, then the mutations in order. Istio emits a
// Headers block's `set` entries, then its `add` entries (each in key order), and appends a single
// destination's block after the route's, so a destination `set` overrides a route `add`. Names are
// lower-case; host and :authority are lifted into the route's authority instead.
struct HeaderMutation {
  std::string name;
  std::string value;
  bool append = false;  // add (APPEND_IF_EXISTS_OR_ADD) vs set (OVERWRITE_IF_EXISTS_OR_ADD)
};

struct HeaderOps {
  std::vector<std::string> remove;
  std::vector<HeaderMutation> mutations;

  bool empty() const { return remove.empty() && mutations.empty(); }
};

inline constexpr uint32_t kNoCluster = UINT32_MAX;

struct WeightedCluster {
  std::string cluster;               // "outbound|port|subset|host"
  uint32_t clusterIndex = kNoCluster;  // into RouteTable::clusters; kNoCluster → 503 NC
  uint32_t weight = 0;
  // Per-destination operations of a weighted split (applied before the route-level ones, as Envoy
  // applies weighted-cluster mutations first). With a single destination Istio appends them to the
  // route's own lists instead, and these stay empty.
  HeaderOps requestOps;
  HeaderOps responseOps;
  std::string authority;  // per-destination authority, used only when the route sets none
};

struct Redirect {
  std::string uri;            // replaces the whole path
  std::string prefixRewrite;  // replaces the matched prefix
  std::string authority;
  std::string scheme;
  enum class PortMode : uint8_t { Keep, Explicit, ProtocolDefault, RequestPort } portMode =
      PortMode::Keep;
  uint16_t port = 0;  // Explicit
  uint16_t code = 301;
};

struct DirectResponse {
  uint16_t status = 200;
  std::optional<std::string> body;
};

struct Rewrite {
  std::optional<std::string> uri;  // Envoy prefix_rewrite
  std::optional<CompiledStringMatch> regexMatch;  // uriRegexRewrite.match (Kind::Regex)
  std::string regexSubstitution;                  // uriRegexRewrite.rewrite, \1 references
};

// Client-side fault injection (Istio HTTPFaultInjection → Envoy fault filter, which runs before the
// router): independent draws per request, in parts per million as Envoy stores percentages.
struct Fault {
  uint32_t delayPerMillion = 0;
  std::chrono::milliseconds delay{0};
  uint32_t abortPerMillion = 0;
  uint16_t abortStatus = 0;
  // abort.grpcStatus as its numeric code (-1: an httpStatus abort). gRPC clients get it in
  // grpc-status; others get abortStatus, 503 for a gRPC-only abort.
  int16_t abortGrpcStatus = -1;
};

// Istio CorsPolicy → Envoy CORS filter. Origins: allowOrigins (StringMatch) plus the deprecated
// allowOrigin (exact). Lists are pre-joined with "," as Envoy emits them.
struct Cors {
  std::vector<CompiledStringMatch> origins;
  std::string allowMethods;
  std::string allowHeaders;
  std::string exposeHeaders;
  std::string maxAge;  // whole seconds; empty = unset
  bool allowCredentials = false;
  bool forwardUnmatchedPreflights = true;  // FORWARD / UNSPECIFIED; false for IGNORE

  bool originAllowed(std::string_view origin) const;
};

// A mirror (Istio mirror/mirrors → Envoy request_mirror_policies): a fire-and-forget copy to
// another cluster for the drawn share of requests.
struct Mirror {
  uint32_t clusterIndex = kNoCluster;
  uint32_t perMillion = 1000000;
};

// Istio HTTPRetry → Envoy retry policy. Unset `retries` is Istio's default (2 retries on
// connect-failure, refused-stream, unavailable, cancelled, retriable-status-codes; previous hosts
// avoided); attempts 0 turns retries off.
struct RetryPolicy {
  uint32_t numRetries = 2;
  bool connectFailure = true;
  bool reset = false;
  bool on5xx = false;
  bool gatewayError = false;
  bool retriable4xx = false;
  std::vector<uint16_t> statuses;  // retriable-status-codes (bare codes in retryOn)
  // gRPC retryOn (cancelled 1, deadline-exceeded 4, resource-exhausted 8, internal 13,
  // unavailable 14), matched on a response head's grpc-status as Envoy does. Istio's default
  // retryOn has cancelled and unavailable.
  std::vector<uint8_t> grpcStatuses = {1, 14};
  std::chrono::milliseconds backoffBase{25};
  std::chrono::milliseconds perTryTimeout{0};  // zero: none
  bool previousHosts = true;

  bool retriableStatus(unsigned status) const;
  bool retriableGrpcStatus(unsigned code) const;
};

struct Route {
  std::string name;
  std::vector<MatchBlock> blocks;  // ORed; a route built from no match blocks has matchAll set
  bool matchAll = false;
  enum class Kind : uint8_t { Forward, Redirect, DirectResponse } kind = Kind::Forward;
  std::vector<WeightedCluster> clusters;  // Forward: weights > 0 (one entry whatever its weight)
  uint32_t totalWeight = 0;
  Redirect redirect;
  DirectResponse directResponse;
  Rewrite rewrite;
  HeaderOps requestOps;   // route level, plus a single destination's ops appended after
  HeaderOps responseOps;
  std::string authority;  // rewrite.authority > headers set[host] > add[host] (Istio precedence)
  // Route timeout, from the end of the request to the end of the response (Envoy's route timeout);
  // zero means none, Istio's default.
  std::chrono::milliseconds timeout{0};
  Fault fault;
  std::optional<Cors> cors;
  std::vector<Mirror> mirrors;
  RetryPolicy retry;
};

// The routes one client class sees on one listener: indexes into Listener::routes, each with the
// match blocks that survived selector resolution for that class.
struct ClassRoute {
  uint32_t route = 0;
  std::vector<uint32_t> blocks;  // indexes into Route::blocks; empty with Route::matchAll
};

struct Listener {
  net::IpAddress vip;
  uint16_t port = 0;
  std::string host;  // the Service FQDN
  std::vector<Route> routes;
  // routesByClass[c]: client class c's ordered route list. Class 0 is "no selector applies" and is
  // what unknown clients get.
  std::vector<std::vector<ClassRoute>> routesByClass;
};

struct Endpoint {
  net::IpAddress ip;
  uint16_t port = 0;
  std::string pod;  // "ns/name" when known

  std::string key() const;  // "ip:port" ("[ip]:port" for v6), what the hash tables hash
};

enum class LbPolicy : uint8_t { RoundRobin, Random, LeastRequest, RingHash, Maglev };

struct HashPolicy {
  enum class Source : uint8_t { None, Header, Cookie, QueryParameter, SourceIp } source = Source::None;
  std::string name;                       // header (lower-case), cookie or query parameter name
  std::string cookiePath;
  std::optional<uint64_t> cookieTtlSeconds;  // set: a missing cookie is generated (0 = session)
  std::vector<std::pair<std::string, std::string>> cookieAttributes;
};

// Load-balancer counters of one cluster: the only mutable part of a table, shared by the requests
// that picked from it (an in-flight request releases on the table it started with).
struct LbCounters {
  explicit LbCounters(size_t endpoints)
      : active(std::make_unique<std::atomic<uint32_t>[]>(endpoints)) {}
  std::atomic<uint64_t> next{0};                       // ROUND_ROBIN
  std::unique_ptr<std::atomic<uint32_t>[]> active;     // LEAST_REQUEST: requests in flight
};

// DestinationRule connectionPool limits of one cluster, as Istio emits them for Envoy: the cluster's
// circuit breakers (default priority) and max_requests_per_connection. Istio only sets a threshold
// for a value above 0, so unset and 0 both leave Envoy's 2^32-1, i.e. no limit.
struct CircuitLimits {
  uint32_t maxConnections = UINT32_MAX;      // tcp.maxConnections → max_connections
  uint32_t maxPendingRequests = UINT32_MAX;  // http.http1MaxPendingRequests → max_pending_requests
  uint32_t maxRequests = UINT32_MAX;         // http.http2MaxRequests → max_requests
  uint32_t maxRetries = UINT32_MAX;          // http.maxRetries → max_retries
  uint32_t maxRequestsPerConnection = 0;     // http.maxRequestsPerConnection; 0: unlimited
};

struct Cluster {
  std::string name;  // "outbound|port|subset|host"
  std::vector<Endpoint> endpoints;  // ready endpoints, deterministic order; empty → 503 UH
  LbPolicy lb = LbPolicy::LeastRequest;
  // The proxy talks HTTP/2 with prior knowledge to the endpoints: the destination port is http2,
  // grpc or grpc-web (appProtocol or port-name prefix), or connectionPool.http.h2UpgradePolicy is
  // UPGRADE.
  bool http2 = false;
  // connectionPool.http.useClientProtocol: the upstream protocol is the client's (overrides http2).
  bool useClientProtocol = false;
  CircuitLimits limits;
  HashPolicy hash;  // with RingHash / Maglev
  // RingHash: sorted (hash, endpoint index) points. Maglev: table of endpoint indexes.
  std::vector<std::pair<uint64_t, uint32_t>> ring;
  std::vector<uint32_t> maglev;
  std::shared_ptr<LbCounters> counters;  // never null in a built table
};

struct ListenerKey {
  net::IpAddress vip;
  uint16_t port = 0;
  friend bool operator==(const ListenerKey&, const ListenerKey&) = default;
};

struct ListenerKeyHash {
  size_t operator()(const ListenerKey& k) const noexcept;
};

struct IpHash {
  size_t operator()(const net::IpAddress& ip) const noexcept;
};

struct RouteTable {
  std::vector<Listener> listeners;
  std::unordered_map<ListenerKey, uint32_t, ListenerKeyHash> listenerIndex;
  std::vector<Cluster> clusters;
  std::unordered_map<std::string, uint32_t> clusterIndex;
  std::unordered_map<net::IpAddress, uint32_t, IpHash> classByClientIp;  // pod IP → client class
  uint32_t classCount = 1;
  std::vector<std::string> warnings;  // config the table could not honour (logged by the caller)

  const Listener* findListener(const net::IpAddress& vip, uint16_t port) const;
  const Cluster* findCluster(std::string_view name) const;
  uint32_t classOf(const net::IpAddress& client) const;
};

using RouteTablePtr = std::shared_ptr<const RouteTable>;

// 64-bit hash used by the hash LB policies and the cookie generator (FNV-1a with a murmur3 finalizer:
// stable across runs and builds, which stickiness needs).
uint64_t hashKey(std::string_view key);

}  // namespace sluice::proxy
