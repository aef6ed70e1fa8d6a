#include <sluice/model/snapshot.h>

#include <iterator>

namespace sluice::model {

int SourceInfo::lineOf(std::string_view path) const {
  std::string_view p = path;
  while (!p.empty()) {
    if (auto it = fieldLines.find(p); it != fieldLines.end()) {
      return it->second;
    }
    // Walk up one step: "a.b[2].c" → "a.b[2]" → "a.b" → "a".
    auto cut = p.find_last_of(".[");
    if (cut == std::string_view::npos) {
      break;
    }
    p = p.substr(0, cut);
  }
  return line;
}

std::string EndpointSlice::serviceName() const {
  auto it = meta.labels.find("kubernetes.io/service-name");
  return it == meta.labels.end() ? std::string() : it->second;
}

namespace {
template <typename T>
void moveAppend(std::vector<T>& into, std::vector<T>& from) {
  into.insert(into.end(), std::make_move_iterator(from.begin()), std::make_move_iterator(from.end()));
}
}  // namespace

void Snapshot::append(Snapshot&& other) {
  moveAppend(services, other.services);
  moveAppend(endpointSlices, other.endpointSlices);
  moveAppend(pods, other.pods);
  moveAppend(virtualServices, other.virtualServices);
  moveAppend(destinationRules, other.destinationRules);
}

}  // namespace sluice::model
