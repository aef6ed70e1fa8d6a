#pragma once
// A sluicectl subcommand: it adds its CLI11 subcommand and options to the root app, and `run` is
// called (after parsing) when the user picked it. Each subcommand lives in its own file.
#include <CLI/CLI.hpp>

#include <functional>

namespace sluice::cli {

struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;  // returns the process exit code
};

Command addValidateCommand(CLI::App& root);
Command addNormalizeCommand(CLI::App& root);
Command addExplainCommand(CLI::App& root);

}  // namespace sluice::cli
