// libFuzzer target: arbitrary bytes through every config stage a user's file goes through in
// `sluicectl validate` and in the agent. Any crash, sanitizer report, timeout or OOM is a bug.
#include <sluice/parse/parser.h>
#include <sluice/validate/normalize.h>
#include <sluice/validate/validate.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  sluice::parse::ParseOutput parsed = sluice::parse::parseYaml(text, "fuzz.yaml");
  const sluice::model::MeshSettings mesh;
  sluice::Diagnostics diags = sluice::validate::validate(parsed.snapshot, mesh);
  diags.append(parsed.diagnostics);
  for (const sluice::Diagnostic& d : diags.items()) {
    (void)sluice::formatDiagnostic(d);
  }
  // normalize() is specified for validated snapshots only, as the agent and sluicectl use it.
  if (!diags.hasErrors()) {
    sluice::model::Snapshot normalized = sluice::validate::normalize(std::move(parsed.snapshot), mesh);
    (void)normalized.objectCount();
  }
  return 0;
}
