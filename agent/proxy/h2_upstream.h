#pragma once
// HTTP/2 with prior knowledge to upstreams whose port Istio treats as HTTP/2 (http2, grpc,
// grpc-web): one multiplexed connection per endpoint, framed by nghttp2. An Http1Session reaches
// it through a bufferevent pair that carries one HTTP/1.1 request and, back, its answer (chunked,
// with the stream's trailers as chunked trailers), so the session's upstream logic (connect
// failures, retries, timeouts, body copies) is the same for both upstream protocols.
#include <sluice/proxy/route_table.h>

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <nghttp2/nghttp2.h>

#include <memory>
#include <string>
#include <unordered_map>

namespace sluice::proxy {

class H2Upstreams {
 public:
  // A connection without streams for idleTimeoutSeconds is closed (as idle pooled HTTP/1.1 ones).
  H2Upstreams(event_base* base, int connectTimeoutSeconds, int idleTimeoutSeconds);
  ~H2Upstreams();
  H2Upstreams(const H2Upstreams&) = delete;
  H2Upstreams& operator=(const H2Upstreams&) = delete;

  // One exchange with `endpoint`: the returned bufferevent (the caller owns it) carries it. With
  // `established` set the connection is already up and the caller may write at once; otherwise
  // the bufferevent reports BEV_EVENT_CONNECTED once it is, or BEV_EVENT_ERROR when it cannot be
  // made. EOF: the stream ended before a complete answer. nullptr when no pair can be made.
  bufferevent* open(const Endpoint& endpoint, bool& established);

  size_t connections() const;

 private:
  struct Conn;
  struct Stream;
  friend class H2UpstreamsImpl;
  void drop(Conn* conn);

  event_base* base_;
  int connectTimeoutSeconds_;
  int idleTimeoutSeconds_;
  std::unordered_map<std::string, std::unique_ptr<Conn>> conns_;
};

}  // namespace sluice::proxy
