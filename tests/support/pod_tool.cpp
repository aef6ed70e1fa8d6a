// sluice-pod: the workload processes of the end-to-end topologies and the demo.
//
//   sluice-pod serve --name NAME --port P [--port P ...] [--http | --h2c] [--delay-ms D]
//       Listens on [::]:P (dual stack) for TCP and UDP. Each TCP connection is answered with
//       "NAME\n" and kept open until the peer closes it (so held connections stay live on the
//       backend); each UDP datagram is answered with "NAME\n" to its sender. Prints "ready" once
//       every socket is bound. --http: HTTP/1.1 instead (see serve()); --h2c: HTTP/2 with prior
//       knowledge, every stream answered 200 with body "NAME\n", X-Request-Path and a
//       `grpc-status: 0` trailer (what a gRPC server ends a call with). --delay-ms D (with --http):
//       each answer leaves D ms after its request head arrived, without holding up other
//       connections (a slow backend, for circuit-breaking and timeout scenarios).
//   sluice-pod connect --to ADDR:PORT|[ADDR6]:PORT --count N [--udp] [--hold]
//                      [--duration-ms D] [--timeout-ms T]
//       Makes up to N attempts (stopping early once D ms have passed, or at SIGTERM) and prints
//       one line each:
//         ok <start_ns> <end_ns> <pod> <peer>       peer = getpeername() (TCP) or recvfrom() source
//         fail <start_ns> <end_ns> <errno> <stage>  stage = socket|connect|read|send|recv
//       The times are CLOCK_MONOTONIC around the attempt, comparable with the harness's clock.
//       --hold keeps every successful TCP connection open until SIGTERM.
//
// It is a separate executable (not a thread of the test) because what is tested is per process: the
// BPF hooks key on the caller's cgroup, and a netns is joined before exec.
#include <arpa/inet.h>
#include <nghttp2/nghttp2.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <algorithm>
#include <map>
#include <memory>
#include <string_view>
#include <optional>
#include <string>
#include <vector>

namespace {

std::uint64_t monotonicNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ull +
         static_cast<std::uint64_t>(ts.tv_nsec);
}

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "sluice-pod: %s: %s\n", what.c_str(), std::strerror(errno));
  std::exit(1);
}

[[noreturn]] void usage() {
  std::fprintf(stderr,
               "usage: sluice-pod serve --name NAME --port P [--port P ...] [--http | --h2c]\n"
               "                        [--delay-ms D]\n"
               "       sluice-pod connect --to ADDR:PORT --count N [--udp] [--hold]\n"
               "                          [--duration-ms D] [--timeout-ms T]\n");
  std::exit(2);
}

std::string formatAddr(const sockaddr_storage& ss) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (ss.ss_family == AF_INET) {
    const auto& a = reinterpret_cast<const sockaddr_in&>(ss);
    inet_ntop(AF_INET, &a.sin_addr, buf, sizeof buf);
    return std::string(buf) + ":" + std::to_string(ntohs(a.sin_port));
  }
  const auto& a = reinterpret_cast<const sockaddr_in6&>(ss);
  // A v4 peer seen on a dual-stack socket is reported as plain v4.
  if (IN6_IS_ADDR_V4MAPPED(&a.sin6_addr)) {
    inet_ntop(AF_INET, &a.sin6_addr.s6_addr[12], buf, sizeof buf);
    return std::string(buf) + ":" + std::to_string(ntohs(a.sin6_port));
  }
  inet_ntop(AF_INET6, &a.sin6_addr, buf, sizeof buf);
  return "[" + std::string(buf) + "]:" + std::to_string(ntohs(a.sin6_port));
}

std::optional<sockaddr_storage> parseEndpoint(const std::string& text, socklen_t& len) {
  sockaddr_storage ss{};
  std::string host;
  std::string port;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find("]:");
    if (close == std::string::npos) return std::nullopt;
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string::npos) return std::nullopt;
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  int p = std::atoi(port.c_str());
  if (p <= 0 || p > 65535) return std::nullopt;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(p));
    len = sizeof(sockaddr_in);
    return ss;
  }
  if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(p));
    len = sizeof(sockaddr_in6);
    return ss;
  }
  return std::nullopt;
}

// ---- serve ----

int bindDualStack(int type, int port) {
  int fd = socket(AF_INET6, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) die("socket");
  int zero = 0;
  int one = 1;
  setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in6 addr{};
  addr.sin6_family = AF_INET6;
  addr.sin6_addr = in6addr_any;
  addr.sin6_port = htons(static_cast<uint16_t>(port));
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) die("bind");
  if (type == SOCK_STREAM && listen(fd, 1024) < 0) die("listen");
  return fd;
}

// One --h2c connection: nghttp2 frames it; each request that ends gets the pod's answer.
class H2cConnection {
 public:
  H2cConnection(int fd, const std::string& reply) : fd_(fd), reply_(reply) {
    nghttp2_session_callbacks* cbs = nullptr;
    nghttp2_session_callbacks_new(&cbs);
    nghttp2_session_callbacks_set_on_header_callback(cbs, onHeader);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, onFrameRecv);
    nghttp2_session_server_new(&session_, cbs, this);
    nghttp2_session_callbacks_del(cbs);
    nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, nullptr, 0);
  }
  ~H2cConnection() { nghttp2_session_del(session_); }
  H2cConnection(const H2cConnection&) = delete;
  H2cConnection& operator=(const H2cConnection&) = delete;

  // Feeds received bytes and sends what nghttp2 queued; false when the connection is done.
  bool receive(const char* data, size_t len) {
    if (nghttp2_session_mem_recv(session_, reinterpret_cast<const uint8_t*>(data), len) < 0) {
      return false;
    }
    for (;;) {
      const uint8_t* out = nullptr;
      ssize_t n = nghttp2_session_mem_send(session_, &out);
      if (n <= 0) return n == 0;
      // Answers are small: they fit in the socket buffer of a non-blocking send.
      if (send(fd_, out, static_cast<size_t>(n), MSG_NOSIGNAL) != n) return false;
    }
  }

 private:
  static int onHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                      size_t namelen, const uint8_t* value, size_t valuelen, uint8_t, void* arg) {
    if (frame->hd.type == NGHTTP2_HEADERS && std::string_view(reinterpret_cast<const char*>(name), namelen) == ":path") {
      static_cast<H2cConnection*>(arg)->paths_[frame->hd.stream_id].assign(
          reinterpret_cast<const char*>(value), valuelen);
    }
    return 0;
  }

  static int onFrameRecv(nghttp2_session* session, const nghttp2_frame* frame, void* arg) {
    auto* self = static_cast<H2cConnection*>(arg);
    if ((frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA) ||
        !(frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
      return 0;
    }
    static const std::string kStatus = ":status", k200 = "200", kType = "content-type",
                             kText = "text/plain", kPath = "x-request-path";
    std::string& path = self->paths_[frame->hd.stream_id];
    nghttp2_nv nva[] = {nv(kStatus, k200), nv(kType, kText), nv(kPath, path)};
    nghttp2_data_provider body;
    body.source.ptr = self;
    body.read_callback = readBody;
    nghttp2_submit_response(session, frame->hd.stream_id, nva, 3, &body);
    return 0;
  }

  static ssize_t readBody(nghttp2_session* session, int32_t stream, uint8_t* buf, size_t length,
                          uint32_t* flags, nghttp2_data_source* source, void*) {
    auto* self = static_cast<H2cConnection*>(source->ptr);
    size_t n = std::min(length, self->reply_.size());  // "NAME\n" fits in one frame
    std::memcpy(buf, self->reply_.data(), n);
    static const std::string kGrpcStatus = "grpc-status", kZero = "0";
    nghttp2_nv trailer[] = {nv(kGrpcStatus, kZero)};
    nghttp2_submit_trailer(session, stream, trailer, 1);
    *flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
    self->paths_.erase(stream);
    return static_cast<ssize_t>(n);
  }

  static nghttp2_nv nv(const std::string& name, const std::string& value) {
    return {reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
            reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(),
            value.size(), NGHTTP2_NV_FLAG_NONE};
  }

  int fd_;
  const std::string& reply_;
  nghttp2_session* session_ = nullptr;
  std::map<int32_t, std::string> paths_;
};

int serve(const std::string& name, const std::vector<int>& ports, bool http, bool h2c,
          long delayMs) {
  const std::string reply = name + "\n";
  // --http: no greeting; every request head (GETs, no body) on a kept-alive connection gets a 200
  // whose body is the pod's name and whose X-Request-Path header is the path it was asked for (so a
  // client can see a proxy's rewrite).
  auto httpReply = [&reply](const std::string& head) {
    const size_t start = head.find(' ') + 1;
    const std::string path = head.substr(start, head.find_first_of(" \r", start) - start);
    return "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Request-Path: " + path +
           "\r\nContent-Length: " + std::to_string(reply.size()) + "\r\n\r\n" + reply;
  };
  std::map<int, std::string> pending;
  std::map<int, std::unique_ptr<H2cConnection>> h2;
  // --delay-ms: answers waiting for their time, in the order they are due.
  struct Delayed {
    std::uint64_t dueNs;
    int fd;
    std::string bytes;
  };
  std::vector<Delayed> delayed;
  const std::uint64_t delayNs = static_cast<std::uint64_t>(delayMs) * 1'000'000ull;
  struct Watched {
    int fd;
    enum Kind { Listener, Datagram, Connection } kind;
  };
  std::vector<Watched> watched;
  for (int port : ports) {
    watched.push_back({bindDualStack(SOCK_STREAM, port), Watched::Listener});
    watched.push_back({bindDualStack(SOCK_DGRAM, port), Watched::Datagram});
  }
  std::printf("ready\n");
  std::fflush(stdout);
  std::vector<pollfd> pfds;
  for (;;) {
    pfds.clear();
    for (const auto& w : watched) pfds.push_back({w.fd, POLLIN, 0});
    int timeoutMs = -1;
    if (!delayed.empty()) {
      const std::uint64_t now = monotonicNs();
      const std::uint64_t due = delayed.front().dueNs;
      timeoutMs = due <= now ? 0 : static_cast<int>((due - now + 999'999) / 1'000'000);
    }
    if (poll(pfds.data(), pfds.size(), timeoutMs) < 0) {
      if (errno == EINTR) continue;
      die("poll");
    }
    std::vector<Watched> added;
    for (size_t i = 0; i < pfds.size(); ++i) {
      if (pfds[i].revents == 0) continue;
      auto& w = watched[i];
      if (w.kind == Watched::Listener) {
        int c = accept4(w.fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (c < 0) continue;
        // The answer fits in an empty socket buffer, so a non-blocking send completes.
        if (!http && !h2c && send(c, reply.data(), reply.size(), MSG_NOSIGNAL) < 0) {
          close(c);
          continue;
        }
        if (h2c) {
          h2.emplace(c, std::make_unique<H2cConnection>(c, reply));
        }
        added.push_back({c, Watched::Connection});
      } else if (w.kind == Watched::Datagram) {
        char buf[512];
        sockaddr_storage from{};
        socklen_t fromLen = sizeof from;
        ssize_t n = recvfrom(w.fd, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &fromLen);
        if (n >= 0) {
          sendto(w.fd, reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&from), fromLen);
        }
      } else {
        char buf[512];
        ssize_t n = recv(w.fd, buf, sizeof buf, 0);
        if (http && n > 0) {
          auto& in = pending[w.fd];
          in.append(buf, static_cast<size_t>(n));
          for (size_t end; (end = in.find("\r\n\r\n")) != std::string::npos;) {
            std::string answer = httpReply(in.substr(0, end));
            in.erase(0, end + 4);
            if (delayNs > 0) {
              delayed.push_back({monotonicNs() + delayNs, w.fd, std::move(answer)});
            } else {
              send(w.fd, answer.data(), answer.size(), MSG_NOSIGNAL);
            }
          }
        }
        bool h2Done = h2c && n > 0 && !h2[w.fd]->receive(buf, static_cast<size_t>(n));
        if (h2Done || n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
          close(w.fd);
          pending.erase(w.fd);
          h2.erase(w.fd);
          std::erase_if(delayed, [fd = w.fd](const Delayed& d) { return d.fd == fd; });
          w.fd = -1;
        }
      }
    }
    const std::uint64_t now = monotonicNs();
    auto due = std::find_if(delayed.begin(), delayed.end(),
                            [now](const Delayed& d) { return d.dueNs > now; });
    for (auto it = delayed.begin(); it != due; ++it) {
      send(it->fd, it->bytes.data(), it->bytes.size(), MSG_NOSIGNAL);
    }
    delayed.erase(delayed.begin(), due);
    std::erase_if(watched, [](const Watched& w) { return w.fd < 0; });
    watched.insert(watched.end(), added.begin(), added.end());
  }
}

// ---- connect ----

void report(std::uint64_t start, bool ok, const std::string& a, const std::string& b) {
  std::printf("%s %llu %llu %s %s\n", ok ? "ok" : "fail", static_cast<unsigned long long>(start),
              static_cast<unsigned long long>(monotonicNs()), a.c_str(), b.c_str());
}

// SIGTERM is blocked and polled between attempts: a handler would interrupt a connect() or recv()
// with EINTR (sockets with timeouts are not restarted) and report a failure that did not happen.
sigset_t termSet() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  return set;
}

bool stopRequested() {
  sigset_t pending;
  sigpending(&pending);
  return sigismember(&pending, SIGTERM) == 1;
}

void setTimeouts(int fd, int timeoutMs) {
  timeval tv{timeoutMs / 1000, (timeoutMs % 1000) * 1000};
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);  // bounds a blocking connect()
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

std::string readLine(int fd, bool& ok) {
  std::string line;
  char c;
  for (;;) {
    ssize_t n = recv(fd, &c, 1, 0);
    if (n <= 0) {
      ok = false;
      return line;
    }
    if (c == '\n') {
      ok = true;
      return line;
    }
    line.push_back(c);
  }
}

// Returns the fd when the connection should stay open (--hold), else -1.
int tcpAttempt(const sockaddr_storage& to, socklen_t len, int timeoutMs, bool hold) {
  const auto start = monotonicNs();
  int fd = socket(to.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    report(start, false, std::to_string(errno), "socket");
    return -1;
  }
  setTimeouts(fd, timeoutMs);
  if (connect(fd, reinterpret_cast<const sockaddr*>(&to), len) < 0) {
    report(start, false, std::to_string(errno), "connect");
    close(fd);
    return -1;
  }
  sockaddr_storage peer{};
  socklen_t peerLen = sizeof peer;
  getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peerLen);
  bool ok = false;
  std::string pod = readLine(fd, ok);
  if (!ok) {
    report(start, false, std::to_string(errno == 0 ? ECONNRESET : errno), "read");
    close(fd);
    return -1;
  }
  report(start, true, pod, formatAddr(peer));
  if (hold) return fd;
  // Reset instead of a FIN: thousands of short connections would otherwise pile up in TIME_WAIT.
  linger lg{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  close(fd);
  return -1;
}

void udpAttempt(const sockaddr_storage& to, socklen_t len, int timeoutMs) {
  const auto start = monotonicNs();
  int fd = socket(to.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    report(start, false, std::to_string(errno), "socket");
    return;
  }
  setTimeouts(fd, timeoutMs);
  static const char kQuery[] = "who\n";
  if (sendto(fd, kQuery, sizeof kQuery - 1, 0, reinterpret_cast<const sockaddr*>(&to), len) < 0) {
    report(start, false, std::to_string(errno), "send");
    close(fd);
    return;
  }
  char buf[512];
  sockaddr_storage from{};
  socklen_t fromLen = sizeof from;
  ssize_t n = recvfrom(fd, buf, sizeof buf - 1, 0, reinterpret_cast<sockaddr*>(&from), &fromLen);
  if (n < 0) {
    report(start, false, std::to_string(errno), "recv");
    close(fd);
    return;
  }
  std::string pod(buf, static_cast<size_t>(n));
  if (!pod.empty() && pod.back() == '\n') pod.pop_back();
  report(start, true, pod, formatAddr(from));
  close(fd);
}

int runConnect(const std::string& target, long count, bool udp, bool hold, long durationMs,
               int timeoutMs) {
  socklen_t len = 0;
  auto to = parseEndpoint(target, len);
  if (!to) usage();
  // Line-buffered so the harness sees each result as it happens (it waits on the count of lines).
  setvbuf(stdout, nullptr, _IOLBF, 0);
  const auto deadline = durationMs > 0 ? monotonicNs() + static_cast<std::uint64_t>(durationMs) * 1'000'000ull
                                       : UINT64_MAX;
  std::vector<int> held;
  const sigset_t term = termSet();
  sigprocmask(SIG_BLOCK, &term, nullptr);
  for (long i = 0; i < count && monotonicNs() < deadline && !stopRequested(); ++i) {
    if (udp) {
      udpAttempt(*to, len, timeoutMs);
    } else if (int fd = tcpAttempt(*to, len, timeoutMs, hold); fd >= 0) {
      held.push_back(fd);
    }
  }
  if (hold) {
    std::printf("holding %zu\n", held.size());
    std::fflush(stdout);
    // Held connections stay open until the harness ends this process.
    int sig = 0;
    sigwait(&term, &sig);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) usage();
  std::string mode = argv[1];
  std::string name;
  std::string target;
  std::vector<int> ports;
  long count = 0;
  long durationMs = 0;
  int timeoutMs = 2000;
  bool udp = false;
  bool hold = false;
  bool http = false;
  bool h2c = false;
  long delayMs = 0;
  for (int i = 2; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage();
      return argv[++i];
    };
    if (arg == "--name") {
      name = value();
    } else if (arg == "--port") {
      ports.push_back(std::atoi(value().c_str()));
    } else if (arg == "--to") {
      target = value();
    } else if (arg == "--count") {
      count = std::atol(value().c_str());
    } else if (arg == "--duration-ms") {
      durationMs = std::atol(value().c_str());
    } else if (arg == "--timeout-ms") {
      timeoutMs = std::atoi(value().c_str());
    } else if (arg == "--udp") {
      udp = true;
    } else if (arg == "--http") {
      http = true;
    } else if (arg == "--delay-ms") {
      delayMs = std::atol(value().c_str());
    } else if (arg == "--h2c") {
      h2c = true;
    } else if (arg == "--hold") {
      hold = true;
    } else {
      usage();
    }
  }
  signal(SIGPIPE, SIG_IGN);
  if (mode == "serve" && !name.empty() && !ports.empty()) return serve(name, ports, http, h2c, delayMs);
  if (mode == "connect" && !target.empty() && count > 0) {
    return runConnect(target, count, udp, hold, durationMs, timeoutMs);
  }
  usage();
}
