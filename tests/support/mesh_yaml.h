#pragma once
// Kubernetes objects for the topologies' pods, as YAML documents the agent reads: the scenarios
// write Services, EndpointSlices and Pods from the live topology (so addresses always match the
// netns), and their VirtualServices and DestinationRules as literal YAML.
#include "topology.h"

#include <string>
#include <vector>

namespace sluice::e2e::yaml {

struct Port {
  std::string name;
  int port = 0;
  int targetPort = 0;
  std::string protocol = "TCP";
};

enum class Family { V4, V6 };

std::string service(const std::string& name, const std::string& ns, const std::string& vip,
                    const std::vector<Port>& ports, Family family = Family::V4);

// One EndpointSlice listing `pods` (ready, with a targetRef to each Pod) for service `name`.
std::string endpointSlice(const std::string& name, const std::string& ns,
                          const std::vector<const Pod*>& pods, const std::vector<Port>& ports,
                          Family family = Family::V4);

// A Running Pod object with the pod's labels and addresses (the agent takes client identity and
// the source IP for hashing from it, and subset membership of endpoints).
std::string pod(const Pod& pod);

// Every pod of the topology as Pod objects.
std::string pods(const Topology& topo);

// Joins documents into one YAML stream.
std::string stream(const std::vector<std::string>& documents);

}  // namespace sluice::e2e::yaml
