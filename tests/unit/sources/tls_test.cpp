// KubeSource over HTTPS: server verified against the configured CA (IP SAN), client certificate
// presented, bearer token sent. Certificates are generated here, for 127.0.0.1 only.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sluice/sources/kube_source.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

namespace sluice::sources {
namespace {

using namespace std::chrono_literals;

struct Identity {
  std::string certPem;
  std::string keyPem;
};

std::string bioString(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(len));
  BIO_free(bio);
  return out;
}

// A self-signed P-256 certificate; with `ipSan` it is valid for 127.0.0.1.
Identity makeIdentity(const char* commonName, bool ipSan) {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(commonName), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  if (ipSan) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, "IP:127.0.0.1");
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
  }
  X509_sign(cert, key, EVP_sha256());
  BIO* certBio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(certBio, cert);
  BIO* keyBio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(keyBio, key, nullptr, nullptr, 0, nullptr, nullptr);
  X509_free(cert);
  EVP_PKEY_free(key);
  return {bioString(certBio), bioString(keyBio)};
}

// Serves a one-item Service LIST and, per watch, one ADDED event before cutting the stream; it
// requires a client certificate issued as `client`.
class TlsApiServer {
 public:
  TlsApiServer(const Identity& server, const Identity& client) {
    ctx_ = SSL_CTX_new(TLS_server_method());
    BIO* certBio = BIO_new_mem_buf(server.certPem.data(), static_cast<int>(server.certPem.size()));
    X509* cert = PEM_read_bio_X509(certBio, nullptr, nullptr, nullptr);
    SSL_CTX_use_certificate(ctx_, cert);
    X509_free(cert);
    BIO_free(certBio);
    BIO* keyBio = BIO_new_mem_buf(server.keyPem.data(), static_cast<int>(server.keyPem.size()));
    EVP_PKEY* key = PEM_read_bio_PrivateKey(keyBio, nullptr, nullptr, nullptr);
    SSL_CTX_use_PrivateKey(ctx_, key);
    EVP_PKEY_free(key);
    BIO_free(keyBio);
    BIO* clientBio = BIO_new_mem_buf(client.certPem.data(), static_cast<int>(client.certPem.size()));
    X509* clientCert = PEM_read_bio_X509(clientBio, nullptr, nullptr, nullptr);
    X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx_), clientCert);
    X509_free(clientCert);
    BIO_free(clientBio);
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);

    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), len);
    ::listen(fd_, 16);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { loop(); });
  }
  ~TlsApiServer() {
    stopping_ = true;
    thread_.join();
    ::close(fd_);
    SSL_CTX_free(ctx_);
  }

  std::string url() const { return "https://127.0.0.1:" + std::to_string(port_); }
  std::vector<std::string> authorizations() const {
    std::lock_guard lock(mu_);
    return authorizations_;
  }

 private:
  void loop() {
    while (!stopping_) {
      pollfd pfd{fd_, POLLIN, 0};
      if (::poll(&pfd, 1, 20) <= 0) {
        continue;
      }
      int conn = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      timeval tv{2, 0};
      ::setsockopt(conn, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      SSL* ssl = SSL_new(ctx_);
      SSL_set_fd(ssl, conn);
      if (SSL_accept(ssl) == 1) {
        serve(ssl);
      }
      SSL_free(ssl);
      ::close(conn);
    }
  }

  void serve(SSL* ssl) {
    std::string head;
    char buf[4096];
    while (head.find("\r\n\r\n") == std::string::npos) {
      int n = SSL_read(ssl, buf, sizeof buf);
      if (n <= 0) {
        return;
      }
      head.append(buf, static_cast<size_t>(n));
    }
    auto auth = head.find("Authorization: ");
    {
      std::lock_guard lock(mu_);
      authorizations_.push_back(
          auth == std::string::npos ? "" : head.substr(auth + 15, head.find("\r\n", auth) - auth - 15));
    }
    nlohmann::json svc = {{"metadata", {{"name", "reviews"}, {"namespace", "default"},
                                        {"resourceVersion", "7"}}},
                          {"spec", {{"ports", {{{"port", 80}}}}}}};
    std::string out;
    if (head.find("watch=1") == std::string::npos) {
      std::string body = nlohmann::json{{"metadata", {{"resourceVersion", "7"}}},
                                        {"items", {svc}}}
                             .dump();
      out = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    } else {
      svc["metadata"]["name"] = "ratings";
      svc["metadata"]["resourceVersion"] = "8";
      std::string event = nlohmann::json{{"type", "ADDED"}, {"object", svc}}.dump() + "\n";
      char size[16];
      snprintf(size, sizeof size, "%zx\r\n", event.size());
      out = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + std::string(size) + event +
            "\r\n";
    }
    SSL_write(ssl, out.data(), static_cast<int>(out.size()));
  }

  SSL_CTX* ctx_ = nullptr;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
  mutable std::mutex mu_;
  std::vector<std::string> authorizations_;
};

KubeSourceOptions serviceOnly() {
  KubeSourceOptions options;
  options.kinds = {defaultKinds()[0]};
  options.requestTimeout = 2s;
  options.backoff = BackoffPolicy{20ms, 80ms, 0.5};
  options.seed = 3;
  return options;
}

template <typename F>
bool waitUntil(F done, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline && !done()) {
    std::this_thread::sleep_for(5ms);
  }
  return done();
}

TEST(KubeSourceTlsTest, VerifiesServerAndPresentsClientCertificateAndToken) {
  Identity server = makeIdentity("apiserver", /*ipSan=*/true);
  Identity client = makeIdentity("sluice-agent", /*ipSan=*/false);
  TlsApiServer api(server, client);
  KubeConfig config;
  config.server = api.url();
  config.caPem = server.certPem;
  config.clientCertPem = client.certPem;
  config.clientKeyPem = client.keyPem;
  config.token = "tls-token";
  auto source = KubeSource::create(config, serviceOnly());
  ASSERT_TRUE(source) << source.error().message();
  ASSERT_TRUE((*source)->start([] {}));
  ASSERT_TRUE(waitUntil(
      [&] { return (*source)->synced() && (*source)->objects().size() == 2; }, 5000ms));
  (*source)->stop();
  ASSERT_FALSE(api.authorizations().empty());
  EXPECT_EQ(api.authorizations()[0], "Bearer tls-token");
}

TEST(KubeSourceTlsTest, UntrustedServerIsRefused) {
  Identity server = makeIdentity("apiserver", /*ipSan=*/true);
  Identity client = makeIdentity("sluice-agent", /*ipSan=*/false);
  Identity stranger = makeIdentity("someone-else", /*ipSan=*/true);
  TlsApiServer api(server, client);
  KubeConfig config;
  config.server = api.url();
  config.caPem = stranger.certPem;
  config.clientCertPem = client.certPem;
  config.clientKeyPem = client.keyPem;
  auto source = KubeSource::create(config, serviceOnly());
  ASSERT_TRUE(source) << source.error().message();
  ASSERT_TRUE((*source)->start([] {}));
  ASSERT_TRUE(waitUntil([&] { return (*source)->stats().failures >= 2; }, 5000ms));
  EXPECT_FALSE((*source)->synced());
  EXPECT_TRUE(api.authorizations().empty());  // no request got through the handshake
}

}  // namespace
}  // namespace sluice::sources
