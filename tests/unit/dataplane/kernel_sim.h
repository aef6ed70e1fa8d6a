#pragma once
// What a connect() would decide, computed in C++ over the fake's maps by following the same lookups as
// the BPF program (sluice_abi.h's journey). The result is a canonical text of the whole decision set
// (every alias column with both of its groups resolved down to backend addresses), so two map states
// that any connect() could tell apart give different strings; a missing entry shows as "MAP_MISS".
#include "fake_map_backend.h"

#include <sluice_abi.h>

#include "abi_codec.h"

#include <string>

namespace sluice::dataplane::testing {

inline std::string simulateGroup(const FakeMapBackend& maps, uint32_t id) {
  auto get = [&](MapId m, const std::string& k) -> const std::string* {
    auto it = maps.table(m).find(k);
    return it == maps.table(m).end() ? nullptr : &it->second;
  };
  const std::string* g = get(MapId::Group, FakeMapBackend::str(asBytes(id)));
  if (!g) {
    return "MAP_MISS(group)";
  }
  auto group = fromBytes<sl_group>(FakeMapBackend::bytes(*g));
  std::string out = "{lb=" + std::to_string(group.lb) + " max=" + std::to_string(group.max_conns);
  auto slots = [&](uint32_t base, uint32_t n) {
    std::string s;
    for (uint32_t i = 0; i < n; ++i) {
      sl_slot_key key{};
      key.group_id = id;
      key.index = base + i;
      const std::string* slot = get(MapId::Slot, FakeMapBackend::str(asBytes(key)));
      if (!slot) {
        return std::string("MAP_MISS(slot)");
      }
      const std::string* b = get(MapId::Backend, *slot);
      if (!b) {
        return std::string("MAP_MISS(backend)");
      }
      if (!maps.table(MapId::Conns).contains(*slot)) {
        return std::string("MAP_MISS(conns)");
      }
      s += " " + describeBackend(fromBytes<sl_backend>(FakeMapBackend::bytes(*b)));
    }
    return s;
  };
  out += " backends=[" + slots(group.base, group.count) + " ]";
  out += " hash=[" + slots(group.hash_base, group.hash_size) + " ]}";
  return out;
}

inline std::string simulate(const FakeMapBackend& maps, const sl_svc_key& svcKey, uint64_t cgroup) {
  auto get = [&](MapId m, const std::string& k) -> const std::string* {
    auto it = maps.table(m).find(k);
    return it == maps.table(m).end() ? nullptr : &it->second;
  };
  const std::string* c = get(MapId::Client, FakeMapBackend::str(asBytes(cgroup)));
  if (!c) {
    return "NOT_ENROLLED";
  }
  auto client = fromBytes<sl_client>(FakeMapBackend::bytes(*c));
  const std::string* s = get(MapId::Svc, FakeMapBackend::str(asBytes(svcKey)));
  if (!s) {
    return "NOT_SERVICE";
  }
  auto svc = fromBytes<sl_svc>(FakeMapBackend::bytes(*s));
  sl_route_key rk{};
  rk.svc_id = svc.svc_id;
  rk.generation = svc.generation;
  const std::string* r = nullptr;
  if ((svc.flags & SL_SVC_F_HAS_CLASSES) && client.client_class != 0) {
    rk.client_class = client.client_class;
    r = get(MapId::Route, FakeMapBackend::str(asBytes(rk)));
  }
  if (!r) {
    rk.client_class = 0;
    r = get(MapId::Route, FakeMapBackend::str(asBytes(rk)));
  }
  if (!r) {
    return "NO_ROUTE";
  }
  auto route = fromBytes<sl_route>(FakeMapBackend::bytes(*r));
  std::string out = "flags=" + std::to_string(svc.flags) + " count=" + std::to_string(route.count);
  for (uint32_t i = 0; i < route.count; ++i) {
    out += " [p=" + std::to_string(route.prob[i]) + " " + simulateGroup(maps, route.group[i]);
    if (route.prob[i] < SL_WEIGHT_SCALE) {
      out += " else " + simulateGroup(maps, route.alias_group[i]);
    }
    out += "]";
  }
  return out;
}

}  // namespace sluice::dataplane::testing
