#pragma once
// Normalization: run on a validated snapshot. Resolves short names to FQDNs in the object's namespace
// (<name>.<ns>.svc.<clusterDomain>), normalizes gateway references as Istio does, defaults empty
// namespaces to "default", and fills Istio's defaults in explicitly so later stages never re-derive
// them (see docs/config-model.md for the list).
#include <sluice/model/snapshot.h>

namespace sluice::validate {

model::Snapshot normalize(model::Snapshot snapshot, const model::MeshSettings& mesh);

}  // namespace sluice::validate
