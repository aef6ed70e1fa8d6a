#include <sluice/proxy/route_table.h>

#include <algorithm>
#include <cctype>

namespace sluice::proxy {
namespace {

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace

std::optional<CompiledStringMatch> CompiledStringMatch::create(Kind kind, std::string value,
                                                               bool ignoreCase) {
  CompiledStringMatch m;
  m.kind_ = kind;
  m.ignoreCase_ = ignoreCase;
  if (kind == Kind::Regex) {
    re2::RE2::Options options;
    options.set_log_errors(false);
    auto regex = std::make_shared<re2::RE2>(value, options);
    if (!regex->ok()) {
      return std::nullopt;
    }
    m.regex_ = std::move(regex);
  }
  m.value_ = std::move(value);
  return m;
}

bool RetryPolicy::retriableGrpcStatus(unsigned code) const {
  return std::find(grpcStatuses.begin(), grpcStatuses.end(), code) != grpcStatuses.end();
}

bool RetryPolicy::retriableStatus(unsigned status) const {
  if (on5xx && status >= 500 && status <= 599) return true;
  if (gatewayError && (status == 502 || status == 503 || status == 504)) return true;
  if (retriable4xx && status == 409) return true;
  for (uint16_t s : statuses) {
    if (s == status) return true;
  }
  return false;
}

bool Cors::originAllowed(std::string_view origin) const {
  for (const auto& m : origins) {
    if (m.matches(origin)) return true;
  }
  return false;
}

bool CompiledStringMatch::matches(std::string_view input) const {
  switch (kind_) {
    case Kind::Any:
      return true;
    case Kind::Exact:
      return ignoreCase_ ? equalsIgnoreCase(input, value_) : input == value_;
    case Kind::Prefix:
      if (input.size() < value_.size()) {
        return false;
      }
      return ignoreCase_ ? equalsIgnoreCase(input.substr(0, value_.size()), value_)
                         : input.starts_with(value_);
    case Kind::Regex:
      return re2::RE2::FullMatch(re2::StringPiece(input.data(), input.size()), *regex_);
  }
  return false;
}

std::string Endpoint::key() const {
  if (ip.isV4()) {
    return ip.toString() + ":" + std::to_string(port);
  }
  return "[" + ip.toString() + "]:" + std::to_string(port);
}

uint64_t hashKey(std::string_view key) {
  uint64_t h = 14695981039346656037ULL;
  for (unsigned char c : key) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  // FNV-1a alone mixes the last bytes poorly (keys differing only in a port digit); the finalizer
  // spreads every input bit over the whole word.
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

size_t IpHash::operator()(const net::IpAddress& ip) const noexcept {
  const auto& b = ip.bytes();
  return hashKey(std::string_view(reinterpret_cast<const char*>(b.data()), ip.isV4() ? 4 : 16));
}

size_t ListenerKeyHash::operator()(const ListenerKey& k) const noexcept {
  return IpHash{}(k.vip) * 31 + k.port;
}

const Listener* RouteTable::findListener(const net::IpAddress& vip, uint16_t port) const {
  auto it = listenerIndex.find(ListenerKey{vip, port});
  return it == listenerIndex.end() ? nullptr : &listeners[it->second];
}

const Cluster* RouteTable::findCluster(std::string_view name) const {
  auto it = clusterIndex.find(std::string(name));
  return it == clusterIndex.end() ? nullptr : &clusters[it->second];
}

uint32_t RouteTable::classOf(const net::IpAddress& client) const {
  auto it = classByClientIp.find(client);
  return it == classByClientIp.end() ? 0 : it->second;
}

}  // namespace sluice::proxy
