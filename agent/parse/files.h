#pragma once
// The files loadPaths() and FileCache read, and how they read them, so both agree.
#include <sluice/diagnostic.h>

#include <optional>
#include <string>
#include <vector>

namespace sluice::parse::detail {

// `paths` in order; a directory expands recursively to its *.yaml, *.yml and *.json files, sorted.
// Paths or directories that cannot be listed are reported in `failures`.
std::vector<std::string> listConfigFiles(const std::vector<std::string>& paths, Diagnostics& failures);

// The whole file, or nullopt with a "cannot read" diagnostic in `failures`.
std::optional<std::string> readConfigFile(const std::string& path, Diagnostics& failures);

}  // namespace sluice::parse::detail
