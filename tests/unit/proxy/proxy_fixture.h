#pragma once
// Shared by the proxy's loopback tests (HTTP/1.1 and HTTP/2): upstream servers (libevent evhttp and
// a raw Upgrade echo server) on 127.0.0.1:0, an HTTP/1.1 client, and the ProxyTest fixture that
// builds a route table from a snapshot and runs the proxy on its own event loop thread with a fixed
// original destination.
#include "proxy_server.h"
#include "route_table_builder.h"

#include <gtest/gtest.h>
#include <poll.h>

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/thread.h>
#include <http_parser.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <functional>
#include <future>
#include <mutex>
#include <set>
#include <thread>

namespace sluice::proxy::test {

using model::StringMatch;
using K = StringMatch::Kind;

// ------------------------------------------------------------------ loops and servers

class LoopThread {
 public:
  LoopThread() : base_(event_base_new()) {
    keepAlive_ = event_new(base_, -1, EV_PERSIST, [](evutil_socket_t, short, void*) {}, nullptr);
    timeval tv{3600, 0};
    event_add(keepAlive_, &tv);
  }
  void start() {
    thread_ = std::thread([this] { event_base_dispatch(base_); });
  }
  ~LoopThread() {
    run([this] { event_base_loopbreak(base_); });
    if (thread_.joinable()) {
      thread_.join();
    }
    event_free(keepAlive_);
    event_base_free(base_);
  }
  event_base* base() const { return base_; }

  // Runs f on the loop thread and waits for it.
  void run(std::function<void()> f) {
    if (!thread_.joinable()) {
      f();
      return;
    }
    std::promise<void> done;
    struct Call {
      std::function<void()> f;
      std::promise<void>* done;
    } call{std::move(f), &done};
    event_base_once(
        base_, -1, EV_TIMEOUT,
        [](evutil_socket_t, short, void* arg) {
          auto* c = static_cast<Call*>(arg);
          c->f();
          c->done->set_value();
        },
        &call, nullptr);
    done.get_future().wait();
  }

 protected:
  event_base* base_;
  event* keepAlive_;
  std::thread thread_;
};

// An evhttp upstream that describes what it received: its name, method, uri, the proxy-side port of
// the connection, every header and the body.
class EchoServer {
 public:
  explicit EchoServer(std::string name) : name_(std::move(name)) {
    loop_ = std::make_unique<LoopThread>();
    http_ = evhttp_new(loop_->base());
    evhttp_set_gencb(http_, onRequest, this);
    auto* handle = evhttp_bind_socket_with_handle(http_, "127.0.0.1", 0);
    sockaddr_in sa;
    socklen_t len = sizeof(sa);
    getsockname(evhttp_bound_socket_get_fd(handle), reinterpret_cast<sockaddr*>(&sa), &len);
    port_ = ntohs(sa.sin_port);
    loop_->start();
  }
  ~EchoServer() {
    loop_->run([this] { evhttp_free(http_); });
  }
  uint16_t port() const { return port_; }
  size_t connections() {
    std::lock_guard lock(mu_);
    return peers_.size();
  }

 private:
  static void onRequest(evhttp_request* req, void* arg) {
    auto* self = static_cast<EchoServer*>(arg);
    char* peer = nullptr;
    uint16_t peerPort = 0;
    evhttp_connection_get_peer(evhttp_request_get_connection(req), &peer, &peerPort);
    {
      std::lock_guard lock(self->mu_);
      self->peers_.insert(peerPort);
    }
    std::string out = "server=" + self->name_ + "\n";
    out += "method=" + std::to_string(evhttp_request_get_command(req)) + "\n";
    out += std::string("uri=") + evhttp_request_get_uri(req) + "\n";
    evkeyvalq* headers = evhttp_request_get_input_headers(req);
    for (evkeyval* h = headers->tqh_first; h; h = h->next.tqe_next) {
      std::string name = h->key;
      for (char& c : name) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      }
      out += "h:" + name + "=" + h->value + "\n";
    }
    evbuffer* in = evhttp_request_get_input_buffer(req);
    std::string body(evbuffer_get_length(in), '\0');
    evbuffer_remove(in, body.data(), body.size());
    out += "body=" + body + "\n";
    evkeyvalq* outHeaders = evhttp_request_get_output_headers(req);
    evhttp_add_header(outHeaders, "x-upstream", self->name_.c_str());
    evhttp_add_header(outHeaders, "server", "echo");
    std::string uri = evhttp_request_get_uri(req);
    evbuffer* reply = evbuffer_new();
    if (uri.starts_with("/chunked")) {
      evhttp_send_reply_start(req, 200, "OK");
      evbuffer_add(reply, out.data(), out.size());
      evhttp_send_reply_chunk(req, reply);
      evbuffer_add(reply, "tail\n", 5);
      evhttp_send_reply_chunk(req, reply);
      evhttp_send_reply_end(req);
    } else {
      evbuffer_add(reply, out.data(), out.size());
      evhttp_send_reply(req, 200, "OK", reply);
    }
    evbuffer_free(reply);
  }

  std::string name_;
  std::unique_ptr<LoopThread> loop_;
  evhttp* http_ = nullptr;
  uint16_t port_ = 0;
  std::mutex mu_;
  std::set<uint16_t> peers_;
};

inline int listenLoopback(uint16_t& port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa));
  listen(fd, 16);
  socklen_t len = sizeof(sa);
  getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  port = ntohs(sa.sin_port);
  return fd;
}

// Accepts one connection, answers the Upgrade with 101 and echoes bytes until EOF.
class UpgradeEchoServer {
 public:
  UpgradeEchoServer() {
    fd_ = listenLoopback(port_);
    thread_ = std::thread([this] {
      int c = accept(fd_, nullptr, nullptr);
      if (c < 0) {
        return;
      }
      std::string head;
      char buf[4096];
      while (head.find("\r\n\r\n") == std::string::npos) {
        ssize_t n = read(c, buf, sizeof(buf));
        if (n <= 0) {
          ::close(c);
          return;
        }
        head.append(buf, static_cast<size_t>(n));
      }
      std::string reply =
          "HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n";
      write(c, reply.data(), reply.size());
      std::string rest = head.substr(head.find("\r\n\r\n") + 4);
      if (!rest.empty()) {
        write(c, rest.data(), rest.size());
      }
      while (true) {
        ssize_t n = read(c, buf, sizeof(buf));
        if (n <= 0) {
          break;
        }
        write(c, buf, static_cast<size_t>(n));
      }
      ::close(c);
    });
  }
  ~UpgradeEchoServer() {
    shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  uint16_t port() const { return port_; }

 private:
  int fd_;
  uint16_t port_;
  std::thread thread_;
};

// ------------------------------------------------------------------ client side

struct Response {
  int status = 0;
  HeaderList headers;
  std::string body;
  std::string header(const std::string& name) const {
    auto v = headerValue(headers, name);
    return v.value_or("");
  }
};

class Client {
 public:
  explicit Client(uint16_t port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{5, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons(port);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) == 0;
    http_parser_init(&parser_, HTTP_RESPONSE);
    parser_.data = this;
    http_parser_settings_init(&settings_);
    settings_.on_message_begin = [](http_parser* p) {
      static_cast<Client*>(p->data)->responses_.emplace_back();
      return 0;
    };
    settings_.on_header_field = [](http_parser* p, const char* at, size_t len) {
      auto* c = static_cast<Client*>(p->data);
      if (c->inValue_ || c->responses_.back().headers.empty()) {
        c->responses_.back().headers.push_back({});
        c->inValue_ = false;
      }
      for (size_t i = 0; i < len; ++i) {
        c->responses_.back().headers.back().name +=
            static_cast<char>(std::tolower(static_cast<unsigned char>(at[i])));
      }
      return 0;
    };
    settings_.on_header_value = [](http_parser* p, const char* at, size_t len) {
      auto* c = static_cast<Client*>(p->data);
      c->inValue_ = true;
      c->responses_.back().headers.back().value.append(at, len);
      return 0;
    };
    settings_.on_headers_complete = [](http_parser* p) {
      auto* c = static_cast<Client*>(p->data);
      c->responses_.back().status = p->status_code;
      c->inValue_ = false;
      return 0;
    };
    settings_.on_body = [](http_parser* p, const char* at, size_t len) {
      static_cast<Client*>(p->data)->responses_.back().body.append(at, len);
      return 0;
    };
    settings_.on_message_complete = [](http_parser* p) {
      ++static_cast<Client*>(p->data)->complete_;
      return 0;
    };
  }
  ~Client() { ::close(fd_); }
  bool connected() const { return connected_; }

  void send(const std::string& bytes) {
    ASSERT_EQ(write(fd_, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  }

  // Reads until `n` more responses are complete; fewer when the proxy closes or 5 s pass.
  std::vector<Response> read(size_t n) {
    size_t want = complete_ + n;
    char buf[65536];
    while (complete_ < want) {
      ssize_t got = ::read(fd_, buf, sizeof(buf));
      if (got <= 0) {
        eof_ = got == 0;
        http_parser_execute(&parser_, &settings_, nullptr, 0);
        break;
      }
      http_parser_execute(&parser_, &settings_, buf, static_cast<size_t>(got));
    }
    std::vector<Response> out(responses_.begin() + static_cast<long>(taken_),
                              responses_.begin() + static_cast<long>(std::min(complete_, responses_.size())));
    taken_ += out.size();
    return out;
  }
  Response one(const std::string& request) {
    send(request);
    auto r = read(1);
    return r.empty() ? Response{} : r[0];
  }
  // Raw bytes (for 100 Continue and tunnels).
  std::string readRaw(size_t atLeast) {
    std::string out;
    char buf[4096];
    while (out.size() < atLeast) {
      ssize_t got = ::read(fd_, buf, sizeof(buf));
      if (got <= 0) {
        break;
      }
      out.append(buf, static_cast<size_t>(got));
    }
    return out;
  }
  // True when the proxy closed the connection (after any pending response). A reset counts: closing
  // with unread request bytes makes the kernel send RST.
  bool closedByPeer() {
    char c;
    ssize_t got = ::read(fd_, &c, 1);
    return got == 0 || eof_ || (got < 0 && errno == ECONNRESET);
  }

 private:
  int fd_;
  bool connected_ = false;
  http_parser parser_;
  http_parser_settings settings_;
  std::vector<Response> responses_;
  size_t complete_ = 0;
  size_t taken_ = 0;
  bool inValue_ = false;
  bool eof_ = false;
};

inline std::string get(const std::string& path, const std::string& extra = "") {
  return "GET " + path + " HTTP/1.1\r\nHost: svc\r\n" + extra + "\r\n";
}

inline std::string field(const std::string& body, const std::string& key) {
  size_t at = body.find(key + "=");
  if (at == std::string::npos) {
    return "<absent>";
  }
  at += key.size() + 1;
  return body.substr(at, body.find('\n', at) - at);
}

// ------------------------------------------------------------------ fixture

constexpr char kVip[] = "10.96.0.1";

class ProxyTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { evthread_use_pthreads(); }

  model::Service service(const std::string& name, const std::string& vip, uint16_t port,
                         uint16_t target) {
    model::Service s;
    s.meta.name = name;
    s.meta.ns = "default";
    s.spec.clusterIP = vip;
    model::ServicePort sp;
    sp.name = "http";
    sp.port = port;
    sp.targetPort.number = target;
    s.spec.ports.push_back(sp);
    snap_.services.push_back(s);
    model::EndpointSlice slice;
    slice.meta.name = name + "-x";
    slice.meta.ns = "default";
    slice.meta.labels["kubernetes.io/service-name"] = name;
    model::EndpointPort ep;
    ep.name = "http";
    ep.port = target;
    slice.ports.push_back(ep);
    model::Endpoint e;
    e.addresses = {"127.0.0.1"};
    slice.endpoints.push_back(e);
    snap_.endpointSlices.push_back(slice);
    return s;
  }

  model::HTTPRoute& route() {
    if (snap_.virtualServices.empty()) {
      model::VirtualService vs;
      vs.meta.name = "svc";
      vs.meta.ns = "default";
      vs.spec.hosts = {"svc"};
      snap_.virtualServices.push_back(vs);
    }
    snap_.virtualServices[0].spec.http.emplace_back();
    return snap_.virtualServices[0].spec.http.back();
  }

  static model::HTTPRouteDestination to(const std::string& host, int weight = 0) {
    model::HTTPRouteDestination d;
    d.destination.host = host;
    d.weight = weight;
    return d;
  }

  RouteTablePtr table() {
    return std::make_shared<RouteTable>(buildRouteTable(snap_, model::MeshSettings{}));
  }

  void startProxy(std::unique_ptr<OriginalDstResolver> resolver = nullptr) {
    if (!resolver) {
      resolver = std::make_unique<FixedResolver>(
          OriginalDestination{*net::IpAddress::parse(kVip), 80, 0});
    }
    auto server = ProxyServer::create(loop_.base(), "127.0.0.1:0", std::move(resolver), table(),
                                      options_);
    ASSERT_TRUE(server.ok()) << server.error().message();
    server_ = std::move(server.value());
    loop_.start();
  }

  void TearDown() override {
    loop_.run([this] { server_.reset(); });
  }

  ProxyCounters counters() {
    ProxyCounters c;
    loop_.run([&] { c = server_->counters(); });
    return c;
  }

  // The VIP service "svc" plus two backends: "a" and "b".
  void twoBackends() {
    service("svc", kVip, 80, a_.port());
    service("a", "10.96.0.2", 80, a_.port());
    service("b", "10.96.0.3", 80, b_.port());
  }

  EchoServer a_{"a"};
  EchoServer b_{"b"};
  model::Snapshot snap_;
  LoopThread loop_;
  std::unique_ptr<ProxyServer> server_;
  ProxyOptions options_;
};

}  // namespace sluice::proxy::test
