#include "http_client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <http_parser.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace sluice::sources {
namespace {

struct SslCtxDeleter {
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};
struct SslDeleter {
  void operator()(SSL* ssl) const { SSL_free(ssl); }
};
struct BioDeleter {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxDeleter>;
using SslPtr = std::unique_ptr<SSL, SslDeleter>;

class UniqueFd {
 public:
  explicit UniqueFd(int fd = -1) : fd_(fd) {}
  ~UniqueFd() {
    if (fd_ >= 0) {
      ::close(fd_);
    }
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

std::string openSslError(const std::string& what) {
  unsigned long code = ERR_get_error();
  std::string text = what;
  if (code != 0) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof buf);
    text += ": ";
    text += buf;
  }
  ERR_clear_error();
  return text;
}

struct ServerUrl {
  bool tls = false;
  std::string host;  // without brackets
  std::string port;
  std::string pathPrefix;  // kubeconfig servers may carry a path ("https://host/k8s")
  bool hostIsIp = false;
};

Result<ServerUrl> parseServer(const std::string& server) {
  ServerUrl url;
  std::string_view rest = server;
  if (rest.starts_with("https://")) {
    url.tls = true;
    rest.remove_prefix(8);
  } else if (rest.starts_with("http://")) {
    rest.remove_prefix(7);
  } else {
    return Error::invalid("server " + server + ": scheme must be https:// or http://");
  }
  auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) {
    url.pathPrefix = std::string(rest.substr(slash));
    while (url.pathPrefix.ends_with('/')) {
      url.pathPrefix.pop_back();
    }
  }
  if (authority.starts_with('[')) {
    auto close = authority.find(']');
    if (close == std::string_view::npos) {
      return Error::invalid("server " + server + ": unterminated [IPv6] host");
    }
    url.host = std::string(authority.substr(1, close - 1));
    authority.remove_prefix(close + 1);
    if (authority.starts_with(':')) {
      url.port = std::string(authority.substr(1));
    }
  } else {
    auto colon = authority.rfind(':');
    url.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      url.port = std::string(authority.substr(colon + 1));
    }
  }
  if (url.host.empty()) {
    return Error::invalid("server " + server + ": no host");
  }
  if (url.port.empty()) {
    url.port = url.tls ? "443" : "80";
  }
  in6_addr scratch;
  url.hostIsIp = inet_pton(AF_INET, url.host.c_str(), &scratch) == 1 ||
                 inet_pton(AF_INET6, url.host.c_str(), &scratch) == 1;
  return url;
}

Status addPemCertificates(SSL_CTX* ctx, const std::string& pem) {
  std::unique_ptr<BIO, BioDeleter> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  int added = 0;
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    X509_STORE_add_cert(store, cert);
    X509_free(cert);
    ++added;
  }
  ERR_clear_error();  // the loop ends on "no start line", which is not an error
  if (added == 0) {
    return Error::invalid("certificate authority: no PEM certificate found");
  }
  return okStatus();
}

Result<SslCtxPtr> makeSslContext(const KubeConfig& config) {
  SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) {
    return Error::fromErrno(ENOMEM, openSslError("SSL_CTX_new"));
  }
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  // A close without close_notify is judged by the HTTP framing (Content-Length or chunked, which
  // the API server always uses), the same as on plain TCP.
  SSL_CTX_set_options(ctx.get(), SSL_OP_IGNORE_UNEXPECTED_EOF);
  if (config.insecureSkipTlsVerify) {
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  } else {
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
    if (config.caPem.empty()) {
      SSL_CTX_set_default_verify_paths(ctx.get());
    } else if (auto st = addPemCertificates(ctx.get(), config.caPem); !st) {
      return st.error();
    }
  }
  if (!config.clientCertPem.empty() || !config.clientKeyPem.empty()) {
    std::unique_ptr<BIO, BioDeleter> certBio(BIO_new_mem_buf(
        config.clientCertPem.data(), static_cast<int>(config.clientCertPem.size())));
    X509* cert = PEM_read_bio_X509(certBio.get(), nullptr, nullptr, nullptr);
    if (cert == nullptr || SSL_CTX_use_certificate(ctx.get(), cert) != 1) {
      X509_free(cert);
      return Error::invalid(openSslError("client certificate"));
    }
    X509_free(cert);
    std::unique_ptr<BIO, BioDeleter> keyBio(BIO_new_mem_buf(
        config.clientKeyPem.data(), static_cast<int>(config.clientKeyPem.size())));
    EVP_PKEY* key = PEM_read_bio_PrivateKey(keyBio.get(), nullptr, nullptr, nullptr);
    if (key == nullptr || SSL_CTX_use_PrivateKey(ctx.get(), key) != 1) {
      EVP_PKEY_free(key);
      return Error::invalid(openSslError("client key"));
    }
    EVP_PKEY_free(key);
    if (SSL_CTX_check_private_key(ctx.get()) != 1) {
      return Error::invalid(openSslError("client key does not match the certificate"));
    }
  }
  return ctx;
}

int remainingMs(HttpClient::Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                    HttpClient::Clock::now());
  return left.count() <= 0 ? 0 : static_cast<int>(std::min<int64_t>(left.count(), 60'000));
}

// Waits until `fd` is ready for `events`, the deadline passes, or stopFd becomes readable.
Status waitFor(int fd, short events, int stopFd, HttpClient::Clock::time_point deadline) {
  for (;;) {
    int timeout = remainingMs(deadline);
    if (timeout == 0) {
      return Error::fromErrno(ETIMEDOUT, "request deadline");
    }
    pollfd fds[2] = {{fd, events, 0}, {stopFd, POLLIN, 0}};
    int n = ::poll(fds, 2, timeout);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return Error::fromErrno(errno, "poll");
    }
    if (fds[1].revents != 0) {
      return Error::fromErrno(ECANCELED, "stopping");
    }
    if (fds[0].revents != 0) {
      return okStatus();
    }
  }
}

}  // namespace

struct HttpClient::Impl {
  KubeConfig config;
  ServerUrl url;
  SslCtxPtr sslCtx;
  int stopFd = -1;

  // One connection: a socket and, for https, its TLS session.
  struct Conn {
    Conn(int socketFd, int stop, Clock::time_point until)
        : fd(socketFd), stopFd(stop), deadline(until) {}

    UniqueFd fd;
    SslPtr ssl;
    int stopFd;
    Clock::time_point deadline;

    // Drives a non-blocking SSL call until it completes, retrying on WANT_READ/WANT_WRITE.
    template <typename F>
    Result<int> sslCall(F&& call, const char* what) {
      for (;;) {
        int rc = call();
        if (rc > 0) {
          return rc;
        }
        int err = SSL_get_error(ssl.get(), rc);
        if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
          if (auto st = waitFor(fd.get(), err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, stopFd,
                                deadline);
              !st) {
            return st.error().wrap(what);
          }
          continue;
        }
        if (err == SSL_ERROR_ZERO_RETURN) {
          return 0;
        }
        if (err == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
          return 0;  // peer closed without close_notify: EOF, judged by the HTTP framing
        }
        return Error::fromErrno(EPROTO, openSslError(what));
      }
    }

    Status writeAll(std::string_view data) {
      while (!data.empty()) {
        if (ssl) {
          auto n = sslCall([&] { return SSL_write(ssl.get(), data.data(),
                                                  static_cast<int>(data.size())); },
                           "TLS write");
          if (!n) {
            return n.error();
          }
          data.remove_prefix(static_cast<size_t>(*n));
          continue;
        }
        ssize_t n = ::send(fd.get(), data.data(), data.size(), MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
          if (auto st = waitFor(fd.get(), POLLOUT, stopFd, deadline); !st) {
            return st.error().wrap("send");
          }
          continue;
        }
        if (n < 0) {
          return Error::fromErrno(errno, "send");
        }
        data.remove_prefix(static_cast<size_t>(n));
      }
      return okStatus();
    }

    // Bytes read, 0 at EOF.
    Result<size_t> readSome(char* buf, size_t len) {
      if (ssl) {
        auto n = sslCall([&] { return SSL_read(ssl.get(), buf, static_cast<int>(len)); },
                         "TLS read");
        if (!n) {
          return n.error();
        }
        return static_cast<size_t>(*n);
      }
      for (;;) {
        ssize_t n = ::recv(fd.get(), buf, len, 0);
        if (n >= 0) {
          return static_cast<size_t>(n);
        }
        if (errno == EAGAIN || errno == EINTR) {
          if (auto st = waitFor(fd.get(), POLLIN, stopFd, deadline); !st) {
            return st.error().wrap("recv");
          }
          continue;
        }
        return Error::fromErrno(errno, "recv");
      }
    }
  };

  Result<std::unique_ptr<Conn>> connect(Clock::time_point deadline) {
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_ADDRCONFIG;
    addrinfo* res = nullptr;
    // Blocking resolution: the server is an IP in-cluster and in kubeconfigs almost always.
    int rc = ::getaddrinfo(url.host.c_str(), url.port.c_str(), &hints, &res);
    if (rc != 0) {
      return Error::fromErrno(EHOSTUNREACH,
                              "resolve " + url.host + ": " + ::gai_strerror(rc));
    }
    std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> guard(res, ::freeaddrinfo);
    Error last = Error::fromErrno(EHOSTUNREACH, "connect " + url.host + ":" + url.port);
    for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
      auto conn = std::make_unique<Conn>(
          ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), stopFd,
          deadline);
      if (conn->fd.get() < 0) {
        last = Error::fromErrno(errno, "socket");
        continue;
      }
      int one = 1;
      ::setsockopt(conn->fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      if (::connect(conn->fd.get(), ai->ai_addr, ai->ai_addrlen) < 0) {
        if (errno != EINPROGRESS) {
          last = Error::fromErrno(errno, "connect " + url.host + ":" + url.port);
          continue;
        }
        if (auto st = waitFor(conn->fd.get(), POLLOUT, stopFd, deadline); !st) {
          return st.error().wrap("connect " + url.host + ":" + url.port);
        }
        int err = 0;
        socklen_t len = sizeof err;
        ::getsockopt(conn->fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) {
          last = Error::fromErrno(err, "connect " + url.host + ":" + url.port);
          continue;
        }
      }
      if (url.tls) {
        if (auto st = handshake(*conn); !st) {
          return st.error();
        }
      }
      return conn;
    }
    return last;
  }

  Status handshake(Conn& conn) {
    conn.ssl.reset(SSL_new(sslCtx.get()));
    if (!conn.ssl) {
      return Error::fromErrno(ENOMEM, openSslError("SSL_new"));
    }
    SSL_set_fd(conn.ssl.get(), conn.fd.get());
    if (url.hostIsIp) {
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(conn.ssl.get()), url.host.c_str());
    } else {
      SSL_set_tlsext_host_name(conn.ssl.get(), url.host.c_str());
      SSL_set1_host(conn.ssl.get(), url.host.c_str());
    }
    auto rc = conn.sslCall([&] { return SSL_connect(conn.ssl.get()); }, "TLS handshake");
    if (!rc) {
      return rc.error();
    }
    if (*rc == 0) {
      return Error::fromErrno(ECONNRESET, "TLS handshake: connection closed");
    }
    return okStatus();
  }
};

namespace {

// http-parser callbacks reach the request's state through parser.data.
struct ParseState {
  const HttpClient::Handlers* handlers;
  bool complete = false;
  bool stoppedByHandler = false;
};

ParseState& stateOf(http_parser* p) { return *static_cast<ParseState*>(p->data); }

const http_parser_settings& parserSettings() {
  static const http_parser_settings settings = [] {
    http_parser_settings s;
    http_parser_settings_init(&s);
    s.on_headers_complete = [](http_parser* p) {
      stateOf(p).handlers->onStatus(static_cast<int>(p->status_code));
      return 0;
    };
    s.on_body = [](http_parser* p, const char* at, size_t len) {
      ParseState& st = stateOf(p);
      if (!st.handlers->onBody(std::string_view(at, len))) {
        st.stoppedByHandler = true;
        return 1;
      }
      return 0;
    };
    s.on_message_complete = [](http_parser* p) {
      stateOf(p).complete = true;
      return 0;
    };
    return s;
  }();
  return settings;
}

}  // namespace

HttpClient::HttpClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpClient::~HttpClient() = default;

Result<std::unique_ptr<HttpClient>> HttpClient::create(const KubeConfig& config, int stopFd) {
  auto url = parseServer(config.server);
  if (!url) {
    return url.error();
  }
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  impl->url = *url;
  impl->stopFd = stopFd;
  if (url->tls) {
    auto ctx = makeSslContext(config);
    if (!ctx) {
      return ctx.error();
    }
    impl->sslCtx = std::move(*ctx);
  }
  return std::unique_ptr<HttpClient>(new HttpClient(std::move(impl)));
}

Status HttpClient::get(const std::string& target, Clock::time_point deadline,
                       const Handlers& handlers) {
  auto token = currentToken(impl_->config);
  if (!token) {
    return token.error();
  }
  auto conn = impl_->connect(deadline);
  if (!conn) {
    return conn.error();
  }
  std::string hostHeader = impl_->url.host.find(':') != std::string::npos
                               ? "[" + impl_->url.host + "]:" + impl_->url.port
                               : impl_->url.host + ":" + impl_->url.port;
  std::string request = "GET " + impl_->url.pathPrefix + target + " HTTP/1.1\r\nHost: " +
                        hostHeader +
                        "\r\nAccept: application/json\r\nUser-Agent: sluice-agent\r\n"
                        "Connection: close\r\n";
  if (!token->empty()) {
    request += "Authorization: Bearer " + *token + "\r\n";
  }
  request += "\r\n";
  if (auto st = (*conn)->writeAll(request); !st) {
    return st;
  }

  http_parser parser;
  http_parser_init(&parser, HTTP_RESPONSE);
  ParseState state{&handlers};
  parser.data = &state;
  char buf[16 * 1024];
  for (;;) {
    auto n = (*conn)->readSome(buf, sizeof buf);
    if (!n) {
      return n.error();
    }
    size_t parsed = http_parser_execute(&parser, &parserSettings(), buf, *n);
    if (state.stoppedByHandler || state.complete) {
      return okStatus();
    }
    if (*n == 0) {
      // EOF before the framing said the response was complete: a cut stream.
      return Error::fromErrno(ECONNRESET, "connection closed mid-response");
    }
    if (parsed != *n || HTTP_PARSER_ERRNO(&parser) != HPE_OK) {
      return Error::fromErrno(
          EPROTO, std::string("bad HTTP response: ") +
                      http_errno_description(HTTP_PARSER_ERRNO(&parser)));
    }
  }
}

}  // namespace sluice::sources
