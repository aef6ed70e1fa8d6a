#pragma once
// Types every model object shares: metadata, source positions, durations, string matches.
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::model {

using Duration = std::chrono::nanoseconds;
using Labels = std::map<std::string, std::string>;

// Where an object came from, with the line of every field the parser saw, keyed by field path
// ("spec.http[0].retries.attempts"). Diagnostics find their line through lineOf().
struct SourceInfo {
  std::string file;
  int line = 0;  // line of the document's first key
  std::map<std::string, int, std::less<>> fieldLines;

  // The line of `path`, else of its nearest recorded ancestor, else of the object.
  int lineOf(std::string_view path) const;
};

struct ObjectMeta {
  std::string name;
  std::string ns;  // empty in the input means "default" after normalization
  Labels labels;
  Labels annotations;
  std::string uid;
  std::string resourceVersion;
  int64_t generation = 0;
  std::string creationTimestamp;  // RFC 3339 as written; orders duplicate VirtualServices
};

// Istio StringMatch (oneof exact/prefix/regex). Kind::Any is an empty `{}` (presence check in header
// and query matches).
struct StringMatch {
  enum class Kind { Any, Exact, Prefix, Regex };
  Kind kind = Kind::Any;
  std::string value;

  friend bool operator==(const StringMatch&, const StringMatch&) = default;
};

}  // namespace sluice::model

#include <sluice/diagnostic.h>

namespace sluice::model {

// A diagnostic about field `path` of an object, positioned through its SourceInfo.
inline Diagnostic diagnosticAt(Severity severity, std::string kind, const ObjectMeta& meta,
                               const SourceInfo& source, std::string path, std::string message) {
  Diagnostic d;
  d.severity = severity;
  d.file = source.file;
  d.line = source.lineOf(path);
  d.kind = std::move(kind);
  d.ns = meta.ns;
  d.name = meta.name;
  d.field = std::move(path);
  d.message = std::move(message);
  return d;
}

}  // namespace sluice::model
