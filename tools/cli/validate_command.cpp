// sluicectl validate PATH... [--output text|json] [--dataplane]
// Loads files and directories, parses them (strict, like `kubectl apply --validate=strict`), runs
// Istio's validation and the snapshot analysis, prints every diagnostic, exits 1 if any is an error.
// Verdicts mirror Istio's; --dataplane adds warnings for fields this Sluice accepts but does not enforce.
#include "command.h"
#include "diagnostics_output.h"

#include <sluice/compile/enforcement.h>
#include <sluice/parse/parser.h>
#include <sluice/validate/validate.h>

#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace sluice::cli {
namespace {

struct ValidateOptions {
  std::vector<std::string> paths;
  OutputFormat format = OutputFormat::Text;
  model::MeshSettings mesh;
  bool dataplane = false;
};

int runValidate(const ValidateOptions& opts) {
  parse::ParseOutput parsed = parse::loadPaths(opts.paths);
  Diagnostics diags = std::move(parsed.diagnostics);
  diags.append(validate::validate(parsed.snapshot, opts.mesh));
  if (opts.dataplane) {
    diags.append(compile::unenforcedFields(parsed.snapshot));
  }
  diags.sortByPosition();
  if (opts.format == OutputFormat::Json) {
    printJson(diags, std::cout);
  } else {
    printText(diags, std::cout);
  }
  return diags.hasErrors() ? 1 : 0;
}

}  // namespace

Command addValidateCommand(CLI::App& root) {
  auto opts = std::make_shared<ValidateOptions>();
  CLI::App* app = root.add_subcommand(
      "validate", "Check Kubernetes/Istio YAML as the API server and Istio would; exit 1 on errors");
  app->add_option("paths", opts->paths, "files or directories (*.yaml, *.yml, *.json)")
      ->required();
  const std::map<std::string, OutputFormat> formats = {{"text", OutputFormat::Text},
                                                       {"json", OutputFormat::Json}};
  app->add_option("-o,--output", opts->format, "output format: text or json")
      ->transform(CLI::CheckedTransformer(formats, CLI::ignore_case));
  addMeshOptions(*app, opts->mesh);
  app->add_flag("--dataplane", opts->dataplane,
                "also warn about fields this version of Sluice accepts but does not enforce yet");
  return Command{app, [opts] { return runValidate(*opts); }};
}

}  // namespace sluice::cli
