#pragma once
// A Diagnostic is what the user sees about their config: where (file, line, object, field path) and why.
// Parse, validate and normalize only ever produce these; they never touch the kernel.
#include <string>
#include <vector>

namespace sluice {

enum class Severity { Error, Warning };

struct Diagnostic {
  Severity severity = Severity::Error;
  std::string file;
  int line = 0;
  std::string kind;
  std::string ns;
  std::string name;
  std::string field;  // e.g. "spec.http[0].retries.perTryTimeout"
  std::string message;
};

const char* severityName(Severity s);

// "file:line: error: VirtualService ns/name: spec.http[0].timeout: message"
std::string formatDiagnostic(const Diagnostic& d);

class Diagnostics {
 public:
  void add(Diagnostic d) { items_.push_back(std::move(d)); }
  void append(const Diagnostics& other) {
    items_.insert(items_.end(), other.items_.begin(), other.items_.end());
  }
  bool hasErrors() const;
  size_t errorCount() const;
  size_t warningCount() const;
  const std::vector<Diagnostic>& items() const { return items_; }
  bool empty() const { return items_.empty(); }
  void sortByPosition();

 private:
  std::vector<Diagnostic> items_;
};

}  // namespace sluice
