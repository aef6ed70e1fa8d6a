#include "proxy_server.h"

#include "h2_session.h"
#include "h2_upstream.h"
#include "http1_session.h"
#include "upstream_pool.h"

#include <event2/buffer.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <random>

namespace sluice::proxy {

ProxyServer::ProxyServer(event_base* base, std::unique_ptr<OriginalDstResolver> resolver,
                         RouteTablePtr table, ProxyOptions options)
    : base_(base),
      resolver_(std::move(resolver)),
      table_(std::move(table)),
      options_(options),
      router_(std::random_device{}()),
      circuits_(base),
      pool_(std::make_unique<UpstreamPool>(base, options.maxIdlePerEndpoint,
                                           options.upstreamIdleTimeoutSeconds)),
      h2Upstreams_(std::make_unique<H2Upstreams>(base, options.connectTimeoutSeconds,
                                                 options.upstreamIdleTimeoutSeconds)),
      idRng_(std::random_device{}()) {}

Result<std::unique_ptr<ProxyServer>> ProxyServer::create(
    event_base* base, const std::string& listen, std::unique_ptr<OriginalDstResolver> resolver,
    RouteTablePtr table, ProxyOptions options) {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos) {
    return Error::invalid("listen address " + listen + ": want ip:port");
  }
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  auto ip = net::IpAddress::parse(host);
  char* end = nullptr;
  unsigned long port = std::strtoul(listen.c_str() + colon + 1, &end, 10);
  if (!ip || *end != '\0' || port > 65535) {
    return Error::invalid("listen address " + listen + ": want ip:port");
  }
  std::unique_ptr<ProxyServer> server(
      new ProxyServer(base, std::move(resolver), std::move(table), options));
  sockaddr_storage sa;
  socklen_t len = toSockaddr(*ip, static_cast<uint16_t>(port), sa);
  server->listener_ = evconnlistener_new_bind(
      base, onAccept, server.get(), LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
      1024, reinterpret_cast<sockaddr*>(&sa), static_cast<int>(len));
  if (!server->listener_) {
    return Error::fromErrno(errno, "listen on " + listen);
  }
  sockaddr_storage bound;
  socklen_t boundLen = sizeof(bound);
  getsockname(evconnlistener_get_fd(server->listener_), reinterpret_cast<sockaddr*>(&bound),
              &boundLen);
  server->port_ = fromSockaddr(bound)->second;
  server->reaper_ = event_new(base, -1, 0, onReap, server.get());
  return server;
}

ProxyServer::~ProxyServer() {
  if (listener_) {
    evconnlistener_free(listener_);
  }
  sessions_.clear();
  for (auto& [bev, unused] : mirrors_) {
    bufferevent_free(bev);
  }
  mirrors_.clear();
  if (reaper_) {
    event_free(reaper_);
  }
}

void ProxyServer::mirror(const Endpoint& endpoint, std::string bytes) {
  bufferevent* bev = bufferevent_socket_new(base_, -1, BEV_OPT_CLOSE_ON_FREE);
  if (!bev) {
    return;
  }
  sockaddr_storage sa;
  socklen_t len = toSockaddr(endpoint.ip, endpoint.port, sa);
  bufferevent_setcb(bev, onMirrorRead, nullptr, onMirrorEvent, this);
  timeval tv{30, 0};
  bufferevent_set_timeouts(bev, &tv, &tv);
  bufferevent_write(bev, bytes.data(), bytes.size());
  bufferevent_enable(bev, EV_READ | EV_WRITE);
  if (bufferevent_socket_connect(bev, reinterpret_cast<sockaddr*>(&sa), static_cast<int>(len)) != 0) {
    bufferevent_free(bev);
    return;
  }
  mirrors_.emplace(bev, true);
  ++counters_.mirrorsSent;
}

void ProxyServer::onMirrorRead(bufferevent* bev, void*) {
  evbuffer* in = bufferevent_get_input(bev);
  evbuffer_drain(in, evbuffer_get_length(in));
}

void ProxyServer::onMirrorEvent(bufferevent* bev, short what, void* arg) {
  if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) {
    static_cast<ProxyServer*>(arg)->mirrors_.erase(bev);
    bufferevent_free(bev);
  }
}

void ProxyServer::onAccept(evconnlistener*, evutil_socket_t fd, sockaddr* addr, int len,
                           void* arg) {
  auto* self = static_cast<ProxyServer*>(arg);
  ++self->counters_.accepted;
  sockaddr_storage peer;
  std::memset(&peer, 0, sizeof(peer));
  std::memcpy(&peer, addr, std::min<size_t>(static_cast<size_t>(len), sizeof(peer)));
  auto dst = self->resolver_->resolve(peer);
  auto client = fromSockaddr(peer);
  if (!dst || !client) {
    // Not handed off by our hooks: refuse, unanswered. The proxy is never an open relay.
    ++self->counters_.refusedNoHandoff;
    ::close(fd);
    return;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  bufferevent* bev = bufferevent_socket_new(self->base_, fd, BEV_OPT_CLOSE_ON_FREE);
  if (!bev) {
    ::close(fd);
    return;
  }
  self->startHttp1(bev, *dst, client->first, client->second);
}

void ProxyServer::startHttp1(bufferevent* bev, const OriginalDestination& dst,
                             const net::IpAddress& client, uint16_t clientPort, bool clientHttp2) {
  auto session = std::make_unique<Http1Session>(*this, bev, dst, client, clientPort, clientHttp2);
  Session* raw = session.get();
  sessions_.emplace(raw, std::move(session));
}

void ProxyServer::startH2(bufferevent* bev, const OriginalDestination& dst,
                          const net::IpAddress& client, uint16_t clientPort,
                          const H2UpgradeRequest* upgrade) {
  ++counters_.h2Connections;
  auto session = std::make_unique<H2Session>(*this, bev, dst, client, clientPort);
  H2Session* raw = session.get();
  sessions_.emplace(raw, std::move(session));
  raw->start(upgrade);
}

void ProxyServer::retire(Session* session) {
  retired_.push_back(session);
  event_active(reaper_, 0, 0);
}

void ProxyServer::onReap(evutil_socket_t, short, void* arg) {
  auto* self = static_cast<ProxyServer*>(arg);
  std::vector<Session*> retired;
  retired.swap(self->retired_);
  for (auto* s : retired) {
    self->sessions_.erase(s);
  }
}

std::string ProxyServer::newRequestId() {
  uint64_t a = idRng_();
  uint64_t b = idRng_();
  a = (a & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;  // version 4
  b = (b & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // RFC 4122 variant
  char text[37];
  std::snprintf(text, sizeof(text), "%08x-%04x-%04x-%04x-%012llx",
                static_cast<unsigned>(a >> 32), static_cast<unsigned>((a >> 16) & 0xffff),
                static_cast<unsigned>(a & 0xffff), static_cast<unsigned>(b >> 48),
                static_cast<unsigned long long>(b & 0xffffffffffffULL));
  return text;
}

}  // namespace sluice::proxy
