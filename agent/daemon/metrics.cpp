#include "metrics.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/thread.h>

#include <fmt/format.h>

#include <thread>

namespace sluice::daemon {

void Metrics::Histogram::observe(double v) {
  for (size_t i = 0; i < kBounds.size(); ++i) {
    if (v <= kBounds[i]) {
      ++counts[i];
    }
  }
  sum += v;
  ++count;
}

void Metrics::Histogram::render(std::string& out, const std::string& name,
                                const std::string& help) const {
  out += fmt::format("# HELP {} {}\n# TYPE {} histogram\n", name, help, name);
  for (size_t i = 0; i < kBounds.size(); ++i) {
    out += fmt::format("{}_bucket{{le=\"{}\"}} {}\n", name, kBounds[i], counts[i]);
  }
  out += fmt::format("{}_bucket{{le=\"+Inf\"}} {}\n{}_sum {}\n{}_count {}\n", name, count, name, sum,
                     name, count);
}

void Metrics::observeReload(double seconds, double applySeconds) {
  std::lock_guard lock(mu_);
  reload_.observe(seconds);
  apply_.observe(applySeconds);
}

void Metrics::addRejections(uint64_t n) {
  std::lock_guard lock(mu_);
  rejections_ += n;
}

void Metrics::setGeneration(uint64_t generation) {
  std::lock_guard lock(mu_);
  generation_ = generation;
}

bool Metrics::ready() const {
  std::lock_guard lock(mu_);
  return generation_ > 0;
}

std::string Metrics::render() const {
  std::lock_guard lock(mu_);
  std::string out;
  reload_.render(out, "sluice_network_programming_duration_seconds",
                 "Config change read to BPF maps committed (load, validate, compile, apply).");
  apply_.render(out, "sluice_apply_duration_seconds", "Writing one plan into the BPF maps.");
  out += fmt::format(
      "# HELP sluice_config_rejections_total Objects (or files) held back at their last valid version.\n"
      "# TYPE sluice_config_rejections_total counter\nsluice_config_rejections_total {}\n"
      "# HELP sluice_generation Plans applied by this process.\n# TYPE sluice_generation gauge\n"
      "sluice_generation {}\n",
      rejections_, generation_);
  return out;
}

struct MetricsServer::Impl {
  const Metrics* metrics = nullptr;
  event_base* base = nullptr;
  evhttp* http = nullptr;
  std::thread thread;
  ~Impl() {
    if (thread.joinable()) {
      event_base_loopbreak(base);
      thread.join();
    }
    if (http) {
      evhttp_free(http);
    }
    if (base) {
      event_base_free(base);
    }
  }
};

namespace {

void reply(evhttp_request* req, int code, const char* reason, const std::string& body,
           const char* type) {
  evbuffer* buf = evbuffer_new();
  evbuffer_add(buf, body.data(), body.size());
  evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", type);
  evhttp_send_reply(req, code, reason, buf);
  evbuffer_free(buf);
}

void handle(evhttp_request* req, void* arg) {
  const auto* metrics = static_cast<const Metrics*>(arg);
  std::string path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
  if (path == "/metrics") {
    reply(req, 200, "OK", metrics->render(), "text/plain; version=0.0.4");
  } else if (path == "/healthz") {
    reply(req, 200, "OK", "ok\n", "text/plain");
  } else if (path == "/readyz") {
    bool ready = metrics->ready();
    reply(req, ready ? 200 : 503, ready ? "OK" : "Service Unavailable",
          ready ? "ok\n" : "no plan applied yet\n", "text/plain");
  } else {
    reply(req, 404, "Not Found", "not found\n", "text/plain");
  }
}

}  // namespace

MetricsServer::MetricsServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
MetricsServer::~MetricsServer() = default;

Result<std::unique_ptr<MetricsServer>> MetricsServer::start(const std::string& addr,
                                                            const Metrics& metrics) {
  auto colon = addr.rfind(':');
  if (colon == std::string::npos) {
    return Error::invalid("--metrics-addr " + addr + ": want IP:PORT");
  }
  std::string host = addr.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  int port = std::atoi(addr.c_str() + colon + 1);
  if (port <= 0 || port > 65535) {
    return Error::invalid("--metrics-addr " + addr + ": bad port");
  }
  // The loop runs on its own thread and is stopped from the main one.
  evthread_use_pthreads();
  auto impl = std::make_unique<Impl>();
  impl->metrics = &metrics;
  impl->base = event_base_new();
  impl->http = impl->base ? evhttp_new(impl->base) : nullptr;
  if (!impl->http) {
    return Error::fromErrno(ENOMEM, "metrics server");
  }
  if (evhttp_bind_socket(impl->http, host.c_str(), static_cast<uint16_t>(port)) != 0) {
    return Error::fromErrno(errno ? errno : EADDRNOTAVAIL, "metrics server: bind " + addr);
  }
  evhttp_set_gencb(impl->http, handle, const_cast<Metrics*>(&metrics));
  event_base* base = impl->base;
  impl->thread = std::thread([base] { event_base_loop(base, EVLOOP_NO_EXIT_ON_EMPTY); });
  return std::unique_ptr<MetricsServer>(new MetricsServer(std::move(impl)));
}

}  // namespace sluice::daemon
