#pragma once
// Router: one request against a RouteTable → a Decision (Istio HTTP route semantics, Envoy's answers
// when nothing fits). No I/O and no exceptions: the HTTP front ends call it once per request and act
// on the Decision. Load-balancer counters live in the table's clusters; the caller releases a
// Forward decision when its upstream exchange ends.
#include <sluice/proxy/route_table.h>

#include <chrono>
#include <string>
#include <string_view>

namespace sluice::proxy {

struct RequestView {
  std::string_view method;
  std::string_view scheme;     // "http" / "https" as the client spoke (x-forwarded-proto)
  std::string_view authority;  // Host / :authority
  std::string_view path;       // with the query string
  const HeaderList* headers = nullptr;  // lower-case names
  net::IpAddress client;
  uint16_t clientPort = 0;
  uint32_t clientClass = 0;
  uint16_t port = 0;  // the original destination port (listener port)
};

struct Decision {
  enum class Kind : uint8_t {
    Forward,
    Redirect,
    DirectResponse,
    NoRoute,            // 404, Envoy NR
    NoCluster,          // 503, Envoy NC (missing service or subset)
    NoHealthyUpstream,  // 503, Envoy UH (cluster without endpoints)
    FaultAbort,         // fault injection abort, Envoy FI
  };
  Kind kind = Kind::NoRoute;
  const Route* route = nullptr;
  const WeightedCluster* target = nullptr;
  const Cluster* cluster = nullptr;
  uint32_t endpoint = 0;  // index into cluster->endpoints
  uint16_t status = 0;    // the answer for every kind but Forward
  int16_t grpcStatus = -1;  // FaultAbort from abort.grpcStatus: the grpc-status for gRPC clients
  std::string location;   // Redirect
  std::string body;       // DirectResponse
  std::string path;       // Forward: :path after rewrite
  std::string authority;  // Forward: authority after rewrite; empty keeps the client's
  std::string setCookie;  // Forward: Set-Cookie value the response must carry (generated hash cookie)
  std::chrono::milliseconds faultDelay{0};  // injected delay before the decision is acted on
  // CORS: the request's Origin when the route's corsPolicy allows it (its response gets the CORS
  // headers); corsPreflight marks a preflight answered by the proxy (DirectResponse 200).
  std::string corsOrigin;
  bool corsPreflight = false;
  std::vector<const Endpoint*> mirrors;  // Forward: endpoints that get a copy of this request

  const Endpoint& upstream() const { return cluster->endpoints[endpoint]; }
};

class Router {
 public:
  explicit Router(uint64_t seed = 0x9e3779b97f4a7c15ULL) : rng_(seed | 1) {}

  Decision route(const RouteTable& table, const Listener& listener, const RequestView& request);

  // Istio order: a weighted destination's ops first, then the route's (remove, set, add each);
  // the authority follows rewrite > headers set > add, a destination's only when the route has none.
  static void applyRequestHeaders(const Decision& d, HeaderList& headers);
  static void applyResponseHeaders(const Decision& d, HeaderList& headers);

  // Ends a Forward decision's accounting (LEAST_REQUEST).
  static void release(const Decision& d);

  // Exposed for the tests of the match semantics.
  static bool blockMatches(const MatchBlock& block, const RequestView& request);

 private:
  uint64_t nextRandom();
  uint32_t pickEndpoint(const Cluster& cluster, const RequestView& request, std::string& setCookie);

  uint64_t rng_;
};

// Case-sensitive header lookup helpers over lower-case names; multiple values are joined with ","
// as Envoy does before matching.
std::optional<std::string> headerValue(const HeaderList& headers, std::string_view name);
void applyHeaderOps(const HeaderOps& ops, HeaderList& headers);

}  // namespace sluice::proxy
