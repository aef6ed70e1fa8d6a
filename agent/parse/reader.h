#pragma once
// Schema-driven reading of one Kubernetes object from a yaml-cpp tree, reporting problems the way the
// API server does with strict field validation (`kubectl apply --validate=strict`): type errors, unknown
// and duplicate fields, unsupported enum values, ranges and `required` / `oneOf` from the CRD schema.
// Every field seen gets its line recorded in SourceInfo.fieldLines under its path.
#include <sluice/diagnostic.h>
#include <sluice/model/common.h>

#include <yaml-cpp/yaml.h>

#include <array>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace sluice::parse {

// JSON types as the API server names them in "must be of type ..." messages.
enum class JsonType { Null, Boolean, Integer, Number, String, Object, Array };

const char* jsonTypeName(JsonType t);

// The JSON type a YAML node converts to: quoted scalars are strings, plain scalars resolve with the
// YAML 1.2 core schema (null, true/false, integers, floats), everything else is a string.
JsonType jsonTypeOf(const YAML::Node& node);

// Collects one object's diagnostics and field lines while it is read. Diagnostics are buffered so
// they carry the object's namespace/name even when found before metadata was read.
class Context {
 public:
  // `lineOffset` is added to yaml-cpp's 0-based marks (documents are parsed one by one).
  Context(std::string file, int lineOffset);

  int lineOf(const YAML::Node& node) const;
  void record(const std::string& path, int line);

  void error(const std::string& path, int line, std::string message);
  void warning(const std::string& path, int line, std::string message);
  bool hasErrors() const { return errors_ > 0; }

  // Every node read spends one unit; a document made of aliases can otherwise expand exponentially.
  bool spend();

  void setKind(std::string kind) { kind_ = std::move(kind); }
  void setIdentity(std::string ns, std::string name);
  model::SourceInfo& source() { return source_; }
  // Moves the buffered diagnostics, stamped with kind/namespace/name, into `out`.
  void flushTo(Diagnostics& out);

 private:
  std::string kind_;
  std::string ns_;
  std::string name_;
  int lineOffset_;
  int errors_ = 0;
  int64_t budget_;
  model::SourceInfo source_;
  std::vector<Diagnostic> items_;
};

std::string itemPath(const std::string& path, size_t index);
std::string keyPath(const std::string& path, std::string_view key);

// Scalar readers: each checks the JSON type (and range), reports at `path` and returns false on error.
bool readString(Context& ctx, const YAML::Node& node, const std::string& path, std::string& out);
bool readBool(Context& ctx, const YAML::Node& node, const std::string& path, bool& out);
bool readInteger(Context& ctx, const YAML::Node& node, const std::string& path, int64_t min,
                 int64_t max, int64_t& out);
bool readNumber(Context& ctx, const YAML::Node& node, const std::string& path, double& out);
bool readDuration(Context& ctx, const YAML::Node& node, const std::string& path,
                  model::Duration& out);
// `format: byte`: standard base64 with padding, decoded.
bool readBytes(Context& ctx, const YAML::Node& node, const std::string& path, std::string& out);
// Reports "must be of type array/object" unless the node has that shape.
bool expectArray(Context& ctx, const YAML::Node& node, const std::string& path);
bool expectObject(Context& ctx, const YAML::Node& node, const std::string& path);

// Typed dispatch used by MapReader::read(); integer widths give the int32/uint32/uint64 ranges.
void readValue(Context& ctx, const YAML::Node& node, const std::string& path, std::string& out);
void readValue(Context& ctx, const YAML::Node& node, const std::string& path,
               std::optional<std::string>& out);
void readValue(Context& ctx, const YAML::Node& node, const std::string& path, bool& out);
void readValue(Context& ctx, const YAML::Node& node, const std::string& path,
               std::optional<bool>& out);
void readValue(Context& ctx, const YAML::Node& node, const std::string& path, int32_t& out);
void readValue(Context& ctx, const YAML::Node& node, const std::string& path,
               std::optional<int32_t>& out);
void readValue(Context& ctx, const YAML::Node& node, const std::string& path, uint32_t& out);
void readValue(Context& ctx, const YAML::Node& node, const std::string& path,
               std::optional<uint32_t>& out);
void readValue(Context& ctx, const YAML::Node& node, const std::string& path,
               std::optional<uint64_t>& out);
void readValue(Context& ctx, const YAML::Node& node, const std::string& path, int64_t& out);
void readValue(Context& ctx, const YAML::Node& node, const std::string& path,
               std::optional<double>& out);
void readValue(Context& ctx, const YAML::Node& node, const std::string& path,
               std::optional<model::Duration>& out);
void readValue(Context& ctx, const YAML::Node& node, const std::string& path,
               std::vector<std::string>& out);
void readValue(Context& ctx, const YAML::Node& node, const std::string& path,
               std::map<std::string, std::string>& out);
void readValue(Context& ctx, const YAML::Node& node, const std::string& path,
               std::map<std::string, uint32_t>& out);

template <typename E>
using EnumNames = std::initializer_list<std::pair<std::string_view, E>>;

// Reads the fields of one YAML mapping. Keys never asked for are reported as unknown fields when
// the reader goes out of scope, so no object reader can forget the strict check.
class MapReader {
 public:
  MapReader(Context& ctx, const YAML::Node& node, std::string path);
  ~MapReader();
  MapReader(const MapReader&) = delete;
  MapReader& operator=(const MapReader&) = delete;

  bool valid() const { return valid_; }
  Context& context() { return ctx_; }
  const std::string& path() const { return path_; }
  std::string pathOf(std::string_view key) const { return keyPath(path_, key); }

  // The value at `key` (its line recorded), or nullopt when absent or null. The key becomes known.
  std::optional<YAML::Node> take(std::string_view key);
  // A field the schema has but Sluice does not model: accepted, not read.
  void skip(std::string_view key) { (void)take(key); }
  // Accepts every remaining key (parts of Kubernetes objects Sluice does not read).
  void allowUnknown() { lenient_ = true; }

  template <typename T>
  void read(std::string_view key, T& out) {
    if (auto n = take(key)) {
      readValue(ctx_, *n, pathOf(key), out);
    }
  }

  // A nested object; `fn(MapReader&, T&)` reads its fields.
  template <typename T, typename F>
  void object(std::string_view key, T& out, F&& fn) {
    if (auto n = take(key)) {
      MapReader child(ctx_, *n, pathOf(key));
      if (child.valid()) {
        fn(child, out);
      }
    }
  }
  template <typename T, typename F>
  void object(std::string_view key, std::optional<T>& out, F&& fn) {
    if (auto n = take(key)) {
      MapReader child(ctx_, *n, pathOf(key));
      if (child.valid()) {
        T value{};
        fn(child, value);
        out = std::move(value);
      }
    }
  }
  // A list of objects.
  template <typename T, typename F>
  void list(std::string_view key, std::vector<T>& out, F&& fn) {
    auto n = take(key);
    if (!n) {
      return;
    }
    const std::string base = pathOf(key);
    if (!expectArray(ctx_, *n, base)) {
      return;
    }
    size_t i = 0;
    for (const YAML::Node& item : *n) {
      const std::string p = itemPath(base, i++);
      if (!ctx_.spend()) {
        return;
      }
      ctx_.record(p, ctx_.lineOf(item));
      MapReader child(ctx_, item, p);
      if (child.valid()) {
        T value{};
        fn(child, value);
        out.push_back(std::move(value));
      }
    }
  }
  // A map whose values are objects (e.g. match headers).
  template <typename T, typename F>
  void objectMap(std::string_view key, std::map<std::string, T>& out, F&& fn) {
    auto n = take(key);
    if (!n) {
      return;
    }
    MapReader entries(ctx_, *n, pathOf(key));
    if (!entries.valid()) {
      return;
    }
    for (const std::string& k : entries.keys()) {
      if (auto v = entries.take(k)) {
        MapReader child(ctx_, *v, entries.pathOf(k));
        if (child.valid()) {
          T value{};
          fn(child, value);
          out[k] = std::move(value);
        }
      }
    }
  }

  template <typename E>
  void enumeration(std::string_view key, std::optional<E>& out, EnumNames<E> names) {
    if (auto n = take(key)) {
      if (auto v = enumValue(*n, pathOf(key), names)) {
        out = *v;
      }
    }
  }
  template <typename E>
  void enumeration(std::string_view key, E& out, EnumNames<E> names) {
    if (auto n = take(key)) {
      if (auto v = enumValue(*n, pathOf(key), names)) {
        out = *v;
      }
    }
  }
  // A string field the API server restricts to a fixed set.
  void stringEnum(std::string_view key, std::string& out, std::initializer_list<std::string_view> names);
  // A number with the schema's inclusive bounds.
  void number(std::string_view key, std::optional<double>& out, std::optional<double> min,
              std::optional<double> max);
  // Percent / PortSelector wrappers: {value: number} and {number: uint32}.
  void percent(std::string_view key, std::optional<double>& out);
  void portSelector(std::string_view key, std::optional<uint32_t>& out);

  // CRD `required`: reports "Required value" for each key that is absent or null.
  void require(std::initializer_list<std::string_view> keys);
  // CRD `oneOf` over `required` alternatives with a "none" branch: at most one key may be set.
  void atMostOne(std::initializer_list<std::string_view> keys);

  // Keys in document order (duplicates reported once, at construction).
  std::vector<std::string> keys() const;

 private:
  struct Entry {
    std::string key;
    int line = 0;
    YAML::Node value;
    bool used = false;
  };

  template <typename E>
  std::optional<E> enumValue(const YAML::Node& n, const std::string& p, EnumNames<E> names) {
    std::string text;
    if (!readString(ctx_, n, p, text)) {
      return std::nullopt;
    }
    for (const auto& [name, value] : names) {
      if (name == text) {
        return value;
      }
    }
    std::vector<std::string_view> all;
    for (const auto& entry : names) {
      all.push_back(entry.first);
    }
    reportUnsupported(p, n, text, all);
    return std::nullopt;
  }
  void reportUnsupported(const std::string& p, const YAML::Node& n, const std::string& text,
                         const std::vector<std::string_view>& names);
  const Entry* find(std::string_view key) const;
  Entry* find(std::string_view key);
  bool present(std::string_view key) const;

  Context& ctx_;
  std::string path_;
  bool valid_ = false;
  bool lenient_ = false;
  std::vector<Entry> entries_;
  // Key → position in entries_, so maps with many keys (labels) are not read in quadratic time.
  std::unordered_map<std::string, size_t> index_;
};

}  // namespace sluice::parse
