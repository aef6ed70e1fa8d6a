#pragma once
// What this version of the data plane accepts but does not act on yet. Istio accepts these fields, so
// `sluicectl validate` (whose verdicts mirror Istio's) stays silent about them; the agent logs these
// warnings on every apply and `sluicectl validate --dataplane` prints them, so nothing is ignored
// silently. Run on the snapshot as written (before normalize fills defaults in).
#include <sluice/diagnostic.h>
#include <sluice/model/snapshot.h>

namespace sluice::compile {

Diagnostics unenforcedFields(const model::Snapshot& asWritten);

// Config Istio accepts but the kernel cannot hold, as errors naming the object, so the agent keeps
// that object's last valid version instead of truncating it: a mesh `tcp` route splitting over more
// than plan::kMaxSplitGroups destinations (counted as written: host, subset and port; two spellings
// of one host count twice).
Diagnostics kernelLimits(const model::Snapshot& asWritten);

}  // namespace sluice::compile
