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
  // Upper bound on a group's hash table (Maglev or flattened ring). Hash tables live in the kernel's
  // shared slot map (SL_MAX_SLOTS entries, each table written twice during a make-before-break
  // update), so Istio's default of 65537 would let a handful of services fill it. 4093 keeps Maglev's
  // table ≥ 100 × backends (the paper's bound for small disruption) up to 40 backends. Maglev needs a
  // prime size: a larger maglev.tableSize is lowered to the largest prime at or below this cap.
  uint32_t maxHashTableSize = 4093;
};

// `normalized` must have gone through validate::normalize(): hosts are FQDNs, namespaces are set and
// Istio's defaults are filled in. Objects that still do not resolve (unknown hosts, missing subsets)
// compile to what Istio does with them at runtime, never to an error.
plan::DataplanePlan compile(const model::Snapshot& normalized, const CompileOptions& options);

}  // namespace sluice::compile
