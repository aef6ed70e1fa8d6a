// v1 Service, discovery.k8s.io/v1 EndpointSlice, v1 Pod, and the ObjectMeta every kind shares.
// Service and EndpointSlice are read strictly (their schemas are small and fully known here). A Pod
// spec/status carries hundreds of fields Sluice never needs, so only the parts Sluice reads are
// type-checked there and the rest is accepted unread.
#include "kinds.h"

namespace sluice::parse {
namespace {

using namespace sluice::model;

void readIntOrString(MapReader& m, std::string_view key, IntOrString& out) {
  auto n = m.take(key);
  if (!n) {
    return;
  }
  Context& ctx = m.context();
  const std::string p = m.pathOf(key);
  if (jsonTypeOf(*n) == JsonType::Integer) {
    int64_t v = 0;
    if (readInteger(ctx, *n, p, INT32_MIN, INT32_MAX, v)) {
      out.number = static_cast<int32_t>(v);
    }
    return;
  }
  std::string name;
  if (!readString(ctx, *n, p, name)) {
    return;
  }
  // The API server rejects a port name without a letter ("8080" quoted) rather than reading it
  // as a number; so does Sluice, instead of looking for a container port named "8080".
  bool hasLetter = false;
  for (char c : name) {
    hasLetter = hasLetter || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  }
  if (!hasLetter) {
    ctx.error(p, ctx.lineOf(*n),
              "Invalid value: \"" + name + "\": must contain at least one letter (a-z)");
    return;
  }
  out.name = std::move(name);
}

void readServicePort(MapReader& m, ServicePort& out) {
  m.require({"port"});
  m.read("name", out.name);
  m.stringEnum("protocol", out.protocol, {"TCP", "UDP", "SCTP"});
  m.read("appProtocol", out.appProtocol);
  m.read("port", out.port);
  readIntOrString(m, "targetPort", out.targetPort);
  m.read("nodePort", out.nodePort);
}

void readServiceSpec(MapReader& m, ServiceSpec& out) {
  m.stringEnum("type", out.type, {"ClusterIP", "NodePort", "LoadBalancer", "ExternalName"});
  m.read("clusterIP", out.clusterIP);
  m.read("clusterIPs", out.clusterIPs);
  if (auto n = m.take("ipFamilies")) {
    Context& ctx = m.context();
    std::vector<std::string> families;
    readValue(ctx, *n, m.pathOf("ipFamilies"), families);
    for (size_t i = 0; i < families.size(); ++i) {
      if (families[i] != "IPv4" && families[i] != "IPv6") {
        const std::string p = itemPath(m.pathOf("ipFamilies"), i);
        ctx.error(p, ctx.source().lineOf(p),
                  "Unsupported value: \"" + families[i] + "\": supported values: \"IPv4\", \"IPv6\"");
      }
    }
    out.ipFamilies = std::move(families);
  }
  m.stringEnum("ipFamilyPolicy", out.ipFamilyPolicy,
               {"SingleStack", "PreferDualStack", "RequireDualStack"});
  m.list("ports", out.ports, readServicePort);
  m.read("selector", out.selector);
  m.stringEnum("sessionAffinity", out.sessionAffinity, {"None", "ClientIP"});
  m.read("publishNotReadyAddresses", out.publishNotReadyAddresses);
  m.stringEnum("internalTrafficPolicy", out.internalTrafficPolicy, {"Cluster", "Local"});
  m.stringEnum("externalTrafficPolicy", out.externalTrafficPolicy, {"Cluster", "Local"});
  m.read("trafficDistribution", out.trafficDistribution);
  m.read("externalName", out.externalName);
  for (std::string_view key : {"allocateLoadBalancerNodePorts", "externalIPs", "healthCheckNodePort",
                               "loadBalancerClass", "loadBalancerIP", "loadBalancerSourceRanges",
                               "sessionAffinityConfig"}) {
    m.skip(key);
  }
}

void readEndpoint(MapReader& m, Endpoint& out) {
  m.require({"addresses"});
  m.read("addresses", out.addresses);
  m.object("conditions", out.conditions, [](MapReader& c, EndpointConditions& conditions) {
    c.read("ready", conditions.ready);
    c.read("serving", conditions.serving);
    c.read("terminating", conditions.terminating);
  });
  m.read("hostname", out.hostname);
  m.read("nodeName", out.nodeName);
  m.read("zone", out.zone);
  m.object("targetRef", out.targetRef, [](MapReader& r, ObjectReference& ref) {
    r.read("kind", ref.kind);
    r.read("name", ref.name);
    r.read("namespace", ref.ns);
    r.read("uid", ref.uid);
    for (std::string_view key : {"apiVersion", "resourceVersion", "fieldPath"}) {
      r.skip(key);
    }
  });
  m.skip("hints");
  m.skip("deprecatedTopology");
}

void readEndpointPort(MapReader& m, EndpointPort& out) {
  m.read("name", out.name);
  m.read("port", out.port);
  m.stringEnum("protocol", out.protocol, {"TCP", "UDP", "SCTP"});
  m.read("appProtocol", out.appProtocol);
}

void readContainerPort(MapReader& m, ContainerPort& out) {
  m.require({"containerPort"});
  m.read("name", out.name);
  m.read("containerPort", out.containerPort);
  m.stringEnum("protocol", out.protocol, {"TCP", "UDP", "SCTP"});
  m.skip("hostPort");
  m.skip("hostIP");
}

void readPodSpec(MapReader& m, Pod& out) {
  m.allowUnknown();
  m.read("nodeName", out.nodeName);
  m.read("serviceAccountName", out.serviceAccountName);
  // Named targetPorts resolve against every container's ports; the per-container split does not
  // matter for that, so they are collected in one list.
  std::vector<std::vector<ContainerPort>> containers;
  m.list("containers", containers, [](MapReader& c, std::vector<ContainerPort>& ports) {
    c.allowUnknown();
    c.list("ports", ports, readContainerPort);
  });
  for (auto& ports : containers) {
    out.ports.insert(out.ports.end(), ports.begin(), ports.end());
  }
}

void readPodStatus(MapReader& m, PodStatus& out) {
  m.allowUnknown();
  m.stringEnum("phase", out.phase, {"Pending", "Running", "Succeeded", "Failed", "Unknown"});
  m.read("podIP", out.podIP);
  std::vector<std::string> ips;
  m.list("podIPs", ips, [](MapReader& p, std::string& ip) { p.read("ip", ip); });
  out.podIPs = std::move(ips);
  m.read("hostIP", out.hostIP);
}

}  // namespace

void readMetadata(MapReader& top, ObjectMeta& out) {
  auto n = top.take("metadata");
  if (!n) {
    top.context().error("metadata.name", 0, "Required value: name or generateName is required");
    return;
  }
  MapReader m(top.context(), *n, "metadata");
  if (!m.valid()) {
    return;
  }
  m.read("name", out.name);
  m.read("namespace", out.ns);
  m.read("labels", out.labels);
  m.read("annotations", out.annotations);
  m.read("uid", out.uid);
  m.read("resourceVersion", out.resourceVersion);
  m.read("generation", out.generation);
  m.read("creationTimestamp", out.creationTimestamp);
  std::string generateName;
  m.read("generateName", generateName);
  for (std::string_view key : {"selfLink", "deletionTimestamp", "deletionGracePeriodSeconds",
                               "ownerReferences", "finalizers", "managedFields"}) {
    m.skip(key);
  }
  if (out.name.empty() && generateName.empty()) {
    top.context().error("metadata.name", 0, "Required value: name or generateName is required");
  }
  if (out.name.empty()) {
    out.name = generateName;
  }
}

void readService(MapReader& top, Service& out) {
  top.object("spec", out.spec, readServiceSpec);
  top.skip("status");
}

void readEndpointSlice(MapReader& top, EndpointSlice& out) {
  top.require({"addressType"});
  top.stringEnum("addressType", out.addressType, {"IPv4", "IPv6", "FQDN"});
  top.list("endpoints", out.endpoints, readEndpoint);
  top.list("ports", out.ports, readEndpointPort);
}

void readPod(MapReader& top, Pod& out) {
  top.object("spec", out, readPodSpec);
  top.object("status", out.status, readPodStatus);
}

}  // namespace sluice::parse
