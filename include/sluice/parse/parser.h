#pragma once
// YAML (Kubernetes manifests) → model objects with source positions.
// Multi-document streams and `kind: List` are accepted. An object with any parse error (malformed
// YAML, wrong type, unknown field as `kubectl apply --validate=strict` reports it) is left out of the
// snapshot and explained in the diagnostics; the other objects are kept.
#include <sluice/diagnostic.h>
#include <sluice/model/snapshot.h>

#include <string>
#include <string_view>
#include <vector>

namespace sluice::parse {

struct ParseOutput {
  model::Snapshot snapshot;
  Diagnostics diagnostics;
};

// Parses one YAML stream; `file` is used in diagnostics and SourceInfo.
ParseOutput parseYaml(std::string_view text, const std::string& file);

// Reads files and directories (recursively: *.yaml, *.yml, *.json, in sorted order).
ParseOutput loadPaths(const std::vector<std::string>& paths);

}  // namespace sluice::parse
