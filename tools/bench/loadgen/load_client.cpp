#include "load_client.h"

#include "net_util.h"

#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <deque>
#include <stdexcept>
#include <unordered_map>

namespace sluice::bench {

std::string requestFor(const std::string& path, bool close) {
  return "GET " + path + " HTTP/1.1\r\nHost: bench\r\n" + (close ? "Connection: close\r\n" : "") + "\r\n";
}

bool takeResponse(std::string& buf, bool untilEof, bool eof, std::string& pod, bool& okStatus,
                  std::size_t& size, bool& closing) {
  const std::size_t headEnd = buf.find("\r\n\r\n");
  if (headEnd == std::string::npos) {
    return false;
  }
  std::size_t bodyLen = 0;
  bool haveLength = false;
  pod.clear();
  closing = false;
  for (std::size_t pos = buf.find("\r\n"); pos < headEnd; pos = buf.find("\r\n", pos + 2)) {
    const char* line = buf.c_str() + pos + 2;
    const std::size_t lineEnd = buf.find("\r\n", pos + 2);
    if (strncasecmp(line, "content-length:", 15) == 0) {
      bodyLen = std::strtoul(line + 15, nullptr, 10);
      haveLength = true;
    } else if (strncasecmp(line, "x-pod:", 6) == 0) {
      std::size_t start = pos + 2 + 6;
      while (start < lineEnd && buf[start] == ' ') {
        ++start;
      }
      pod = buf.substr(start, lineEnd - start);
    } else if (strncasecmp(line, "connection:", 11) == 0) {
      const std::size_t value = buf.find_first_not_of(' ', pos + 2 + 11);
      closing = value < lineEnd && strncasecmp(buf.c_str() + value, "close", 5) == 0;
    }
  }
  okStatus = buf.compare(0, 12, "HTTP/1.1 200") == 0 || buf.compare(0, 12, "HTTP/1.0 200") == 0;
  if (untilEof && !eof) {
    return false;
  }
  if (haveLength && buf.size() < headEnd + 4 + bodyLen) {
    return false;
  }
  size = haveLength ? headEnd + 4 + bodyLen : buf.size();
  buf.erase(0, size);
  return true;
}

namespace {

enum class ConnState { Connecting, Idle, Busy };

struct ClientConn {
  ConnState state = ConnState::Connecting;
  std::uint64_t intendedNs = 0; // of the request this connection carries
  bool measured = false;        // intended time inside the measured period
  std::string in;
};

class Client {
public:
  explicit Client(const ClientOptions& o) : o_(o) {
    auto addr = parseEndpoint(o.target);
    if (!addr) {
      throw std::invalid_argument("bad target " + o.target);
    }
    target_ = *addr;
    crrRequest_ = requestFor(o.path, true);
    httpRequest_ = requestFor(o.path, false);
    ep_ = epoll_create1(EPOLL_CLOEXEC);
    std::signal(SIGPIPE, SIG_IGN);
    // The default 50 us timer slack would delay every scheduled send and show up as latency.
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
  }
  ~Client() {
    for (auto& [fd, c] : conns_) {
      close(fd);
    }
    close(ep_);
  }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  ClientResult run() {
    const auto warmNs = static_cast<std::uint64_t>(o_.warmupS * 1e9);
    const auto durNs = static_cast<std::uint64_t>(o_.durationS * 1e9);
    timeoutNs_ = static_cast<std::uint64_t>(o_.timeoutS * 1e9);
    startNs_ = monotonicNs();
    measureFromNs_ = startNs_ + warmNs;
    endNs_ = measureFromNs_ + durNs;
    const bool open = o_.rate > 0;
    const double periodNs = open ? 1e9 / o_.rate : 0;
    std::uint64_t sent = 0;

    if (o_.mode == LoadMode::Http) {
      for (int i = 0; i < o_.connections; ++i) {
        openConn(0, false);
      }
    }
    epoll_event events[512];
    for (;;) {
      const std::uint64_t now = monotonicNs();
      if (now >= endNs_) {
        break;
      }
      // Open loop: every intended send time that has come is queued, and its latency clock runs
      // from that time even if no connection is free yet (the coordinated-omission correction).
      // Closed loop (saturation): the intended time is the moment a slot frees, so latency is
      // plain service time.
      if (open) {
        for (std::uint64_t next = startNs_ + static_cast<std::uint64_t>(sent * periodNs);
             next <= now && next < endNs_;
             next = startNs_ + static_cast<std::uint64_t>(++sent * periodNs)) {
          backlog_.push_back(next);
        }
      } else {
        while (backlog_.empty() && inFlight() < o_.connections) {
          backlog_.push_back(now);
          dispatch();
        }
      }
      dispatch();
      expire(now);
      std::uint64_t waitNs = 50'000'000;
      if (open) {
        const std::uint64_t next = startNs_ + static_cast<std::uint64_t>(sent * periodNs);
        waitNs = next > now ? next - now : 0;
      }
      waitNs = std::min<std::uint64_t>(waitNs, endNs_ - now);
      const timespec ts{static_cast<time_t>(waitNs / 1'000'000'000ull),
                        static_cast<long>(waitNs % 1'000'000'000ull)};
      const int n = epoll_pwait2(ep_, events, 512, &ts, nullptr);
      for (int i = 0; i < n; ++i) {
        onEvent(events[i].data.fd, events[i].events);
      }
    }
    // Drain: give requests already on the wire until their timeout to finish.
    const std::uint64_t drainUntil = monotonicNs() + timeoutNs_;
    for (;;) {
      const std::uint64_t now = monotonicNs();
      expire(now);
      if (busyCount() == 0 || now >= drainUntil) {
        break;
      }
      const timespec ts{0, 10'000'000};
      const int n = epoll_pwait2(ep_, events, 512, &ts, nullptr);
      for (int i = 0; i < n; ++i) {
        onEvent(events[i].data.fd, events[i].events);
      }
    }
    for (auto& [fd, c] : conns_) {
      if (c.state != ConnState::Idle && c.measured) {
        fail("timeout");
      }
    }
    for (std::uint64_t t : backlog_) {
      if (t >= measureFromNs_) {
        ++r_.notSent;
      }
    }
    r_.elapsedS = static_cast<double>(endNs_ - measureFromNs_) / 1e9;
    return std::move(r_);
  }

private:
  int inFlight() const {
    int n = 0;
    for (const auto& [fd, c] : conns_) {
      n += c.state != ConnState::Idle;
    }
    return n;
  }
  // Requests on the wire; keep-alive connections being (re)opened carry none.
  int busyCount() const {
    int n = 0;
    for (const auto& [fd, c] : conns_) {
      n += c.state == ConnState::Busy || (c.state == ConnState::Connecting && c.intendedNs != 0);
    }
    return n;
  }

  void fail(const std::string& reason) { ++r_.failures[reason]; }

  // crr: a new connection per request. http: a keep-alive connection (intended = 0, idle once up).
  void openConn(std::uint64_t intendedNs, bool carriesRequest) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ClientConn c;
    c.intendedNs = intendedNs;
    c.measured = carriesRequest && intendedNs >= measureFromNs_;
    if (connect(fd, reinterpret_cast<const sockaddr*>(&target_), sizeof target_) != 0 &&
        errno != EINPROGRESS) {
      if (c.measured) {
        fail(std::string("connect: ") + std::strerror(errno));
      }
      close(fd);
      return;
    }
    epoll_event ev{.events = EPOLLOUT | EPOLLIN, .data = {.fd = fd}};
    epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev);
    conns_.emplace(fd, std::move(c));
  }

  void dispatch() {
    while (!backlog_.empty()) {
      const std::uint64_t intended = backlog_.front();
      if (o_.mode == LoadMode::Crr) {
        if (inFlight() >= o_.connections) {
          return;
        }
        backlog_.pop_front();
        openConn(intended, true);
        continue;
      }
      auto idle = std::find_if(conns_.begin(), conns_.end(),
                               [](const auto& kv) { return kv.second.state == ConnState::Idle; });
      if (idle == conns_.end()) {
        return;
      }
      backlog_.pop_front();
      idle->second.state = ConnState::Busy;
      idle->second.intendedNs = intended;
      idle->second.measured = intended >= measureFromNs_;
      if (send(idle->first, httpRequest_.data(), httpRequest_.size(), MSG_NOSIGNAL) < 0) {
        finish(idle->first, "send: " + std::string(std::strerror(errno)));
      }
    }
  }

  void closeConn(int fd) {
    epoll_ctl(ep_, EPOLL_CTL_DEL, fd, nullptr);
    close(fd);
    conns_.erase(fd);
  }

  // Ends the request on fd with a failure; keep-alive connections are replaced.
  void finish(int fd, const std::string& reason) {
    auto& c = conns_.at(fd);
    if (c.measured && c.state != ConnState::Idle) {
      fail(reason);
    }
    const bool replace = o_.mode == LoadMode::Http;
    closeConn(fd);
    if (replace) {
      openConn(0, false);
    }
  }

  void expire(std::uint64_t now) {
    std::vector<int> late;
    for (const auto& [fd, c] : conns_) {
      if (c.state != ConnState::Idle && c.intendedNs != 0 && now - c.intendedNs > timeoutNs_) {
        late.push_back(fd);
      }
    }
    for (int fd : late) {
      finish(fd, "timeout");
    }
  }

  void onEvent(int fd, std::uint32_t events) {
    auto it = conns_.find(fd);
    if (it == conns_.end()) {
      return;
    }
    ClientConn& c = it->second;
    if (c.state == ConnState::Connecting) {
      int err = 0;
      socklen_t len = sizeof err;
      getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) {
        finish(fd, std::string("connect: ") + std::strerror(err));
        return;
      }
      if (!(events & EPOLLOUT)) {
        return;
      }
      epoll_event ev{.events = EPOLLIN, .data = {.fd = fd}};
      epoll_ctl(ep_, EPOLL_CTL_MOD, fd, &ev);
      if (o_.mode == LoadMode::Http) {
        c.state = ConnState::Idle;
        dispatch();
        return;
      }
      const std::uint64_t now = monotonicNs();
      if (c.measured) {
        r_.connectNs.record(now - c.intendedNs);
      }
      c.state = ConnState::Busy;
      if (send(fd, crrRequest_.data(), crrRequest_.size(), MSG_NOSIGNAL) < 0) {
        finish(fd, "send: " + std::string(std::strerror(errno)));
      }
      return;
    }
    char buf[65536];
    bool eof = false;
    for (;;) {
      const ssize_t got = recv(fd, buf, sizeof buf, 0);
      if (got > 0) {
        c.in.append(buf, static_cast<std::size_t>(got));
        continue;
      }
      if (got == 0) {
        eof = true;
      } else if (errno != EAGAIN) {
        finish(fd, std::string("recv: ") + std::strerror(errno));
        return;
      }
      break;
    }
    std::string pod;
    bool okStatus = false;
    std::size_t size = 0;
    bool closing = false;
    const bool crr = o_.mode == LoadMode::Crr;
    if (c.state == ConnState::Busy && takeResponse(c.in, crr, eof, pod, okStatus, size, closing)) {
      const std::uint64_t now = monotonicNs();
      r_.okAll += okStatus;
      r_.bytesAll += size;
      if (c.measured) {
        if (!okStatus) {
          fail("http status");
        } else {
          ++r_.ok;
          r_.bytes += size;
          ++r_.pods[pod.empty() ? "unknown" : pod];
          if (!o_.expectPods.empty() &&
              std::find(o_.expectPods.begin(), o_.expectPods.end(), pod) == o_.expectPods.end()) {
            ++r_.misrouted;
          }
          r_.latencyNs.record(now - c.intendedNs);
        }
      }
      if (crr) {
        closeConn(fd);
        return;
      }
      c.state = ConnState::Idle;
      c.measured = false;
      // A server that announced the close gets no further request on this connection: it would
      // race the close and fail as "closed before response" or a reset.
      if (eof || closing) {
        closeConn(fd);
        openConn(0, false);
      }
      dispatch();
      return;
    }
    if (eof) {
      if (c.state == ConnState::Idle) {
        closeConn(fd);
        openConn(0, false);
      } else {
        finish(fd, "closed before response");
      }
    }
  }

  ClientOptions o_;
  sockaddr_in target_{};
  std::string crrRequest_;
  std::string httpRequest_;
  int ep_ = -1;
  std::uint64_t timeoutNs_ = 0;
  std::uint64_t startNs_ = 0;
  std::uint64_t measureFromNs_ = 0;
  std::uint64_t endNs_ = 0;
  std::unordered_map<int, ClientConn> conns_;
  std::deque<std::uint64_t> backlog_;
  ClientResult r_;
};

} // namespace

ClientResult runClient(const ClientOptions& options) { return Client(options).run(); }

} // namespace sluice::bench
