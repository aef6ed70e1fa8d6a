#pragma once
// The sluice-agent loop: config directory → parse → validate → normalize → compile → apply, again on
// every change of the directory (inotify, debounced), until SIGTERM/SIGINT. A config with errors is
// logged diagnostic by diagnostic and the last good plan keeps serving.
#include <sluice/dataplane/datapath.h>
#include <sluice/result.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace sluice::daemon {

struct EnrollSpec {
  std::string pod;         // "ns/name"
  std::string cgroupPath;  // cgroup v2 directory
};

struct Options {
  std::string configDir;
  std::string bpffsDir;
  std::vector<EnrollSpec> enroll;
  std::string readyFile;
  std::vector<dataplane::ProxyAddress> proxies;
  std::string clusterDomain = "cluster.local";
  std::chrono::milliseconds debounce{50};
  std::chrono::milliseconds deleteGrace{1000};
  bool pinLinks = false;  // see dataplane::DatapathOptions::pinLinks
  std::string metricsAddr;  // IP:PORT for /metrics, /healthz, /readyz; empty: none
};

// "NS/POD=CGROUP_PATH"
[[nodiscard]] Result<EnrollSpec> parseEnroll(const std::string& text);
// "IP:PORT" or "[IPv6]:PORT"
[[nodiscard]] Result<dataplane::ProxyAddress> parseProxy(const std::string& text);

// Runs until SIGTERM/SIGINT (blocked and read through a signalfd). Returns the exit status.
int run(const Options& options);

}  // namespace sluice::daemon
