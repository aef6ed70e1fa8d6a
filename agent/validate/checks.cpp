#include "checks.h"

#include <re2/re2.h>
#include <sluice/net/address.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <set>

namespace sluice::validate::detail {

void Reporter::add(Severity severity, const std::string& path, std::string message) {
  out_.add(model::diagnosticAt(severity, kind_, meta_, source_, path, std::move(message)));
}

void Reporter::error(const std::string& path, std::string message) {
  add(Severity::Error, path, std::move(message));
}

void Reporter::warning(const std::string& path, std::string message) {
  add(Severity::Warning, path, std::move(message));
}

void Reporter::check(const std::string& path, const Problem& problem) {
  if (problem) {
    error(path, *problem);
  }
}

bool checkMetadata(Reporter& r, const model::ObjectMeta& meta) {
  const auto& a = meta.annotations;
  if (a.count("istio.io/dry-run") > 0) {
    r.error("metadata.annotations.istio.io/dry-run",
            meta.ns + "/" + meta.name +
                " has unsupported annotation istio.io/dry-run, please "
                "remove the annotation");
    return false;
  }
  for (const char* internal : {"internal.istio.io/webhook-always-reject",
                               "internal.istio.io/parent-namespace", "internal.istio.io/parents"}) {
    if (a.count(internal) > 0) {
      const bool reject = std::string_view(internal) == "internal.istio.io/webhook-always-reject";
      r.error(field("metadata.annotations", internal),
              quote(internal) + (reject ? " annotation found, rejecting"
                                        : " annotation found, this may not be set by users"));
      return false;
    }
  }
  return true;
}

std::string namespaceOrDefault(const model::ObjectMeta& meta) {
  return meta.ns.empty() ? std::string("default") : meta.ns;
}

std::string quote(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out += "\\x";
          out += kHex[c >> 4];
          out += kHex[c & 0xf];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
  return out;
}

std::string field(const std::string& parent, std::string_view child) {
  std::string out = parent;
  if (!out.empty()) {
    out += '.';
  }
  out += child;
  return out;
}

std::string index(const std::string& parent, size_t i) {
  return parent + "[" + std::to_string(i) + "]";
}

namespace {

bool isAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// [a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?
bool matchesDns1123Label(std::string_view s) {
  if (s.empty() || !isAlnum(s.front()) || !isAlnum(s.back())) {
    return false;
  }
  return std::all_of(s.begin(), s.end(), [](char c) { return isAlnum(c) || c == '-'; });
}

bool fullMatch(const RE2& re, std::string_view s) {
  return RE2::FullMatch(re2::StringPiece(s.data(), s.size()), re);
}

std::string format(const char* fmt, double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), fmt, v);
  return buf;
}

}  // namespace

bool isDns1123Label(std::string_view s) {
  return s.size() <= 63 && matchesDns1123Label(s);
}

// (\*|(\*|\*-)?<dns1123 label>)
bool isWildcardDns1123Label(std::string_view s) {
  if (s.size() > 63) {
    return false;
  }
  if (s == "*") {
    return true;
  }
  if (s.starts_with("*-")) {
    s.remove_prefix(2);
  } else if (s.starts_with("*")) {
    s.remove_prefix(1);
  }
  return matchesDns1123Label(s);
}

bool isIpAddress(std::string_view s) {
  return net::IpAddress::parse(s).has_value();
}

namespace {

Problem checkDns1123Preconditions(std::string_view name) {
  if (name.size() > 255) {
    return "domain name " + quote(name) + " too long (max 255)";
  }
  if (name.empty()) {
    return std::string("empty domain name not allowed");
  }
  return std::nullopt;
}

// Go's strconv.Atoi: an optional sign, decimal digits, and the value must fit in 64 bits.
std::optional<int64_t> goAtoi(std::string_view s) {
  bool negative = false;
  if (!s.empty() && (s.front() == '+' || s.front() == '-')) {
    negative = s.front() == '-';
    s.remove_prefix(1);
  }
  if (s.empty() || !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  uint64_t magnitude = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), magnitude);
  const uint64_t limit = negative ? uint64_t{1} << 63 : (uint64_t{1} << 63) - 1;
  if (ec != std::errc() || end != s.data() + s.size() || magnitude > limit) {
    return std::nullopt;
  }
  return negative ? static_cast<int64_t>(0 - magnitude) : static_cast<int64_t>(magnitude);
}

Problem checkDns1123Labels(std::string_view domain) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    size_t dot = domain.find('.', start);
    parts.push_back(domain.substr(start, dot == std::string_view::npos ? dot : dot - start));
    if (dot == std::string_view::npos) {
      break;
    }
    start = dot + 1;
  }
  if (goAtoi(parts.back())) {
    return "domain name " + quote(domain) + " invalid (top level domain " + quote(parts.back()) +
           " cannot be all-numeric)";
  }
  for (size_t i = 0; i < parts.size(); ++i) {
    // A trailing dot (`istio.io.`) is an unambiguous name, not an empty label.
    if (i == parts.size() - 1 && parts[i].empty()) {
      return std::nullopt;
    }
    if (!isDns1123Label(parts[i])) {
      return "domain name " + quote(domain) + " invalid (label " + quote(parts[i]) + " invalid)";
    }
  }
  return std::nullopt;
}

}  // namespace

Problem checkFqdn(std::string_view fqdn) {
  if (auto p = checkDns1123Preconditions(fqdn)) {
    return p;
  }
  return checkDns1123Labels(fqdn);
}

Problem checkWildcardDomain(std::string_view domain) {
  if (auto p = checkDns1123Preconditions(domain)) {
    return p;
  }
  size_t dot = domain.find('.');
  std::string_view first = domain.substr(0, dot);
  if (!isWildcardDns1123Label(first)) {
    return "domain name " + quote(domain) + " invalid (label " + quote(first) + " invalid)";
  }
  if (dot != std::string_view::npos) {
    return checkDns1123Labels(domain.substr(dot + 1));
  }
  return std::nullopt;
}

Problem checkWildcardDomainForGateway(bool sni, std::string_view domain) {
  if (auto p = checkDns1123Preconditions(domain)) {
    return p;
  }
  constexpr std::string_view kFormat = "outbound_.<PORT>_._.<HOSTNAME>";
  if (sni && domain.starts_with("outbound_")) {
    // outbound_.80_._.e2e.foobar.mesh split on '_': [outbound, .80, ., .e2e.foobar.mesh]
    std::vector<std::string_view> parts;
    size_t start = 0;
    while (true) {
      size_t us = domain.find('_', start);
      parts.push_back(domain.substr(start, us == std::string_view::npos ? us : us - start));
      if (us == std::string_view::npos) {
        break;
      }
      start = us + 1;
    }
    if (parts.size() < 4) {
      return "domain name " + std::string(domain) + " invalid, should follow '" + std::string(kFormat) +
             "' format";
    }
    auto trimDots = [](std::string_view s) {
      while (!s.empty() && s.front() == '.')
        s.remove_prefix(1);
      while (!s.empty() && s.back() == '.')
        s.remove_suffix(1);
      return s;
    };
    std::string_view port = trimDots(parts[1]);
    std::string_view host = trimDots(parts[3]);
    if (std::none_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return "domain name " + quote(domain) + " invalid (label " + quote(port) + " invalid). should follow " +
             std::string(kFormat) + " format";
    }
    if (std::none_of(host.begin(), host.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); })) {
      return "domain name " + quote(domain) + " invalid (label " + quote(host) + " invalid). should follow " +
             std::string(kFormat) + " format";
    }
    return std::nullopt;
  }
  return checkWildcardDomain(domain);
}

Problem checkIpAddress(std::string_view addr) {
  if (!isIpAddress(addr)) {
    return std::string(addr) + " is not a valid IP";
  }
  return std::nullopt;
}

Problem checkIpSubnet(std::string_view subnet) {
  if (std::count(subnet.begin(), subnet.end(), '/') == 1) {
    if (!net::Cidr::parse(subnet)) {
      return std::string(subnet) + " is not a valid CIDR block";
    }
    return std::nullopt;
  }
  return checkIpAddress(subnet);
}

Problem checkPort(int64_t port) {
  if (port >= 1 && port <= 65535) {
    return std::nullopt;
  }
  return "port number " + std::to_string(port) + " must be in the range 1..65535";
}

Problem checkDuration(model::Duration d) {
  using std::chrono::milliseconds;
  if (d < milliseconds(1)) {
    return std::string("duration must be greater than 1ms");
  }
  if (d % milliseconds(1) != model::Duration::zero()) {
    return std::string("only durations to ms precision are supported");
  }
  return std::nullopt;
}

Problem checkPercentage(double value) {
  if (value < 0.0 || value > 100.0 || (value > 0.0 && value < 0.0001)) {
    return "percentage " + format("%g", value) + " is neither 0.0, nor in range [0.0001, 100.0]";
  }
  return std::nullopt;
}

Problem checkIntPercent(int64_t value) {
  if (value < 0 || value > 100) {
    return "percentage " + std::to_string(value) + " is not in range 0..100";
  }
  return std::nullopt;
}

Problem checkHttpStatus(int64_t status) {
  if (status < 200 || status > 600) {
    return "HTTP status " + std::to_string(status) + " is not in range 200-599";
  }
  return std::nullopt;
}

Problem checkGrpcStatus(std::string_view status) {
  static const std::set<std::string, std::less<>> kCodes = {
      "OK",        "CANCELLED",      "UNKNOWN",           "INVALID_ARGUMENT",   "DEADLINE_EXCEEDED",
      "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
      "ABORTED",   "OUT_OF_RANGE",   "UNIMPLEMENTED",     "INTERNAL",           "UNAVAILABLE",
      "DATA_LOSS", "UNAUTHENTICATED"};
  if (kCodes.find(status) == kCodes.end()) {
    return "gRPC status " + quote(status) +
           " is not supported. See https://github.com/grpc/grpc/blob/master/doc/statuscodes.md for a list "
           "of supported codes, for example 'NOT_FOUND'";
  }
  return std::nullopt;
}

Problem checkSubsetName(std::string_view name) {
  if (name.empty()) {
    return std::string("subset name cannot be empty");
  }
  if (!isDns1123Label(name)) {
    return "subset name is invalid: " + std::string(name);
  }
  return std::nullopt;
}

std::vector<KeyedProblem> checkLabels(const model::Labels& labels) {
  // Kubernetes label keys: an optional DNS prefix and '/', then a qualified name.
  static const RE2 kKey(
      "^((?:[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?)(?:\\.[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?)*/)?"
      "((?:[A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$");
  static const RE2 kValue("^((?:[A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$");
  std::vector<KeyedProblem> out;
  for (const auto& [k, v] : labels) {
    std::string prefix;
    std::string name;
    if (!RE2::FullMatch(k, kKey, &prefix, &name)) {
      out.push_back({k, "invalid tag key: " + quote(k)});
    } else if (!prefix.empty() && prefix.size() - 1 > 253) {
      out.push_back({k, "invalid tag key: " + quote(k) + " (DNS prefix is too long)"});
    } else if (name.size() > 63) {
      out.push_back({k, "invalid tag key: " + quote(k) + " (name is too long)"});
    }
    if (!fullMatch(kValue, v)) {
      out.push_back({k, "invalid tag value: " + quote(v)});
    }
  }
  return out;
}

Problem checkRegex(std::string_view re, std::string_view where) {
  static constexpr const char* kRe2Hint =
      "; Istio uses RE2 style regex-based match (https://github.com/google/re2/wiki/Syntax)";
  // Envoy bounds the RE2 program size; Istio approximates it with the pattern length.
  if (re.size() > 1024) {
    return quote(where) + ": regex is too large, max length allowed is 1024";
  }
  // Bridge the two places where Go's syntax (what Istio checks) and this RE2 differ: Go has no \C (any
  // byte), and Go 1.22+ takes (?<name>...) as a named group, which this RE2 only knows as (?P<name>...).
  std::string pattern;
  pattern.reserve(re.size());
  for (size_t i = 0; i < re.size(); ++i) {
    if (re[i] == '\\' && i + 1 < re.size()) {
      if (re[i + 1] == 'C') {
        return quote(where) + ": error parsing regexp: invalid escape sequence: `\\C`" + kRe2Hint;
      }
      pattern += re.substr(i, 2);
      ++i;
      continue;
    }
    if (re.substr(i, 3) == "(?<" && i + 3 < re.size() && re[i + 3] != '=' && re[i + 3] != '!') {
      pattern += "(?P<";
      i += 2;
      continue;
    }
    pattern += re[i];
  }
  RE2::Options options;
  options.set_log_errors(false);
  RE2 compiled(pattern, options);
  if (!compiled.ok()) {
    return quote(where) + ": error parsing regexp: " + compiled.error() + kRe2Hint;
  }
  return std::nullopt;
}

Problem checkStringMatchRegex(const model::StringMatch& m, std::string_view where) {
  if (m.kind != model::StringMatch::Kind::Regex) {
    return std::nullopt;
  }
  if (m.value.empty()) {
    return quote(where) + ": regex string match should not be empty";
  }
  return checkRegex(m.value, where);
}

Problem checkStringMatch(const model::StringMatch& m, std::string_view where) {
  if (m.kind == model::StringMatch::Kind::Prefix && m.value.empty()) {
    return quote(where) + ": prefix string match should not be empty";
  }
  return checkStringMatchRegex(m, where);
}

namespace {

// RFC 7230 tchar.
bool isTokenChar(char c) {
  static constexpr std::string_view kExtra = "!#$%&'*+-.^_`|~";
  return isAlnum(c) || kExtra.find(c) != std::string_view::npos;
}

bool isToken(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), isTokenChar);
}

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

bool isInternalHeader(std::string_view name) {
  return name.starts_with(":") || equalsIgnoreCase(name, "host");
}

}  // namespace

bool isAuthorityHeader(std::string_view name) {
  return equalsIgnoreCase(name, ":authority") || equalsIgnoreCase(name, "host");
}

bool isJwtClaimRoute(std::string_view headerName) {
  constexpr std::string_view kClaim = "@request.auth.claims";
  if (headerName.size() < kClaim.size() || !equalsIgnoreCase(headerName.substr(0, kClaim.size()), kClaim)) {
    return false;
  }
  std::string_view rest = headerName.substr(kClaim.size());
  if (rest.starts_with(".") && rest.size() > 1) {
    return true;
  }
  return rest.starts_with("[") && rest.ends_with("]") && rest.size() > 2;
}

Problem checkHeaderNameOrJwtClaim(std::string_view name) {
  if (name.empty()) {
    return std::string("header name cannot be empty");
  }
  if (isJwtClaimRoute(name)) {
    return std::nullopt;
  }
  static constexpr std::array<std::string_view, 5> kPseudo = {":method", ":scheme", ":authority", ":path",
                                                              ":status"};
  if (std::find(kPseudo.begin(), kPseudo.end(), name) != kPseudo.end()) {
    return std::nullopt;
  }
  if (!isToken(name)) {
    return "header name " + std::string(name) + " is not a valid header name";
  }
  return std::nullopt;
}

Problem checkHeaderWithAuthorityOperationName(std::string_view name) {
  if (name.empty()) {
    return std::string("header name cannot be empty");
  }
  if (isInternalHeader(name) && !isAuthorityHeader(name)) {
    return "invalid header " + quote(name) + ": header cannot have \":\" prefix";
  }
  return std::nullopt;
}

Problem checkHeaderOperationName(std::string_view name) {
  if (name.empty()) {
    return std::string("header name cannot be empty");
  }
  if (equalsIgnoreCase(name, "host")) {
    return "invalid header " + quote(name) + ": cannot set Host header";
  }
  if (isInternalHeader(name)) {
    return "invalid header " + quote(name) + ": header cannot have \":\" prefix";
  }
  return std::nullopt;
}

Problem checkCorsHeaderName(std::string_view name) {
  if (name.empty()) {
    return std::string("header name cannot be empty");
  }
  if (name == "*") {
    return std::nullopt;
  }
  if (!isToken(name)) {
    return "header name " + std::string(name) + " is not a valid header name";
  }
  return std::nullopt;
}

namespace {

// A port of Envoy's header_parser.cc state machine, as Istio's validateHeaderValue does it: checks
// %VAR% / %VAR(args)% syntax without judging whether VAR exists.
Problem checkHeaderFormatter(std::string_view v) {
  enum class State {
    Literal,
    VariableName,
    ExpectArray,
    ExpectString,
    String,
    ExpectDelimOrEnd,
    ExpectArgsEnd,
    ExpectVariableEnd
  };
  State state = State::Literal;
  for (size_t pos = 0; pos < v.size(); ++pos) {
    const char ch = v[pos];
    const bool hasNext = pos + 1 < v.size();
    switch (state) {
      case State::Literal:
        if (ch != '%') {
          break;
        }
        if (!hasNext) {
          return std::string("invalid header configuration. Un-escaped %");
        }
        if (v[pos + 1] == '%') {
          ++pos;
          break;
        }
        state = State::VariableName;
        break;
      case State::VariableName:
        if (ch == '%') {
          state = State::Literal;
        } else if (ch == '(') {
          state = State::ExpectArray;
        }
        break;
      case State::ExpectArray:
        if (ch == '[') {
          state = State::ExpectString;
        } else if (ch != ' ') {
          state = State::String;
        }
        break;
      case State::ExpectDelimOrEnd:
        if (ch == ',') {
          state = State::ExpectString;
        } else if (ch == ']') {
          state = State::ExpectArgsEnd;
        } else if (ch != ' ') {
          return std::string("invalid header configuration. Expecting ',', ']', or whitespace");
        }
        break;
      case State::ExpectString:
        if (ch == '"') {
          state = State::String;
        } else if (ch != ' ') {
          return std::string("invalid header configuration. Expecting '\"'");
        }
        break;
      case State::String:
        if (ch == '\\') {
          if (!hasNext) {
            return std::string("invalid header configuration. Un-terminated backslash in JSON string");
          }
          ++pos;
        } else if (ch == ')') {
          state = State::ExpectVariableEnd;
        } else if (ch == '"') {
          state = State::ExpectDelimOrEnd;
        }
        break;
      case State::ExpectArgsEnd:
        if (ch == ')') {
          state = State::ExpectVariableEnd;
        } else if (ch != ' ') {
          return std::string("invalid header configuration. Expecting ')' or whitespace");
        }
        break;
      case State::ExpectVariableEnd:
        if (ch == '%') {
          state = State::Literal;
        } else if (ch != ' ') {
          return std::string("invalid header configuration. Expecting '%' or whitespace after");
        }
        break;
    }
  }
  if (state != State::Literal) {
    return "invalid header configuration. Un-terminated variable expression '" + std::string(v) + "'";
  }
  return std::nullopt;
}

}  // namespace

Problem checkHeaderValue(std::string_view value) {
  // Control characters other than horizontal tab are never valid in a header value.
  for (unsigned char c : value) {
    if ((c <= 0x08) || (c >= 0x0a && c <= 0x1f) || c == 0x7f) {
      return "header value configuration " + std::string(value) + " is invalid";
    }
  }
  if (auto p = checkHeaderFormatter(value)) {
    return "header value configuration: " + *p;
  }
  return std::nullopt;
}

bool isKnownRetryOn(std::string_view policy) {
  static const std::set<std::string, std::less<>> kPolicies = {"5xx",
                                                               "gateway-error",
                                                               "reset",
                                                               "reset-before-request",
                                                               "connect-failure",
                                                               "retriable-4xx",
                                                               "refused-stream",
                                                               "retriable-status-codes",
                                                               "retriable-headers",
                                                               "envoy-ratelimited",
                                                               "http3-post-connect-failure",
                                                               "cancelled",
                                                               "deadline-exceeded",
                                                               "internal",
                                                               "resource-exhausted",
                                                               "unavailable"};
  if (kPolicies.count(policy) > 0) {
    return true;
  }
  // Go's net/http.StatusText knows exactly these codes; Istio accepts any of them as a retryOn entry.
  static const std::set<int64_t> kStatus = {
      100, 101, 102, 103, 200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304, 305, 307,
      308, 400, 401, 402, 403, 404, 405, 406, 407, 408, 409, 410, 411, 412, 413, 414, 415, 416, 417, 418, 421,
      422, 423, 424, 425, 426, 428, 429, 431, 451, 500, 501, 502, 503, 504, 505, 506, 507, 508, 510, 511};
  const auto code = goAtoi(policy);
  if (!code) {
    return false;
  }
  return kStatus.count(*code) > 0;
}

bool isCorsMethod(std::string_view method) {
  static const std::set<std::string, std::less<>> kMethods = {
      "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "CONNECT", "OPTIONS", "TRACE", "*"};
  return kMethods.count(method) > 0;
}

bool hostMatches(std::string_view a, std::string_view b) {
  const bool aw = !a.empty() && a.front() == '*';
  const bool bw = !b.empty() && b.front() == '*';
  if (aw) {
    if (bw) {
      return a.size() < b.size() ? b.substr(1).ends_with(a.substr(1)) : a.substr(1).ends_with(b.substr(1));
    }
    return b.ends_with(a.substr(1));
  }
  if (bw) {
    return a.ends_with(b.substr(1));
  }
  return a == b;
}

bool hostSubsetOf(std::string_view a, std::string_view b) {
  const bool aw = !a.empty() && a.front() == '*';
  const bool bw = !b.empty() && b.front() == '*';
  if (aw) {
    if (bw) {
      return a.size() >= b.size() && a.substr(1).ends_with(b.substr(1));
    }
    return false;
  }
  if (bw) {
    return a.ends_with(b.substr(1));
  }
  return a == b;
}

std::vector<IndexedProblem> checkExportTo(std::string_view ns, const std::vector<std::string>& exportTo,
                                          bool destinationRuleWithSelector) {
  std::vector<IndexedProblem> errs;
  if (exportTo.empty()) {
    return errs;
  }
  std::set<std::string, std::less<>> seen;
  for (size_t i = 0; i < exportTo.size(); ++i) {
    const std::string& e = exportTo[i];
    // "." is the own namespace, so ". + <own ns>" is a duplicate too.
    std::string key = e == "." ? std::string(ns) : e;
    if (seen.count(key) > 0) {
      if (key != e) {
        errs.push_back({i, "duplicate entries in exportTo: . and current namespace " + std::string(ns)});
      } else {
        errs.push_back({i, "duplicate entries in exportTo for entry " + e});
      }
      continue;
    }
    if (key == "." || key == "*") {
      seen.insert(key);
    } else if (key == "~") {
      errs.push_back({i, "exportTo ~ (none) is not allowed for Istio configuration objects"});
    } else if (!isDns1123Label(key)) {
      errs.push_back({i, "only .,*, or a valid DNS 1123 label is allowed as exportTo entry"});
    } else {
      seen.insert(key);
    }
  }
  if (destinationRuleWithSelector && !seen.empty()) {
    if (seen.count(ns) > 0) {
      if (seen.size() > 1) {
        errs.push_back({std::nullopt,
                        "destination rule with workload selector cannot have multiple entries in exportTo"});
      }
    } else {
      errs.push_back(
          {std::nullopt,
           "destination rule with workload selector cannot have exportTo beyond current namespace"});
    }
  }
  if (seen.count("*") > 0 && exportTo.size() > 1) {
    errs.push_back(
        {std::nullopt, "cannot have both public (*) and non-public exportTo values for a resource"});
  }
  return errs;
}

void reportLabels(Reporter& r, const std::string& path, const model::Labels& labels) {
  for (const auto& p : checkLabels(labels)) {
    r.error(field(path, p.key), p.message);
  }
}

void reportExportTo(Reporter& r, const std::string& path, std::string_view ns,
                    const std::vector<std::string>& exportTo, bool destinationRuleWithSelector) {
  for (const auto& p : checkExportTo(ns, exportTo, destinationRuleWithSelector)) {
    r.error(p.index ? index(path, *p.index) : path, p.message);
  }
}

bool isPrime(uint64_t x) {
  if (x != 0 && x < 4) {
    return true;
  }
  if ((x & 1) == 0) {
    return false;
  }
  const auto limit = static_cast<uint64_t>(std::sqrt(static_cast<double>(x)));
  for (uint64_t factor = 3; factor <= limit; factor += 2) {
    if (x % factor == 0) {
      return false;
    }
  }
  return true;
}

}  // namespace sluice::validate::detail
