#pragma once
// A Snapshot as JSON with the Kubernetes/Istio field names, for `sluicectl normalize`. Unset optional
// fields, empty strings and empty lists are left out; durations print as protojson does ("1.500s").
#include <sluice/model/snapshot.h>

#include <nlohmann/json.hpp>

namespace sluice::cli {

nlohmann::ordered_json snapshotToJson(const model::Snapshot& snapshot);

}  // namespace sluice::cli
