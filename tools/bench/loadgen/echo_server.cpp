#include "echo_server.h"

#include "net_util.h"

#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <unordered_map>

namespace sluice::bench {
namespace {

volatile std::sig_atomic_t stopRequested = 0;
void onStop(int) { stopRequested = 1; }

struct ServerConn {
  std::string in;
  std::string out;
  std::size_t outOff = 0;     // bytes of out already sent
  std::uint64_t bodyLeft = 0; // of a bulk response, streamed after out
  std::string identity;
  bool closeAfterWrite = false;
};

// What bulk bodies are made of; sent from here, never copied per response.
char fill[65536];

bool hasCloseHeader(const std::string& head) {
  for (std::size_t pos = 0; (pos = head.find("\r\n", pos)) != std::string::npos;) {
    pos += 2;
    if (strncasecmp(head.c_str() + pos, "connection:", 11) == 0) {
      return head.find("close", pos) < head.find("\r\n", pos);
    }
  }
  return false;
}

// Appends the responses to the complete requests in c.in. A bulk response stops the parsing: its
// body is streamed by the caller before the next request is answered, so answers stay in order.
void takeRequests(ServerConn& c) {
  // Requests are GETs without bodies, so a request ends at the blank line.
  for (std::size_t end; !c.closeAfterWrite && c.bodyLeft == 0 && (end = c.in.find("\r\n\r\n")) != std::string::npos;) {
    const std::string head = c.in.substr(0, end + 4);
    c.in.erase(0, end + 4);
    c.closeAfterWrite = hasCloseHeader(head);
    const std::uint64_t bulk = bulkBodySize(head);
    const std::string body = bulk > 0 ? std::string() : c.identity + "\n";
    c.out += "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " +
             std::to_string(bulk > 0 ? bulk : body.size()) + "\r\nX-Pod: " + c.identity + "\r\n" +
             (c.closeAfterWrite ? "Connection: close\r\n" : "") + "\r\n" + body;
    c.bodyLeft = bulk;
  }
}

} // namespace

std::uint64_t bulkBodySize(const std::string& head) {
  constexpr const char* prefix = "GET /bytes/";
  if (head.compare(0, std::strlen(prefix), prefix) != 0) {
    return 0;
  }
  const char* digits = head.c_str() + std::strlen(prefix);
  char* end = nullptr;
  const unsigned long long n = std::strtoull(digits, &end, 10);
  if (end == digits || (*end != ' ' && *end != '?' && *end != '/')) {
    return 0;
  }
  return std::min<unsigned long long>(n, kMaxBulkBody);
}

int runEchoServer(const std::vector<std::string>& listen) {
  std::signal(SIGTERM, onStop);
  std::signal(SIGINT, onStop);
  std::signal(SIGPIPE, SIG_IGN);
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  std::unordered_map<int, bool> listeners;
  for (const auto& text : listen) {
    auto addr = parseEndpoint(text);
    if (!addr) {
      std::fprintf(stderr, "bad listen address %s\n", text.c_str());
      return 2;
    }
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, reinterpret_cast<sockaddr*>(&*addr), sizeof *addr) != 0 || ::listen(fd, 4096) != 0) {
      std::fprintf(stderr, "listen %s: %s\n", text.c_str(), std::strerror(errno));
      return 1;
    }
    epoll_event ev{.events = EPOLLIN, .data = {.fd = fd}};
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    listeners[fd] = true;
    std::printf("serving %s\n", text.c_str());
  }
  std::fflush(stdout);

  std::unordered_map<int, ServerConn> conns;
  auto closeConn = [&](int fd) {
    epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr);
    close(fd);
    conns.erase(fd);
  };
  // Sends what is pending: headers and small bodies from out, then a bulk body, then the answers
  // to requests that waited behind it. Returns false when the connection is finished (closed or
  // failed).
  auto flush = [&](int fd, ServerConn& c) {
    for (;;) {
      ssize_t n = 0;
      if (c.outOff < c.out.size()) {
        n = send(fd, c.out.data() + c.outOff, c.out.size() - c.outOff,
                 MSG_NOSIGNAL | (c.bodyLeft > 0 ? MSG_MORE : 0));
        if (n > 0) {
          c.outOff += static_cast<std::size_t>(n);
        }
      } else if (c.bodyLeft > 0) {
        n = send(fd, fill, std::min<std::uint64_t>(c.bodyLeft, sizeof fill), MSG_NOSIGNAL);
        if (n > 0) {
          c.bodyLeft -= static_cast<std::uint64_t>(n);
        }
      } else {
        c.out.clear();
        c.outOff = 0;
        takeRequests(c);
        if (c.out.empty()) {
          break;
        }
        continue;
      }
      if (n < 0) {
        if (errno == EAGAIN) {
          epoll_event ev{.events = EPOLLIN | EPOLLOUT, .data = {.fd = fd}};
          epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
          return true;
        }
        return false;
      }
    }
    epoll_event ev{.events = EPOLLIN, .data = {.fd = fd}};
    epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
    return !c.closeAfterWrite;
  };

  epoll_event events[256];
  char buf[16384];
  while (!stopRequested) {
    const int n = epoll_wait(ep, events, 256, 200);
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      if (listeners.contains(fd)) {
        for (;;) {
          sockaddr_in local{};
          const int cfd = accept4(fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (cfd < 0) {
            break;
          }
          socklen_t len = sizeof local;
          getsockname(cfd, reinterpret_cast<sockaddr*>(&local), &len);
          const int one = 1;
          setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          conns[cfd].identity = formatEndpoint(local);
          epoll_event ev{.events = EPOLLIN, .data = {.fd = cfd}};
          epoll_ctl(ep, EPOLL_CTL_ADD, cfd, &ev);
        }
        continue;
      }
      auto it = conns.find(fd);
      if (it == conns.end()) {
        continue;
      }
      ServerConn& c = it->second;
      if (events[i].events & EPOLLOUT) {
        if (!flush(fd, c)) {
          closeConn(fd);
          continue;
        }
      }
      if (!(events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
        continue;
      }
      const ssize_t got = recv(fd, buf, sizeof buf, 0);
      if (got <= 0) {
        if (got < 0 && errno == EAGAIN) {
          continue;
        }
        closeConn(fd);
        continue;
      }
      c.in.append(buf, static_cast<std::size_t>(got));
      // While a response is still being sent, flush answers what arrived after it.
      if (c.outOff < c.out.size() || c.bodyLeft > 0) {
        continue;
      }
      if (!flush(fd, c)) {
        closeConn(fd);
      }
    }
  }
  for (auto& [fd, c] : conns) {
    close(fd);
  }
  for (auto& [fd, unused] : listeners) {
    close(fd);
  }
  close(ep);
  return 0;
}

} // namespace sluice::bench
