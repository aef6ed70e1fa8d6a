#include "mesh_yaml.h"

#include <sstream>

namespace sluice::e2e::yaml {

std::string service(const std::string& name, const std::string& ns, const std::string& vip,
                    const std::vector<Port>& ports, Family family) {
  std::ostringstream out;
  out << "apiVersion: v1\nkind: Service\nmetadata:\n  name: " << name << "\n  namespace: " << ns
      << "\nspec:\n  type: ClusterIP\n  clusterIP: \"" << vip << "\"\n  clusterIPs: [\"" << vip
      << "\"]\n  ipFamilies: [" << (family == Family::V4 ? "IPv4" : "IPv6") << "]\n  ports:\n";
  for (const auto& p : ports) {
    out << "  - name: " << p.name << "\n    port: " << p.port << "\n    targetPort: " << p.targetPort
        << "\n    protocol: " << p.protocol << "\n";
  }
  return out.str();
}

std::string endpointSlice(const std::string& name, const std::string& ns,
                          const std::vector<const Pod*>& pods, const std::vector<Port>& ports,
                          Family family) {
  std::ostringstream out;
  out << "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: " << name
      << (family == Family::V4 ? "-v4" : "-v6") << "\n  namespace: " << ns
      << "\n  labels:\n    kubernetes.io/service-name: " << name
      << "\naddressType: " << (family == Family::V4 ? "IPv4" : "IPv6") << "\nports:\n";
  for (const auto& p : ports) {
    out << "- name: " << p.name << "\n  port: " << p.targetPort << "\n  protocol: " << p.protocol
        << "\n";
  }
  if (pods.empty()) {
    out << "endpoints: []\n";
    return out.str();
  }
  out << "endpoints:\n";
  for (const Pod* pod : pods) {
    out << "- addresses: [\"" << (family == Family::V4 ? pod->ip4 : pod->ip6) << "\"]\n"
        << "  conditions: {ready: true, serving: true, terminating: false}\n"
        << "  targetRef: {kind: Pod, name: " << pod->name << ", namespace: " << pod->ns << "}\n";
  }
  return out.str();
}

std::string pod(const Pod& pod) {
  std::ostringstream out;
  out << "apiVersion: v1\nkind: Pod\nmetadata:\n  name: " << pod.name << "\n  namespace: " << pod.ns
      << "\n";
  if (!pod.labels.empty()) {
    out << "  labels:\n";
    for (const auto& [k, v] : pod.labels) out << "    " << k << ": \"" << v << "\"\n";
  }
  out << "spec:\n  nodeName: node-1\n  containers:\n  - name: app\n    image: sluice-pod\n"
      << "status:\n  phase: Running\n  podIP: \"" << pod.ip4 << "\"\n  podIPs:\n  - ip: \"" << pod.ip4
      << "\"\n  - ip: \"" << pod.ip6 << "\"\n";
  return out.str();
}

std::string pods(const Topology& topo) {
  std::vector<std::string> docs;
  for (const auto& p : topo.pods()) docs.push_back(pod(*p));
  return stream(docs);
}

std::string stream(const std::vector<std::string>& documents) {
  std::string out;
  for (const auto& d : documents) {
    if (d.empty()) continue;
    out += "---\n" + d;
    if (out.back() != '\n') out += "\n";
  }
  return out;
}

}  // namespace sluice::e2e::yaml
