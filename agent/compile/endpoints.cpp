#include "endpoints.h"

#include <algorithm>
#include <optional>

namespace sluice::compile {
namespace {

std::string key(const std::string& ns, const std::string& name) {
  return ns + "/" + name;
}

std::string backendName(const net::IpAddress& ip, uint16_t port) {
  const std::string addr = ip.isV4() ? ip.toString() : "[" + ip.toString() + "]";
  return addr + ":" + std::to_string(port);
}

// Where the endpoints of a slice listen for `port`. The EndpointSlice controller publishes each
// Service port under the Service port's name with the resolved target port, so that is the lookup.
// A slice that lists no ports at all (hand-written ones) falls back to the Service's targetPort:
// the number, or the pod's container port of that name.
std::optional<uint16_t> targetPort(const model::EndpointSlice& slice, const model::ServicePort& port,
                                   const model::Pod* pod) {
  for (const auto& sp : slice.ports) {
    if (sp.name.value_or("") == port.name && sp.protocol == port.protocol && sp.port) {
      return static_cast<uint16_t>(*sp.port);
    }
  }
  if (!slice.ports.empty()) {
    return std::nullopt;
  }
  if (!port.targetPort.isSet()) {
    return static_cast<uint16_t>(port.port);
  }
  if (port.targetPort.number) {
    return static_cast<uint16_t>(*port.targetPort.number);
  }
  if (pod) {
    for (const auto& cp : pod->ports) {
      if (cp.name == port.targetPort.name && cp.protocol == port.protocol) {
        return static_cast<uint16_t>(cp.containerPort);
      }
    }
  }
  return std::nullopt;
}

int readiness(const EndpointCandidate& c) {
  return c.ready ? 2 : (c.serving && c.terminating ? 1 : 0);
}

}  // namespace

EndpointIndex::EndpointIndex(const model::Snapshot& snapshot) {
  for (const auto& slice : snapshot.endpointSlices) {
    const std::string service = slice.serviceName();
    if (!service.empty()) {
      slicesByService_[key(slice.meta.ns, service)].push_back(&slice);
    }
  }
  for (const auto& pod : snapshot.pods) {
    pods_[key(pod.meta.ns, pod.meta.name)] = &pod;
  }
}

std::vector<EndpointCandidate> EndpointIndex::endpoints(const model::Service& service,
                                                        const model::ServicePort& port,
                                                        net::IpAddress::Family family) const {
  auto it = slicesByService_.find(key(service.meta.ns, service.meta.name));
  if (it == slicesByService_.end()) {
    return {};
  }
  const char* addressType = family == net::IpAddress::Family::V4 ? "IPv4" : "IPv6";
  // Every candidate in slice order, then one per name; a vector, not a map: a service has a handful.
  std::vector<EndpointCandidate> all;
  for (const auto* slice : it->second) {
    if (slice->addressType != addressType) {
      continue;
    }
    for (const auto& ep : slice->endpoints) {
      // kube-proxy uses only the first address: the others are declared fungible.
      if (ep.addresses.empty()) {
        continue;
      }
      auto ip = net::IpAddress::parse(ep.addresses.front());
      if (!ip || ip->family() != family) {
        continue;
      }
      const model::Pod* pod = nullptr;
      std::string podName;
      if (ep.targetRef && (ep.targetRef->kind == "Pod" || ep.targetRef->kind.empty())) {
        podName = key(ep.targetRef->ns.empty() ? slice->meta.ns : ep.targetRef->ns,
                      ep.targetRef->name);
        if (auto p = pods_.find(podName); p != pods_.end()) {
          pod = p->second;
        }
      }
      auto tp = targetPort(*slice, port, pod);
      if (!tp) {
        continue;
      }
      EndpointCandidate c;
      c.ready = ep.conditions.ready.value_or(true);
      c.serving = ep.conditions.serving.value_or(c.ready);
      c.terminating = ep.conditions.terminating.value_or(false);
      c.pod = pod;
      c.backend.ip = *ip;
      c.backend.port = *tp;
      c.backend.name = backendName(*ip, *tp);
      c.backend.pod = std::move(podName);
      c.backend.zone = ep.zone;
      c.backend.state = c.ready ? plan::BackendState::Active : plan::BackendState::Terminating;
      all.push_back(std::move(c));
    }
  }
  // Stable: among repeats of one name the first seen stays unless a later one is readier.
  std::stable_sort(all.begin(), all.end(), [](const auto& a, const auto& b) {
    return a.backend.name < b.backend.name;
  });
  std::vector<EndpointCandidate> out;
  out.reserve(all.size());
  for (auto& c : all) {
    if (!out.empty() && out.back().backend.name == c.backend.name) {
      if (readiness(c) > readiness(out.back())) {
        out.back() = std::move(c);
      }
      continue;
    }
    out.push_back(std::move(c));
  }
  return out;
}

std::vector<plan::Backend> selectBackends(std::vector<EndpointCandidate> candidates,
                                          bool publishNotReadyAddresses) {
  std::vector<plan::Backend> ready, terminating;
  ready.reserve(candidates.size());
  for (auto& c : candidates) {
    if (publishNotReadyAddresses || c.ready) {
      c.backend.state = plan::BackendState::Active;
      ready.push_back(std::move(c.backend));
    } else if (c.serving && c.terminating) {
      terminating.push_back(std::move(c.backend));
    }
  }
  return ready.empty() ? terminating : ready;
}

}  // namespace sluice::compile
