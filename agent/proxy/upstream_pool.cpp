#include "upstream_pool.h"

#include "original_dst.h"

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <algorithm>

namespace sluice::proxy {

std::unique_ptr<UpstreamConn> UpstreamPool::takeIdle(const std::string& key) {
  auto it = idle_.find(key);
  if (it == idle_.end() || it->second.empty()) {
    return nullptr;
  }
  // Most recently parked first: the connection least likely to have been closed by the server.
  std::unique_ptr<Idle> idle = std::move(it->second.back());
  it->second.pop_back();
  std::unique_ptr<UpstreamConn> conn = std::move(idle->conn);
  bufferevent_setcb(conn->bev_, nullptr, nullptr, nullptr, nullptr);
  bufferevent_set_timeouts(conn->bev_, nullptr, nullptr);
  conn->reused_ = true;
  return conn;
}

std::unique_ptr<UpstreamConn> UpstreamPool::connect(const Endpoint& endpoint,
                                                    const std::string& key,
                                                    int connectTimeoutSeconds) {
  bufferevent* bev = bufferevent_socket_new(base_, -1, BEV_OPT_CLOSE_ON_FREE);
  if (!bev) {
    return nullptr;
  }
  auto conn = std::make_unique<UpstreamConn>(bev, key, false);
  sockaddr_storage sa;
  socklen_t len = toSockaddr(endpoint.ip, endpoint.port, sa);
  timeval tv{connectTimeoutSeconds, 0};
  bufferevent_set_timeouts(bev, nullptr, &tv);  // a write timeout bounds the connect
  if (bufferevent_socket_connect(bev, reinterpret_cast<sockaddr*>(&sa), static_cast<int>(len)) !=
      0) {
    return nullptr;
  }
  evutil_socket_t fd = bufferevent_getfd(bev);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return conn;
}

void UpstreamPool::putIdle(std::unique_ptr<UpstreamConn> conn) {
  conn->request_ = CircuitSlot();
  auto& list = idle_[conn->key()];
  if (list.size() >= maxIdle_) {
    return;  // conn is closed on return
  }
  auto idle = std::make_unique<Idle>(Idle{this, std::move(conn)});
  bufferevent* bev = idle->conn->bev_;
  bufferevent_setcb(bev, onIdleRead, nullptr, onIdleEvent, idle.get());
  timeval tv{idleTimeoutSeconds_, 0};
  bufferevent_set_timeouts(bev, &tv, nullptr);
  bufferevent_enable(bev, EV_READ);
  list.push_back(std::move(idle));
}

size_t UpstreamPool::idleCount() const {
  size_t n = 0;
  for (const auto& [key, list] : idle_) {
    n += list.size();
  }
  return n;
}

void UpstreamPool::drop(Idle* idle) {
  auto& list = idle_[idle->conn->key()];
  std::erase_if(list, [idle](const std::unique_ptr<Idle>& p) { return p.get() == idle; });
}

void UpstreamPool::onIdleEvent(bufferevent*, short, void* arg) {
  auto* idle = static_cast<Idle*>(arg);
  idle->pool->drop(idle);
}

void UpstreamPool::onIdleRead(bufferevent*, void* arg) {
  // HTTP/1.1 servers send nothing unasked; bytes here mean the connection cannot be trusted.
  auto* idle = static_cast<Idle*>(arg);
  idle->pool->drop(idle);
}

}  // namespace sluice::proxy
