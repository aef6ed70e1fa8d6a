#pragma once
// DestinationRule lookup and Istio's block-wise policy merge (istio-semantics.md §3.10), reduced to
// the blocks that matter at connect time.
#include <sluice/compile/plan.h>
#include <sluice/model/snapshot.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace sluice::compile {

// Istio host matching for config hosts: exact, `*`, or a `*.suffix` wildcard covering `host`.
bool hostMatchesPattern(const std::string& pattern, const std::string& host);

// All DestinationRules that apply to one host, merged as Istio merges DRs for the same host: subsets
// are concatenated (the first of a name wins) and the first top-level trafficPolicy wins.
struct MergedRule {
  const model::TrafficPolicy* policy = nullptr;
  std::vector<const model::Subset*> subsets;

  const model::Subset* subset(const std::string& name) const;
};

// The blocks of a TrafficPolicy after the merge for one (host, port, subset).
struct EffectivePolicy {
  std::optional<model::LoadBalancerSettings> loadBalancer;
  std::optional<model::ConnectionPoolSettings> connectionPool;
};

// subset.portLevelSettings[port] > subset > DR.portLevelSettings[port] > DR, per block.
EffectivePolicy effectivePolicy(const MergedRule* rule, const model::Subset* subset, uint32_t port);

// How the kernel balances a group under `policy`; l7Hash is set when the DR hashes on a header,
// cookie or query parameter, which only a proxy can see.
struct LbChoice {
  plan::LbPolicy lb = plan::LbPolicy::LeastRequest;
  uint64_t hashSize = 0;  // requested table size (maglev) or ring size (ring hash)
  bool l7Hash = false;
};
LbChoice lbChoice(const EffectivePolicy& policy);

class DestinationRuleIndex {
 public:
  DestinationRuleIndex(const model::Snapshot& snapshot, const model::MeshSettings& mesh);

  bool empty() const { return byHost_.empty(); }

  // The merged rule for `host` (a Service FQDN in namespace `serviceNs`), if any DR names it.
  std::optional<MergedRule> find(const std::string& host, const std::string& serviceNs) const;

 private:
  // host as written in the DR → namespace → rules in Istio's order (oldest first).
  std::map<std::string, std::map<std::string, std::vector<const model::DestinationRule*>>> byHost_;
  std::vector<std::string> wildcards_;  // the keys of byHost_ that start with '*'
  std::string rootNamespace_;
};

}  // namespace sluice::compile
