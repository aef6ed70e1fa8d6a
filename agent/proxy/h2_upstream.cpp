#include "h2_upstream.h"

#include "h2_fields.h"
#include "original_dst.h"

#include <event2/buffer.h>
#include <http_parser.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <vector>

namespace sluice::proxy {

// One exchange: `bridge` is our end of the pair whose other end the Http1Session writes its
// HTTP/1.1 request to and reads the answer from.
struct H2Upstreams::Stream {
  Conn* conn = nullptr;
  bufferevent* bridge = nullptr;
  http_parser parser;
  std::string url;
  std::string field;
  bool inValue = false;
  HeaderList headers;
  evbuffer* body = evbuffer_new();  // request body not yet framed
  bool hasBody = false;
  bool requestDone = false;
  int32_t id = -1;  // the HTTP/2 stream, once submitted
  bool closed = false;    // the HTTP/2 stream ended
  bool answered = false;  // the complete answer was written to the bridge
  bool orphan = false;    // the session left; freed when the HTTP/2 stream closes
  bool headWritten = false;
  std::string status;
  HeaderList respHeaders;
  HeaderList trailers;

  ~Stream() {
    bufferevent_flush(bridge, EV_WRITE, BEV_FINISHED);  // EOF for a session still listening
    bufferevent_free(bridge);
    evbuffer_free(body);
  }
};

struct H2Upstreams::Conn {
  H2Upstreams* owner = nullptr;
  std::string key;
  bufferevent* bev = nullptr;
  nghttp2_session* session = nullptr;
  bool connected = false;
  std::unordered_map<Stream*, std::unique_ptr<Stream>> streams;

  ~Conn() {
    streams.clear();
    nghttp2_session_del(session);
    bufferevent_free(bev);
  }
};

namespace {

void appendFields(std::string& out, const HeaderList& fields) {
  for (const auto& h : fields) {
    out += h.name + ": " + h.value + "\r\n";
  }
}

}  // namespace

// The callbacks, with access to the private Stream and Conn types.
class H2UpstreamsImpl {
 public:
  using Stream = H2Upstreams::Stream;
  using Conn = H2Upstreams::Conn;

  static http_parser_settings& requestSettings() {
    static http_parser_settings s = [] {
      http_parser_settings st;
      http_parser_settings_init(&st);
      st.on_url = [](http_parser* p, const char* at, size_t len) {
        static_cast<Stream*>(p->data)->url.append(at, len);
        return 0;
      };
      st.on_header_field = [](http_parser* p, const char* at, size_t len) {
        auto* s = static_cast<Stream*>(p->data);
        if (s->inValue) {
          s->inValue = false;
          s->field.clear();
        }
        s->field.append(at, len);
        return 0;
      };
      st.on_header_value = [](http_parser* p, const char* at, size_t len) {
        auto* s = static_cast<Stream*>(p->data);
        if (!s->inValue) {
          s->inValue = true;
          std::string name = s->field;
          for (char& c : name) {
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
          }
          s->headers.push_back(HeaderField{std::move(name), {}});
        }
        s->headers.back().value.append(at, len);
        return 0;
      };
      st.on_headers_complete = [](http_parser* p) {
        auto* s = static_cast<Stream*>(p->data);
        s->hasBody = (p->flags & F_CHUNKED) != 0 ||
                     (p->content_length != 0 && p->content_length != ULLONG_MAX);
        submit(*s, http_method_str(static_cast<http_method>(p->method)));
        return 0;
      };
      st.on_body = [](http_parser* p, const char* at, size_t len) {
        auto* s = static_cast<Stream*>(p->data);
        evbuffer_add(s->body, at, len);
        if (s->id > 0) {
          nghttp2_session_resume_data(s->conn->session, s->id);
        }
        return 0;
      };
      st.on_message_complete = [](http_parser* p) {
        auto* s = static_cast<Stream*>(p->data);
        s->requestDone = true;
        if (s->id > 0 && s->hasBody) {
          nghttp2_session_resume_data(s->conn->session, s->id);
        }
        http_parser_pause(p, 1);  // one request per bridge
        return 0;
      };
      return st;
    }();
    return s;
  }

  static void submit(Stream& s, const std::string& method) {
    static const std::string kMethod = ":method", kScheme = ":scheme", kAuthority = ":authority",
                             kPath = ":path", kHttp = "http", kTe = "te", kTrailers = "trailers";
    std::string authority;
    for (const auto& h : s.headers) {
      if (h.name == "host") {
        authority = h.value;
      }
    }
    std::vector<nghttp2_nv> nva = {h2Field(kMethod, method), h2Field(kScheme, kHttp),
                                   h2Field(kAuthority, authority), h2Field(kPath, s.url)};
    bool grpc = false;
    for (const auto& h : s.headers) {
      if (!isConnectionSpecific(h.name) && h.name != "host") {  // host became :authority
        nva.push_back(h2Field(h.name, h.value));
        grpc = grpc || (h.name == "content-type" && h.value.starts_with("application/grpc"));
      }
    }
    if (grpc) {
      // gRPC servers require it; the HTTP/1.1 leg dropped it as hop-by-hop.
      nva.push_back(h2Field(kTe, kTrailers));
    }
    nghttp2_data_provider provider;
    provider.source.ptr = &s;
    provider.read_callback = readRequestBody;
    s.id = nghttp2_submit_request(s.conn->session, nullptr, nva.data(), nva.size(),
                                  s.hasBody ? &provider : nullptr, &s);
    if (s.id < 0) {
      bufferevent_flush(s.bridge, EV_WRITE, BEV_FINISHED);  // the session sees a reset
    }
  }

  static ssize_t readRequestBody(nghttp2_session*, int32_t, uint8_t* buf, size_t length,
                                 uint32_t* flags, nghttp2_data_source* source, void*) {
    auto* s = static_cast<Stream*>(source->ptr);
    int n = evbuffer_remove(s->body, buf, length);
    if (n <= 0 && !s->requestDone) {
      return NGHTTP2_ERR_DEFERRED;
    }
    if (s->requestDone && evbuffer_get_length(s->body) == 0) {
      *flags |= NGHTTP2_DATA_FLAG_EOF;
    }
    return std::max(n, 0);
  }

  // ---- the bridge (the Http1Session's side)

  static void onBridgeRead(bufferevent*, void* arg) {
    auto* s = static_cast<Stream*>(arg);
    evbuffer* in = bufferevent_get_input(s->bridge);
    while (!s->requestDone && evbuffer_get_length(in) > 0) {
      evbuffer_iovec vec;
      evbuffer_peek(in, -1, nullptr, &vec, 1);
      size_t n = http_parser_execute(&s->parser, &requestSettings(),
                                     static_cast<const char*>(vec.iov_base), vec.iov_len);
      auto err = static_cast<http_errno>(s->parser.http_errno);
      if (err != HPE_OK && err != HPE_PAUSED) {
        bufferevent_flush(s->bridge, EV_WRITE, BEV_FINISHED);
        evbuffer_drain(in, evbuffer_get_length(in));
        return;
      }
      evbuffer_drain(in, n);
    }
    flush(*s->conn);
  }

  // The session freed its end (the exchange is over or abandoned): cancel what is in flight.
  static void onBridgeEvent(bufferevent*, short, void* arg) {
    auto* s = static_cast<Stream*>(arg);
    Conn& c = *s->conn;
    if (s->id > 0 && !s->closed) {
      // nghttp2 may still hold the body provider: the stream lives until it closes.
      s->orphan = true;
      bufferevent_disable(s->bridge, EV_READ);
      nghttp2_submit_rst_stream(c.session, NGHTTP2_FLAG_NONE, s->id, NGHTTP2_CANCEL);
    } else {
      erase(c, s);
    }
    flush(c);
  }

  // ---- the connection to the endpoint

  static void flush(Conn& c) {
    if (!c.connected) {
      return;
    }
    evbuffer* out = bufferevent_get_output(c.bev);
    while (true) {
      const uint8_t* data = nullptr;
      ssize_t n = nghttp2_session_mem_send(c.session, &data);
      if (n < 0) {
        fail(c, BEV_EVENT_ERROR);
        return;
      }
      if (n == 0) {
        break;
      }
      evbuffer_add(out, data, static_cast<size_t>(n));
    }
    if (!nghttp2_session_want_read(c.session) && !nghttp2_session_want_write(c.session)) {
      fail(c, BEV_EVENT_EOF);  // GOAWAY done: the next exchange opens a new connection
    }
  }

  // The connection is gone: exchanges waiting for it get the connect error, the others EOF.
  // The last stream gone, the connection idles: a read timeout (nothing is expected then) ends
  // it after the idle timeout; open() clears it.
  static void erase(Conn& c, Stream* s) {
    c.streams.erase(s);
    if (c.streams.empty() && c.connected) {
      timeval idle{c.owner->idleTimeoutSeconds_, 0};
      bufferevent_set_timeouts(c.bev, &idle, nullptr);
    }
  }

  static void fail(Conn& c, short what) {
    if (!c.connected) {
      notifySessions(c, static_cast<short>(what | BEV_EVENT_ERROR));
    }
    c.owner->drop(&c);
  }

  // Runs the sessions' event callbacks (deferred: the pairs defer them). A session that already
  // freed its end has no partner left.
  static void notifySessions(Conn& c, short what) {
    for (auto& [raw, s] : c.streams) {
      if (bufferevent* session = bufferevent_pair_get_partner(s->bridge)) {
        bufferevent_trigger_event(session, what, 0);
      }
    }
  }

  static void onConnRead(bufferevent*, void* arg) {
    auto* c = static_cast<Conn*>(arg);
    evbuffer* in = bufferevent_get_input(c->bev);
    size_t len = evbuffer_get_length(in);
    const uint8_t* data = evbuffer_pullup(in, static_cast<ssize_t>(len));
    ssize_t n = nghttp2_session_mem_recv(c->session, data, len);
    if (n < 0) {
      fail(*c, BEV_EVENT_ERROR);
      return;
    }
    evbuffer_drain(in, static_cast<size_t>(n));
    flush(*c);
  }

  static void onConnEvent(bufferevent*, short what, void* arg) {
    auto* c = static_cast<Conn*>(arg);
    if (what & BEV_EVENT_CONNECTED) {
      c->connected = true;
      bufferevent_set_timeouts(c->bev, nullptr, nullptr);
      int one = 1;
      setsockopt(bufferevent_getfd(c->bev), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      notifySessions(*c, BEV_EVENT_CONNECTED);
      flush(*c);
      return;
    }
    fail(*c, what);
  }

  // ---- nghttp2 (client side)

  static int onHeader(nghttp2_session* session, const nghttp2_frame* frame, const uint8_t* name,
                      size_t namelen, const uint8_t* value, size_t valuelen, uint8_t, void*) {
    auto* s = static_cast<Stream*>(nghttp2_session_get_stream_user_data(session, frame->hd.stream_id));
    if (!s || frame->hd.type != NGHTTP2_HEADERS) {
      return 0;
    }
    std::string n(reinterpret_cast<const char*>(name), namelen);
    std::string v(reinterpret_cast<const char*>(value), valuelen);
    if (s->headWritten) {
      s->trailers.push_back(HeaderField{std::move(n), std::move(v)});
    } else if (n == ":status") {
      s->status = std::move(v);
    } else if (!n.empty() && n[0] != ':') {
      s->respHeaders.push_back(HeaderField{std::move(n), std::move(v)});
    }
    return 0;
  }

  static int onFrameRecv(nghttp2_session* session, const nghttp2_frame* frame, void*) {
    if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA) {
      return 0;
    }
    auto* s = static_cast<Stream*>(nghttp2_session_get_stream_user_data(session, frame->hd.stream_id));
    if (!s) {
      return 0;
    }
    bool endStream = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
    if (frame->hd.type == NGHTTP2_HEADERS && !s->headWritten) {
      if (s->status.size() == 3 && s->status[0] == '1') {
        s->respHeaders.clear();  // interim response: not relayed
        return 0;
      }
      // Empty reason phrase: the session supplies its own. Chunked, so trailers can follow.
      std::string head = "HTTP/1.1 " + s->status + " \r\n";
      std::erase_if(s->respHeaders,
                    [](const HeaderField& h) { return h.name == "content-length"; });
      appendFields(head, s->respHeaders);
      head += endStream ? "content-length: 0\r\n" : "transfer-encoding: chunked\r\n";
      head += "connection: close\r\n\r\n";  // one exchange per bridge: never pooled
      bufferevent_write(s->bridge, head.data(), head.size());
      s->headWritten = true;
      s->answered = endStream;
      return 0;
    }
    if (endStream && s->headWritten && !s->answered) {
      std::string tail = "0\r\n";
      appendFields(tail, s->trailers);
      tail += "\r\n";
      bufferevent_write(s->bridge, tail.data(), tail.size());
      s->answered = true;
    }
    return 0;
  }

  static int onDataChunk(nghttp2_session* session, uint8_t, int32_t id, const uint8_t* data,
                         size_t len, void*) {
    auto* s = static_cast<Stream*>(nghttp2_session_get_stream_user_data(session, id));
    if (!s || !s->headWritten || len == 0) {
      return 0;
    }
    evbuffer* out = bufferevent_get_output(s->bridge);
    evbuffer_add_printf(out, "%zx\r\n", len);
    evbuffer_add(out, data, len);
    evbuffer_add(out, "\r\n", 2);
    return 0;
  }

  // A stream that ends without a complete answer (reset, refused, GOAWAY) is EOF to the session,
  // which treats it as an upstream reset.
  static int onStreamClose(nghttp2_session* session, int32_t id, uint32_t, void*) {
    auto* s = static_cast<Stream*>(nghttp2_session_get_stream_user_data(session, id));
    if (s && s->orphan) {
      erase(*s->conn, s);
    } else if (s) {
      s->closed = true;
      if (!s->answered) {
        bufferevent_flush(s->bridge, EV_WRITE, BEV_FINISHED);
      }
    }
    return 0;
  }
};

H2Upstreams::H2Upstreams(event_base* base, int connectTimeoutSeconds, int idleTimeoutSeconds)
    : base_(base),
      connectTimeoutSeconds_(connectTimeoutSeconds),
      idleTimeoutSeconds_(idleTimeoutSeconds) {}

H2Upstreams::~H2Upstreams() { conns_.clear(); }

size_t H2Upstreams::connections() const { return conns_.size(); }

void H2Upstreams::drop(Conn* conn) {
  conns_.erase(conn->key);
}

bufferevent* H2Upstreams::open(const Endpoint& endpoint, bool& established) {
  using Impl = H2UpstreamsImpl;
  std::string key = endpoint.key();
  auto it = conns_.find(key);
  if (it == conns_.end()) {
    auto c = std::make_unique<Conn>();
    c->owner = this;
    c->key = key;
    c->bev = bufferevent_socket_new(base_, -1, BEV_OPT_CLOSE_ON_FREE);
    if (!c->bev) {
      return nullptr;
    }
    nghttp2_session_callbacks* cbs = nullptr;
    nghttp2_session_callbacks_new(&cbs);
    nghttp2_session_callbacks_set_on_header_callback(cbs, Impl::onHeader);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, Impl::onFrameRecv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, Impl::onDataChunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, Impl::onStreamClose);
    nghttp2_session_client_new(&c->session, cbs, c.get());
    nghttp2_session_callbacks_del(cbs);
    nghttp2_submit_settings(c->session, NGHTTP2_FLAG_NONE, nullptr, 0);
    bufferevent_setcb(c->bev, Impl::onConnRead, nullptr, Impl::onConnEvent, c.get());
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    timeval tv{connectTimeoutSeconds_, 0};
    bufferevent_set_timeouts(c->bev, nullptr, &tv);  // a write timeout bounds the connect
    sockaddr_storage sa;
    socklen_t len = toSockaddr(endpoint.ip, endpoint.port, sa);
    if (bufferevent_socket_connect(c->bev, reinterpret_cast<sockaddr*>(&sa),
                                   static_cast<int>(len)) != 0) {
      return nullptr;
    }
    it = conns_.emplace(key, std::move(c)).first;
  }
  Conn& c = *it->second;
  if (c.connected) {
    bufferevent_set_timeouts(c.bev, nullptr, nullptr);  // busy again: no idle timeout
  }
  bufferevent* pair[2];
  if (bufferevent_pair_new(base_, BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS, pair) != 0) {
    return nullptr;
  }
  auto s = std::make_unique<Stream>();
  s->conn = &c;
  s->bridge = pair[0];
  http_parser_init(&s->parser, HTTP_REQUEST);
  s->parser.data = s.get();
  bufferevent_setcb(pair[0], Impl::onBridgeRead, nullptr, Impl::onBridgeEvent, s.get());
  bufferevent_enable(pair[0], EV_READ | EV_WRITE);
  c.streams.emplace(s.get(), std::move(s));
  established = c.connected;  // an event now would be lost: the caller has no callbacks yet
  return pair[1];
}

}  // namespace sluice::proxy
