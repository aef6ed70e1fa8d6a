#pragma once
// Upstream connections and the keep-alive pool: idle HTTP/1.1 connections per pool key (cluster and
// endpoint, as Envoy keeps a pool per host of each cluster), reused before a new connect(). An idle
// connection that becomes readable (the server closed it or sent something unasked) or idles past
// the timeout is dropped. A connection holds its share of the cluster's circuit breakers.
#include <sluice/proxy/route_table.h>

#include "circuit_breaker.h"

#include <event2/bufferevent.h>
#include <event2/event.h>

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace sluice::proxy {

class UpstreamPool;

// One TCP connection to an endpoint. Owned by a session while in use, by the pool while idle.
class UpstreamConn {
 public:
  UpstreamConn(bufferevent* bev, std::string key, bool reused)
      : bev_(bev), key_(std::move(key)), reused_(reused) {}
  ~UpstreamConn() {
    // An HTTP/2 upstream stream's bufferevent pair learns here that the exchange is over; a socket
    // ignores it.
    bufferevent_flush(bev_, EV_WRITE, BEV_FINISHED);
    bufferevent_free(bev_);
  }
  UpstreamConn(const UpstreamConn&) = delete;
  UpstreamConn& operator=(const UpstreamConn&) = delete;

  bufferevent* bev() const { return bev_; }
  const std::string& key() const { return key_; }
  bool reused() const { return reused_; }  // came from the pool: may have been closed meanwhile
  uint32_t requests() const { return requests_; }  // exchanges attached so far

  // The connection counts against its cluster's max_connections for as long as it exists.
  void holdConnection(CircuitSlot cluster, CircuitSlot endpoint) {
    connection_ = std::move(cluster);
    endpointConnection_ = std::move(endpoint);
  }
  // An exchange starts on this connection: it holds `request` (max_requests) until the exchange
  // ends with the connection or the connection is parked.
  void attach(CircuitSlot request) {
    request_ = std::move(request);
    ++requests_;
  }

 private:
  friend class UpstreamPool;
  bufferevent* bev_;
  std::string key_;
  bool reused_;
  uint32_t requests_ = 0;
  // Given back after the destructor closed the socket; a waiting request may then connect.
  CircuitSlot connection_;
  CircuitSlot endpointConnection_;
  CircuitSlot request_;
};

class UpstreamPool {
 public:
  UpstreamPool(event_base* base, size_t maxIdlePerEndpoint, int idleTimeoutSeconds)
      : base_(base), maxIdle_(maxIdlePerEndpoint), idleTimeoutSeconds_(idleTimeoutSeconds) {}

  // An idle connection of `key` (poolKey()), or nullptr.
  std::unique_ptr<UpstreamConn> takeIdle(const std::string& key);
  // A new connection to `endpoint`, pooled under `key`, being established (the caller sets
  // callbacks and waits for CONNECTED), or nullptr when the socket cannot even be created.
  std::unique_ptr<UpstreamConn> connect(const Endpoint& endpoint, const std::string& key,
                                        int connectTimeoutSeconds);
  // Parks a connection that finished a response cleanly; its request slot is given back.
  void putIdle(std::unique_ptr<UpstreamConn> conn);

  size_t idleCount() const;

  // Connections are pooled per cluster and endpoint.
  static std::string poolKey(const Cluster& cluster, const Endpoint& endpoint) {
    return cluster.name + " " + endpoint.key();
  }

 private:
  struct Idle {
    UpstreamPool* pool;
    std::unique_ptr<UpstreamConn> conn;
  };
  static void onIdleEvent(bufferevent* bev, short what, void* arg);
  static void onIdleRead(bufferevent* bev, void* arg);
  void drop(Idle* idle);

  event_base* base_;
  size_t maxIdle_;
  int idleTimeoutSeconds_;
  std::unordered_map<std::string, std::vector<std::unique_ptr<Idle>>> idle_;
};

}  // namespace sluice::proxy
