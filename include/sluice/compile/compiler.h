#pragma once
// The compiler: a normalized snapshot → a DataplanePlan. Pure and deterministic: no kernel, no clock,
// no randomness, so the same snapshot always gives a byte-identical toText(). The choices made where
// Istio or Kubernetes are silent are written down in docs/compiler.md.
#include <sluice/compile/plan.h>
#include <sluice/model/snapshot.h>

#include <cstdint>

namespace sluice::compile {

struct CompileOptions {
  model::MeshSettings mesh;
  // Upper bound on a group's hash table (Maglev or flattened ring), so one service cannot exhaust the
  // kernel's slot map. Maglev needs a prime size: a larger maglev.tableSize is lowered to the largest
  // prime at or below this cap. 16381 is Cilium's default Maglev table size.
  uint32_t maxHashTableSize = 16381;
};

// `normalized` must have gone through validate::normalize(): hosts are FQDNs, namespaces are set and
// Istio's defaults are filled in. Objects that still do not resolve (unknown hosts, missing subsets)
// compile to what Istio does with them at runtime, never to an error.
plan::DataplanePlan compile(const model::Snapshot& normalized, const CompileOptions& options);

}  // namespace sluice::compile
