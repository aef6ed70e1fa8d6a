#pragma once
// A minimal HTTP/1.1 GET client for the API server: plain TCP or TLS (OpenSSL), one connection per
// request (`Connection: close`), responses framed by http-parser (chunked watch streams included).
// Every wait is bounded by a deadline and interrupted by a stop eventfd.
#include <sluice/result.h>
#include <sluice/sources/kube_config.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace sluice::sources {

class HttpClient {
 public:
  using Clock = std::chrono::steady_clock;
  // Called once with the status code, then with each piece of the (de-chunked) body. Returning
  // false from onBody ends the request early (successfully).
  struct Handlers {
    std::function<void(int status)> onStatus;
    std::function<bool(std::string_view data)> onBody;
  };

  // `stopFd` (an eventfd, readable once stopping) aborts any wait with ECANCELED.
  [[nodiscard]] static Result<std::unique_ptr<HttpClient>> create(const KubeConfig& config,
                                                                  int stopFd);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // GET `target` (path + query). Ok when the whole response was read (or onBody stopped it);
  // ETIMEDOUT past `deadline`, ECANCELED on stop, EPROTO/ECONNRESET on a broken or cut response.
  [[nodiscard]] Status get(const std::string& target, Clock::time_point deadline,
                           const Handlers& handlers);

  struct Impl;

 private:
  explicit HttpClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sluice::sources
