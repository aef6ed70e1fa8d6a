#include "diagnostics_output.h"

#include <nlohmann/json.hpp>

namespace sluice::cli {

void printText(const Diagnostics& diags, std::ostream& out) {
  for (const Diagnostic& d : diags.items()) {
    out << formatDiagnostic(d) << '\n';
  }
  const size_t errors = diags.errorCount();
  const size_t warnings = diags.warningCount();
  out << errors << (errors == 1 ? " error, " : " errors, ") << warnings
      << (warnings == 1 ? " warning" : " warnings") << '\n';
}

void printJson(const Diagnostics& diags, std::ostream& out) {
  // ordered_json keeps the documented key order; plain json would sort the keys.
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const Diagnostic& d : diags.items()) {
    list.push_back({{"file", d.file},
                    {"line", d.line},
                    {"kind", d.kind},
                    {"namespace", d.ns},
                    {"name", d.name},
                    {"field", d.field},
                    {"severity", severityName(d.severity)},
                    {"message", d.message}});
  }
  // Invalid UTF-8 from a hostile file must not throw: replace it.
  out << list.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << '\n';
}

}  // namespace sluice::cli
