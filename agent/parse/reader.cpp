#include "reader.h"

#include "duration.h"

#include <charconv>
#include <cmath>
#include <cstdlib>

namespace sluice::parse {
namespace {

// Far above any real manifest (a large VirtualService has a few thousand nodes), far below what an
// alias bomb expands to.
constexpr int64_t kNodeBudget = 200'000;

constexpr std::string_view kStrTag = "tag:yaml.org,2002:str";
constexpr std::string_view kIntTag = "tag:yaml.org,2002:int";
constexpr std::string_view kFloatTag = "tag:yaml.org,2002:float";
constexpr std::string_view kBoolTag = "tag:yaml.org,2002:bool";
constexpr std::string_view kNullTag = "tag:yaml.org,2002:null";

bool allOf(std::string_view s, bool (*pred)(char)) {
  if (s.empty()) {
    return false;
  }
  for (char c : s) {
    if (!pred(c)) {
      return false;
    }
  }
  return true;
}

bool isDec(char c) {
  return c >= '0' && c <= '9';
}
bool isOct(char c) {
  return c >= '0' && c <= '7';
}
bool isHex(char c) {
  return isDec(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

std::string_view withoutSign(std::string_view s) {
  if (!s.empty() && (s.front() == '-' || s.front() == '+')) {
    s.remove_prefix(1);
  }
  return s;
}

bool isCoreBool(std::string_view s) {
  return s == "true" || s == "True" || s == "TRUE" || s == "false" || s == "False" || s == "FALSE";
}

bool isCoreInt(std::string_view s) {
  if (s.size() > 2 && s[0] == '0' && s[1] == 'o') {
    return allOf(s.substr(2), isOct);
  }
  if (s.size() > 2 && s[0] == '0' && s[1] == 'x') {
    return allOf(s.substr(2), isHex);
  }
  return allOf(withoutSign(s), isDec);
}

bool isSpecialFloat(std::string_view s) {
  std::string_view u = withoutSign(s);
  return u == ".inf" || u == ".Inf" || u == ".INF" || s == ".nan" || s == ".NaN" || s == ".NAN";
}

// [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?
bool isCoreFloat(std::string_view s) {
  if (isSpecialFloat(s)) {
    return true;
  }
  s = withoutSign(s);
  size_t i = 0;
  size_t intDigits = 0;
  while (i < s.size() && isDec(s[i])) {
    ++i;
    ++intDigits;
  }
  size_t fracDigits = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && isDec(s[i])) {
      ++i;
      ++fracDigits;
    }
  }
  if (intDigits == 0 && fracDigits == 0) {
    return false;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) {
      ++i;
    }
    size_t expDigits = 0;
    while (i < s.size() && isDec(s[i])) {
      ++i;
      ++expDigits;
    }
    if (expDigits == 0) {
      return false;
    }
  }
  return i == s.size();
}

std::string quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
    }
    out += c;
  }
  out += '"';
  return out;
}

std::string formatNumber(double v) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  return ec == std::errc() ? std::string(buf, end) : std::string("?");
}

void typeError(Context& ctx, const YAML::Node& node, const std::string& path,
               std::string_view expected) {
  const std::string actual = quote(jsonTypeName(jsonTypeOf(node)));
  ctx.error(path, ctx.lineOf(node),
            "Invalid value: " + actual + ": " + path + " in body must be of type " +
                std::string(expected) + ": " + actual);
}

// Integer scalars as the YAML 1.2 core schema writes them; nullopt on int64 overflow.
std::optional<int64_t> parseInt(std::string_view s) {
  int base = 10;
  bool negative = false;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'o' || s[1] == 'x')) {
    base = s[1] == 'o' ? 8 : 16;
    s.remove_prefix(2);
  } else if (!s.empty() && (s.front() == '-' || s.front() == '+')) {
    negative = s.front() == '-';
    s.remove_prefix(1);
  }
  uint64_t magnitude = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), magnitude, base);
  if (ec != std::errc() || end != s.data() + s.size()) {
    return std::nullopt;
  }
  const auto limit = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  if (negative) {
    if (magnitude > limit + 1) {
      return std::nullopt;
    }
    return magnitude == limit + 1 ? std::numeric_limits<int64_t>::min()
                                  : -static_cast<int64_t>(magnitude);
  }
  if (magnitude > limit) {
    return std::nullopt;
  }
  return static_cast<int64_t>(magnitude);
}

int decodeBase64Char(char c) {
  if (c >= 'A' && c <= 'Z') {
    return c - 'A';
  }
  if (c >= 'a' && c <= 'z') {
    return c - 'a' + 26;
  }
  if (c >= '0' && c <= '9') {
    return c - '0' + 52;
  }
  if (c == '+') {
    return 62;
  }
  if (c == '/') {
    return 63;
  }
  return -1;
}

// Go's base64.StdEncoding: padded, no whitespace.
std::optional<std::string> decodeBase64(std::string_view s) {
  if (s.size() % 4 != 0) {
    return std::nullopt;
  }
  std::string out;
  out.reserve(s.size() / 4 * 3);
  for (size_t i = 0; i < s.size(); i += 4) {
    const bool last = i + 4 == s.size();
    int v[4];
    int pad = 0;
    for (int j = 0; j < 4; ++j) {
      char c = s[i + static_cast<size_t>(j)];
      if (c == '=' && last && j >= 2) {
        v[j] = 0;
        ++pad;
        continue;
      }
      if (pad > 0) {
        return std::nullopt;
      }
      v[j] = decodeBase64Char(c);
      if (v[j] < 0) {
        return std::nullopt;
      }
    }
    const uint32_t bits = (static_cast<uint32_t>(v[0]) << 18) | (static_cast<uint32_t>(v[1]) << 12) |
                          (static_cast<uint32_t>(v[2]) << 6) | static_cast<uint32_t>(v[3]);
    out += static_cast<char>((bits >> 16) & 0xff);
    if (pad < 2) {
      out += static_cast<char>((bits >> 8) & 0xff);
    }
    if (pad < 1) {
      out += static_cast<char>(bits & 0xff);
    }
  }
  return out;
}

// The largest value of T that a JSON (int64) integer can carry.
template <typename T>
constexpr int64_t kMaxOf =
    static_cast<uint64_t>(std::numeric_limits<T>::max()) > static_cast<uint64_t>(INT64_MAX)
        ? INT64_MAX
        : static_cast<int64_t>(std::numeric_limits<T>::max());

template <typename T>
bool readBounded(Context& ctx, const YAML::Node& node, const std::string& path, T& out) {
  int64_t v = 0;
  if (!readInteger(ctx, node, path, static_cast<int64_t>(std::numeric_limits<T>::min()), kMaxOf<T>,
                   v)) {
    return false;
  }
  out = static_cast<T>(v);
  return true;
}

template <typename T>
void readBounded(Context& ctx, const YAML::Node& node, const std::string& path,
                 std::optional<T>& out) {
  T v{};
  if (readBounded(ctx, node, path, v)) {
    out = v;
  }
}

}  // namespace

const char* jsonTypeName(JsonType t) {
  switch (t) {
    case JsonType::Null:
      return "null";
    case JsonType::Boolean:
      return "boolean";
    case JsonType::Integer:
      return "integer";
    case JsonType::Number:
      return "number";
    case JsonType::String:
      return "string";
    case JsonType::Object:
      return "object";
    case JsonType::Array:
      return "array";
  }
  return "unknown";
}

JsonType jsonTypeOf(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return JsonType::Object;
    case YAML::NodeType::Sequence:
      return JsonType::Array;
    case YAML::NodeType::Scalar:
      break;
    default:
      return JsonType::Null;
  }
  const std::string& tag = node.Tag();
  const std::string& s = node.Scalar();
  if (tag == kStrTag || tag == "!") {
    return JsonType::String;
  }
  if (tag == kIntTag) {
    return JsonType::Integer;
  }
  if (tag == kFloatTag) {
    return JsonType::Number;
  }
  if (tag == kBoolTag) {
    return JsonType::Boolean;
  }
  if (tag == kNullTag) {
    return JsonType::Null;
  }
  if (tag != "?" && !tag.empty()) {
    return JsonType::String;
  }
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") {
    return JsonType::Null;
  }
  if (isCoreBool(s)) {
    return JsonType::Boolean;
  }
  if (isCoreInt(s)) {
    return JsonType::Integer;
  }
  if (isCoreFloat(s)) {
    return JsonType::Number;
  }
  return JsonType::String;
}

Context::Context(std::string file, int lineOffset)
    : lineOffset_(lineOffset), budget_(kNodeBudget) {
  source_.file = std::move(file);
}

int Context::lineOf(const YAML::Node& node) const {
  const int line = node.Mark().line;
  return line < 0 ? 0 : line + 1 + lineOffset_;
}

void Context::record(const std::string& path, int line) {
  if (line > 0) {
    source_.fieldLines.emplace(path, line);
  }
}

void Context::error(const std::string& path, int line, std::string message) {
  ++errors_;
  Diagnostic d;
  d.severity = Severity::Error;
  d.file = source_.file;
  d.line = line > 0 ? line : source_.line;
  d.field = path;
  d.message = std::move(message);
  items_.push_back(std::move(d));
}

void Context::warning(const std::string& path, int line, std::string message) {
  Diagnostic d;
  d.severity = Severity::Warning;
  d.file = source_.file;
  d.line = line > 0 ? line : source_.line;
  d.field = path;
  d.message = std::move(message);
  items_.push_back(std::move(d));
}

bool Context::spend() {
  if (budget_ > 0) {
    --budget_;
    return true;
  }
  if (budget_ == 0) {
    --budget_;
    error("", 0, "object has more than " + std::to_string(kNodeBudget) +
                     " YAML nodes (after alias expansion); not read further");
  }
  return false;
}

void Context::setIdentity(std::string ns, std::string name) {
  ns_ = std::move(ns);
  name_ = std::move(name);
}

void Context::flushTo(Diagnostics& out) {
  for (Diagnostic& d : items_) {
    d.kind = kind_;
    d.ns = ns_;
    d.name = name_;
    out.add(std::move(d));
  }
  items_.clear();
}

std::string itemPath(const std::string& path, size_t index) {
  return path + "[" + std::to_string(index) + "]";
}

std::string keyPath(const std::string& path, std::string_view key) {
  if (path.empty()) {
    return std::string(key);
  }
  std::string out = path;
  out += '.';
  out += key;
  return out;
}

bool readString(Context& ctx, const YAML::Node& node, const std::string& path, std::string& out) {
  if (jsonTypeOf(node) != JsonType::String) {
    typeError(ctx, node, path, "string");
    return false;
  }
  out = node.Scalar();
  return true;
}

bool readBool(Context& ctx, const YAML::Node& node, const std::string& path, bool& out) {
  if (jsonTypeOf(node) != JsonType::Boolean) {
    typeError(ctx, node, path, "boolean");
    return false;
  }
  const std::string& s = node.Scalar();
  out = s == "true" || s == "True" || s == "TRUE";
  return true;
}

bool readInteger(Context& ctx, const YAML::Node& node, const std::string& path, int64_t min,
                 int64_t max, int64_t& out) {
  if (jsonTypeOf(node) != JsonType::Integer) {
    typeError(ctx, node, path, "integer");
    return false;
  }
  const std::string& s = node.Scalar();
  auto v = parseInt(s);
  if (!v) {
    const bool negative = !s.empty() && s.front() == '-';
    ctx.error(path, ctx.lineOf(node),
              "Invalid value: " + s + ": " + path + " in body should be " +
                  (negative ? "greater than or equal to " + std::to_string(min)
                            : "less than or equal to " + std::to_string(max)));
    return false;
  }
  if (*v < min) {
    ctx.error(path, ctx.lineOf(node),
              "Invalid value: " + s + ": " + path + " in body should be greater than or equal to " +
                  std::to_string(min));
    return false;
  }
  if (*v > max) {
    ctx.error(path, ctx.lineOf(node),
              "Invalid value: " + s + ": " + path + " in body should be less than or equal to " +
                  std::to_string(max));
    return false;
  }
  out = *v;
  return true;
}

bool readNumber(Context& ctx, const YAML::Node& node, const std::string& path, double& out) {
  const JsonType t = jsonTypeOf(node);
  if (t != JsonType::Integer && t != JsonType::Number) {
    typeError(ctx, node, path, "number");
    return false;
  }
  std::string_view s = node.Scalar();
  if (isSpecialFloat(s)) {
    ctx.error(path, ctx.lineOf(node),
              "Invalid value: " + std::string(s) + ": " + path +
                  " in body must be a finite number (JSON has no infinity or NaN)");
    return false;
  }
  if (t == JsonType::Integer) {
    if (auto v = parseInt(s)) {
      out = static_cast<double>(*v);
      return true;
    }
  }
  const std::string text(withoutSign(s));
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size() || !std::isfinite(v)) {
    ctx.error(path, ctx.lineOf(node),
              "Invalid value: " + std::string(s) + ": " + path + " in body must be a finite number");
    return false;
  }
  out = !s.empty() && s.front() == '-' ? -v : v;
  return true;
}

bool readDuration(Context& ctx, const YAML::Node& node, const std::string& path,
                  model::Duration& out) {
  std::string text;
  if (!readString(ctx, node, path, text)) {
    return false;
  }
  auto d = parseDuration(text);
  if (!d) {
    ctx.error(path, ctx.lineOf(node),
              "Invalid value: " + quote(text) + ": " + path +
                  " in body must be a valid duration: time: invalid duration " + quote(text));
    return false;
  }
  out = *d;
  return true;
}

bool readBytes(Context& ctx, const YAML::Node& node, const std::string& path, std::string& out) {
  std::string text;
  if (!readString(ctx, node, path, text)) {
    return false;
  }
  auto decoded = decodeBase64(text);
  if (!decoded) {
    ctx.error(path, ctx.lineOf(node),
              "Invalid value: " + quote(text) + ": " + path + " in body must be of type byte: " +
                  quote(text));
    return false;
  }
  out = std::move(*decoded);
  return true;
}

bool expectArray(Context& ctx, const YAML::Node& node, const std::string& path) {
  if (!node.IsSequence()) {
    typeError(ctx, node, path, "array");
    return false;
  }
  return true;
}

bool expectObject(Context& ctx, const YAML::Node& node, const std::string& path) {
  if (!node.IsMap()) {
    typeError(ctx, node, path, "object");
    return false;
  }
  return true;
}

void readValue(Context& ctx, const YAML::Node& node, const std::string& path, std::string& out) {
  readString(ctx, node, path, out);
}

void readValue(Context& ctx, const YAML::Node& node, const std::string& path,
               std::optional<std::string>& out) {
  std::string v;
  if (readString(ctx, node, path, v)) {
    out = std::move(v);
  }
}

void readValue(Context& ctx, const YAML::Node& node, const std::string& path, bool& out) {
  readBool(ctx, node, path, out);
}

void readValue(Context& ctx, const YAML::Node& node, const std::string& path,
               std::optional<bool>& out) {
  bool v = false;
  if (readBool(ctx, node, path, v)) {
    out = v;
  }
}

void readValue(Context& ctx, const YAML::Node& node, const std::string& path, int32_t& out) {
  readBounded(ctx, node, path, out);
}

void readValue(Context& ctx, const YAML::Node& node, const std::string& path,
               std::optional<int32_t>& out) {
  readBounded(ctx, node, path, out);
}

void readValue(Context& ctx, const YAML::Node& node, const std::string& path, uint32_t& out) {
  readBounded(ctx, node, path, out);
}

void readValue(Context& ctx, const YAML::Node& node, const std::string& path,
               std::optional<uint32_t>& out) {
  readBounded(ctx, node, path, out);
}

// protojson writes 64-bit integers as strings ("65537"), and Istio's own decoder reads them, so a
// quoted decimal is accepted for 64-bit fields only.
bool readInt64(Context& ctx, const YAML::Node& node, const std::string& path, int64_t min,
               int64_t& out) {
  if (jsonTypeOf(node) == JsonType::String) {
    const std::string& s = node.Scalar();
    if (allOf(withoutSign(s), isDec)) {
      // Re-typed as a plain scalar so readInteger checks the range as usual.
      return readInteger(ctx, YAML::Node(s), path, min, INT64_MAX, out);
    }
  }
  return readInteger(ctx, node, path, min, INT64_MAX, out);
}

void readValue(Context& ctx, const YAML::Node& node, const std::string& path,
               std::optional<uint64_t>& out) {
  // JSON integers are int64 on the API server: uint64 proto fields top out at INT64_MAX.
  int64_t v = 0;
  if (readInt64(ctx, node, path, 0, v)) {
    out = static_cast<uint64_t>(v);
  }
}

void readValue(Context& ctx, const YAML::Node& node, const std::string& path, int64_t& out) {
  readInt64(ctx, node, path, INT64_MIN, out);
}

void readValue(Context& ctx, const YAML::Node& node, const std::string& path,
               std::optional<double>& out) {
  double v = 0;
  if (readNumber(ctx, node, path, v)) {
    out = v;
  }
}

void readValue(Context& ctx, const YAML::Node& node, const std::string& path,
               std::optional<model::Duration>& out) {
  model::Duration v{};
  if (readDuration(ctx, node, path, v)) {
    out = v;
  }
}

void readValue(Context& ctx, const YAML::Node& node, const std::string& path,
               std::vector<std::string>& out) {
  if (!expectArray(ctx, node, path)) {
    return;
  }
  size_t i = 0;
  for (const YAML::Node& item : node) {
    if (!ctx.spend()) {
      return;
    }
    const std::string p = itemPath(path, i++);
    ctx.record(p, ctx.lineOf(item));
    std::string v;
    if (readString(ctx, item, p, v)) {
      out.push_back(std::move(v));
    }
  }
}

void readValue(Context& ctx, const YAML::Node& node, const std::string& path,
               std::map<std::string, std::string>& out) {
  MapReader entries(ctx, node, path);
  if (!entries.valid()) {
    return;
  }
  for (const std::string& key : entries.keys()) {
    std::string v;
    if (auto n = entries.take(key); n && readString(ctx, *n, entries.pathOf(key), v)) {
      out[key] = std::move(v);
    }
  }
}

void readValue(Context& ctx, const YAML::Node& node, const std::string& path,
               std::map<std::string, uint32_t>& out) {
  MapReader entries(ctx, node, path);
  if (!entries.valid()) {
    return;
  }
  for (const std::string& key : entries.keys()) {
    uint32_t v = 0;
    if (auto n = entries.take(key)) {
      int64_t raw = 0;
      if (readInteger(ctx, *n, entries.pathOf(key), 0, UINT32_MAX, raw)) {
        v = static_cast<uint32_t>(raw);
        out[key] = v;
      }
    }
  }
}

MapReader::MapReader(Context& ctx, const YAML::Node& node, std::string path)
    : ctx_(ctx), path_(std::move(path)) {
  if (!ctx_.spend() || !expectObject(ctx_, node, path_)) {
    return;
  }
  valid_ = true;
  for (auto it = node.begin(); it != node.end(); ++it) {
    if (!ctx_.spend()) {
      valid_ = false;
      return;
    }
    // Copies: the iterator's pair is a temporary, a reference into it would dangle.
    const YAML::Node key = it->first;
    const YAML::Node value = it->second;
    const int keyLine = ctx_.lineOf(key);
    if (!key.IsScalar()) {
      ctx_.error(path_, keyLine,
                 "Invalid value: " + quote(jsonTypeName(jsonTypeOf(key))) +
                     ": object keys must be strings");
      continue;
    }
    const std::string& name = key.Scalar();
    if (find(name) != nullptr) {
      ctx_.error(keyPath(path_, name), keyLine, "duplicate field " + quote(keyPath(path_, name)));
      continue;
    }
    index_.emplace(name, entries_.size());
    entries_.push_back(Entry{name, keyLine, value, false});
  }
}

MapReader::~MapReader() {
  if (lenient_) {
    return;
  }
  for (const Entry& e : entries_) {
    if (!e.used) {
      const std::string p = keyPath(path_, e.key);
      ctx_.error(p, e.line, "unknown field " + quote(p));
    }
  }
}

const MapReader::Entry* MapReader::find(std::string_view key) const {
  auto it = index_.find(std::string(key));
  return it == index_.end() ? nullptr : &entries_[it->second];
}

MapReader::Entry* MapReader::find(std::string_view key) {
  auto it = index_.find(std::string(key));
  return it == index_.end() ? nullptr : &entries_[it->second];
}

bool MapReader::present(std::string_view key) const {
  const Entry* e = find(key);
  return e != nullptr && !e->value.IsNull();
}

std::optional<YAML::Node> MapReader::take(std::string_view key) {
  Entry* e = find(key);
  if (e == nullptr) {
    return std::nullopt;
  }
  e->used = true;
  ctx_.record(pathOf(key), e->line);
  if (e->value.IsNull()) {
    return std::nullopt;
  }
  return e->value;
}

std::vector<std::string> MapReader::keys() const {
  std::vector<std::string> out;
  out.reserve(entries_.size());
  for (const Entry& e : entries_) {
    out.push_back(e.key);
  }
  return out;
}

void MapReader::stringEnum(std::string_view key, std::string& out,
                           std::initializer_list<std::string_view> names) {
  auto n = take(key);
  if (!n) {
    return;
  }
  const std::string p = pathOf(key);
  std::string text;
  if (!readString(ctx_, *n, p, text)) {
    return;
  }
  for (std::string_view name : names) {
    if (name == text) {
      out = std::move(text);
      return;
    }
  }
  reportUnsupported(p, *n, text, std::vector<std::string_view>(names));
}

void MapReader::reportUnsupported(const std::string& p, const YAML::Node& n, const std::string& text,
                                  const std::vector<std::string_view>& names) {
  std::string message = "Unsupported value: " + quote(text) + ": supported values: ";
  for (size_t i = 0; i < names.size(); ++i) {
    message += (i > 0 ? ", " : "") + quote(names[i]);
  }
  ctx_.error(p, ctx_.lineOf(n), std::move(message));
}

void MapReader::number(std::string_view key, std::optional<double>& out, std::optional<double> min,
                       std::optional<double> max) {
  auto n = take(key);
  if (!n) {
    return;
  }
  const std::string p = pathOf(key);
  double v = 0;
  if (!readNumber(ctx_, *n, p, v)) {
    return;
  }
  if (min && v < *min) {
    ctx_.error(p, ctx_.lineOf(*n),
               "Invalid value: " + formatNumber(v) + ": " + p +
                   " in body should be greater than or equal to " + formatNumber(*min));
    return;
  }
  if (max && v > *max) {
    ctx_.error(p, ctx_.lineOf(*n),
               "Invalid value: " + formatNumber(v) + ": " + p +
                   " in body should be less than or equal to " + formatNumber(*max));
    return;
  }
  out = v;
}

void MapReader::percent(std::string_view key, std::optional<double>& out) {
  object(key, out, [](MapReader& m, double& value) {
    std::optional<double> v;
    m.read("value", v);
    value = v.value_or(0.0);
  });
}

void MapReader::portSelector(std::string_view key, std::optional<uint32_t>& out) {
  object(key, out, [](MapReader& m, uint32_t& number) {
    std::optional<uint32_t> v;
    m.read("number", v);
    number = v.value_or(0);
  });
}

void MapReader::require(std::initializer_list<std::string_view> keys) {
  for (std::string_view key : keys) {
    if (!present(key)) {
      // A null value has a line of its own; an absent key is reported at its parent's key.
      const Entry* e = find(key);
      ctx_.error(pathOf(key), e != nullptr ? e->line : ctx_.source().lineOf(path_), "Required value");
    }
  }
}

void MapReader::atMostOne(std::initializer_list<std::string_view> keys) {
  std::vector<const Entry*> set;
  for (std::string_view key : keys) {
    if (present(key)) {
      set.push_back(find(key));
    }
  }
  if (set.size() < 2) {
    return;
  }
  std::string names;
  for (size_t i = 0; i < set.size(); ++i) {
    names += (i > 0 ? ", " : "") + quote(set[i]->key);
  }
  ctx_.error(path_, set[1]->line,
             "Invalid value: \"object\": " + (path_.empty() ? std::string("object") : path_) +
                 " in body must validate one and only one schema (oneOf): " + names +
                 " are mutually exclusive");
}

}  // namespace sluice::parse
