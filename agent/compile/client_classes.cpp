#include "client_classes.h"

#include <algorithm>
#include <map>

namespace sluice::compile {

bool SourceSelector::matches(const model::Pod& pod) const {
  if (!ns.empty() && pod.meta.ns != ns) {
    return false;
  }
  for (const auto& [k, v] : labels) {
    auto it = pod.meta.labels.find(k);
    if (it == pod.meta.labels.end() || it->second != v) {
      return false;
    }
  }
  return true;
}

std::string SourceSelector::text() const {
  std::string out;
  if (!ns.empty()) {
    out = "ns:" + ns;
  }
  for (const auto& [k, v] : labels) {
    if (!out.empty()) {
      out += ',';
    }
    out += k + "=" + v;
  }
  return out;
}

std::vector<ClientClassDef> buildClientClasses(const std::vector<model::Pod>& pods,
                                               const SelectorSet& selectors) {
  std::map<SelectorSet, std::vector<std::string>> groups;
  for (const auto& pod : pods) {
    SelectorSet satisfied;
    for (const auto& s : selectors) {
      if (!s.empty() && s.matches(pod)) {
        satisfied.insert(s);
      }
    }
    if (!satisfied.empty()) {
      groups[satisfied].push_back(pod.meta.ns + "/" + pod.meta.name);
    }
  }
  std::vector<ClientClassDef> out;
  for (auto& [set, members] : groups) {
    std::vector<std::string> texts;
    for (const auto& s : set) {
      texts.push_back(s.text());
    }
    std::sort(texts.begin(), texts.end());
    ClientClassDef def;
    for (const auto& t : texts) {
      def.name += (def.name.empty() ? "" : "|") + t;
    }
    def.satisfied = set;
    std::sort(members.begin(), members.end());
    members.erase(std::unique(members.begin(), members.end()), members.end());
    def.pods = std::move(members);
    out.push_back(std::move(def));
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  return out;
}

}  // namespace sluice::compile
