#pragma once
// Istio-exact validation (webhook rules in istio/istio pkg/config/validation plus the CRD schema and
// CEL rules the parser does not already enforce), and snapshot-level analysis like `istioctl analyze`.
// Pure: no side effects, never touches the kernel.
#include <sluice/diagnostic.h>
#include <sluice/model/snapshot.h>

namespace sluice::validate {

Diagnostics validateVirtualService(const model::VirtualService& vs);
Diagnostics validateDestinationRule(const model::DestinationRule& dr);

// Kubernetes objects: the API server's checks on the fields the data plane uses (ports, cluster IPs,
// endpoint addresses against the slice's addressType). All are errors.
Diagnostics validateService(const model::Service& svc);
Diagnostics validateEndpointSlice(const model::EndpointSlice& slice);
Diagnostics validatePod(const model::Pod& pod);

// Checks across objects: one VirtualService per host for mesh traffic (oldest wins, the others are
// reported, IST0109-style), delegate resolution, references to missing hosts or subsets (IST0101-style
// warnings). They run only when the snapshot holds at least one Service: without the registry a snapshot
// is a set of config files, which Istio's webhook judges one object at a time, and "missing" cannot be
// told from "defined elsewhere". Everything here is a warning: Istio accepts each object on its own.
Diagnostics validateSnapshot(const model::Snapshot& snapshot, const model::MeshSettings& mesh);

// Every object-level check over the snapshot: each object on its own, so the result for a set of
// objects never changes while they do not.
Diagnostics validateObjects(const model::Snapshot& snapshot);

// validateObjects() plus validateSnapshot().
Diagnostics validate(const model::Snapshot& snapshot, const model::MeshSettings& mesh);

}  // namespace sluice::validate
