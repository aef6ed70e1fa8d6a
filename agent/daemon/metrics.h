#pragma once
// Prometheus text exposition of the agent's own numbers, served by a small evhttp server on its own
// thread: /metrics, /healthz (the process serves), /readyz (a plan has been applied).
#include <sluice/result.h>

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

namespace sluice::daemon {

class Metrics {
 public:
  // Seconds from a config change being read to its maps committed (kube-proxy's
  // network_programming_duration_seconds), and of the apply alone.
  void observeReload(double seconds, double applySeconds);
  void addRejections(uint64_t n);
  void setGeneration(uint64_t generation);
  bool ready() const;
  std::string render() const;

 private:
  struct Histogram {
    static constexpr std::array<double, 12> kBounds{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                     0.1,   0.25,   0.5,   1,    2.5,   5};
    std::array<uint64_t, kBounds.size()> counts{};
    double sum = 0;
    uint64_t count = 0;
    void observe(double v);
    void render(std::string& out, const std::string& name, const std::string& help) const;
  };
  mutable std::mutex mu_;
  Histogram reload_, apply_;
  uint64_t rejections_ = 0;
  uint64_t generation_ = 0;
};

class MetricsServer {
 public:
  // addr is "IP:PORT"; the server runs until destroyed.
  [[nodiscard]] static Result<std::unique_ptr<MetricsServer>> start(const std::string& addr,
                                                                    const Metrics& metrics);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  struct Impl;

 private:
  explicit MetricsServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sluice::daemon
