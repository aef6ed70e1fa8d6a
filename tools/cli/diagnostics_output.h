#pragma once
// Diagnostics as sluicectl prints them: compiler-style lines plus a summary, or a JSON array.
#include <sluice/diagnostic.h>

#include <ostream>

namespace sluice::cli {

enum class OutputFormat { Text, Json };

// "file:line: severity: Kind ns/name: field: message" per diagnostic, then "N errors, M warnings".
void printText(const Diagnostics& diags, std::ostream& out);

// [{"file", "line", "kind", "namespace", "name", "field", "severity", "message"}, ...]
void printJson(const Diagnostics& diags, std::ostream& out);

}  // namespace sluice::cli
