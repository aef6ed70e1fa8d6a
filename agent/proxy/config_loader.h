#pragma once
// The standalone binary's config path: YAML files → parse → validate → normalize → RouteTable.
// Lives beside main.cpp, outside the sluice_proxy library, because the proxy itself never depends on
// parse or validate (architecture.md); inside the agent the daemon hands the proxy a table instead.
#include <sluice/diagnostic.h>
#include <sluice/model/snapshot.h>
#include <sluice/proxy/route_table.h>
#include <sluice/result.h>

#include <string>

namespace sluice::proxy {

struct LoadedConfig {
  RouteTablePtr table;
  Diagnostics diagnostics;  // everything parse and validate reported, errors included
};

// Objects with validation errors are left out (as Istio's webhook would have refused them) and the
// rest is used; only an unreadable directory is an error.
Result<LoadedConfig> loadRouteTable(const std::string& configDir, const model::MeshSettings& mesh);

}  // namespace sluice::proxy
