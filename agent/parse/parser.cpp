#include <sluice/parse/parser.h>

#include "files.h"
#include "kinds.h"
#include "reader.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <type_traits>
#include <variant>

namespace sluice::parse {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kIstioGroup = "networking.istio.io/";
constexpr std::array<std::string_view, 3> kIstioVersions = {"v1", "v1beta1", "v1alpha3"};
// yaml-cpp recurses once per nesting level while parsing; its own guard (2000 levels) is too deep
// for a sanitizer build's stack, and no Kubernetes object nests anywhere near this.
constexpr int kMaxFlowDepth = 256;

struct Chunk {
  std::string_view text;
  int firstLine = 0;  // 0-based line of the chunk's first line in the stream
};

// A line that starts a document: "---" at column 0, alone or followed by a blank.
bool isDocumentStart(std::string_view line) {
  if (!line.empty() && line.back() == '\n') {
    line.remove_suffix(1);
  }
  return line.substr(0, 3) == "---" && (line.size() == 3 || line[3] == ' ' || line[3] == '\t' ||
                                        line[3] == '\r');
}

// Documents are parsed one by one so a malformed one costs only itself: yaml-cpp's LoadAll stops
// at the first error and returns nothing. Inside block scalars content is indented, so "---" at
// column 0 always separates documents.
std::vector<Chunk> splitDocuments(std::string_view text) {
  std::vector<Chunk> chunks;
  size_t start = 0;
  int startLine = 0;
  size_t pos = 0;
  int line = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    const size_t next = end == std::string_view::npos ? text.size() : end + 1;
    if (pos > start && isDocumentStart(text.substr(pos, next - pos))) {
      chunks.push_back({text.substr(start, pos - start), startLine});
      start = pos;
      startLine = line;
    }
    pos = next;
    ++line;
  }
  chunks.push_back({text.substr(start), startLine});
  return chunks;
}

// Deepest [ / { nesting outside quotes and comments; an upper bound good enough to refuse input
// that would exhaust the stack inside yaml-cpp (block nesting needs one column per level and is
// capped by yaml-cpp's own guard).
int flowDepth(std::string_view text) {
  int depth = 0;
  int deepest = 0;
  char quote = 0;
  bool comment = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\n') {
      comment = false;
      continue;
    }
    if (comment) {
      continue;
    }
    if (quote != 0) {
      if (c == quote) {
        quote = 0;
      } else if (c == '\\' && quote == '"') {
        ++i;
      }
      continue;
    }
    if (c == '#' && (i == 0 || text[i - 1] == ' ' || text[i - 1] == '\t' || text[i - 1] == '\n')) {
      comment = true;
    } else if (c == '"' || c == '\'') {
      // Only a quote that starts a scalar opens a string ("it's" in a plain scalar does not).
      if (i == 0 || std::strchr(" \t\n[{,:-", text[i - 1]) != nullptr) {
        quote = c;
      }
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

bool isIstioVersion(std::string_view apiVersion) {
  if (apiVersion.substr(0, kIstioGroup.size()) != kIstioGroup) {
    return false;
  }
  auto version = apiVersion.substr(kIstioGroup.size());
  return std::find(kIstioVersions.begin(), kIstioVersions.end(), version) != kIstioVersions.end();
}

class StreamParser {
 public:
  StreamParser(std::string file, ParseOutput& out) : file_(std::move(file)), out_(out) {}

  void parse(std::string_view text) {
    for (const Chunk& chunk : splitDocuments(text)) {
      parseDocument(chunk);
    }
  }

 private:
  void parseDocument(const Chunk& chunk) {
    if (flowDepth(chunk.text) > kMaxFlowDepth) {
      Diagnostic d;
      d.file = file_;
      d.line = chunk.firstLine + 1;
      d.message = "malformed YAML: nesting deeper than " + std::to_string(kMaxFlowDepth) + " levels";
      out_.diagnostics.add(std::move(d));
      return;
    }
    YAML::Node root;
    try {
      root = YAML::Load(std::string(chunk.text));
    } catch (const YAML::Exception& e) {
      Diagnostic d;
      d.file = file_;
      d.line = e.mark.line >= 0 ? e.mark.line + 1 + chunk.firstLine : chunk.firstLine + 1;
      d.message = "malformed YAML: " + e.msg +
                  (e.mark.column >= 0 ? " (column " + std::to_string(e.mark.column + 1) + ")" : "");
      out_.diagnostics.add(std::move(d));
      return;
    }
    if (root.IsNull()) {
      return;  // empty document, comments only, or a trailing "---"
    }
    parseObject(root, chunk.firstLine, /*insideList=*/false);
  }

  // One Kubernetes object (or a List of them).
  void parseObject(const YAML::Node& node, int lineOffset, bool insideList) {
    Context ctx(file_, lineOffset);
    ctx.source().line = ctx.lineOf(node);
    readObject(ctx, node, lineOffset, insideList);
    ctx.flushTo(out_.diagnostics);
  }

  using Object = std::variant<std::monostate, model::Service, model::Pod, model::EndpointSlice,
                              model::VirtualService, model::DestinationRule>;

  void readObject(Context& ctx, const YAML::Node& node, int lineOffset, bool insideList) {
    if (!node.IsMap()) {
      ctx.error("", ctx.lineOf(node),
                std::string("Object 'Kind' is missing: the document is of type ") +
                    jsonTypeName(jsonTypeOf(node)) + ", not an object");
      return;
    }
    Object object;
    {
      MapReader top(ctx, node, "");
      object = readTop(ctx, top, lineOffset, insideList);
    }  // unknown top-level fields are reported here, before the object is kept
    if (ctx.hasErrors()) {
      return;
    }
    std::visit(
        [&](auto& o) {
          using T = std::decay_t<decltype(o)>;
          if constexpr (!std::is_same_v<T, std::monostate>) {
            o.source = ctx.source();
            collection<T>().push_back(std::move(o));
          }
        },
        object);
  }

  template <typename T>
  std::vector<T>& collection() {
    model::Snapshot& s = out_.snapshot;
    if constexpr (std::is_same_v<T, model::Service>) {
      return s.services;
    } else if constexpr (std::is_same_v<T, model::Pod>) {
      return s.pods;
    } else if constexpr (std::is_same_v<T, model::EndpointSlice>) {
      return s.endpointSlices;
    } else if constexpr (std::is_same_v<T, model::VirtualService>) {
      return s.virtualServices;
    } else {
      return s.destinationRules;
    }
  }

  Object readTop(Context& ctx, MapReader& top, int lineOffset, bool insideList) {
    std::string apiVersion;
    std::string kind;
    top.read("apiVersion", apiVersion);
    top.read("kind", kind);
    ctx.setKind(kind);
    if (apiVersion.empty() || kind.empty()) {
      if (apiVersion.empty()) {
        ctx.error("apiVersion", 0, "apiVersion not set");
      }
      if (kind.empty()) {
        ctx.error("kind", 0, "kind not set");
      }
      top.allowUnknown();
      return {};
    }
    // "List" and typed lists such as "ServiceList" (what `kubectl get -o yaml` prints).
    if (kind == "List" || (kind.ends_with("List") && apiVersionOfList(apiVersion))) {
      readList(ctx, top, lineOffset, insideList);
      return {};
    }
    bool known = true;
    bool versionOk = false;
    if (kind == "Service" || kind == "Pod") {
      versionOk = apiVersion == "v1";
    } else if (kind == "EndpointSlice") {
      versionOk = apiVersion == "discovery.k8s.io/v1";
    } else if (kind == "VirtualService" || kind == "DestinationRule") {
      versionOk = isIstioVersion(apiVersion);
    } else {
      known = false;
    }
    if (!known) {
      if (auto md = top.take("metadata")) {
        setIdentityQuietly(ctx, *md);
      }
      ctx.warning("", 0, "ignored: kind " + kind + " (" + apiVersion + ") is not used by Sluice");
      top.allowUnknown();
      return {};
    }
    if (!versionOk) {
      ctx.error("apiVersion", ctx.source().lineOf("apiVersion"),
                "no matches for kind \"" + kind + "\" in version \"" + apiVersion + "\"");
      top.allowUnknown();
      return {};
    }
    model::ObjectMeta meta;
    readMetadata(top, meta);
    ctx.setIdentity(meta.ns, meta.name);
    if (kind == "Service") {
      model::Service o;
      o.meta = std::move(meta);
      readService(top, o);
      return o;
    }
    if (kind == "Pod") {
      model::Pod o;
      o.meta = std::move(meta);
      readPod(top, o);
      return o;
    }
    if (kind == "EndpointSlice") {
      model::EndpointSlice o;
      o.meta = std::move(meta);
      readEndpointSlice(top, o);
      return o;
    }
    if (kind == "VirtualService") {
      model::VirtualService o;
      o.apiVersion = apiVersion;
      o.meta = std::move(meta);
      readVirtualService(top, o);
      return o;
    }
    model::DestinationRule o;
    o.apiVersion = apiVersion;
    o.meta = std::move(meta);
    readDestinationRule(top, o);
    return o;
  }

  // Names an ignored object in its warning without type-checking a schema Sluice does not know.
  static void setIdentityQuietly(Context& ctx, const YAML::Node& metadata) {
    if (!metadata.IsMap()) {
      return;
    }
    std::string ns;
    std::string name;
    for (auto it = metadata.begin(); it != metadata.end(); ++it) {
      const YAML::Node key = it->first;
      const YAML::Node value = it->second;
      if (key.IsScalar() && value.IsScalar()) {
        if (key.Scalar() == "name") {
          name = value.Scalar();
        } else if (key.Scalar() == "namespace") {
          ns = value.Scalar();
        }
      }
    }
    ctx.setIdentity(ns, name);
  }

  static bool apiVersionOfList(std::string_view apiVersion) {
    return apiVersion == "v1" || apiVersion == "discovery.k8s.io/v1" || isIstioVersion(apiVersion);
  }

  void readList(Context& ctx, MapReader& top, int lineOffset, bool insideList) {
    top.skip("metadata");
    if (insideList) {
      ctx.error("", 0, "a List cannot contain another List");
      top.allowUnknown();
      return;
    }
    auto items = top.take("items");
    if (!items) {
      return;
    }
    if (!expectArray(ctx, *items, "items")) {
      return;
    }
    for (const YAML::Node& item : *items) {
      parseObject(item, lineOffset, /*insideList=*/true);
    }
  }

  std::string file_;
  ParseOutput& out_;
};

}  // namespace

ParseOutput parseYaml(std::string_view text, const std::string& file) {
  ParseOutput out;
  StreamParser parser(file, out);
  try {
    parser.parse(text);
  } catch (const std::exception& e) {
    // yaml-cpp throws from node accessors on inputs the readers did not anticipate; nothing may
    // escape the parse stage.
    Diagnostic d;
    d.file = file;
    d.message = std::string("internal error while reading YAML: ") + e.what();
    out.diagnostics.add(std::move(d));
  }
  return out;
}

namespace detail {

namespace {

Diagnostic cannotRead(const std::string& path, const std::string& why) {
  Diagnostic d;
  d.file = path;
  d.message = "cannot read: " + why;
  return d;
}

}  // namespace

std::vector<std::string> listConfigFiles(const std::vector<std::string>& paths, Diagnostics& failures) {
  std::vector<std::string> out;
  for (const std::string& path : paths) {
    std::error_code ec;
    const auto status = fs::status(path, ec);
    if (ec) {
      failures.add(cannotRead(path, ec.message()));
      continue;
    }
    if (!fs::is_directory(status)) {
      out.push_back(path);
      continue;
    }
    std::vector<std::string> files;
    for (auto it = fs::recursive_directory_iterator(path, ec); !ec && it != fs::end(it);
         it.increment(ec)) {
      const auto ext = it->path().extension();
      if ((ext == ".yaml" || ext == ".yml" || ext == ".json") && it->is_regular_file(ec)) {
        files.push_back(it->path().string());
      }
    }
    if (ec) {
      Diagnostic d;
      d.file = path;
      d.message = "cannot list directory: " + ec.message();
      failures.add(std::move(d));
    }
    std::sort(files.begin(), files.end());
    out.insert(out.end(), std::make_move_iterator(files.begin()), std::make_move_iterator(files.end()));
  }
  return out;
}

std::optional<std::string> readConfigFile(const std::string& path, Diagnostics& failures) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    failures.add(cannotRead(path, std::strerror(errno)));
    return std::nullopt;
  }
  std::ostringstream text;
  text << in.rdbuf();
  return std::move(text).str();
}

}  // namespace detail

ParseOutput loadPaths(const std::vector<std::string>& paths) {
  ParseOutput out;
  for (const std::string& file : detail::listConfigFiles(paths, out.diagnostics)) {
    if (auto text = detail::readConfigFile(file, out.diagnostics)) {
      ParseOutput one = parseYaml(*text, file);
      out.snapshot.append(std::move(one.snapshot));
      out.diagnostics.append(one.diagnostics);
    }
  }
  return out;
}

}  // namespace sluice::parse
