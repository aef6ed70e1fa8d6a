// sluicectl normalize PATH...
// Prints the snapshot after validation and normalization (FQDN hosts, gateway references, Istio's
// defaults filled in) as a JSON `kind: List`, which sluicectl and kubectl read back. Refuses to print
// when validation finds errors, as the agent refuses to apply such a snapshot.
#include "command.h"
#include "diagnostics_output.h"
#include "snapshot_json.h"

#include <sluice/parse/parser.h>
#include <sluice/validate/normalize.h>
#include <sluice/validate/validate.h>

#include <iostream>
#include <memory>
#include <string>
#include <vector>

namespace sluice::cli {
namespace {

struct NormalizeOptions {
  std::vector<std::string> paths;
  model::MeshSettings mesh;
};

int runNormalize(const NormalizeOptions& opts) {
  parse::ParseOutput parsed = parse::loadPaths(opts.paths);
  Diagnostics diags = std::move(parsed.diagnostics);
  diags.append(validate::validate(parsed.snapshot, opts.mesh));
  diags.sortByPosition();
  if (!diags.empty()) {
    // Diagnostics go to stderr so stdout stays one JSON document.
    printText(diags, std::cerr);
  }
  if (diags.hasErrors()) {
    return 1;
  }
  model::Snapshot normalized = validate::normalize(std::move(parsed.snapshot), opts.mesh);
  std::cout << snapshotToJson(normalized).dump(2, ' ', false,
                                               nlohmann::ordered_json::error_handler_t::replace)
            << '\n';
  return 0;
}

}  // namespace

Command addNormalizeCommand(CLI::App& root) {
  auto opts = std::make_shared<NormalizeOptions>();
  CLI::App* app = root.add_subcommand(
      "normalize", "Print the validated snapshot with Istio's defaults and FQDNs filled in (JSON)");
  app->add_option("paths", opts->paths, "files or directories (*.yaml, *.yml, *.json)")
      ->required();
  addMeshOptions(*app, opts->mesh);
  return Command{app, [opts] { return runNormalize(*opts); }};
}

}  // namespace sluice::cli
