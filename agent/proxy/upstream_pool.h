#pragma once
// Upstream connections and the keep-alive pool: idle HTTP/1.1 connections per endpoint ("ip:port"),
// reused before a new connect(). An idle connection that becomes readable (the server closed it or
// sent something unasked) or idles past the timeout is dropped.
#include <sluice/proxy/route_table.h>

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

 private:
  friend class UpstreamPool;
  bufferevent* bev_;
  std::string key_;
  bool reused_;
};

class UpstreamPool {
 public:
  UpstreamPool(event_base* base, size_t maxIdlePerEndpoint, int idleTimeoutSeconds)
      : base_(base), maxIdle_(maxIdlePerEndpoint), idleTimeoutSeconds_(idleTimeoutSeconds) {}

  // An idle connection to `endpoint`, or nullptr.
  std::unique_ptr<UpstreamConn> takeIdle(const Endpoint& endpoint);
  // A new connection being established (the caller sets callbacks and waits for CONNECTED), or
  // nullptr when the socket cannot even be created.
  std::unique_ptr<UpstreamConn> connect(const Endpoint& endpoint, int connectTimeoutSeconds);
  // Parks a connection that finished a response cleanly.
  void putIdle(std::unique_ptr<UpstreamConn> conn);

  size_t idleCount() const;

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
