#pragma once
// EndpointSlices → candidate backends of one Service port, and kube-proxy's choice among them.
#include <sluice/compile/plan.h>
#include <sluice/model/snapshot.h>

#include <map>
#include <string>
#include <unordered_map>
#include <vector>

namespace sluice::compile {

struct EndpointCandidate {
  plan::Backend backend;
  bool ready = true;
  bool serving = true;
  bool terminating = false;
  const model::Pod* pod = nullptr;  // through targetRef, when the snapshot has it
};

class EndpointIndex {
 public:
  explicit EndpointIndex(const model::Snapshot& snapshot);

  // The endpoints of `port` of `service` in address family `family`, one per backend name (the
  // readiest wins when slices repeat an address), sorted by name.
  std::vector<EndpointCandidate> endpoints(const model::Service& service,
                                           const model::ServicePort& port,
                                           net::IpAddress::Family family) const;

 private:
  // Hashed: one lookup per service port and endpoint at 10,000s of services, and the keys share
  // long prefixes that make ordered comparisons expensive.
  std::unordered_map<std::string, std::vector<const model::EndpointSlice*>> slicesByService_;  // "ns/name"
  std::unordered_map<std::string, const model::Pod*> pods_;                                     // "ns/name"
};

// kube-proxy's rule: the ready endpoints, else the serving terminating ones (KEP-1669); with
// publishNotReadyAddresses every endpoint counts as ready. Sorted by name.
std::vector<plan::Backend> selectBackends(std::vector<EndpointCandidate> candidates,
                                          bool publishNotReadyAddresses);

}  // namespace sluice::compile
