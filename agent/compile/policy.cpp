#include "policy.h"

#include <algorithm>
#include <tuple>

namespace sluice::compile {
namespace {

// Istio resolves a port-level entry into a policy that holds only that entry's four blocks; blocks it
// leaves out are not inherited from the same level.
EffectivePolicy resolvePort(const model::TrafficPolicy& policy, uint32_t port) {
  for (const auto& pls : policy.portLevelSettings) {
    if (pls.port && *pls.port == port) {
      return EffectivePolicy{pls.loadBalancer, pls.connectionPool};
    }
  }
  return EffectivePolicy{policy.loadBalancer, policy.connectionPool};
}

}  // namespace

bool hostMatchesPattern(const std::string& pattern, const std::string& host) {
  if (pattern == host || pattern == "*") {
    return true;
  }
  if (pattern.size() > 1 && pattern[0] == '*' && pattern[1] == '.') {
    std::string_view suffix(pattern);
    suffix.remove_prefix(1);  // ".example.com"
    return host.size() > suffix.size() && host.ends_with(suffix);
  }
  return false;
}

const model::Subset* MergedRule::subset(const std::string& name) const {
  for (const auto* s : subsets) {
    if (s->name == name) {
      return s;
    }
  }
  return nullptr;
}

EffectivePolicy effectivePolicy(const MergedRule* rule, const model::Subset* subset, uint32_t port) {
  EffectivePolicy merged;
  if (rule && rule->policy) {
    merged = resolvePort(*rule->policy, port);
  }
  if (subset && subset->trafficPolicy) {
    EffectivePolicy own = resolvePort(*subset->trafficPolicy, port);
    if (own.loadBalancer) {
      merged.loadBalancer = own.loadBalancer;
    }
    if (own.connectionPool) {
      merged.connectionPool = own.connectionPool;
    }
  }
  return merged;
}

LbChoice lbChoice(const EffectivePolicy& policy) {
  LbChoice choice;
  if (!policy.loadBalancer) {
    return choice;
  }
  const auto& lb = *policy.loadBalancer;
  if (lb.consistentHash) {
    const auto& ch = *lb.consistentHash;
    if (!ch.useSourceIp) {
      // Header/cookie/query keys exist only in HTTP. Envoy's hash LBs pick a random host when the
      // request yields no key, which is what a plain TCP connection gets.
      choice.lb = plan::LbPolicy::Random;
      choice.l7Hash = true;
      return choice;
    }
    if (ch.maglev) {
      choice.lb = plan::LbPolicy::MaglevSourceIp;
      choice.hashSize = ch.maglev->tableSize.value_or(65537);
    } else {
      choice.lb = plan::LbPolicy::RingHashSourceIp;
      uint64_t ring = 1024;
      if (ch.ringHash && ch.ringHash->minimumRingSize) {
        ring = *ch.ringHash->minimumRingSize;
      } else if (ch.minimumRingSize) {
        ring = *ch.minimumRingSize;
      }
      choice.hashSize = ring;
    }
    return choice;
  }
  switch (lb.simple.value_or(model::SimpleLB::Unspecified)) {
    case model::SimpleLB::Random:
      choice.lb = plan::LbPolicy::Random;
      break;
    case model::SimpleLB::RoundRobin:
      choice.lb = plan::LbPolicy::RoundRobin;
      break;
    case model::SimpleLB::Passthrough:
      choice.lb = plan::LbPolicy::Passthrough;
      break;
    case model::SimpleLB::Unspecified:
    case model::SimpleLB::LeastConn:  // deprecated alias of LEAST_REQUEST
    case model::SimpleLB::LeastRequest:
      choice.lb = plan::LbPolicy::LeastRequest;
      break;
  }
  return choice;
}

DestinationRuleIndex::DestinationRuleIndex(const model::Snapshot& snapshot,
                                           const model::MeshSettings& mesh)
    : rootNamespace_(mesh.rootNamespace) {
  for (const auto& dr : snapshot.destinationRules) {
    // A workloadSelector DR applies to some clients only; the kernel plan is per service.
    if (dr.spec.workloadSelector) {
      continue;
    }
    byHost_[dr.spec.host][dr.meta.ns].push_back(&dr);
  }
  for (const auto& [host, byNs] : byHost_) {
    if (host.starts_with("*")) {
      wildcards_.push_back(host);
    }
  }
  for (auto& [host, byNs] : byHost_) {
    for (auto& [ns, rules] : byNs) {
      std::sort(rules.begin(), rules.end(), [](const auto* a, const auto* b) {
        return std::tie(a->meta.creationTimestamp, a->meta.name) <
               std::tie(b->meta.creationTimestamp, b->meta.name);
      });
    }
  }
}

std::optional<MergedRule> DestinationRuleIndex::find(const std::string& host,
                                                     const std::string& serviceNs) const {
  // The most specific host pattern wins: an exact host, else the longest wildcard.
  const std::map<std::string, std::vector<const model::DestinationRule*>>* best = nullptr;
  if (auto exact = byHost_.find(host); exact != byHost_.end()) {
    best = &exact->second;
  } else {
    size_t bestLen = 0;
    for (const auto& pattern : wildcards_) {
      if (hostMatchesPattern(pattern, host) && (!best || pattern.size() > bestLen)) {
        best = &byHost_.at(pattern);
        bestLen = pattern.size();
      }
    }
  }
  if (!best) {
    return std::nullopt;
  }
  // One namespace's rules: the service's own, else the root namespace's, else the first by name.
  auto nsIt = best->find(serviceNs);
  if (nsIt == best->end()) {
    nsIt = best->find(rootNamespace_);
  }
  if (nsIt == best->end()) {
    nsIt = best->begin();
  }
  MergedRule merged;
  for (const auto* dr : nsIt->second) {
    if (!merged.policy && dr->spec.trafficPolicy) {
      merged.policy = &*dr->spec.trafficPolicy;
    }
    for (const auto& s : dr->spec.subsets) {
      if (!merged.subset(s.name)) {
        merged.subsets.push_back(&s);
      }
    }
  }
  return merged;
}

}  // namespace sluice::compile
