// Checks across objects, as `istioctl analyze` and istiod's runtime behaviour see them:
// - IST0109 ConflictingMeshGatewayVirtualServiceHosts: sidecars keep one VirtualService per host; the
//   oldest (creationTimestamp, then namespace/name) wins and the others are reported.
// - Delegation (pilot/pkg/model/virtualservice.go): a delegate must exist, have no hosts, not delegate
//   again, and be exported to the root's namespace; otherwise the root route is dropped.
// - IST0101 ReferencedResourceNotFound: destination hosts missing from the registry and subsets missing
//   from the DestinationRules.
#include <sluice/validate/validate.h>

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "checks.h"
#include "names.h"

namespace sluice::validate {

using namespace detail;  // NOLINT: the helpers are this file's vocabulary

namespace {

std::string objectName(const model::ObjectMeta& meta) {
  return namespaceOrDefault(meta) + "/" + meta.name;
}

// Older first; an object without a creationTimestamp (a file not yet applied) counts as newest.
bool olderThan(const model::VirtualService* a, const model::VirtualService* b) {
  const auto& ta = a->meta.creationTimestamp;
  const auto& tb = b->meta.creationTimestamp;
  if (ta.empty() != tb.empty()) {
    return !ta.empty();
  }
  return std::make_tuple(ta, namespaceOrDefault(a->meta), a->meta.name) <
         std::make_tuple(tb, namespaceOrDefault(b->meta), b->meta.name);
}

void checkConflictingHosts(const model::Snapshot& snap, const model::MeshSettings& mesh, Diagnostics& out) {
  struct Owner {
    const model::VirtualService* vs;
    size_t hostIndex;
  };
  std::map<std::string, std::vector<Owner>> byHost;
  for (const auto& vs : snap.virtualServices) {
    if (vs.spec.hosts.empty() || !appliesToMesh(vs.spec.gateways)) {
      continue;
    }
    std::set<std::string> seen;  // a host repeated in one object is that object's own error
    for (size_t i = 0; i < vs.spec.hosts.size(); ++i) {
      auto host = resolveHost(vs.spec.hosts[i], namespaceOrDefault(vs.meta), mesh.clusterDomain);
      if (seen.insert(host).second) {
        byHost[host].push_back({&vs, i});
      }
    }
  }
  for (auto& [host, owners] : byHost) {
    if (owners.size() < 2) {
      continue;
    }
    std::stable_sort(owners.begin(), owners.end(),
                     [](const Owner& a, const Owner& b) { return olderThan(a.vs, b.vs); });
    const auto& winner = *owners.front().vs;
    // The same namespace/name twice is one object given twice (a later apply replaces it), not a conflict.
    std::set<std::string> names;
    std::string all;
    for (const auto& o : owners) {
      if (names.insert(objectName(o.vs->meta)).second) {
        all += (all.empty() ? "" : ",") + objectName(o.vs->meta);
      }
    }
    if (names.size() < 2) {
      continue;
    }
    for (size_t i = 1; i < owners.size(); ++i) {
      const auto& vs = *owners[i].vs;
      if (objectName(vs.meta) == objectName(winner.meta)) {
        continue;
      }
      Reporter r(out, "VirtualService", vs.meta, vs.source);
      r.warning(index("spec.hosts", owners[i].hostIndex),
                "IST0109 ConflictingMeshGatewayVirtualServiceHosts: The VirtualServices " + all +
                    " associated with mesh gateway define the same host " + quote(host) +
                    " which can lead to undefined behavior. Sidecars keep the oldest, " +
                    objectName(winner.meta) +
                    ", and ignore this one for that host. This can be fixed by merging the conflicting "
                    "VirtualServices into a single resource.");
    }
  }
}

bool exportedTo(const model::ObjectMeta& meta, const std::vector<std::string>& exportTo,
                const std::string& ns) {
  if (exportTo.empty()) {
    return true;  // mesh default: defaultVirtualServiceExportTo = ["*"]
  }
  const std::string own = namespaceOrDefault(meta);
  return std::any_of(exportTo.begin(), exportTo.end(),
                     [&](const std::string& e) { return e == "*" || e == ns || (e == "." && own == ns); });
}

void checkDelegates(const model::Snapshot& snap, Diagnostics& out) {
  std::map<std::pair<std::string, std::string>, const model::VirtualService*> byName;
  for (const auto& vs : snap.virtualServices) {
    byName[{namespaceOrDefault(vs.meta), vs.meta.name}] = &vs;
  }
  for (const auto& root : snap.virtualServices) {
    if (root.spec.hosts.empty()) {
      continue;  // a delegate's own delegate fields are its object-level error
    }
    const std::string rootNs = namespaceOrDefault(root.meta);
    Reporter r(out, "VirtualService", root.meta, root.source);
    for (size_t i = 0; i < root.spec.http.size(); ++i) {
      const auto& d = root.spec.http[i].delegate;
      if (!d) {
        continue;
      }
      const std::string path = field(index("spec.http", i), "delegate");
      const std::string ns = d->ns.empty() ? rootNs : d->ns;
      const std::string target = ns + "/" + d->name;
      auto it = byName.find({ns, d->name});
      if (it == byName.end()) {
        r.warning(path, "Referenced delegate VirtualService not found: " + quote(target) +
                            "; the route is dropped");
        continue;
      }
      const auto& delegate = *it->second;
      if (!delegate.spec.hosts.empty()) {
        r.warning(
            path,
            "delegate VirtualService " + target +
                " has hosts; only a VirtualService without hosts can be a delegate, the route is dropped");
        continue;
      }
      if (std::any_of(delegate.spec.http.begin(), delegate.spec.http.end(),
                      [](const model::HTTPRoute& h) { return h.delegate.has_value(); })) {
        r.warning(path,
                  "delegate VirtualService " + target +
                      " delegates again; only one level of delegation is supported, its delegating routes "
                      "are dropped");
      }
      if (!exportedTo(delegate.meta, delegate.spec.exportTo, rootNs)) {
        r.warning(path, "delegate VirtualService " + target + " is not exported to namespace " + rootNs +
                            "; the route is dropped");
      }
    }
  }
}

struct Registry {
  std::set<std::string> hosts;                                               // Service FQDNs
  std::vector<std::pair<std::string, std::set<std::string>>> subsetsByHost;  // DR host → subsets
};

Registry buildRegistry(const model::Snapshot& snap, const model::MeshSettings& mesh) {
  Registry reg;
  for (const auto& svc : snap.services) {
    reg.hosts.insert(svc.meta.name + "." + namespaceOrDefault(svc.meta) + ".svc." + mesh.clusterDomain);
  }
  for (const auto& dr : snap.destinationRules) {
    std::set<std::string> subsets;
    for (const auto& s : dr.spec.subsets) {
      subsets.insert(s.name);
    }
    reg.subsetsByHost.emplace_back(resolveHost(dr.spec.host, namespaceOrDefault(dr.meta), mesh.clusterDomain),
                                   std::move(subsets));
  }
  return reg;
}

void checkDestinationRef(Reporter& r, const std::string& path, const model::Destination& d,
                         const std::string& ns, const Registry& reg, const model::MeshSettings& mesh) {
  if (d.host.empty() || d.host.find('*') != std::string::npos || isIpAddress(d.host)) {
    return;
  }
  const std::string host = resolveHost(d.host, ns, mesh.clusterDomain);
  if (reg.hosts.count(host) == 0) {
    r.warning(field(path, "host"),
              "IST0101 ReferencedResourceNotFound: Referenced host not found: " + quote(host));
    return;
  }
  if (d.subset.empty()) {
    return;
  }
  const bool found = std::any_of(reg.subsetsByHost.begin(), reg.subsetsByHost.end(), [&](const auto& entry) {
    return hostSubsetOf(host, entry.first) && entry.second.count(d.subset) > 0;
  });
  if (!found) {
    r.warning(field(path, "subset"),
              "IST0101 ReferencedResourceNotFound: Referenced host+subset in "
              "destinationrule not found: " +
                  quote(host + "+" + d.subset));
  }
}

void checkReferences(const model::Snapshot& snap, const model::MeshSettings& mesh, Diagnostics& out) {
  const Registry reg = buildRegistry(snap, mesh);
  for (const auto& vs : snap.virtualServices) {
    Reporter r(out, "VirtualService", vs.meta, vs.source);
    const std::string ns = namespaceOrDefault(vs.meta);
    for (size_t i = 0; i < vs.spec.http.size(); ++i) {
      const auto& h = vs.spec.http[i];
      const std::string hp = index("spec.http", i);
      for (size_t k = 0; k < h.route.size(); ++k) {
        checkDestinationRef(r, field(index(field(hp, "route"), k), "destination"), h.route[k].destination, ns,
                            reg, mesh);
      }
      if (h.mirror) {
        checkDestinationRef(r, field(hp, "mirror"), *h.mirror, ns, reg, mesh);
      }
      for (size_t k = 0; k < h.mirrors.size(); ++k) {
        checkDestinationRef(r, field(index(field(hp, "mirrors"), k), "destination"), h.mirrors[k].destination,
                            ns, reg, mesh);
      }
    }
    for (size_t i = 0; i < vs.spec.tls.size(); ++i) {
      for (size_t k = 0; k < vs.spec.tls[i].route.size(); ++k) {
        checkDestinationRef(r, field(index(field(index("spec.tls", i), "route"), k), "destination"),
                            vs.spec.tls[i].route[k].destination, ns, reg, mesh);
      }
    }
    for (size_t i = 0; i < vs.spec.tcp.size(); ++i) {
      for (size_t k = 0; k < vs.spec.tcp[i].route.size(); ++k) {
        checkDestinationRef(r, field(index(field(index("spec.tcp", i), "route"), k), "destination"),
                            vs.spec.tcp[i].route[k].destination, ns, reg, mesh);
      }
    }
  }
}

}  // namespace

Diagnostics validateSnapshot(const model::Snapshot& snapshot, const model::MeshSettings& mesh) {
  Diagnostics out;
  // Without the service registry the snapshot is a bag of config files, which Istio's webhook checks one
  // object at a time; the cross-object view needs the cluster the objects would run in.
  if (snapshot.services.empty()) {
    return out;
  }
  checkConflictingHosts(snapshot, mesh, out);
  checkDelegates(snapshot, out);
  checkReferences(snapshot, mesh, out);
  return out;
}

Diagnostics validate(const model::Snapshot& snapshot, const model::MeshSettings& mesh) {
  Diagnostics out = validateObjects(snapshot);
  out.append(validateSnapshot(snapshot, mesh));
  return out;
}

Diagnostics validateObjects(const model::Snapshot& snapshot) {
  Diagnostics out;
  for (const auto& svc : snapshot.services) {
    out.append(validateService(svc));
  }
  for (const auto& slice : snapshot.endpointSlices) {
    out.append(validateEndpointSlice(slice));
  }
  for (const auto& pod : snapshot.pods) {
    out.append(validatePod(pod));
  }
  for (const auto& vs : snapshot.virtualServices) {
    out.append(validateVirtualService(vs));
  }
  for (const auto& dr : snapshot.destinationRules) {
    out.append(validateDestinationRule(dr));
  }
  return out;
}

}  // namespace sluice::validate
