// Frontend::key() and toText(): the plan's stable text form (golden tests, `sluicectl compile`).
#include <sluice/compile/plan.h>

#include <sstream>

namespace sluice::plan {
namespace {

const char* protocolName(Protocol p) {
  return p == Protocol::Udp ? "udp" : "tcp";
}

}  // namespace

const char* lbPolicyName(LbPolicy lb) {
  switch (lb) {
    case LbPolicy::LeastRequest:
      return "least_request";
    case LbPolicy::RoundRobin:
      return "round_robin";
    case LbPolicy::Random:
      return "random";
    case LbPolicy::Passthrough:
      return "passthrough";
    case LbPolicy::MaglevSourceIp:
      return "maglev_source_ip";
    case LbPolicy::RingHashSourceIp:
      return "ring_hash_source_ip";
  }
  return "?";
}

namespace {

std::string routeText(const RouteAction& action) {
  if (action.split.empty()) {
    return "refuse";
  }
  std::string out;
  for (const auto& wg : action.split) {
    out += (out.empty() ? "" : " ") + wg.group + " weight=" + std::to_string(wg.weight);
  }
  return out;
}

// FNV-1a over the table, so a golden file pins the exact table without printing thousands of ids.
std::string tableDigest(const std::vector<uint32_t>& table) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (uint32_t v : table) {
    for (int i = 0; i < 4; ++i) {
      h ^= (v >> (8 * i)) & 0xff;
      h *= 0x100000001b3ULL;
    }
  }
  std::ostringstream out;
  out << std::hex << h;
  return out.str();
}

}  // namespace

std::string Frontend::key() const {
  const std::string addr = vip.isV4() ? vip.toString() : "[" + vip.toString() + "]";
  return addr + ":" + std::to_string(port) + "/" + protocolName(protocol);
}

std::string toText(const DataplanePlan& plan) {
  std::ostringstream out;
  for (const auto& f : plan.frontends) {
    out << "frontend " << f.key() << " service=" << f.service
        << " mode=" << (f.mode == FrontendMode::Kernel ? "kernel" : "l7proxy") << "\n";
    if (!f.reason.empty()) {
      out << "  reason: " << f.reason << "\n";
    }
    if (f.mode == FrontendMode::Kernel) {
      out << "  default: " << routeText(f.defaultRoute) << "\n";
      for (const auto& [cls, action] : f.byClientClass) {
        out << "  class " << cls << ": " << routeText(action) << "\n";
      }
    }
  }
  for (const auto& [name, g] : plan.groups) {
    out << "group " << name << " lb=" << lbPolicyName(g.lb);
    if (g.maxConnectionsPerBackend) {
      out << " maxConnectionsPerBackend=" << g.maxConnectionsPerBackend;
    }
    out << "\n  backends:";
    if (g.backends.empty()) {
      out << " none";
    }
    for (const auto& b : g.backends) {
      out << " " << b;
    }
    out << "\n";
    if (!g.hashTable.empty()) {
      std::vector<uint32_t> counts(g.backends.size(), 0);
      for (uint32_t i : g.hashTable) {
        if (i < counts.size()) {
          ++counts[i];
        }
      }
      out << "  hashTable: size=" << g.hashTable.size() << " perBackend=";
      for (size_t i = 0; i < counts.size(); ++i) {
        out << (i ? "," : "") << counts[i];
      }
      out << " digest=" << tableDigest(g.hashTable) << "\n";
    }
  }
  for (const auto& [name, b] : plan.backends) {
    out << "backend " << name << " state=" << (b.state == BackendState::Active ? "active" : "terminating");
    if (!b.pod.empty()) {
      out << " pod=" << b.pod;
    }
    if (!b.zone.empty()) {
      out << " zone=" << b.zone;
    }
    out << "\n";
  }
  for (const auto& c : plan.clientClasses) {
    out << "class " << c.name << " pods=";
    for (size_t i = 0; i < c.pods.size(); ++i) {
      out << (i ? "," : "") << c.pods[i];
    }
    out << "\n";
  }
  return out.str();
}

}  // namespace sluice::plan
