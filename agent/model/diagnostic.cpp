#include <sluice/diagnostic.h>

#include <algorithm>
#include <tuple>

namespace sluice {

const char* severityName(Severity s) {
  return s == Severity::Error ? "error" : "warning";
}

std::string formatDiagnostic(const Diagnostic& d) {
  std::string out = d.file.empty() ? std::string("<input>") : d.file;
  if (d.line > 0) {
    out += ":" + std::to_string(d.line);
  }
  out += ": ";
  out += severityName(d.severity);
  out += ": ";
  if (!d.kind.empty()) {
    out += d.kind + " ";
    if (!d.ns.empty()) {
      out += d.ns + "/";
    }
    out += d.name.empty() ? std::string("<unnamed>") : d.name;
    out += ": ";
  }
  if (!d.field.empty()) {
    out += d.field + ": ";
  }
  out += d.message;
  return out;
}

bool Diagnostics::hasErrors() const {
  return errorCount() > 0;
}

size_t Diagnostics::errorCount() const {
  return std::count_if(items_.begin(), items_.end(),
                       [](const Diagnostic& d) { return d.severity == Severity::Error; });
}

size_t Diagnostics::warningCount() const {
  return items_.size() - errorCount();
}

void Diagnostics::sortByPosition() {
  std::stable_sort(items_.begin(), items_.end(), [](const Diagnostic& a, const Diagnostic& b) {
    return std::tie(a.file, a.line) < std::tie(b.file, b.line);
  });
}

}  // namespace sluice
