#pragma once
// A sluicectl subcommand: it adds its CLI11 subcommand and options to the root app, and `run` is
// called (after parsing) when the user picked it. Each subcommand lives in its own file.
#include <sluice/model/snapshot.h>

#include <CLI/CLI.hpp>

#include <functional>

namespace sluice::cli {

struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;  // returns the process exit code
};

// --cluster-domain and --root-namespace, which every subcommand that reads config takes.
inline void addMeshOptions(CLI::App& app, model::MeshSettings& mesh) {
  app.add_option("--cluster-domain", mesh.clusterDomain, "cluster DNS suffix")
      ->default_val(mesh.clusterDomain);
  app.add_option("--root-namespace", mesh.rootNamespace, "Istio root namespace")
      ->default_val(mesh.rootNamespace);
}

Command addValidateCommand(CLI::App& root);
Command addNormalizeCommand(CLI::App& root);
Command addExplainCommand(CLI::App& root);

}  // namespace sluice::cli
