#pragma once
// Istio-exact validation (webhook rules in istio/istio pkg/config/validation plus the CRD schema and
// CEL rules the parser does not already enforce), and snapshot-level analysis like `istioctl analyze`.
// Pure: no side effects, never touches the kernel.
#include <sluice/diagnostic.h>
#include <sluice/model/snapshot.h>

namespace sluice::validate {

Diagnostics validateVirtualService(const model::VirtualService& vs);
Diagnostics validateDestinationRule(const model::DestinationRule& dr);

// Checks across objects: one VirtualService per host for mesh traffic (oldest wins, the others are
// reported), delegate resolution, references to missing hosts or subsets (IST0101-style warnings).
Diagnostics validateSnapshot(const model::Snapshot& snapshot, const model::MeshSettings& mesh);

// Every object-level check over the snapshot plus validateSnapshot().
Diagnostics validate(const model::Snapshot& snapshot, const model::MeshSettings& mesh);

}  // namespace sluice::validate
