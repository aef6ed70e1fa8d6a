#pragma once
// Normalized model snapshot → RouteTable. Pure (no sockets, no clocks): the same snapshot always gives
// the same table. Runs on the control path; it may allocate freely and reports what it could not
// honour in RouteTable::warnings instead of failing the whole table.
#include <sluice/model/snapshot.h>
#include <sluice/proxy/route_table.h>

namespace sluice::proxy {

// Expects a snapshot that passed validate() and normalize(): hosts are FQDNs, gateways are
// "<ns>/<name>" or "mesh". Short hosts are still resolved against the object's namespace so a table
// built from a hand-written snapshot (tests) agrees with one built from a normalized one.
RouteTable buildRouteTable(const model::Snapshot& snapshot, const model::MeshSettings& mesh);

}  // namespace sluice::proxy
