#pragma once
// sourceLabels / sourceNamespace are per-client selectors, applied by istiod when it builds one
// proxy's config. The kernel cannot build config per pod, so pods are grouped by which selectors
// they satisfy: every pod of a class sees exactly the same routes.
#include <sluice/model/snapshot.h>

#include <compare>
#include <set>
#include <string>
#include <vector>

namespace sluice::compile {

struct SourceSelector {
  std::string ns;  // sourceNamespace; empty = any
  model::Labels labels;

  bool empty() const { return ns.empty() && labels.empty(); }
  bool matches(const model::Pod& pod) const;
  // "ns:test,app=sleep,version=v1": namespace first, then labels in key order. Label keys cannot
  // contain ':', so the text is unambiguous.
  std::string text() const;

  friend auto operator<=>(const SourceSelector&, const SourceSelector&) = default;
  friend bool operator==(const SourceSelector&, const SourceSelector&) = default;
};

using SelectorSet = std::set<SourceSelector>;

struct ClientClassDef {
  std::string name;  // the satisfied selectors' texts, sorted, joined with '|'
  SelectorSet satisfied;
  std::vector<std::string> pods;  // "ns/name", sorted
};

// Pods that satisfy at least one selector, grouped by the exact set they satisfy; sorted by name.
std::vector<ClientClassDef> buildClientClasses(const std::vector<model::Pod>& pods,
                                               const SelectorSet& selectors);

}  // namespace sluice::compile
