#pragma once
// Types every model object shares: metadata, source positions, durations, string matches.
#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice::model {

using Duration = std::chrono::nanoseconds;
using Labels = std::map<std::string, std::string>;

// Field path → line, shared by the copies of an object: positions never change after parsing, and
// the agent copies whole snapshots (the last valid objects stay as parsed while normalize consumes a
// copy), where copying a map per object would dominate. A write to a shared table detaches it.
class FieldLines {
 public:
  using Map = std::map<std::string, int, std::less<>>;

  FieldLines() = default;
  FieldLines(std::initializer_list<Map::value_type> init) : map_(std::make_shared<Map>(init)) {}

  Map::const_iterator find(std::string_view path) const { return map().find(path); }
  Map::const_iterator begin() const { return map().begin(); }
  Map::const_iterator end() const { return map().end(); }
  size_t size() const { return map().size(); }
  const int& at(const std::string& path) const { return map().at(path); }
  int& operator[](const std::string& path) { return mutableMap()[path]; }
  template <typename... Args>
  auto emplace(Args&&... args) {
    return mutableMap().emplace(std::forward<Args>(args)...);
  }

 private:
  const Map& map() const {
    static const Map kEmpty;
    return map_ ? *map_ : kEmpty;
  }
  Map& mutableMap() {
    if (!map_) {
      map_ = std::make_shared<Map>();
    } else if (map_.use_count() > 1) {
      map_ = std::make_shared<Map>(*map_);
    }
    return *map_;
  }

  std::shared_ptr<Map> map_;
};

// Where an object came from, with the line of every field the parser saw, keyed by field path
// ("spec.http[0].retries.attempts"). Diagnostics find their line through lineOf().
struct SourceInfo {
  std::string file;
  int line = 0;  // line of the document's first key
  FieldLines fieldLines;

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
