#pragma once
// The Kubernetes API source: for each kind, LIST (paged with limit/continue) then WATCH from the
// list's resourceVersion, following bookmarks; 410 Gone relists, a dropped stream re-watches from
// the last resourceVersion seen, failures back off exponentially with jitter. One thread per kind.
#include <sluice/sources/backoff.h>
#include <sluice/sources/kube_config.h>
#include <sluice/sources/source.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace sluice::sources {

struct ResourceKind {
  std::string kind;        // "Service"
  std::string apiVersion;  // "v1", "discovery.k8s.io/v1", "networking.istio.io/v1"
  std::string plural;      // "services"

  // "/api/v1/services" or "/apis/<group>/<version>/<plural>" (all namespaces).
  std::string collectionPath() const;
};

// Service, EndpointSlice, Pod (core/discovery) and VirtualService, DestinationRule (Istio v1).
const std::vector<ResourceKind>& defaultKinds();

struct KubeSourceOptions {
  std::vector<ResourceKind> kinds = defaultKinds();
  int pageLimit = 500;
  std::chrono::seconds watchTimeout{300};  // timeoutSeconds the server ends a watch after
  std::chrono::milliseconds requestTimeout{30'000};  // a LIST page, or a watch's silence beyond
                                                      // watchTimeout
  BackoffPolicy backoff;
  uint64_t seed = 0;  // 0: seeded from std::random_device
};

struct KubeSourceStats {
  uint64_t listsCompleted = 0;  // full LISTs (all pages)
  uint64_t relists = 0;         // LISTs after 410 Gone
  uint64_t watchesStarted = 0;
  uint64_t eventsApplied = 0;  // watch events that changed an object
  uint64_t failures = 0;       // requests that failed and were retried after a backoff
};

class KubeSource final : public Source {
 public:
  [[nodiscard]] static Result<std::unique_ptr<KubeSource>> create(const KubeConfig& config,
                                                                  KubeSourceOptions options);
  ~KubeSource() override;
  KubeSource(const KubeSource&) = delete;
  KubeSource& operator=(const KubeSource&) = delete;

  [[nodiscard]] Status start(ChangeCallback onChange) override;
  void stop() override;
  bool synced() const override;
  ObjectMap objects() const override;

  KubeSourceStats stats() const;

  struct Impl;

 private:
  explicit KubeSource(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sluice::sources
