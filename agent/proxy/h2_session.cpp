#include "h2_session.h"

#include "h2_fields.h"
#include "proxy_server.h"

#include <event2/buffer.h>
#include <http_parser.h>

#include <algorithm>
#include <cctype>
#include <vector>

namespace sluice::proxy {

// One HTTP/2 stream and its bridge: `bridge` is our end of the pair whose other end an
// Http1Session reads as its downstream connection.
struct H2Session::Stream {
  H2Session* session = nullptr;
  int32_t id = 0;
  std::string method;
  std::string path;
  std::string authority;
  HeaderList headers;
  bool chunked = false;  // the request body is sent chunked (the client gave no content-length)
  bufferevent* bridge = nullptr;
  http_parser parser;
  HeaderList respHeaders;
  HeaderList respTrailers;  // chunked trailers of the answer: sent as a trailing HEADERS frame
  std::string respField;
  bool respInValue = false;
  evbuffer* body = nullptr;  // response body not yet framed
  bool submitted = false;    // response HEADERS queued
  bool responseDone = false;

  ~Stream() {
    if (bridge) {
      // BEV_FINISHED tells the Http1Session on the other end that its client went away.
      bufferevent_flush(bridge, EV_READ | EV_WRITE, BEV_FINISHED);
      bufferevent_free(bridge);
    }
    if (body) {
      evbuffer_free(body);
    }
  }
};

namespace {

http_parser_settings gBridgeSettings;

}  // namespace

std::optional<std::string> decodeBase64Url(std::string_view text) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
  };
  while (!text.empty() && text.back() == '=') {
    text.remove_suffix(1);  // tolerated, though RFC 9113 §3.2.1 says without padding
  }
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int v = value(c);
    if (v < 0) {
      return std::nullopt;
    }
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return out;
}

H2Session::H2Session(ProxyServer& server, bufferevent* bev, OriginalDestination dst,
                     net::IpAddress client, uint16_t clientPort)
    : server_(server), down_(bev), dst_(dst), client_(client), clientPort_(clientPort) {
  static const bool initialized = [] {
    http_parser_settings_init(&gBridgeSettings);
    gBridgeSettings.on_header_field = [](http_parser* p, const char* at, size_t len) {
      auto* st = static_cast<Stream*>(p->data);
      if (st->respInValue) {
        st->respInValue = false;
        st->respField.clear();
      }
      st->respField.append(at, len);
      return 0;
    };
    gBridgeSettings.on_header_value = [](http_parser* p, const char* at, size_t len) {
      auto* st = static_cast<Stream*>(p->data);
      HeaderList& fields = st->submitted ? st->respTrailers : st->respHeaders;
      if (!st->respInValue) {
        st->respInValue = true;
        std::string name = st->respField;
        for (char& c : name) {
          c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        }
        fields.push_back(HeaderField{std::move(name), {}});
      }
      fields.back().value.append(at, len);
      return 0;
    };
    gBridgeSettings.on_headers_complete = [](http_parser* p) {
      auto* st = static_cast<Stream*>(p->data);
      st->session->submitResponse(*st);
      return st->responseDone ? 1 : 0;  // 1: no body follows (HEAD, 204, 304, empty)
    };
    gBridgeSettings.on_body = [](http_parser* p, const char* at, size_t len) {
      auto* st = static_cast<Stream*>(p->data);
      evbuffer_add(st->body, at, len);
      return 0;
    };
    gBridgeSettings.on_message_complete = [](http_parser* p) {
      static_cast<Stream*>(p->data)->responseDone = true;
      http_parser_pause(p, 1);
      return 0;
    };
    return true;
  }();
  (void)initialized;

  nghttp2_session_callbacks* cbs = nullptr;
  nghttp2_session_callbacks_new(&cbs);
  nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, onBeginHeaders);
  nghttp2_session_callbacks_set_on_header_callback(cbs, onHeader);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, onFrameRecv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, onDataChunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, onStreamClose);
  nghttp2_session_server_new(&session_, cbs, this);
  nghttp2_session_callbacks_del(cbs);
  bufferevent_setcb(down_, onDownRead, onDownWrite, onDownEvent, this);
  bufferevent_setwatermark(down_, EV_WRITE, 0, 0);
  bufferevent_enable(down_, EV_READ | EV_WRITE);
}

H2Session::~H2Session() {
  streams_.clear();
  nghttp2_session_del(session_);
  bufferevent_free(down_);
}

void H2Session::start(const H2UpgradeRequest* upgrade) {
  // Each stream holds an Http1Session and possibly an upstream connection: 100 concurrent
  // streams per connection, the value RFC 9113 §6.5.2 recommends as a minimum.
  nghttp2_settings_entry settings[] = {{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 100}};
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, 1);
  if (upgrade) {
    int rv = nghttp2_session_upgrade2(
        session_, reinterpret_cast<const uint8_t*>(upgrade->settings.data()),
        upgrade->settings.size(), upgrade->method == "HEAD", nullptr);
    if (rv != 0) {
      close();
      return;
    }
    Stream& st = addStream(1);
    st.method = upgrade->method;
    st.path = upgrade->path;
    st.authority = upgrade->authority;
    st.headers = upgrade->headers;
    openBridge(st, true);
  }
  receive();
}

H2Session::Stream& H2Session::addStream(int32_t id) {
  auto st = std::make_unique<Stream>();
  st->session = this;
  st->id = id;
  Stream& ref = *st;
  streams_[id] = std::move(st);
  nghttp2_session_set_stream_user_data(session_, id, &ref);
  ++server_.mutableCounters().h2Streams;
  return ref;
}

// ------------------------------------------------------------------ downstream (HTTP/2)

void H2Session::onDownRead(bufferevent*, void* arg) {
  auto* s = static_cast<H2Session*>(arg);
  if (!s->closed_) {
    s->receive();
  }
}

void H2Session::onDownWrite(bufferevent*, void* arg) {
  auto* s = static_cast<H2Session*>(arg);
  if (!s->closed_) {
    s->flush();
  }
}

void H2Session::onDownEvent(bufferevent*, short, void* arg) {
  static_cast<H2Session*>(arg)->close();  // EOF or error: the streams go with the connection
}

void H2Session::receive() {
  evbuffer* in = bufferevent_get_input(down_);
  size_t len = evbuffer_get_length(in);
  if (len > 0) {
    const uint8_t* data = evbuffer_pullup(in, static_cast<ssize_t>(len));
    ssize_t n = nghttp2_session_mem_recv(session_, data, len);
    if (n < 0) {
      close();  // nghttp2 has queued a GOAWAY where it could; a broken peer gets no more
      return;
    }
    evbuffer_drain(in, static_cast<size_t>(n));
  }
  if (!closed_) {
    flush();
  }
}

void H2Session::flush() {
  evbuffer* out = bufferevent_get_output(down_);
  // Stops framing once the client has this much unsent; onDownWrite resumes.
  while (evbuffer_get_length(out) < server_.options().highWatermark) {
    const uint8_t* data = nullptr;
    ssize_t n = nghttp2_session_mem_send(session_, &data);
    if (n < 0) {
      close();
      return;
    }
    if (n == 0) {
      break;
    }
    evbuffer_add(out, data, static_cast<size_t>(n));
  }
  if (!nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_) &&
      evbuffer_get_length(out) == 0) {
    close();
  }
}

void H2Session::close() {
  if (closed_) {
    return;
  }
  closed_ = true;
  bufferevent_disable(down_, EV_READ | EV_WRITE);
  server_.retire(this);
}

int H2Session::onBeginHeaders(nghttp2_session*, const nghttp2_frame* frame, void* arg) {
  if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
    static_cast<H2Session*>(arg)->addStream(frame->hd.stream_id);
  }
  return 0;
}

int H2Session::onHeader(nghttp2_session* session, const nghttp2_frame* frame, const uint8_t* name,
                        size_t namelen, const uint8_t* value, size_t valuelen, uint8_t,
                        void*) {
  if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) {
    return 0;  // request trailers: the HTTP/1.1 bridge does not carry them
  }
  auto* st = static_cast<Stream*>(nghttp2_session_get_stream_user_data(session, frame->hd.stream_id));
  if (!st) {
    return 0;
  }
  std::string_view n(reinterpret_cast<const char*>(name), namelen);
  std::string v(reinterpret_cast<const char*>(value), valuelen);
  if (n == ":method") {
    st->method = std::move(v);
  } else if (n == ":path") {
    st->path = std::move(v);
  } else if (n == ":authority") {
    st->authority = std::move(v);
  } else if (n == "cookie") {
    // HTTP/2 may split cookies over several fields; HTTP/1.1 wants one line (RFC 9113 §8.2.3).
    auto it = std::find_if(st->headers.begin(), st->headers.end(),
                           [](const HeaderField& h) { return h.name == "cookie"; });
    if (it == st->headers.end()) {
      st->headers.push_back(HeaderField{"cookie", std::move(v)});
    } else {
      it->value += "; " + v;
    }
  } else if (!n.empty() && n[0] != ':') {
    st->headers.push_back(HeaderField{std::string(n), std::move(v)});
  }
  return 0;
}

int H2Session::onFrameRecv(nghttp2_session* session, const nghttp2_frame* frame, void* arg) {
  auto* self = static_cast<H2Session*>(arg);
  if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA) {
    return 0;
  }
  auto* st = static_cast<Stream*>(nghttp2_session_get_stream_user_data(session, frame->hd.stream_id));
  if (!st) {
    return 0;
  }
  bool endStream = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
  if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
    self->openBridge(*st, endStream);
  } else if (endStream) {
    self->endRequest(*st);
  }
  return 0;
}

int H2Session::onDataChunk(nghttp2_session* session, uint8_t, int32_t streamId,
                           const uint8_t* data, size_t len, void*) {
  auto* st = static_cast<Stream*>(nghttp2_session_get_stream_user_data(session, streamId));
  if (!st || !st->bridge || len == 0) {
    return 0;
  }
  evbuffer* out = bufferevent_get_output(st->bridge);
  if (st->chunked) {
    evbuffer_add_printf(out, "%zx\r\n", len);
    evbuffer_add(out, data, len);
    evbuffer_add(out, "\r\n", 2);
  } else {
    evbuffer_add(out, data, len);
  }
  return 0;
}

int H2Session::onStreamClose(nghttp2_session*, int32_t streamId, uint32_t, void* arg) {
  static_cast<H2Session*>(arg)->streams_.erase(streamId);
  return 0;
}

// ------------------------------------------------------------------ the bridge (HTTP/1.1)

// Writes the stream's request to a new Http1Session as HTTP/1.1 with `connection: close`: the
// session answers this one request and ends, which the bridge sees as EOF.
void H2Session::openBridge(Stream& st, bool endStream) {
  bufferevent* pair[2];
  // Deferred callbacks: a write on one end never re-enters the other end's session.
  if (bufferevent_pair_new(server_.base(), BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS,
                           pair) != 0) {
    nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, st.id, NGHTTP2_INTERNAL_ERROR);
    return;
  }
  st.bridge = pair[0];
  st.body = evbuffer_new();
  http_parser_init(&st.parser, HTTP_RESPONSE);
  st.parser.data = &st;
  bufferevent_setcb(st.bridge, onBridgeRead, nullptr, onBridgeEvent, &st);
  bufferevent_enable(st.bridge, EV_READ | EV_WRITE);
  server_.startHttp1(pair[1], dst_, client_, clientPort_, true);

  bool hasLength = std::any_of(st.headers.begin(), st.headers.end(),
                               [](const HeaderField& h) { return h.name == "content-length"; });
  st.chunked = !endStream && !hasLength;
  std::string authority = st.authority;
  if (authority.empty()) {
    authority = headerValue(st.headers, "host").value_or("");
  }
  std::string head = st.method + " " + st.path + " HTTP/1.1\r\nhost: " + authority + "\r\n";
  for (const auto& h : st.headers) {
    if (h.name != "host" && !isConnectionSpecific(h.name)) {
      head += h.name + ": " + h.value + "\r\n";
    }
  }
  if (st.chunked) {
    head += "transfer-encoding: chunked\r\n";
  }
  head += "connection: close\r\n\r\n";
  bufferevent_write(st.bridge, head.data(), head.size());
  st.headers.clear();
}

void H2Session::endRequest(Stream& st) {
  if (st.bridge && st.chunked) {
    bufferevent_write(st.bridge, "0\r\n\r\n", 5);
  }
}

void H2Session::onBridgeRead(bufferevent*, void* arg) {
  auto* st = static_cast<Stream*>(arg);
  st->session->readBridge(*st);
  st->session->flush();
}

// The Http1Session on the other end closed: after a complete answer that is the normal end; before
// it, the stream is reset (as Envoy resets a stream whose upstream response broke off).
void H2Session::onBridgeEvent(bufferevent*, short, void* arg) {
  auto* st = static_cast<Stream*>(arg);
  H2Session* self = st->session;
  self->readBridge(*st);
  if (!st->responseDone) {
    nghttp2_submit_rst_stream(self->session_, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_INTERNAL_ERROR);
  }
  bufferevent_disable(st->bridge, EV_READ);
  self->flush();
}

void H2Session::readBridge(Stream& st) {
  evbuffer* in = bufferevent_get_input(st.bridge);
  while (!st.responseDone && evbuffer_get_length(in) > 0) {
    evbuffer_iovec vec;
    evbuffer_peek(in, -1, nullptr, &vec, 1);
    size_t n = http_parser_execute(&st.parser, &gBridgeSettings,
                                   static_cast<const char*>(vec.iov_base), vec.iov_len);
    auto err = static_cast<http_errno>(st.parser.http_errno);
    if (err != HPE_OK && err != HPE_PAUSED && !st.responseDone) {
      nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, st.id, NGHTTP2_INTERNAL_ERROR);
      evbuffer_drain(in, evbuffer_get_length(in));
      return;
    }
    evbuffer_drain(in, n);
  }
  if (st.submitted) {
    nghttp2_session_resume_data(session_, st.id);
  }
  // Backpressure: stop reading the bridge while the client has not taken this much of the body.
  if (evbuffer_get_length(st.body) > server_.options().highWatermark) {
    bufferevent_disable(st.bridge, EV_READ);
  }
}

void H2Session::submitResponse(Stream& st) {
  std::string status = std::to_string(st.parser.status_code);
  std::vector<nghttp2_nv> nva;
  nva.reserve(st.respHeaders.size() + 1);
  static const std::string kStatus = ":status";
  nva.push_back(h2Field(kStatus, status));
  for (const auto& h : st.respHeaders) {
    if (!isConnectionSpecific(h.name)) {
      nva.push_back(h2Field(h.name, h.value));
    }
  }
  unsigned code = st.parser.status_code;
  bool chunked = (st.parser.flags & F_CHUNKED) != 0;
  bool empty = st.method == "HEAD" || code == 204 || code == 304 ||
               (!chunked && st.parser.content_length == 0);
  st.submitted = true;
  if (empty) {
    // HEADERS with END_STREAM: for a gRPC local reply this is the trailers-only response.
    st.responseDone = true;
    nghttp2_submit_response(session_, st.id, nva.data(), nva.size(), nullptr);
    return;
  }
  nghttp2_data_provider provider;
  provider.source.ptr = &st;
  provider.read_callback = readResponseBody;
  nghttp2_submit_response(session_, st.id, nva.data(), nva.size(), &provider);
}

ssize_t H2Session::readResponseBody(nghttp2_session* session, int32_t streamId, uint8_t* buf,
                                    size_t length, uint32_t* flags, nghttp2_data_source* source,
                                    void*) {
  auto* st = static_cast<Stream*>(source->ptr);
  int n = evbuffer_remove(st->body, buf, length);
  if (n <= 0 && !st->responseDone) {
    if (st->bridge && !(bufferevent_get_enabled(st->bridge) & EV_READ)) {
      bufferevent_enable(st->bridge, EV_READ);  // the client caught up
    }
    return NGHTTP2_ERR_DEFERRED;
  }
  if (st->responseDone && evbuffer_get_length(st->body) == 0) {
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    if (!st->respTrailers.empty()) {
      // gRPC's grpc-status / grpc-message: the stream ends with a trailing HEADERS frame.
      std::vector<nghttp2_nv> nva;
      for (const auto& h : st->respTrailers) {
        if (!isConnectionSpecific(h.name)) {
          nva.push_back(h2Field(h.name, h.value));
        }
      }
      *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
      nghttp2_submit_trailer(session, streamId, nva.data(), nva.size());
    }
  }
  return std::max(n, 0);
}

}  // namespace sluice::proxy
