#pragma once
// One downstream HTTP/2 cleartext connection (prior knowledge or h2c upgrade), framed by nghttp2.
// Each stream is bridged to its own Http1Session over an in-process bufferevent pair: the stream's
// request is written to it as HTTP/1.1 and the answer is read back and re-framed as HTTP/2. So every
// request, whatever the client spoke, takes the one request path in http1_session.cpp (routing,
// rewrites, header ops, retries, timeouts, faults, mirrors, CORS, local replies), whose upstream
// leg is HTTP/1.1 or HTTP/2 by the destination port (h2_upstream.h). Response trailers cross the
// bridge as chunked trailers. Cost: one extra serialization and parse per request.
#include "original_dst.h"
#include "router.h"
#include "session.h"

#include <event2/bufferevent.h>
#include <nghttp2/nghttp2.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace sluice::proxy {

class ProxyServer;

// An HTTP/1.1 request that asked for `Upgrade: h2c` (without a body): it becomes stream 1.
struct H2UpgradeRequest {
  std::string settings;  // the HTTP2-Settings payload, base64url-decoded
  std::string method;
  std::string path;
  std::string authority;
  HeaderList headers;  // hop-by-hop headers (Connection, Upgrade, HTTP2-Settings...) removed
};

// The 24 bytes an HTTP/2 client sends first (RFC 9113 §3.4).
inline constexpr std::string_view kH2ClientPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

// Decodes base64url without padding (RFC 4648 §5), as HTTP2-Settings carries it; nullopt when
// `text` is not base64url.
std::optional<std::string> decodeBase64Url(std::string_view text);

class H2Session : public Session {
 public:
  H2Session(ProxyServer& server, bufferevent* bev, OriginalDestination dst, net::IpAddress client,
            uint16_t clientPort);
  ~H2Session() override;
  H2Session(const H2Session&) = delete;
  H2Session& operator=(const H2Session&) = delete;

  // Queues the server SETTINGS and reads what the connection already holds. With `upgrade`, the
  // 101 has been written and its request is stream 1.
  void start(const H2UpgradeRequest* upgrade);

 private:
  struct Stream;

  static void onDownRead(bufferevent* bev, void* arg);
  static void onDownWrite(bufferevent* bev, void* arg);
  static void onDownEvent(bufferevent* bev, short what, void* arg);
  static void onBridgeRead(bufferevent* bev, void* arg);
  static void onBridgeEvent(bufferevent* bev, short what, void* arg);

  static int onBeginHeaders(nghttp2_session*, const nghttp2_frame* frame, void* arg);
  static int onHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                      size_t namelen, const uint8_t* value, size_t valuelen, uint8_t flags,
                      void* arg);
  static int onFrameRecv(nghttp2_session*, const nghttp2_frame* frame, void* arg);
  static int onDataChunk(nghttp2_session*, uint8_t flags, int32_t streamId, const uint8_t* data,
                         size_t len, void* arg);
  static int onStreamClose(nghttp2_session*, int32_t streamId, uint32_t errorCode, void* arg);
  static ssize_t readResponseBody(nghttp2_session*, int32_t streamId, uint8_t* buf, size_t length,
                                  uint32_t* flags, nghttp2_data_source* source, void* arg);

  Stream& addStream(int32_t id);
  void openBridge(Stream& stream, bool endStream);
  void endRequest(Stream& stream);
  void readBridge(Stream& stream);
  void submitResponse(Stream& stream);
  void receive();
  void flush();  // sends what nghttp2 has queued; closes when neither side wants more
  void close();

  ProxyServer& server_;
  bufferevent* down_;
  OriginalDestination dst_;
  net::IpAddress client_;
  uint16_t clientPort_;
  nghttp2_session* session_ = nullptr;
  std::map<int32_t, std::unique_ptr<Stream>> streams_;
  bool closed_ = false;
};

}  // namespace sluice::proxy
