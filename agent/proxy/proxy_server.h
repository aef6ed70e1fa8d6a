#pragma once
// The node proxy's front end: one listener on one libevent loop (one worker thread), per connection
// an Http1Session that parses with http-parser, routes each request through the current RouteTable
// and forwards it over a pooled keep-alive upstream connection (or, for HTTP/2 destination ports,
// a stream of the endpoint's multiplexed HTTP/2 connection). A connection that opens with the
// HTTP/2 client preface, or upgrades to h2c, becomes an H2Session whose streams are each bridged to
// an Http1Session (h2_session.h).
//
// Thread model: everything runs on the loop thread. setRouteTable() may be called from any thread;
// the swap is atomic and each request keeps the table it was routed with until it completes.
#include <sluice/proxy/route_table.h>
#include <sluice/result.h>

#include "circuit_breaker.h"
#include "original_dst.h"
#include "router.h"
#include "session.h"

#include <event2/event.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>

#include <atomic>
#include <memory>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

namespace sluice::proxy {

class UpstreamPool;
class H2Upstreams;
struct H2UpgradeRequest;

// Counters, read by tests and exported as metrics by the daemon. Only the loop thread writes them.
struct ProxyCounters {
  uint64_t accepted = 0;
  uint64_t refusedNoHandoff = 0;   // no sl_handoff_v1 entry: not ours, closed unanswered
  uint64_t refusedNoListener = 0;  // handed off to a VIP:port the table does not know
  uint64_t requests = 0;
  uint64_t noRoute = 0;            // 404 NR
  uint64_t noCluster = 0;          // 503 NC
  uint64_t noHealthyUpstream = 0;  // 503 UH
  uint64_t redirects = 0;
  uint64_t directResponses = 0;
  uint64_t faultAborts = 0;
  uint64_t retries = 0;         // attempts after the first
  uint64_t mirrorsSent = 0;     // mirror copies handed to a connection
  uint64_t mirrorsSkipped = 0;  // body larger than the mirror buffer
  uint64_t badRequests = 0;        // 400 / 501: framing and smuggling defences
  uint64_t headersTooLarge = 0;    // 431
  uint64_t upstreamConnectFailures = 0;
  uint64_t upstreamTimeouts = 0;   // 504 UT: the route timeout expired
  uint64_t upstreamConnectionsOpened = 0;
  uint64_t upstreamConnectionsReused = 0;
  uint64_t upgrades = 0;
  uint64_t h2Connections = 0;  // prior knowledge or h2c upgrade
  uint64_t h2Streams = 0;
  uint64_t h2UpstreamStreams = 0;  // exchanges sent to an HTTP/2 upstream
  // Circuit breakers (Envoy's cluster stats of the same names). A request refused because the
  // pending queue (max_pending_requests) or max_requests is full: 503 UO.
  uint64_t upstreamRqPendingOverflow = 0;
  uint64_t upstreamCxOverflow = 0;       // max_connections reached: the request had to wait
  uint64_t upstreamRqRetryOverflow = 0;  // max_retries reached: the retry was not made
  uint64_t upstreamCxMaxRequests = 0;    // closed after maxRequestsPerConnection requests
};

struct ProxyOptions {
  size_t maxRequestHeadersBytes = 60 * 1024;  // Envoy max_request_headers_kb default
  size_t maxRequestHeaders = 100;             // Envoy max_headers_count default
  size_t maxIdlePerEndpoint = 64;
  int upstreamIdleTimeoutSeconds = 60;
  int connectTimeoutSeconds = 10;  // MeshConfig connectTimeout default
  // Mirrors keep the primary's Host (Istio's DISABLE_SHADOW_HOST_SUFFIX=true default); set, the
  // older behaviour: `-shadow` appended to the host, before any port.
  bool mirrorHostShadowSuffix = false;
  size_t highWatermark = 1 << 20;  // stop reading a side whose peer has this much unsent
};

class ProxyServer {
 public:
  // Listens on `listen` ("ip:port", port 0 = any). The resolver decides which connections are ours.
  static Result<std::unique_ptr<ProxyServer>> create(event_base* base, const std::string& listen,
                                                     std::unique_ptr<OriginalDstResolver> resolver,
                                                     RouteTablePtr table, ProxyOptions options = {});
  ~ProxyServer();
  ProxyServer(const ProxyServer&) = delete;
  ProxyServer& operator=(const ProxyServer&) = delete;

  uint16_t port() const { return port_; }
  void setRouteTable(RouteTablePtr table) { table_.store(std::move(table)); }
  RouteTablePtr routeTable() const { return table_.load(); }
  const ProxyCounters& counters() const { return counters_; }

  // Used by sessions.
  event_base* base() const { return base_; }
  Router& router() { return router_; }
  std::string newRequestId();  // UUIDv4 for x-request-id
  UpstreamPool& pool() { return *pool_; }
  CircuitBreakers& circuits() { return circuits_; }
  H2Upstreams& h2Upstreams() { return *h2Upstreams_; }
  ProxyCounters& mutableCounters() { return counters_; }
  const ProxyOptions& options() const { return options_; }
  // Sessions end through here; they are freed after the current callback returns.
  void retire(Session* session);
  // Starts an HTTP/1.1 session on `bev` (an accepted socket, or one end of an HTTP/2 stream's
  // bufferevent pair).
  // `clientHttp2`: the bev carries one stream of an HTTP/2 client (for useClientProtocol).
  void startHttp1(bufferevent* bev, const OriginalDestination& dst, const net::IpAddress& client,
                  uint16_t clientPort, bool clientHttp2 = false);
  // Turns a connection into HTTP/2: `bev` holds the client preface (prior knowledge) or follows a
  // 101 to an h2c upgrade, whose request becomes stream 1.
  void startH2(bufferevent* bev, const OriginalDestination& dst, const net::IpAddress& client,
               uint16_t clientPort, const H2UpgradeRequest* upgrade);
  // Fire-and-forget: sends `bytes` (a complete request with `connection: close`) to the endpoint
  // on a fresh connection, reads and drops the answer, and frees everything on close, error or a
  // 30 s timeout. Never reports back.
  void mirror(const Endpoint& endpoint, std::string bytes);

 private:
  ProxyServer(event_base* base, std::unique_ptr<OriginalDstResolver> resolver, RouteTablePtr table,
              ProxyOptions options);
  static void onAccept(evconnlistener*, evutil_socket_t fd, sockaddr* addr, int len, void* arg);
  static void onReap(evutil_socket_t, short, void* arg);

  event_base* base_;
  std::unique_ptr<OriginalDstResolver> resolver_;
  std::atomic<RouteTablePtr> table_;
  ProxyOptions options_;
  Router router_;
  CircuitBreakers circuits_;  // before the pool and the sessions, whose slots point into it
  std::unique_ptr<UpstreamPool> pool_;
  std::unique_ptr<H2Upstreams> h2Upstreams_;
  evconnlistener* listener_ = nullptr;
  event* reaper_ = nullptr;
  uint16_t port_ = 0;
  ProxyCounters counters_;
  std::unordered_map<Session*, std::unique_ptr<Session>> sessions_;
  std::vector<Session*> retired_;
  std::unordered_map<bufferevent*, bool> mirrors_;  // in flight, freed with the server
  static void onMirrorRead(bufferevent* bev, void* arg);
  static void onMirrorEvent(bufferevent* bev, short what, void* arg);
  std::mt19937_64 idRng_;
};

}  // namespace sluice::proxy
