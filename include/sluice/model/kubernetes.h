#pragma once
// Kubernetes objects Sluice reads: v1 Service, discovery.k8s.io/v1 EndpointSlice, v1 Pod.
#include <sluice/model/common.h>

namespace sluice::model {

// targetPort: a number or a container port name.
struct IntOrString {
  std::optional<int32_t> number;
  std::string name;
  bool isSet() const { return number.has_value() || !name.empty(); }
};

struct ServicePort {
  std::string name;
  std::string protocol = "TCP";  // TCP | UDP | SCTP
  std::string appProtocol;
  int32_t port = 0;
  IntOrString targetPort;  // defaults to `port` when unset
  std::optional<int32_t> nodePort;
};

struct ServiceSpec {
  std::string type = "ClusterIP";  // ClusterIP | NodePort | LoadBalancer | ExternalName
  std::string clusterIP;           // "None" = headless
  std::vector<std::string> clusterIPs;
  std::vector<std::string> ipFamilies;
  std::string ipFamilyPolicy;
  std::vector<ServicePort> ports;
  Labels selector;
  std::string sessionAffinity;
  bool publishNotReadyAddresses = false;
  std::string internalTrafficPolicy;
  std::string externalTrafficPolicy;
  std::string trafficDistribution;
  std::string externalName;
};

struct Service {
  ObjectMeta meta;
  SourceInfo source;
  ServiceSpec spec;

  bool headless() const { return spec.clusterIP == "None"; }
};

struct ObjectReference {
  std::string kind;
  std::string name;
  std::string ns;
  std::string uid;
};

struct EndpointConditions {
  std::optional<bool> ready;
  std::optional<bool> serving;
  std::optional<bool> terminating;
};

struct Endpoint {
  std::vector<std::string> addresses;
  EndpointConditions conditions;
  std::string hostname;
  std::string nodeName;
  std::string zone;
  std::optional<ObjectReference> targetRef;
};

struct EndpointPort {
  std::optional<std::string> name;
  std::optional<int32_t> port;
  std::string protocol = "TCP";
  std::string appProtocol;
};

struct EndpointSlice {
  ObjectMeta meta;
  SourceInfo source;
  std::string addressType = "IPv4";  // IPv4 | IPv6 | FQDN
  std::vector<Endpoint> endpoints;
  std::vector<EndpointPort> ports;

  // The owning Service, from the kubernetes.io/service-name label.
  std::string serviceName() const;
};

struct PodStatus {
  std::string phase;  // Pending | Running | Succeeded | Failed | Unknown
  std::string podIP;
  std::vector<std::string> podIPs;
  std::string hostIP;
};

struct ContainerPort {
  std::string name;
  int32_t containerPort = 0;
  std::string protocol = "TCP";
};

struct Pod {
  ObjectMeta meta;
  SourceInfo source;
  std::string nodeName;
  std::string serviceAccountName;
  std::vector<ContainerPort> ports;  // from every container, for named targetPorts
  PodStatus status;
};

}  // namespace sluice::model
