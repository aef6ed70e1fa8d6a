#include "echo_server.h"

#include "net_util.h"

#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <unordered_map>

namespace sluice::bench {
namespace {

volatile std::sig_atomic_t stopRequested = 0;
void onStop(int) { stopRequested = 1; }

struct ServerConn {
  std::string in;
  std::string out;
  std::string identity;
  bool closeAfterWrite = false;
};

bool hasCloseHeader(const std::string& head) {
  for (std::size_t pos = 0; (pos = head.find("\r\n", pos)) != std::string::npos;) {
    pos += 2;
    if (strncasecmp(head.c_str() + pos, "connection:", 11) == 0) {
      return head.find("close", pos) < head.find("\r\n", pos);
    }
  }
  return false;
}

} // namespace

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
  // Returns false when the connection is finished (closed or failed).
  auto flush = [&](int fd, ServerConn& c) {
    while (!c.out.empty()) {
      const ssize_t n = send(fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EAGAIN) {
          epoll_event ev{.events = EPOLLIN | EPOLLOUT, .data = {.fd = fd}};
          epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
          return true;
        }
        return false;
      }
      c.out.erase(0, static_cast<std::size_t>(n));
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
      // Requests are GETs without bodies, so a request ends at the blank line.
      for (std::size_t end; !c.closeAfterWrite && (end = c.in.find("\r\n\r\n")) != std::string::npos;) {
        const std::string head = c.in.substr(0, end + 4);
        c.in.erase(0, end + 4);
        c.closeAfterWrite = hasCloseHeader(head);
        const std::string body = c.identity + "\n";
        c.out += "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " +
                 std::to_string(body.size()) + "\r\nX-Pod: " + c.identity + "\r\n" +
                 (c.closeAfterWrite ? "Connection: close\r\n" : "") + "\r\n" + body;
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
