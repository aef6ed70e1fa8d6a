#pragma once
// An immutable view of everything the agent knows at one moment. Parse produces one, validate checks
// it, normalize fills Istio's defaults in, compile turns it into a dataplane plan.
#include <sluice/model/istio.h>
#include <sluice/model/kubernetes.h>

namespace sluice::model {

struct Snapshot {
  std::vector<Service> services;
  std::vector<EndpointSlice> endpointSlices;
  std::vector<Pod> pods;
  std::vector<VirtualService> virtualServices;
  std::vector<DestinationRule> destinationRules;

  void append(Snapshot&& other);
  size_t objectCount() const {
    return services.size() + endpointSlices.size() + pods.size() + virtualServices.size() +
           destinationRules.size();
  }
};

// Mesh-wide settings that change how config is read (Istio's MeshConfig equivalents).
struct MeshSettings {
  std::string clusterDomain = "cluster.local";
  std::string rootNamespace = "istio-system";
};

}  // namespace sluice::model
