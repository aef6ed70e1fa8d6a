#include "http1_session.h"

#include "h2_session.h"
#include "h2_upstream.h"
#include "proxy_server.h"

#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <climits>
#include <cstdio>
#include <cstring>
#include <random>
#include <utility>

namespace sluice::proxy {
namespace {
// Request bodies up to this size are copied for mirrors; larger ones are not mirrored.
constexpr size_t kBodyCopyLimit = 1 << 20;

Http1Session* sessionOf(http_parser* p) { return static_cast<Http1Session*>(p->data); }

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

bool hasToken(std::string_view list, std::string_view token) {
  while (!list.empty()) {
    size_t comma = list.find(',');
    if (lower(trim(list.substr(0, comma))) == token) {
      return true;
    }
    if (comma == std::string_view::npos) {
      break;
    }
    list.remove_prefix(comma + 1);
  }
  return false;
}

const char* reasonPhrase(unsigned status) {
  switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Payload Too Large";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Unknown";
  }
}

// Hop-by-hop headers (RFC 9110 §7.6.1) plus the framing headers the proxy sets itself.
bool isHopByHop(std::string_view name) {
  return name == "connection" || name == "keep-alive" || name == "proxy-connection" ||
         name == "transfer-encoding" || name == "te" || name == "upgrade" || name == "trailer" ||
         name == "http2-settings";
}

// Drops hop-by-hop headers and those the Connection header lists.
void stripHopByHop(HeaderList& headers) {
  std::vector<std::string> listed;
  for (const auto& h : headers) {
    if (h.name == "connection") {
      std::string_view v = h.value;
      while (!v.empty()) {
        size_t comma = v.find(',');
        listed.push_back(lower(trim(v.substr(0, comma))));
        if (comma == std::string_view::npos) {
          break;
        }
        v.remove_prefix(comma + 1);
      }
    }
  }
  std::erase_if(headers, [&listed](const HeaderField& h) {
    return isHopByHop(h.name) ||
           std::find(listed.begin(), listed.end(), h.name) != listed.end();
  });
}

// RFC 9110 §5.6.2 token characters; http-parser built without strict mode lets others through.
bool isToken(std::string_view name) {
  static constexpr std::string_view kSpecials = "!#$%&'*+-.^_`|~";
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || kSpecials.find(c) != std::string_view::npos;
  });
}

// RFC 9110 §5.5: field values carry no control characters other than HTAB.
bool isFieldValue(std::string_view value) {
  return std::none_of(value.begin(), value.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return (u < 0x20 && u != '\t') || u == 0x7f;
  });
}

void appendHeaders(std::string& out, const HeaderList& headers) {
  for (const auto& h : headers) {
    out += h.name;
    out += ": ";
    out += h.value;
    out += "\r\n";
  }
}

// Envoy's Grpc::Common::hasGrpcContentType: application/grpc, optionally followed by +format or
// parameters. grpc-web has its own content types and is not matched.
bool isGrpcContentType(std::string_view type) {
  static constexpr std::string_view kGrpc = "application/grpc";
  return type.starts_with(kGrpc) &&
         (type.size() == kGrpc.size() || type[kGrpc.size()] == '+' || type[kGrpc.size()] == ';');
}

// Envoy's Grpc::Utility::httpToGrpcStatus, used for local replies to gRPC requests.
unsigned grpcStatusForHttp(unsigned status) {
  switch (status) {
    case 400: return 13;  // INTERNAL
    case 401: return 16;  // UNAUTHENTICATED
    case 403: return 7;   // PERMISSION_DENIED
    case 404: return 12;  // UNIMPLEMENTED
    case 429:
    case 502:
    case 503:
    case 504: return 14;  // UNAVAILABLE
    default: return 2;    // UNKNOWN
  }
}

// grpc-message is percent-encoded outside printable ASCII and for '%' (gRPC PROTOCOL-HTTP2.md).
std::string grpcPercentEncode(std::string_view text) {
  std::string out;
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u > 0x7e || c == '%') {
      char hex[4];
      std::snprintf(hex, sizeof(hex), "%%%02X", u);
      out += hex;
    } else {
      out += c;
    }
  }
  return out;
}

void writeChunk(evbuffer* out, const char* data, size_t len) {
  if (len == 0) {
    return;  // a zero-size chunk would end the body
  }
  evbuffer_add_printf(out, "%zx\r\n", len);
  evbuffer_add(out, data, len);
  evbuffer_add(out, "\r\n", 2);
}

}  // namespace

bool HeaderSectionScanner::scan(const char* data, size_t len) {
  for (size_t i = 0; i < len; ++i) {
    char c = data[i];
    if (prevCr_) {
      prevCr_ = false;
      if (c != '\n') {
        return false;  // bare CR
      }
    }
    if (c == '\r') {
      prevCr_ = true;
      continue;
    }
    if (c == '\n') {
      if (!lineStart_) {
        ++lines_;
      }
      lineStart_ = true;
      continue;
    }
    if (lineStart_ && lines_ > 0 && (c == ' ' || c == '\t')) {
      return false;  // obs-fold: a continuation line
    }
    lineStart_ = false;
  }
  return true;
}

// The parser callbacks are static members so they can reach the session's private state; the
// settings tables are filled once, by the first session.
namespace {
http_parser_settings gRequestSettings;
http_parser_settings gResponseSettings;
}  // namespace

Http1Session::Http1Session(ProxyServer& server, bufferevent* bev, OriginalDestination dst,
                           net::IpAddress client, uint16_t clientPort, bool clientHttp2)
    : server_(server),
      down_(bev),
      dst_(dst),
      client_(client),
      clientPort_(clientPort),
      clientHttp2_(clientHttp2) {
  static const bool initialized = [] {
    http_parser_settings_init(&gRequestSettings);
    gRequestSettings.on_message_begin = reqMessageBegin;
    gRequestSettings.on_url = reqUrl;
    gRequestSettings.on_header_field = reqHeaderField;
    gRequestSettings.on_header_value = reqHeaderValue;
    gRequestSettings.on_headers_complete = reqHeadersComplete;
    gRequestSettings.on_body = reqBody;
    gRequestSettings.on_message_complete = reqMessageComplete;
    http_parser_settings_init(&gResponseSettings);
    gResponseSettings.on_status = respStatus;
    gResponseSettings.on_header_field = respHeaderField;
    gResponseSettings.on_header_value = respHeaderValue;
    gResponseSettings.on_headers_complete = respHeadersComplete;
    gResponseSettings.on_body = respBody;
    gResponseSettings.on_message_complete = respMessageComplete;
    return true;
  }();
  (void)initialized;
  http_parser_init(&parser_, HTTP_REQUEST);
  parser_.data = this;
  http_parser_init(&respParser_, HTTP_RESPONSE);
  respParser_.data = this;
  routeTimer_ = evtimer_new(server_.base(), onRouteTimeout, this);
  faultTimer_ = evtimer_new(server_.base(), onFaultDelay, this);
  retryTimer_ = evtimer_new(server_.base(), onRetryTimer, this);
  perTryTimer_ = evtimer_new(server_.base(), onPerTryTimeout, this);
  lingerTimer_ = evtimer_new(server_.base(), onLingerTimeout, this);
  bufferevent_setcb(down_, onDownRead, onDownWrite, onDownEvent, this);
  bufferevent_setwatermark(down_, EV_WRITE, server_.options().highWatermark / 2, 0);
  bufferevent_enable(down_, EV_READ | EV_WRITE);
}

Http1Session::~Http1Session() {
  if (ex_.routed) {
    Router::release(ex_.decision);
  }
  if (ex_.pendingBody) {
    evbuffer_free(ex_.pendingBody);
  }
  up_.reset();
  event_free(routeTimer_);
  event_free(faultTimer_);
  event_free(retryTimer_);
  event_free(perTryTimer_);
  event_free(lingerTimer_);
  if (down_) {
    bufferevent_free(down_);
  }
}

// ------------------------------------------------------------------ downstream

void Http1Session::onDownRead(bufferevent*, void* arg) {
  auto* s = static_cast<Http1Session*>(arg);
  if (s->closed_) {
    return;
  }
  if (s->lingering_) {
    evbuffer* in = bufferevent_get_input(s->down_);
    evbuffer_drain(in, evbuffer_get_length(in));
    return;
  }
  if (s->tunnel_) {
    if (s->up_) {
      evbuffer_add_buffer(bufferevent_get_output(s->up_->bev()), bufferevent_get_input(s->down_));
    }
    return;
  }
  s->feed();
}

void Http1Session::onDownWrite(bufferevent*, void* arg) {
  auto* s = static_cast<Http1Session*>(arg);
  if (s->closed_) {
    return;
  }
  if (s->closing_) {
    if (evbuffer_get_length(bufferevent_get_output(s->down_)) == 0) {
      s->lingerThenClose();
    }
    return;
  }
  // The client caught up: resume reading the upstream.
  if (s->up_ && !(bufferevent_get_enabled(s->up_->bev()) & EV_READ)) {
    bufferevent_enable(s->up_->bev(), EV_READ);
    s->feedUpstream();
  }
}

void Http1Session::onDownEvent(bufferevent*, short what, void* arg) {
  auto* s = static_cast<Http1Session*>(arg);
  if (s->closed_) {
    return;
  }
  if ((what & BEV_EVENT_EOF) && !s->tunnel_ && s->ex_.requestDone && !s->ex_.responseDone &&
      s->up_) {
    // Half-close after a complete request: still answer it, then close.
    s->ex_.closeAfter = true;
    bufferevent_disable(s->down_, EV_READ);
    return;
  }
  s->close();
}

void Http1Session::feed() {
  evbuffer* in = bufferevent_get_input(down_);
  while (!closed_ && !closing_ && !tunnel_) {
    if (waitingResponse_) {
      if (!ex_.responseDone) {
        return;  // pipelined requests wait in the buffer, answered in order
      }
      if (!finishExchange()) {
        return;
      }
      continue;
    }
    if (evbuffer_get_length(in) == 0) {
      return;
    }
    if (!prefaceChecked_ && !pastPreface()) {
      return;
    }
    evbuffer* sink = ex_.routed && ex_.decision.kind == Decision::Kind::Forward ? upstreamSink()
                                                                                : nullptr;
    if (sink && evbuffer_get_length(sink) > server_.options().highWatermark) {
      bufferevent_disable(down_, EV_READ);  // resumed by onUpWrite / onUpstreamConnected
      return;
    }
    evbuffer_iovec vec;
    evbuffer_peek(in, -1, nullptr, &vec, 1);
    const char* data = static_cast<const char*>(vec.iov_base);
    bool headerPhase = !headersDone_;
    size_t n = http_parser_execute(&parser_, &gRequestSettings, data, vec.iov_len);
    auto err = static_cast<http_errno>(parser_.http_errno);
    if (headerPhase && !scanner_.scan(data, n)) {
      ++server_.mutableCounters().badRequests;
      localReply(400, "Bad Request", true);
      return;
    }
    if (err != HPE_OK && err != HPE_PAUSED) {
      if (ex_.responseStarted) {
        close();  // broken body framing after the response began: only a reset is left
        return;
      }
      uint16_t status = ex_.errorStatus ? ex_.errorStatus : (err == HPE_HEADER_OVERFLOW ? 431 : 400);
      if (status == 431) {
        ++server_.mutableCounters().headersTooLarge;
      } else {
        ++server_.mutableCounters().badRequests;
      }
      localReply(status, status == 431 ? "Request Header Fields Too Large" : "Bad Request", true);
      return;
    }
    evbuffer_drain(in, n);
    if (err == HPE_PAUSED && pausedForDispatch_) {
      pausedForDispatch_ = false;
      http_parser_pause(&parser_, 0);
      dispatch();
    }
  }
}

bool Http1Session::pastPreface() {
  evbuffer* in = bufferevent_get_input(down_);
  char first[kH2ClientPreface.size()];
  auto len = static_cast<size_t>(evbuffer_copyout(in, first, sizeof(first)));
  if (std::string_view(first, len) != kH2ClientPreface.substr(0, len)) {
    prefaceChecked_ = true;
    return true;
  }
  if (len < kH2ClientPreface.size()) {
    return false;  // a prefix of the preface: wait for the rest
  }
  // HTTP/2 with prior knowledge: the H2Session takes the connection, preface included.
  bufferevent* bev = std::exchange(down_, nullptr);
  server_.startH2(bev, dst_, client_, clientPort_, nullptr);
  close();
  return false;
}

// Answers 101 and hands the connection to an H2Session; the upgrade request is its stream 1.
void Http1Session::switchToH2c() {
  H2UpgradeRequest up;
  up.settings = decodeBase64Url(trim(headerValue(ex_.headers, "http2-settings").value_or("")))
                    .value_or("");
  up.method = ex_.method;
  up.path = ex_.path;
  up.authority = ex_.authority;
  up.headers = std::move(ex_.headers);
  stripHopByHop(up.headers);
  // The parser paused at headers-complete before consuming the header section's final LF.
  evbuffer* in = bufferevent_get_input(down_);
  char last = 0;
  if (evbuffer_copyout(in, &last, 1) == 1 && last == '\n') {
    evbuffer_drain(in, 1);
  }
  static constexpr std::string_view kSwitching =
      "HTTP/1.1 101 Switching Protocols\r\nconnection: Upgrade\r\nupgrade: h2c\r\n\r\n";
  bufferevent_write(down_, kSwitching.data(), kSwitching.size());
  bufferevent* bev = std::exchange(down_, nullptr);
  server_.startH2(bev, dst_, client_, clientPort_, &up);
  close();
}

bool Http1Session::countHeaderBytes(size_t len) {
  ex_.headerBytes += len;
  if (ex_.headerBytes > server_.options().maxRequestHeadersBytes) {
    ex_.errorStatus = 431;
    return false;
  }
  return true;
}

int Http1Session::reqMessageBegin(http_parser* p) {
  auto* s = sessionOf(p);
  if (s->ex_.pendingBody) {
    evbuffer_free(s->ex_.pendingBody);
  }
  s->ex_ = Exchange{};
  s->headersDone_ = false;
  return 0;
}

int Http1Session::reqUrl(http_parser* p, const char* at, size_t len) {
  auto* s = sessionOf(p);
  s->ex_.url.append(at, len);
  return s->countHeaderBytes(len) ? 0 : 1;
}

int Http1Session::reqHeaderField(http_parser* p, const char* at, size_t len) {
  auto* s = sessionOf(p);
  auto& ex = s->ex_;
  if (ex.inValue) {
    ex.inValue = false;
    ex.field.clear();
  }
  if (ex.field.empty()) {
    if (ex.headers.size() >= s->server_.options().maxRequestHeaders) {
      ex.errorStatus = 431;
      return 1;
    }
  }
  ex.field.append(at, len);
  return s->countHeaderBytes(len) ? 0 : 1;
}

int Http1Session::reqHeaderValue(http_parser* p, const char* at, size_t len) {
  auto* s = sessionOf(p);
  auto& ex = s->ex_;
  if (!ex.inValue) {
    ex.inValue = true;
    ex.headers.push_back(HeaderField{lower(ex.field), {}});
  }
  ex.headers.back().value.append(at, len);
  return s->countHeaderBytes(len) ? 0 : 1;
}

int Http1Session::reqHeadersComplete(http_parser* p) {
  auto* s = sessionOf(p);
  auto& ex = s->ex_;
  s->headersDone_ = true;
  ex.chunkedRequest = (p->flags & F_CHUNKED) != 0;
  ex.keepAlive = http_should_keep_alive(p) != 0;
  ex.http10 = p->http_major == 1 && p->http_minor == 0;
  ex.method = http_method_str(static_cast<http_method>(p->method));
  ex.head = p->method == HTTP_HEAD;
  ex.upgrade = p->upgrade != 0;
  // Dispatch after http_parser_execute returns, once the header bytes passed the scanner.
  s->pausedForDispatch_ = true;
  http_parser_pause(p, 1);
  return 0;
}

int Http1Session::reqBody(http_parser* p, const char* at, size_t len) {
  auto* s = sessionOf(p);
  auto& ex = s->ex_;
  if (!ex.routed || ex.decision.kind != Decision::Kind::Forward || ex.responseDone) {
    return 0;  // answered locally: the body is read and dropped so the connection stays usable
  }
  evbuffer* sink = s->upstreamSink();
  if (!ex.bodyCopyOverflow) {
    if (ex.bodyCopy.size() + len > kBodyCopyLimit) {
      ex.bodyCopyOverflow = true;
      ex.bodyCopy.clear();
    } else if (ex.chunkedRequest) {
      if (len > 0) {
        char size[24];
        int n = std::snprintf(size, sizeof(size), "%zx\r\n", len);
        ex.bodyCopy.append(size, static_cast<size_t>(n));
        ex.bodyCopy.append(at, len);
        ex.bodyCopy += "\r\n";
      }
    } else {
      ex.bodyCopy.append(at, len);
    }
  }
  if (ex.chunkedRequest) {
    writeChunk(sink, at, len);
  } else {
    evbuffer_add(sink, at, len);
  }
  if (s->upConnected_) {
    ex.bodyBytesSent += len;
  }
  return 0;
}

int Http1Session::reqMessageComplete(http_parser* p) {
  auto* s = sessionOf(p);
  auto& ex = s->ex_;
  ex.requestDone = true;
  bool forwarding = ex.routed && ex.decision.kind == Decision::Kind::Forward && !ex.responseDone;
  if (forwarding && ex.chunkedRequest) {
    evbuffer_add(s->upstreamSink(), "0\r\n\r\n", 5);
    if (!ex.bodyCopyOverflow) {
      ex.bodyCopy += "0\r\n\r\n";
    }
  }
  if (forwarding && ex.acted) {
    s->startRouteTimer();
    s->sendMirrors();
  }
  s->waitingResponse_ = true;
  http_parser_pause(p, 1);
  return 0;
}

uint16_t Http1Session::validateRequest() {
  auto& ex = ex_;
  std::string te;
  for (const auto& h : ex.headers) {
    if (!isToken(h.name) || !isFieldValue(h.value)) {
      return 400;
    }
    if (h.name == "content-length") {
      ++ex.contentLengths;
    } else if (h.name == "transfer-encoding") {
      ex.transferEncoding = true;
      te = lower(trim(h.value));
    } else if (h.name == "host") {
      ++ex.hosts;
      ex.authority = h.value;
    }
  }
  // RFC 9112 §6.3: Content-Length with Transfer-Encoding, or several Content-Length lines, are
  // the classic request-smuggling vectors; reject rather than pick one.
  if (ex.contentLengths > 1 || (ex.contentLengths > 0 && ex.transferEncoding)) {
    return 400;
  }
  if (ex.transferEncoding && te != "chunked") {
    return 501;  // RFC 9112 §6.1: a transfer coding we do not implement
  }
  if (ex.hosts > 1 || (ex.hosts == 0 && !ex.http10)) {
    return 400;  // RFC 9112 §3.2
  }
  if (parser_.method == HTTP_CONNECT) {
    return 405;
  }
  if (ex.url.empty() || ex.url[0] == '/') {
    ex.path = ex.url;
  } else if (ex.url == "*") {
    ex.path = "*";
  } else {
    // absolute-form: the authority comes from the URL (RFC 9112 §3.2.2)
    http_parser_url u;
    http_parser_url_init(&u);
    if (http_parser_parse_url(ex.url.data(), ex.url.size(), 0, &u) != 0 ||
        !(u.field_set & (1 << UF_HOST))) {
      return 400;
    }
    ex.authority = ex.url.substr(u.field_data[UF_HOST].off, u.field_data[UF_HOST].len);
    if (u.field_set & (1 << UF_PORT)) {
      ex.authority += ":" + std::to_string(u.port);
    }
    ex.path = u.field_set & (1 << UF_PATH)
                  ? ex.url.substr(u.field_data[UF_PATH].off, u.field_data[UF_PATH].len)
                  : "/";
    if (u.field_set & (1 << UF_QUERY)) {
      ex.path += "?" + ex.url.substr(u.field_data[UF_QUERY].off, u.field_data[UF_QUERY].len);
    }
  }
  if (ex.upgrade) {
    auto up = headerValue(ex.headers, "upgrade");
    auto settings = headerValue(ex.headers, "http2-settings");
    // h2c (RFC 7540 §3.2) is taken when the request has no body, so that stream 1 is complete
    // when the connection switches, and carries valid HTTP2-Settings; otherwise the upgrade is
    // dropped and the request proxied as HTTP/1.1, as a server may.
    bool noBody = !ex.chunkedRequest &&
                  (parser_.content_length == 0 || parser_.content_length == ULLONG_MAX);
    ex.h2cUpgrade = up && hasToken(*up, "h2c") && settings && decodeBase64Url(trim(*settings)) &&
                    noBody && !ex.http10;
    if (!up || hasToken(*up, "h2c")) {
      ex.upgrade = false;
    }
  }
  return 0;
}

void Http1Session::dispatch() {
  auto& counters = server_.mutableCounters();
  ex_.table = server_.routeTable();
  if (uint16_t status = validateRequest()) {
    ++counters.requests;
    ++counters.badRequests;
    localReply(status, reasonPhrase(status), true);
    return;
  }
  if (ex_.h2cUpgrade) {
    switchToH2c();  // stream 1 is counted by the session that handles it
    return;
  }
  ++counters.requests;
  ex_.grpc = isGrpcContentType(headerValue(ex_.headers, "content-type").value_or(""));
  const Listener* listener = ex_.table ? ex_.table->findListener(dst_.vip, dst_.port) : nullptr;
  if (!listener) {
    ++counters.noRoute;
    localReply(404, "", false);
    return;
  }
  RequestView req;
  req.method = ex_.method;
  req.scheme = "http";
  req.authority = ex_.authority;
  req.path = ex_.path;
  req.headers = &ex_.headers;
  req.client = client_;
  req.clientPort = clientPort_;
  req.clientClass = ex_.table->classOf(client_);
  req.port = dst_.port;
  ex_.decision = server_.router().route(*ex_.table, *listener, req);
  ex_.routed = true;
  if (ex_.decision.kind == Decision::Kind::Forward) {
    // The body is copied only when something may send it again: a mirror, or a retry that can
    // happen after body bytes went upstream (connect failures happen before any did).
    const RetryPolicy& rp = ex_.decision.route->retry;
    bool resend = rp.numRetries > 0 && (rp.reset || rp.on5xx || rp.gatewayError || rp.retriable4xx ||
                                        !rp.statuses.empty() || rp.perTryTimeout.count() > 0);
    ex_.bodyCopyOverflow = !resend && ex_.decision.mirrors.empty();
  }
  // Body bytes that arrive before an upstream is connected (or during an injected delay) wait here.
  ex_.pendingBody = evbuffer_new();
  if (ex_.decision.faultDelay.count() > 0) {
    auto ms = ex_.decision.faultDelay.count();
    timeval tv{static_cast<time_t>(ms / 1000), static_cast<suseconds_t>((ms % 1000) * 1000)};
    evtimer_add(faultTimer_, &tv);
    return;
  }
  act();
}

void Http1Session::onFaultDelay(evutil_socket_t, short, void* arg) {
  auto* s = static_cast<Http1Session*>(arg);
  if (s->closed_ || s->closing_) {
    return;
  }
  s->act();
  // A local answer may have completed an exchange whose request was already in.
  if (!s->closing_ && !s->closed_) {
    s->feed();
  }
}

void Http1Session::startPerTryTimer() {
  auto ms = ex_.decision.route->retry.perTryTimeout.count();
  if (ms > 0 && ex_.requestDone) {
    timeval tv{static_cast<time_t>(ms / 1000), static_cast<suseconds_t>((ms % 1000) * 1000)};
    evtimer_add(perTryTimer_, &tv);
  }
}

// perTryTimeout before the response head: the attempt is abandoned and, as Envoy counts it as a
// 504, retried under 5xx / gateway-error; otherwise 504 `upstream request timeout`.
void Http1Session::onPerTryTimeout(evutil_socket_t, short, void* arg) {
  auto* s = static_cast<Http1Session*>(arg);
  if (s->closed_ || s->ex_.responseDone || s->ex_.responseStarted) {
    return;
  }
  const RetryPolicy& p = s->ex_.decision.route->retry;
  if ((p.on5xx || p.gatewayError || p.retriableStatus(504)) && s->takeRetry()) {
    s->scheduleRetry();
    return;
  }
  ++s->server_.mutableCounters().upstreamTimeouts;
  s->up_.reset();
  evtimer_del(s->retryTimer_);
  s->localReply(504, "upstream request timeout", false);
  if (!s->closing_ && s->finishExchange()) {
    s->feed();
  }
}

void Http1Session::startRouteTimer() {
  startPerTryTimer();
  auto ms = ex_.decision.route->timeout.count();
  if (ms > 0) {
    timeval tv{static_cast<time_t>(ms / 1000), static_cast<suseconds_t>((ms % 1000) * 1000)};
    evtimer_add(routeTimer_, &tv);
  }
}

void Http1Session::act() {
  auto& counters = server_.mutableCounters();
  ex_.acted = true;
  switch (ex_.decision.kind) {
    case Decision::Kind::Forward:
      forward();
      return;
    case Decision::Kind::Redirect:
      ++counters.redirects;
      localReply(ex_.decision.status, "", false, {HeaderField{"location", ex_.decision.location}});
      return;
    case Decision::Kind::DirectResponse:
      ++counters.directResponses;
      localReply(ex_.decision.status, ex_.decision.body, false);
      return;
    case Decision::Kind::NoRoute:
      ++counters.noRoute;
      localReply(404, "", false);
      return;
    case Decision::Kind::NoCluster:
      ++counters.noCluster;
      localReply(503, "", false);
      return;
    case Decision::Kind::NoHealthyUpstream:
      ++counters.noHealthyUpstream;
      localReply(503, "no healthy upstream", false);
      return;
    case Decision::Kind::FaultAbort:
      ++counters.faultAborts;
      localReply(ex_.decision.status, ex_.decision.body, false);
      return;
  }
}

void Http1Session::forward() {
  auto& ex = ex_;
  HeaderList headers = std::move(ex.headers);
  bool expectContinue = false;
  if (auto expect = headerValue(headers, "expect")) {
    // Envoy answers 100-continue itself and does not forward Expect.
    expectContinue = lower(trim(*expect)) == "100-continue" && !ex.http10;
    std::erase_if(headers, [](const HeaderField& h) { return h.name == "expect"; });
  }
  std::optional<std::string> upgrade = ex.upgrade ? headerValue(headers, "upgrade") : std::nullopt;
  stripHopByHop(headers);
  // x-forwarded-for: the proxy sees the real client address, so it appends it (Envoy with
  // use_remote_address). x-forwarded-proto is kept when the client set it (mesh-internal) and set
  // to the connection's scheme otherwise. x-request-id is generated when absent.
  std::string clientIp = client_.toString();
  auto xff = std::find_if(headers.begin(), headers.end(),
                          [](const HeaderField& h) { return h.name == "x-forwarded-for"; });
  if (xff == headers.end()) {
    headers.push_back(HeaderField{"x-forwarded-for", clientIp});
  } else {
    xff->value += "," + clientIp;
  }
  if (!headerValue(headers, "x-forwarded-proto")) {
    headers.push_back(HeaderField{"x-forwarded-proto", "http"});
  }
  if (!headerValue(headers, "x-request-id")) {
    headers.push_back(HeaderField{"x-request-id", server_.newRequestId()});
  }
  Router::applyRequestHeaders(ex.decision, headers);
  std::erase_if(headers, [](const HeaderField& h) { return h.name == "host"; });
  std::string authority = ex.decision.authority.empty() ? ex.authority : ex.decision.authority;

  std::string& head = ex.requestHead;
  head.reserve(256);
  head = ex.method;
  head += ' ';
  head += ex.decision.path;
  head += " HTTP/1.1\r\nhost: ";
  head += authority;
  head += "\r\n";
  appendHeaders(head, headers);
  if (ex.chunkedRequest) {
    head += "transfer-encoding: chunked\r\n";
  }
  if (upgrade) {
    head += "connection: upgrade\r\nupgrade: " + *upgrade + "\r\n";
  }
  head += "\r\n";
  if (expectContinue) {
    static constexpr char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";
    bufferevent_write(down_, kContinue, sizeof(kContinue) - 1);
  }
  http_parser_init(&respParser_, HTTP_RESPONSE);
  respParser_.data = this;
  if (ex.requestDone) {
    startRouteTimer();
    sendMirrors();
  }
  connectUpstream();
}

// A retry is possible while attempts remain and everything sent so far can be sent again: nothing
// went upstream yet, or the body copy holds all of it.
bool Http1Session::canRetry() const {
  return ex_.routed && ex_.decision.kind == Decision::Kind::Forward && !ex_.responseStarted &&
         !ex_.upgrade && ex_.attempts < ex_.decision.route->retry.numRetries &&
         (ex_.bodyBytesSent == 0 || !ex_.bodyCopyOverflow);
}

// canRetry(), and the cluster's max_retries has room: the retry holds a share of it until its
// attempt answers or the next retry is decided (Envoy's resetRetry). Over the limit the failure
// stands as if the retries were used up (Envoy: upstream_rq_retry_overflow, no retry).
bool Http1Session::takeRetry() {
  if (!canRetry()) {
    return false;
  }
  ex_.retrySlot = CircuitSlot();
  const Cluster& cluster = *ex_.decision.cluster;
  ClusterCircuit& circuit = server_.circuits().of(cluster.name);
  if (circuit.retries >= cluster.limits.maxRetries) {
    ++server_.mutableCounters().upstreamRqRetryOverflow;
    return false;
  }
  ex_.retrySlot = CircuitSlot(server_.circuits(), circuit.retries);
  return true;
}

// Drops the current attempt and starts the next after a jittered exponential backoff (Envoy: a
// random delay in [0, base·2^(n-1)], capped at 10× base), on another endpoint when previous hosts
// are avoided. The route timer keeps running: it covers every attempt.
void Http1Session::scheduleRetry() {
  auto& ex = ex_;
  up_.reset();
  upConnected_ = false;
  ex.pendingSlot = CircuitSlot();
  evtimer_del(perTryTimer_);
  ++ex.attempts;
  ++server_.mutableCounters().retries;
  Decision& d = ex.decision;
  const RetryPolicy& policy = d.route->retry;
  if (policy.previousHosts && d.cluster->endpoints.size() > 1) {
    Router::release(d);
    d.endpoint = static_cast<uint32_t>((d.endpoint + 1) % d.cluster->endpoints.size());
    d.cluster->counters->active[d.endpoint].fetch_add(1, std::memory_order_relaxed);
  }
  ex.respHeaders.clear();
  ex.respField.clear();
  ex.statusText.clear();
  ex.respInValue = false;
  if (ex.bodyBytesSent > 0) {
    evbuffer_drain(ex.pendingBody, evbuffer_get_length(ex.pendingBody));
    evbuffer_add(ex.pendingBody, ex.bodyCopy.data(), ex.bodyCopy.size());
    ex.bodyBytesSent = 0;
  }
  int64_t base = policy.backoffBase.count();
  int64_t interval = std::min(base << std::min<uint32_t>(ex.attempts - 1, 20), base * 10);
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  int64_t ms = static_cast<int64_t>(rng() % static_cast<uint64_t>(interval + 1));
  timeval tv{static_cast<time_t>(ms / 1000), static_cast<suseconds_t>((ms % 1000) * 1000)};
  evtimer_add(retryTimer_, &tv);
}

void Http1Session::onRetryTimer(evutil_socket_t, short, void* arg) {
  auto* s = static_cast<Http1Session*>(arg);
  if (s->closed_ || s->ex_.responseDone) {
    return;
  }
  http_parser_init(&s->respParser_, HTTP_RESPONSE);
  s->respParser_.data = s;
  s->startPerTryTimer();
  s->connectUpstream();
  s->continueAfterLocalReply();
}

// Mirrors go out once the whole request is known (head built, body complete): Envoy's shadow
// also carries the buffered body. The copy keeps the primary's Host (DISABLE_SHADOW_HOST_SUFFIX).
void Http1Session::sendMirrors() {
  auto& ex = ex_;
  if (ex.mirrored || ex.decision.mirrors.empty() || ex.upgrade || ex.requestHead.size() < 4) {
    return;
  }
  ex.mirrored = true;
  if (ex.bodyCopyOverflow) {
    ++server_.mutableCounters().mirrorsSkipped;
    return;
  }
  std::string bytes = ex.requestHead.substr(0, ex.requestHead.size() - 2);
  if (server_.options().mirrorHostShadowSuffix) {
    size_t hostAt = bytes.find("\r\nhost: ");
    if (hostAt != std::string::npos) {
      size_t begin = hostAt + 8;
      size_t end = bytes.find("\r\n", begin);
      std::string_view host(bytes.data() + begin, end - begin);
      size_t colon = host.rfind(':');
      size_t insertAt = (colon != std::string_view::npos && host.find(']', colon) == std::string_view::npos)
                            ? begin + colon
                            : end;
      bytes.insert(insertAt, "-shadow");
    }
  }
  bytes += "connection: close\r\n\r\n";
  bytes += ex.bodyCopy;
  for (const Endpoint* ep : ex.decision.mirrors) {
    server_.mirror(*ep, bytes);
  }
}

evbuffer* Http1Session::upstreamSink() {
  return upConnected_ ? bufferevent_get_output(up_->bev()) : ex_.pendingBody;
}

bool Http1Session::upstreamHttp2() const {
  const Cluster& cluster = *ex_.decision.cluster;
  return (cluster.useClientProtocol ? clientHttp2_ : cluster.http2) && !ex_.upgrade;
}

// Envoy's connection pool under the cluster's circuit breakers: an idle connection is used at once;
// otherwise the request is pending (max_pending_requests, or 503 UO) until a connection is up, and
// a new connection needs room under max_connections, except that an endpoint with no connection
// in the cluster always gets one (Envoy, so a request never waits with nothing to wait for).
// Without room the request waits in the queue of its cluster and endpoint until a connection is
// parked or closed (or the route timeout ends it).
void Http1Session::connectUpstream() {
  const Endpoint& ep = ex_.decision.upstream();
  auto& counters = server_.mutableCounters();
  upConnected_ = false;
  const Cluster& cluster = *ex_.decision.cluster;
  if (upstreamHttp2()) {
    // A stream on the endpoint's multiplexed HTTP/2 connection, spoken to as HTTP/1.1. On an
    // established connection it counts as reused: a GOAWAY may have crossed it, as a pooled
    // connection may have been closed.
    bool established = false;
    bufferevent* bev = server_.h2Upstreams().open(ep, established);
    if (!bev) {
      retryOrFail("connection failure");
      return;
    }
    up_ = std::make_unique<UpstreamConn>(bev, ep.key(), established);
    ++counters.h2UpstreamStreams;
  } else {
    const std::string key = UpstreamPool::poolKey(cluster, ep);
    up_ = ex_.upgrade ? nullptr : server_.pool().takeIdle(key);
    if (!up_) {
      CircuitBreakers& circuits = server_.circuits();
      ClusterCircuit& circuit = circuits.of(cluster.name);
      if (!ex_.pendingSlot) {
        if (circuit.pending >= cluster.limits.maxPendingRequests) {
          overflow();
          return;
        }
        ex_.pendingSlot = CircuitSlot(circuits, circuit.pending);
      }
      uint32_t& endpointConnections = circuit.connectionsByEndpoint[key];
      if (circuit.connections >= cluster.limits.maxConnections && endpointConnections > 0) {
        ++counters.upstreamCxOverflow;
        ex_.waitTicket = circuits.wait(key, *this, resuming_);
        return;
      }
      up_ = server_.pool().connect(ep, key, server_.options().connectTimeoutSeconds);
      if (!up_) {
        retryOrFail("connection failure");
        return;
      }
      up_->holdConnection(CircuitSlot(circuits, circuit.connections),
                          CircuitSlot(circuits, endpointConnections));
      ++counters.upstreamConnectionsOpened;
    }
  }
  if (up_->reused()) {
    ++counters.upstreamConnectionsReused;
  }
  bufferevent_setcb(up_->bev(), onUpRead, onUpWrite, onUpEvent, this);
  bufferevent_setwatermark(up_->bev(), EV_WRITE, server_.options().highWatermark / 2, 0);
  bufferevent_enable(up_->bev(), EV_READ | EV_WRITE);
  if (up_->reused()) {
    onUpstreamConnected();
  }
}

// A waiting request's turn (CircuitBreakers pops it before calling).
bool Http1Session::resumeUpstream() {
  ex_.waitTicket = WaitTicket();
  if (closed_ || closing_ || ex_.responseDone || !ex_.routed) {
    return true;
  }
  resuming_ = true;
  connectUpstream();
  resuming_ = false;
  const bool waitsAgain = static_cast<bool>(ex_.waitTicket);
  continueAfterLocalReply();
  return !waitsAgain;
}

// Envoy's answer when a circuit breaker is full (response flag UO): 503 at once, never retried.
void Http1Session::overflow() {
  ++server_.mutableCounters().upstreamRqPendingOverflow;
  localReply(503, "upstream connect error or disconnect/reset before headers. reset reason: overflow",
             false, {HeaderField{"x-envoy-overloaded", "true"}});
}

// From an event callback, after the exchange may have been answered locally: finish it and go on
// with what the client sent next (inside feed() the loop does this itself).
void Http1Session::continueAfterLocalReply() {
  if (ex_.responseDone && !closing_ && !closed_) {
    feed();
  }
}

void Http1Session::onUpstreamConnected() {
  // The request leaves the pending queue and counts against max_requests (Envoy checks that when
  // a request is attached to a ready connection).
  ex_.pendingSlot = CircuitSlot();
  const Cluster& cluster = *ex_.decision.cluster;
  ClusterCircuit& circuit = server_.circuits().of(cluster.name);
  if (circuit.requests >= cluster.limits.maxRequests) {
    if (!upstreamHttp2()) {
      server_.pool().putIdle(std::move(up_));  // unused: another request may have it
    }
    overflow();
    return;
  }
  up_->attach(CircuitSlot(server_.circuits(), circuit.requests));
  upConnected_ = true;
  bufferevent_set_timeouts(up_->bev(), nullptr, nullptr);
  evbuffer* out = bufferevent_get_output(up_->bev());
  evbuffer_add(out, ex_.requestHead.data(), ex_.requestHead.size());
  ex_.bodyBytesSent += evbuffer_get_length(ex_.pendingBody);
  evbuffer_add_buffer(out, ex_.pendingBody);
  if (!(bufferevent_get_enabled(down_) & EV_READ) && !closing_) {
    bufferevent_enable(down_, EV_READ);
  }
}

void Http1Session::retryOrFail(const char* reason) {
  up_.reset();
  upConnected_ = false;
  Decision& d = ex_.decision;
  ex_.pendingSlot = CircuitSlot();
  if (d.route->retry.connectFailure && takeRetry()) {
    scheduleRetry();
    return;
  }
  localReply(503,
             std::string("upstream connect error or disconnect/reset before headers. reset reason: ") +
                 reason,
             !ex_.requestDone);
}

// ------------------------------------------------------------------ upstream

void Http1Session::onUpRead(bufferevent*, void* arg) {
  auto* s = static_cast<Http1Session*>(arg);
  if (!s->closed_) {
    s->feedUpstream();
  }
}

void Http1Session::onUpWrite(bufferevent*, void* arg) {
  auto* s = static_cast<Http1Session*>(arg);
  if (s->closed_ || s->closing_ || s->tunnel_) {
    return;
  }
  // The upstream drained below the watermark: resume the request body.
  if (!(bufferevent_get_enabled(s->down_) & EV_READ)) {
    bufferevent_enable(s->down_, EV_READ);
    s->feed();
  }
}

void Http1Session::onUpEvent(bufferevent*, short what, void* arg) {
  auto* s = static_cast<Http1Session*>(arg);
  if (s->closed_) {
    return;
  }
  if (what & BEV_EVENT_CONNECTED) {
    s->onUpstreamConnected();
    s->continueAfterLocalReply();
    return;
  }
  if (s->tunnel_) {
    s->closeAfterFlush();
    return;
  }
  if (!s->upConnected_) {
    ++s->server_.mutableCounters().upstreamConnectFailures;
    s->retryOrFail((what & BEV_EVENT_TIMEOUT) ? "connection timeout" : "connection failure");
    return;
  }
  s->upstreamClosed();
}

void Http1Session::upstreamClosed() {
  // A pooled connection the server closed while idle: safe to retry when nothing of the request
  // body went out and no response byte came back.
  if (!ex_.responseStarted && up_ && up_->reused() && ex_.requestDone && ex_.bodyBytesSent == 0 &&
      ex_.attempts == 0) {
    ++ex_.attempts;
    up_.reset();
    http_parser_init(&respParser_, HTTP_RESPONSE);
    respParser_.data = this;
    connectUpstream();
    return;
  }
  // EOF may end a close-delimited response.
  http_parser_execute(&respParser_, &gResponseSettings, nullptr, 0);
  if (ex_.responseDone) {
    up_.reset();
    if (ex_.requestDone) {
      if (finishExchange()) {
        feed();
      }
    } else {
      closeAfterFlush();
    }
    return;
  }
  up_.reset();
  if (!ex_.responseStarted && ex_.decision.route->retry.reset && takeRetry()) {
    scheduleRetry();
    return;
  }
  if (!ex_.responseStarted) {
    localReply(503, "upstream connect error or disconnect/reset before headers. reset reason: "
                    "connection termination",
               !ex_.requestDone);
    if (ex_.requestDone && !closing_) {
      if (finishExchange()) {
        feed();
      }
    }
    return;
  }
  close();  // mid-response: the client must see the truncation
}

void Http1Session::feedUpstream() {
  if (!up_) {
    return;
  }
  evbuffer* in = bufferevent_get_input(up_->bev());
  evbuffer* out = bufferevent_get_output(down_);
  while (!closed_ && up_ && evbuffer_get_length(in) > 0) {
    if (tunnel_) {
      evbuffer_add_buffer(out, in);
      return;
    }
    if (ex_.responseDone) {
      up_.reset();  // bytes after a complete response: the connection is not trustworthy
      return;
    }
    if (evbuffer_get_length(out) > server_.options().highWatermark) {
      bufferevent_disable(up_->bev(), EV_READ);  // resumed by onDownWrite
      return;
    }
    evbuffer_iovec vec;
    evbuffer_peek(in, -1, nullptr, &vec, 1);
    size_t n = http_parser_execute(&respParser_, &gResponseSettings,
                                   static_cast<const char*>(vec.iov_base), vec.iov_len);
    if (ex_.retryPending) {
      ex_.retryPending = false;
      scheduleRetry();
      return;
    }
    auto err = static_cast<http_errno>(respParser_.http_errno);
    if (err != HPE_OK && err != HPE_PAUSED) {
      up_.reset();
      if (!ex_.responseStarted) {
        localReply(503, "upstream connect error or disconnect/reset before headers. reset reason: "
                        "protocol error",
                   true);
      } else {
        close();
      }
      return;
    }
    evbuffer_drain(in, n);
    if (!ex_.responseDone) {
      continue;
    }
    // The response is complete.
    if (ex_.upgrade && respParser_.status_code == 101) {
      startTunnel();
      return;
    }
    bool reusable = http_should_keep_alive(&respParser_) && ex_.requestDone &&
                    evbuffer_get_length(in) == 0;
    const uint32_t perConnection = ex_.decision.cluster->limits.maxRequestsPerConnection;
    if (reusable && perConnection > 0 && up_->requests() >= perConnection) {
      reusable = false;  // maxRequestsPerConnection: this connection has served its share
      ++server_.mutableCounters().upstreamCxMaxRequests;
    }
    if (reusable) {
      server_.pool().putIdle(std::move(up_));
    } else {
      up_.reset();
    }
    upConnected_ = false;
    if (!ex_.requestDone) {
      closeAfterFlush();  // answered early: the rest of the request cannot be framed reliably
      return;
    }
    if (finishExchange()) {
      feed();
    }
    return;
  }
}

int Http1Session::respStatus(http_parser* p, const char* at, size_t len) {
  sessionOf(p)->ex_.statusText.append(at, len);
  return 0;
}

int Http1Session::respHeaderField(http_parser* p, const char* at, size_t len) {
  auto& ex = sessionOf(p)->ex_;
  if (ex.respInValue) {
    ex.respInValue = false;
    ex.respField.clear();
  }
  ex.respField.append(at, len);
  return 0;
}

int Http1Session::respHeaderValue(http_parser* p, const char* at, size_t len) {
  auto& ex = sessionOf(p)->ex_;
  // After the head, http-parser reports the chunked body's trailer fields (e.g. grpc-status).
  HeaderList& fields = ex.responseStarted ? ex.respTrailers : ex.respHeaders;
  if (!ex.respInValue) {
    ex.respInValue = true;
    fields.push_back(HeaderField{lower(ex.respField), {}});
  }
  fields.back().value.append(at, len);
  return 0;
}

int Http1Session::respHeadersComplete(http_parser* p) {
  auto* s = sessionOf(p);
  unsigned status = p->status_code;
  if (status / 100 == 1 && status != 101) {
    return 0;  // interim responses are not relayed (the proxy answered Expect itself)
  }
  auto& ex = s->ex_;
  const RetryPolicy& retry = ex.decision.route->retry;
  // Envoy's gRPC retry conditions look at grpc-status in the response head (a trailers-only
  // answer); trailers after a body are never retried.
  bool grpcRetriable = false;
  if (auto grpcStatus = headerValue(ex.respHeaders, "grpc-status")) {
    unsigned code = 0;
    const char* end = grpcStatus->data() + grpcStatus->size();
    auto parsed = std::from_chars(grpcStatus->data(), end, code);
    grpcRetriable = parsed.ec == std::errc{} && parsed.ptr == end && retry.retriableGrpcStatus(code);
  }
  if (ex.requestDone && (retry.retriableStatus(status) || grpcRetriable) && s->takeRetry()) {
    ex.retryPending = true;  // feedUpstream drops this answer and tries again
    http_parser_pause(p, 1);
    return 0;
  }
  s->writeResponseHead();
  return s->ex_.head ? 1 : 0;  // 1: a HEAD response has no body whatever its headers say
}

void Http1Session::writeResponseHead() {
  auto& ex = ex_;
  evtimer_del(perTryTimer_);
  ex.retrySlot = CircuitSlot();  // the retried attempt answered
  unsigned status = respParser_.status_code;
  ex.responseStarted = true;
  HeaderList headers = std::move(ex.respHeaders);
  std::optional<std::string> upgrade;
  bool tunnel = ex.upgrade && status == 101;
  if (tunnel) {
    upgrade = headerValue(headers, "upgrade");
  }
  stripHopByHop(headers);
  Router::applyResponseHeaders(ex.decision, headers);
  bool noBody = ex.head || status == 204 || status == 304 || status / 100 == 1;
  bool hasLength = (respParser_.flags & F_CHUNKED) == 0 && respParser_.content_length != ULLONG_MAX;
  if (!noBody && !hasLength) {
    if (ex.http10) {
      ex.closeAfter = true;  // close-delimited for an HTTP/1.0 client
    } else {
      ex.rechunkResponse = true;
    }
  }
  if (!noBody && hasLength &&
      std::none_of(headers.begin(), headers.end(),
                   [](const HeaderField& h) { return h.name == "content-length"; })) {
    headers.push_back(HeaderField{"content-length", std::to_string(respParser_.content_length)});
  }
  std::string head = "HTTP/1.1 " + std::to_string(status) + " " +
                     (ex.statusText.empty() ? reasonPhrase(status) : ex.statusText) + "\r\n";
  appendHeaders(head, headers);
  if (ex.rechunkResponse) {
    head += "transfer-encoding: chunked\r\n";
  }
  if (tunnel) {
    head += "connection: upgrade\r\nupgrade: " + upgrade.value_or("") + "\r\n";
  } else if (!ex.keepAlive || ex.closeAfter) {
    head += "connection: close\r\n";
  } else if (ex.http10) {
    head += "connection: keep-alive\r\n";
  }
  head += "\r\n";
  bufferevent_write(down_, head.data(), head.size());
}

int Http1Session::respBody(http_parser* p, const char* at, size_t len) {
  auto* s = sessionOf(p);
  evbuffer* out = bufferevent_get_output(s->down_);
  if (s->ex_.rechunkResponse) {
    writeChunk(out, at, len);
  } else {
    evbuffer_add(out, at, len);
  }
  return 0;
}

int Http1Session::respMessageComplete(http_parser* p) {
  auto* s = sessionOf(p);
  unsigned status = p->status_code;
  if (status / 100 == 1 && status != 101) {
    s->ex_.respHeaders.clear();
    s->ex_.statusText.clear();
    s->ex_.respField.clear();
    s->ex_.respInValue = false;
    return 0;
  }
  if (s->ex_.rechunkResponse) {
    std::string last = "0\r\n";
    appendHeaders(last, s->ex_.respTrailers);
    last += "\r\n";
    evbuffer_add(bufferevent_get_output(s->down_), last.data(), last.size());
  }
  s->ex_.responseDone = true;
  http_parser_pause(p, 1);
  return 0;
}

void Http1Session::onRouteTimeout(evutil_socket_t, short, void* arg) {
  auto* s = static_cast<Http1Session*>(arg);
  if (s->closed_ || s->ex_.responseDone) {
    return;
  }
  ++s->server_.mutableCounters().upstreamTimeouts;
  if (s->ex_.responseStarted) {
    s->close();  // Envoy resets the stream; for HTTP/1.1 that is the connection
    return;
  }
  s->up_.reset();
  evtimer_del(s->retryTimer_);
  evtimer_del(s->perTryTimer_);
  s->localReply(504, "upstream request timeout", false);
  if (!s->closing_ && s->finishExchange()) {
    s->feed();
  }
}

// ------------------------------------------------------------------ endings

bool Http1Session::finishExchange() {
  bool keepAlive = ex_.keepAlive && !ex_.closeAfter;
  evtimer_del(routeTimer_);
  evtimer_del(faultTimer_);
  evtimer_del(retryTimer_);
  evtimer_del(perTryTimer_);
  if (ex_.routed) {
    Router::release(ex_.decision);
  }
  if (ex_.pendingBody) {
    evbuffer_free(ex_.pendingBody);
  }
  ex_ = Exchange{};
  headersDone_ = false;
  scanner_.reset();
  waitingResponse_ = false;
  http_parser_pause(&parser_, 0);
  if (!keepAlive) {
    closeAfterFlush();
    return false;
  }
  return true;
}

void Http1Session::localReply(uint16_t status, std::string_view body, bool close,
                              HeaderList extra) {
  HeaderList headers = std::move(extra);
  // A local answer ends any wait for an upstream connection.
  ex_.waitTicket = WaitTicket();
  ex_.pendingSlot = CircuitSlot();
  unsigned httpStatus = status;
  if (ex_.grpc) {
    // Envoy answers a gRPC client in gRPC form: 200 with the status in grpc-status and the text in
    // grpc-message, no body (over HTTP/2, a trailers-only response).
    headers.push_back(HeaderField{"content-type", "application/grpc"});
    bool grpcAbort = ex_.routed && ex_.decision.kind == Decision::Kind::FaultAbort &&
                     ex_.decision.grpcStatus >= 0;
    unsigned grpcStatus = grpcAbort ? static_cast<unsigned>(ex_.decision.grpcStatus)
                                    : grpcStatusForHttp(status);
    headers.push_back(HeaderField{"grpc-status", std::to_string(grpcStatus)});
    if (!body.empty()) {
      headers.push_back(HeaderField{"grpc-message", grpcPercentEncode(body)});
    }
    httpStatus = 200;
    body = {};
  } else if (!body.empty()) {
    headers.push_back(HeaderField{"content-type", "text/plain"});
  }
  // Route-level response operations apply to redirects and direct responses too (Envoy).
  if (ex_.routed && (ex_.decision.kind == Decision::Kind::Redirect ||
                     ex_.decision.kind == Decision::Kind::DirectResponse)) {
    Router::applyResponseHeaders(ex_.decision, headers);
  }
  std::erase_if(headers, [](const HeaderField& h) { return h.name == "content-length"; });
  headers.push_back(HeaderField{"content-length", std::to_string(ex_.head ? 0 : body.size())});
  if (close || !ex_.keepAlive) {
    ex_.closeAfter = true;
  }
  std::string head =
      "HTTP/1.1 " + std::to_string(httpStatus) + " " + reasonPhrase(httpStatus) + "\r\n";
  appendHeaders(head, headers);
  head += ex_.closeAfter ? "connection: close\r\n\r\n" : "\r\n";
  if (!ex_.head) {
    head.append(body);
  }
  bufferevent_write(down_, head.data(), head.size());
  ex_.responseStarted = true;
  ex_.responseDone = true;
  up_.reset();
  upConnected_ = false;
  if (close) {
    closeAfterFlush();
  }
}

void Http1Session::startTunnel() {
  tunnel_ = true;
  ++server_.mutableCounters().upgrades;
  bufferevent_setwatermark(down_, EV_WRITE, 0, 0);
  bufferevent_setwatermark(up_->bev(), EV_WRITE, 0, 0);
  evbuffer_add_buffer(bufferevent_get_output(down_), bufferevent_get_input(up_->bev()));
  evbuffer_add_buffer(bufferevent_get_output(up_->bev()), bufferevent_get_input(down_));
  bufferevent_enable(down_, EV_READ);
  bufferevent_enable(up_->bev(), EV_READ);
}

void Http1Session::closeAfterFlush() {
  if (closed_) {
    return;
  }
  closing_ = true;
  bufferevent_disable(down_, EV_READ);
  bufferevent_setwatermark(down_, EV_WRITE, 0, 0);
  if (evbuffer_get_length(bufferevent_get_output(down_)) == 0) {
    lingerThenClose();
  }
}

// Closing a socket with unread input makes the kernel answer with a reset, which can destroy the
// response just sent (a 400 or 431 before the client finished writing). So, as Envoy's delayed
// close does: shut the write side (the client reads the response, then EOF), drop whatever still
// arrives, and close on the client's EOF or after 1 s.
void Http1Session::lingerThenClose() {
  const evutil_socket_t fd = bufferevent_getfd(down_);
  if (lingering_ || fd < 0) {  // a bridged HTTP/2 stream has no socket: its EOF is enough
    close();
    return;
  }
  lingering_ = true;
  ::shutdown(fd, SHUT_WR);
  const timeval oneSecond{1, 0};
  evtimer_add(lingerTimer_, &oneSecond);
  bufferevent_enable(down_, EV_READ);
  onDownRead(down_, this);  // input that arrived before the shutdown is dropped too
}

void Http1Session::onLingerTimeout(evutil_socket_t, short, void* arg) {
  static_cast<Http1Session*>(arg)->close();
}

void Http1Session::close() {
  if (closed_) {
    return;
  }
  closed_ = true;
  evtimer_del(routeTimer_);
  evtimer_del(faultTimer_);
  evtimer_del(retryTimer_);
  evtimer_del(perTryTimer_);
  evtimer_del(lingerTimer_);
  if (down_) {  // null once handed to an H2Session
    bufferevent_disable(down_, EV_READ | EV_WRITE);
    // On a bridged HTTP/2 stream's bufferevent pair this is the EOF its H2Session waits for; a
    // socket ignores it.
    bufferevent_flush(down_, EV_WRITE, BEV_FINISHED);
  }
  if (up_) {
    bufferevent_disable(up_->bev(), EV_READ | EV_WRITE);
  }
  server_.retire(this);
}

}  // namespace sluice::proxy
