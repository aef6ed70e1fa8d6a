// sluicectl: offline tooling for Sluice config. Subcommands register themselves from their own files.
#include "command.h"

#include <vector>

int main(int argc, char** argv) {
  CLI::App app{"sluicectl: validate and inspect Sluice (Kubernetes + Istio) configuration"};
  app.require_subcommand(1);
  std::vector<sluice::cli::Command> commands = {
      sluice::cli::addValidateCommand(app),
      sluice::cli::addNormalizeCommand(app),
      sluice::cli::addExplainCommand(app),
  };
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help exits 0; any usage error exits 2, apart from the 1 that means "config has errors".
    return app.exit(e) == 0 ? 0 : 2;
  }
  for (const auto& command : commands) {
    if (command.app->parsed()) {
      return command.run();
    }
  }
  return 2;
}
