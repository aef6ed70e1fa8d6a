#include "config_loader.h"

#include "route_table_builder.h"

#include <sluice/parse/parser.h>
#include <sluice/validate/normalize.h>
#include <sluice/validate/validate.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <tuple>

namespace sluice::proxy {
namespace {

template <typename T>
void dropRejected(std::vector<T>& objects, const std::string& kind,
                  const std::set<std::tuple<std::string, std::string, std::string>>& rejected) {
  std::erase_if(objects, [&](const T& o) {
    std::string ns = o.meta.ns.empty() ? "default" : o.meta.ns;
    return rejected.count({kind, ns, o.meta.name}) > 0 ||
           rejected.count({kind, o.meta.ns, o.meta.name}) > 0;
  });
}

}  // namespace

Result<LoadedConfig> loadRouteTable(const std::string& configDir, const model::MeshSettings& mesh) {
  std::error_code ec;
  if (!std::filesystem::is_directory(configDir, ec)) {
    return Error::fromErrno(ENOENT, "config dir " + configDir);
  }
  parse::ParseOutput parsed = parse::loadPaths({configDir});
  LoadedConfig out;
  out.diagnostics = parsed.diagnostics;
  Diagnostics checks = validate::validate(parsed.snapshot, mesh);
  out.diagnostics.append(checks);
  std::set<std::tuple<std::string, std::string, std::string>> rejected;
  for (const auto& d : checks.items()) {
    if (d.severity == Severity::Error) {
      rejected.insert({d.kind, d.ns, d.name});
    }
  }
  dropRejected(parsed.snapshot.virtualServices, "VirtualService", rejected);
  dropRejected(parsed.snapshot.destinationRules, "DestinationRule", rejected);
  dropRejected(parsed.snapshot.services, "Service", rejected);
  model::Snapshot snapshot = validate::normalize(std::move(parsed.snapshot), mesh);
  auto table = std::make_shared<RouteTable>(buildRouteTable(snapshot, mesh));
  for (const auto& w : table->warnings) {
    Diagnostic d;
    d.severity = Severity::Warning;
    d.kind = "RouteTable";
    d.message = w;
    out.diagnostics.add(std::move(d));
  }
  out.table = std::move(table);
  return out;
}

}  // namespace sluice::proxy
