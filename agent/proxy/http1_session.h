#pragma once
// One downstream HTTP/1.1 connection. Requests are parsed with http-parser and handled one at a time:
// the parser pauses at the end of each request until its response is complete, so pipelined requests
// are answered in order. A request body streams to the upstream as it arrives; the response streams
// back re-framed for the client. An Upgrade that the upstream accepts (101) turns both connections
// into a byte tunnel. Upstream connections obey the cluster's circuit breakers (circuit_breaker.h):
// a request that finds no idle connection and no room for a new one waits in the cluster's queue.
#include "circuit_breaker.h"
#include "original_dst.h"
#include "router.h"
#include "session.h"
#include "upstream_pool.h"

#include <http_parser.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include <memory>
#include <string>

namespace sluice::proxy {

class ProxyServer;

// Rejects what http-parser tolerates but request smuggling feeds on: obs-fold (a header line that
// starts with SP/HTAB) and a CR not followed by LF, in the header section only.
class HeaderSectionScanner {
 public:
  void reset() { *this = HeaderSectionScanner{}; }
  // Scans the next bytes of the header section; false on a violation.
  bool scan(const char* data, size_t len);

 private:
  bool prevCr_ = false;
  bool lineStart_ = true;
  size_t lines_ = 0;  // complete non-empty lines seen (the request line is the first)
};

class Http1Session : public Session, public CircuitWaiter {
 public:
  // `clientHttp2`: `bev` is an H2Session's bridge for one stream of an HTTP/2 client.
  Http1Session(ProxyServer& server, bufferevent* bev, OriginalDestination dst,
               net::IpAddress client, uint16_t clientPort, bool clientHttp2 = false);
  ~Http1Session() override;
  Http1Session(const Http1Session&) = delete;
  Http1Session& operator=(const Http1Session&) = delete;

  bool resumeUpstream() override;

 private:
  // One request/response exchange.
  struct Exchange {
    RouteTablePtr table;  // the table this request was routed with (a swap does not affect it)
    Decision decision;
    bool routed = false;
    bool acted = false;  // the decision was carried out (an injected delay postpones it)
    std::string method;
    std::string url;
    std::string path;
    std::string authority;
    HeaderList headers;
    std::string field;  // header name being received (http-parser may split it)
    bool inValue = false;
    size_t headerBytes = 0;
    int contentLengths = 0;
    int hosts = 0;
    bool transferEncoding = false;
    bool chunkedRequest = false;
    bool keepAlive = false;
    bool http10 = false;
    bool head = false;
    bool upgrade = false;
    bool h2cUpgrade = false;  // Upgrade: h2c with HTTP2-Settings and no body: switch to HTTP/2
    bool grpc = false;        // content-type application/grpc: local replies in gRPC form
    bool requestDone = false;
    bool responseDone = false;
    bool responseStarted = false;
    bool rechunkResponse = false;
    bool closeAfter = false;
    uint64_t bodyBytesSent = 0;
    uint32_t attempts = 0;
    uint16_t errorStatus = 0;  // set by a parser callback that rejects the request
    std::string requestHead;   // serialized for the upstream, kept for connect retries
    evbuffer* pendingBody = nullptr;  // request body received before the upstream connected
    std::string bodyCopy;     // copy of the body for mirrors (framed as sent upstream)
    bool bodyCopyOverflow = false;  // body beyond kBodyCopyLimit: not mirrored
    bool mirrored = false;
    bool retryPending = false;  // a retriable status arrived: drop the answer, try again
    // Circuit breakers: waiting for a connection (max_pending_requests) and its place in the
    // queue; the retry in progress (max_retries).
    CircuitSlot pendingSlot;
    WaitTicket waitTicket;
    CircuitSlot retrySlot;
    // response
    HeaderList respHeaders;
    HeaderList respTrailers;  // of a chunked response, relayed when the client's is chunked too
    std::string respField;
    bool respInValue = false;
    std::string statusText;
  };

  static void onDownRead(bufferevent* bev, void* arg);
  static void onDownWrite(bufferevent* bev, void* arg);
  static void onDownEvent(bufferevent* bev, short what, void* arg);
  static void onUpRead(bufferevent* bev, void* arg);
  static void onUpWrite(bufferevent* bev, void* arg);
  static void onUpEvent(bufferevent* bev, short what, void* arg);
  static void onRouteTimeout(evutil_socket_t, short, void* arg);
  static void onFaultDelay(evutil_socket_t, short, void* arg);

  static int reqMessageBegin(http_parser* p);
  static int reqUrl(http_parser* p, const char* at, size_t len);
  static int reqHeaderField(http_parser* p, const char* at, size_t len);
  static int reqHeaderValue(http_parser* p, const char* at, size_t len);
  static int reqHeadersComplete(http_parser* p);
  static int reqBody(http_parser* p, const char* at, size_t len);
  static int reqMessageComplete(http_parser* p);
  static int respStatus(http_parser* p, const char* at, size_t len);
  static int respHeaderField(http_parser* p, const char* at, size_t len);
  static int respHeaderValue(http_parser* p, const char* at, size_t len);
  static int respHeadersComplete(http_parser* p);
  static int respBody(http_parser* p, const char* at, size_t len);
  static int respMessageComplete(http_parser* p);

  void feed();
  // Before the first request: true once the input cannot be the HTTP/2 client preface; false
  // while it may still be (wait for more) or when the connection was handed to an H2Session.
  bool pastPreface();
  void switchToH2c();
  bool countHeaderBytes(size_t len);
  uint16_t validateRequest();
  void dispatch();
  void act();  // carries out the routing decision (after any injected delay)
  void startRouteTimer();
  void forward();
  void connectUpstream();
  void onUpstreamConnected();
  void retryOrFail(const char* reason);
  void feedUpstream();
  void upstreamClosed();
  void writeResponseHead();
  // Ends the current exchange; false when the connection is closing instead of continuing.
  bool finishExchange();
  void localReply(uint16_t status, std::string_view body, bool close, HeaderList extra = {});
  void overflow();
  void continueAfterLocalReply();
  void startTunnel();
  void closeAfterFlush();
  void close();
  void lingerThenClose();
  static void onLingerTimeout(evutil_socket_t, short, void* arg);
  evbuffer* upstreamSink();
  void sendMirrors();
  bool canRetry() const;
  bool takeRetry();
  bool upstreamHttp2() const;
  void scheduleRetry();
  static void onRetryTimer(evutil_socket_t, short, void* arg);
  void startPerTryTimer();
  static void onPerTryTimeout(evutil_socket_t, short, void* arg);

  ProxyServer& server_;
  bufferevent* down_;
  OriginalDestination dst_;
  net::IpAddress client_;
  uint16_t clientPort_;
  bool clientHttp2_;
  http_parser parser_;
  http_parser respParser_;
  HeaderSectionScanner scanner_;
  bool headersDone_ = false;     // of the request being parsed
  bool prefaceChecked_ = false;  // the connection's first bytes are not the HTTP/2 preface
  bool pausedForDispatch_ = false;
  bool waitingResponse_ = false;  // parser paused at a request's end until its response completes
  bool tunnel_ = false;
  bool closing_ = false;
  bool lingering_ = false;  // response sent and write side shut: reading and dropping the rest
  bool closed_ = false;
  Exchange ex_;
  std::unique_ptr<UpstreamConn> up_;
  event* routeTimer_;  // the current exchange's route timeout
  event* perTryTimer_;  // the current attempt's perTryTimeout
  event* retryTimer_;  // backoff before the next attempt
  event* faultTimer_;  // the current exchange's injected delay
  event* lingerTimer_;  // bounds lingerThenClose()
  bool upConnected_ = false;
  bool resuming_ = false;  // resumeUpstream(): a request that waits again keeps its place
};

}  // namespace sluice::proxy
