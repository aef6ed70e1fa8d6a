#include <sluice/dataplane/applier.h>

#include "abi_codec.h"

#include <algorithm>
#include <set>
#include <unordered_set>

namespace sluice::dataplane {
namespace {

static_assert(plan::kMaxSplitGroups == SL_MAX_DESTS,
              "the compiler's limit on a kernel split must be the kernel route's");

template <typename T>
std::string str(const T& v) {
  return std::string(reinterpret_cast<const char*>(&v), sizeof(T));
}

Bytes bytesOf(const std::string& s) {
  return Bytes(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

template <typename T>
T decode(const std::string& s) {
  return fromBytes<T>(bytesOf(s));
}

// What a connect() can observe of a group: everything but the kernel's round-robin cursor.
struct GroupContent {
  uint8_t lb = 0;
  uint32_t maxConns = 0;
  std::vector<uint32_t> backends;
  std::vector<uint32_t> hash;

  friend bool operator==(const GroupContent&, const GroupContent&) = default;
  std::string signature() const {
    std::string s = str(lb) + str(maxConns) + str(static_cast<uint32_t>(backends.size()));
    for (uint32_t b : backends) {
      s += str(b);
    }
    for (uint32_t h : hash) {
      s += str(h);
    }
    return s;
  }
};

// Monotonic allocation that skips every id the maps or the name tables still reference, so an id is
// reused only after wrapping around 2^32 and only once nothing points at it.
class IdPool {
 public:
  IdPool(uint32_t& cursor, const char* what) : cursor_(cursor), what_(what) {}
  void reserve(uint32_t id) { used_.insert(id); }
  Result<uint32_t> allocate() {
    if (used_.size() >= 0xfffffffeu) {
      return Error::fromErrno(ENOSPC, std::string("allocate ") + what_ + " id");
    }
    for (;;) {
      uint32_t id = cursor_;
      cursor_ = cursor_ == 0xffffffffu ? 1 : cursor_ + 1;
      if (id != 0 && used_.insert(id).second) {
        return id;
      }
    }
  }

 private:
  std::unordered_set<uint32_t> used_;
  uint32_t& cursor_;
  const char* what_;
};

sl_route_key routeKey(uint32_t svc, uint32_t clientClass, uint8_t gen) {
  sl_route_key k{};
  k.svc_id = svc;
  k.client_class = clientClass;
  k.generation = gen;
  return k;
}

sl_slot_key slotKey(uint32_t group, uint32_t index) {
  sl_slot_key k{};
  k.group_id = group;
  k.index = index;
  return k;
}

// sl_backend without its state: the identity of a backend (address, port, family).
std::string backendIdentity(sl_backend b) {
  b.state = 0;
  return str(b);
}

using Table = std::unordered_map<std::string, std::string>;

// A group as the maps hold it: its entry and, unless a slot is missing (torn by an earlier failure,
// so it must be rewritten), its content; nullopt when the id has no entry.
std::optional<std::pair<sl_group, std::optional<GroupContent>>> readAppliedGroup(
    const Table& groupMap, const Table& slotMap, uint32_t id) {
  auto it = groupMap.find(str(id));
  if (it == groupMap.end()) {
    return std::nullopt;
  }
  auto g = decode<sl_group>(it->second);
  GroupContent c;
  c.lb = g.lb;
  c.maxConns = g.max_conns;
  auto slot = [&](uint32_t index) -> std::optional<uint32_t> {
    auto s = slotMap.find(str(slotKey(id, index)));
    if (s == slotMap.end()) {
      return std::nullopt;
    }
    return decode<uint32_t>(s->second);
  };
  for (uint32_t i = 0; i < g.count; ++i) {
    auto b = slot(g.base + i);
    if (!b) {
      return std::make_pair(g, std::nullopt);
    }
    c.backends.push_back(*b);
  }
  for (uint32_t i = 0; i < g.hash_size; ++i) {
    auto b = slot(g.hash_base + i);
    if (!b) {
      return std::make_pair(g, std::nullopt);
    }
    c.hash.push_back(*b);
  }
  return std::make_pair(g, std::optional<GroupContent>(std::move(c)));
}

struct DesiredService {
  const plan::Frontend* frontend = nullptr;
  sl_svc_key key{};
  uint32_t id = 0;
  uint16_t flags = 0;
  std::optional<sl_svc> applied;
  std::map<uint32_t, sl_route> routes;
  bool flip = false;
};

struct DesiredGroup {
  uint32_t id = 0;
  GroupContent content;
  std::optional<sl_group> applied;  // set when the id's entry exists in the maps
  bool changed = false;
  bool fresh = false;  // a new id: written from half 0, nothing reads it yet
};

// Commits a changed group: its slots into the idle half (half 0 for a new id), stale indexes of that
// half (`existing`: the group's slot indexes in the maps) deleted, then the entry pointing at it.
template <typename Put, typename Del>
Status commitGroup(const DesiredGroup& d, std::vector<uint32_t> existing, Put&& put, Del&& del) {
  uint32_t half = d.applied ? ((d.applied->base & SL_SLOT_HALF) ^ SL_SLOT_HALF) : 0;
  uint32_t n = static_cast<uint32_t>(d.content.backends.size());
  uint32_t total = n + static_cast<uint32_t>(d.content.hash.size());
  for (uint32_t i = 0; i < total; ++i) {
    uint32_t b = i < n ? d.content.backends[i] : d.content.hash[i - n];
    if (Status st = put(MapId::Slot, asBytes(slotKey(d.id, half + i)), asBytes(b)); !st.ok()) {
      return st;
    }
  }
  std::sort(existing.begin(), existing.end());
  for (uint32_t index : existing) {
    if ((index & SL_SLOT_HALF) == half && (index & ~SL_SLOT_HALF) >= total) {
      if (Status st = del(MapId::Slot, asBytes(slotKey(d.id, index))); !st.ok()) {
        return st;
      }
    }
  }
  sl_group entry{};
  entry.base = half;
  entry.count = n;
  entry.hash_base = half + n;
  entry.hash_size = static_cast<uint32_t>(d.content.hash.size());
  entry.max_conns = d.content.maxConns;
  entry.lb = d.content.lb;
  return put(MapId::Group, asBytes(d.id), asBytes(entry));
}

// Encodes a frontend's kernel routes into `s.routes`: the default under class 0 and one per client
// class it treats differently. `groupId` names a group's id (nullopt: the plan has no such group).
template <typename GroupId>
Status encodeServiceRoutes(DesiredService& s, const std::map<std::string, uint32_t>& classIds,
                           GroupId&& groupId) {
  auto encodeAction = [&](const plan::RouteAction& action) -> Result<sl_route> {
    std::vector<std::pair<uint32_t, uint32_t>> split;
    for (const auto& w : action.split) {
      std::optional<uint32_t> id = groupId(w.group);
      if (!id) {
        return Error::invalid("unknown group " + w.group);
      }
      split.emplace_back(*id, w.weight);
    }
    return encodeRoute(split);
  };
  s.routes.clear();
  auto def = encodeAction(s.frontend->defaultRoute);
  if (!def.ok()) {
    return def.error().wrap("frontend " + describeSvcKey(s.key));
  }
  s.routes[0] = *def;
  for (const auto& [cls, action] : s.frontend->byClientClass) {
    auto id = classIds.find(cls);
    if (id == classIds.end()) {
      return Error::invalid("frontend " + describeSvcKey(s.key) + ": unknown client class " + cls);
    }
    auto r = encodeAction(action);
    if (!r.ok()) {
      return r.error().wrap("frontend " + describeSvcKey(s.key));
    }
    s.routes[id->second] = *r;
  }
  return okStatus();
}

}  // namespace

Result<std::unique_ptr<Applier>> Applier::restore(MapBackend& maps, ApplierOptions options) {
  std::unique_ptr<Applier> applier(new Applier(maps, std::move(options)));
  for (MapId map : kAllMaps) {
    if (map == MapId::Cfg) {
      continue;  // datapath-owned, written directly
    }
    Mirror& m = applier->mirror(map);
    Status st = maps.forEach(map, [&](Bytes key, Bytes value) {
      std::string v(reinterpret_cast<const char*>(value.data()), value.size());
      if (map == MapId::Group && v.size() == sizeof(sl_group)) {
        auto g = decode<sl_group>(v);
        g.rr = 0;  // the kernel's cursor; never compared
        v = str(g);
      } else if (map == MapId::Conns) {
        v.clear();  // the kernel's counter; only the entry's existence is ours
      }
      std::string k(reinterpret_cast<const char*>(key.data()), key.size());
      applier->index(map, k, nullptr, &v);
      m.emplace(std::move(k), std::move(v));
    });
    if (!st.ok()) {
      return st.error().wrap(std::string("restore: read ") + std::string(mapName(map)));
    }
  }
  return applier;
}

Status Applier::put(MapId map, Bytes key, Bytes value, ApplyStats& stats) {
  std::string k(reinterpret_cast<const char*>(key.data()), key.size());
  std::string v(reinterpret_cast<const char*>(value.data()), value.size());
  auto it = mirror(map).find(k);
  if (it != mirror(map).end() && it->second == v) {
    return okStatus();
  }
  Status st = maps_.upsert(map, key, value, UpdateMode::Any);
  if (!st.ok()) {
    return st.error().wrap(std::string("update ") + std::string(mapName(map)));
  }
  index(map, k, it == mirror(map).end() ? nullptr : &it->second, &v);
  mirror(map)[k] = std::move(v);
  ++stats.upserts;
  return okStatus();
}

Status Applier::del(MapId map, Bytes key, ApplyStats& stats) {
  std::string k(reinterpret_cast<const char*>(key.data()), key.size());
  auto it = mirror(map).find(k);
  if (it == mirror(map).end()) {
    return okStatus();
  }
  Status st = maps_.erase(map, key);
  if (!st.ok()) {
    return st.error().wrap(std::string("delete from ") + std::string(mapName(map)));
  }
  index(map, k, &it->second, nullptr);
  mirror(map).erase(it);
  ++stats.erases;
  return okStatus();
}

void Applier::index(MapId map, const std::string& key, const std::string* oldValue,
                    const std::string* value) {
  if (map == MapId::Route && !oldValue && value) {
    routeKeysBySvc_[decode<sl_route_key>(key).svc_id].insert(key);
  } else if (map == MapId::Route && oldValue && !value) {
    auto id = decode<sl_route_key>(key).svc_id;
    if (auto it = routeKeysBySvc_.find(id); it != routeKeysBySvc_.end()) {
      it->second.erase(key);
      if (it->second.empty()) {
        routeKeysBySvc_.erase(it);
      }
    }
  } else if (map == MapId::Slot && !oldValue && value) {
    auto k = decode<sl_slot_key>(key);
    slotsByGroup_[k.group_id].insert(k.index);
  } else if (map == MapId::Slot && oldValue && !value) {
    auto k = decode<sl_slot_key>(key);
    if (auto it = slotsByGroup_.find(k.group_id); it != slotsByGroup_.end()) {
      it->second.erase(k.index);
      if (it->second.empty()) {
        slotsByGroup_.erase(it);
      }
    }
  } else if (map == MapId::Backend) {
    uint32_t id = decode<uint32_t>(key);
    if (oldValue && oldValue->size() == sizeof(sl_backend)) {
      auto it = backendByIdentity_.find(backendIdentity(decode<sl_backend>(*oldValue)));
      if (it != backendByIdentity_.end() && it->second == id) {
        backendByIdentity_.erase(it);
      }
    }
    if (value && value->size() == sizeof(sl_backend)) {
      backendByIdentity_[backendIdentity(decode<sl_backend>(*value))] = id;
    }
  }
}

// A removed backend's sl_conns_v1 counter is deleted once no socket holds it; until then its id
// stays reserved (and the same address coming back gets the same id and live counter).
Status Applier::putBackend(uint32_t id, Bytes value, ApplyStats& stats) {
  if (Status st = put(MapId::Backend, asBytes(id), value, stats); !st.ok()) {
    return st;
  }
  if (!mirror(MapId::Conns).contains(str(id))) {
    sl_conns zero{};
    Status st = maps_.upsert(MapId::Conns, asBytes(id), asBytes(zero), UpdateMode::NoExist);
    if (!st.ok() && st.error().code.value() != EEXIST) {
      return st.error().wrap("create sl_conns_v1 entry");
    }
    mirror(MapId::Conns)[str(id)] = "";
    ++stats.upserts;
  }
  draining_.erase(id);
  return okStatus();
}

Status Applier::releaseIdleCounters(const std::vector<uint32_t>& ids, ApplyStats& stats) {
  for (uint32_t id : ids) {
    sl_conns live{};
    auto found = maps_.lookup(MapId::Conns, asBytes(id),
                              std::span<uint8_t>(reinterpret_cast<uint8_t*>(&live), sizeof(live)));
    if (!found.ok()) {
      return found.error().wrap("read sl_conns_v1");
    }
    if (*found && live.active > 0) {
      ++stats.backendsDraining;
      continue;
    }
    if (Status d = del(MapId::Conns, asBytes(id), stats); !d.ok()) {
      return d.error();
    }
    draining_.erase(id);
  }
  return okStatus();
}

Result<ApplyStats> Applier::apply(const plan::DataplanePlan& plan,
                                  const std::vector<Enrollment>& clients) {
  if (auto changed = applyChanged(plan, clients)) {
    if (!changed->ok()) {
      last_.reset();  // the mirror is exact, but the next apply diffs everything again
    }
    return std::move(*changed);
  }
  auto stats = applyAll(plan, clients);
  if (stats.ok()) {
    last_ = plan;
    lastClients_ = clients;
  } else {
    last_.reset();
  }
  return stats;
}

Result<ApplyStats> Applier::applyAll(const plan::DataplanePlan& plan,
                                     const std::vector<Enrollment>& clients) {
  ApplyStats stats;
  auto fail = [](const Error& e) { return e.wrap("apply plan"); };

  // ---- What the maps hold, indexed for this apply.
  IdPool svcIds(cursors_[0], "service"), groupPool(cursors_[1], "group"),
      backendPool(cursors_[2], "backend"), classPool(cursors_[3], "client class");
  std::unordered_map<uint32_t, std::vector<sl_route_key>> routesBySvc;
  for (const auto& [k, v] : mirror(MapId::Route)) {
    auto key = decode<sl_route_key>(k);
    routesBySvc[key.svc_id].push_back(key);
    svcIds.reserve(key.svc_id);
    classPool.reserve(key.client_class);
  }
  for (const auto& [k, v] : mirror(MapId::Svc)) {
    svcIds.reserve(decode<sl_svc>(v).svc_id);
  }
  std::unordered_map<uint32_t, std::vector<uint32_t>> slotsByGroup;
  for (const auto& [k, v] : mirror(MapId::Slot)) {
    auto key = decode<sl_slot_key>(k);
    slotsByGroup[key.group_id].push_back(key.index);
    groupPool.reserve(key.group_id);
  }
  for (const auto& [k, v] : mirror(MapId::Group)) {
    groupPool.reserve(decode<uint32_t>(k));
  }
  for (const auto& [name, id] : groupIds_) {
    groupPool.reserve(id);
  }
  std::unordered_map<std::string, uint32_t> backendByIdentity;
  for (const auto& [k, v] : mirror(MapId::Backend)) {
    backendByIdentity[backendIdentity(decode<sl_backend>(v))] = decode<uint32_t>(k);
    backendPool.reserve(decode<uint32_t>(k));
  }
  for (const auto& [k, v] : mirror(MapId::Conns)) {
    backendPool.reserve(decode<uint32_t>(k));
  }
  for (const auto& [id, identity] : draining_) {
    backendByIdentity.emplace(identity, id);
  }
  for (const auto& [k, v] : mirror(MapId::Client)) {
    classPool.reserve(decode<sl_client>(v).client_class);
  }
  for (const auto& [name, id] : classIds_) {
    classPool.reserve(id);
  }

  // ---- Client classes. After a restart the names are unknown: an enrolled pod whose sl_client
  // entry carries a class id lends that id to the pod's class in the new plan.
  std::unordered_map<std::string, std::string> classOfPod;
  for (const auto& cls : plan.clientClasses) {
    for (const auto& pod : cls.pods) {
      classOfPod[pod] = cls.name;
    }
  }
  std::map<std::string, uint32_t> classIds;
  std::set<uint32_t> claimedClassIds;
  for (const auto& cls : plan.clientClasses) {
    if (auto it = classIds_.find(cls.name); it != classIds_.end()) {
      classIds[cls.name] = it->second;
      claimedClassIds.insert(it->second);
    }
  }
  for (const auto& e : clients) {
    auto cls = classOfPod.find(e.pod);
    auto entry = mirror(MapId::Client).find(str(e.cgroupId));
    if (cls == classOfPod.end() || entry == mirror(MapId::Client).end() ||
        classIds.contains(cls->second)) {
      continue;
    }
    uint32_t id = decode<sl_client>(entry->second).client_class;
    if (id != 0 && claimedClassIds.insert(id).second) {
      classIds[cls->second] = id;
    }
  }
  for (const auto& cls : plan.clientClasses) {
    if (!classIds.contains(cls.name)) {
      auto id = classPool.allocate();
      if (!id.ok()) {
        return fail(id.error());
      }
      classIds[cls.name] = *id;
    }
  }

  // ---- Backends.
  std::map<uint32_t, sl_backend> desiredBackends;
  std::unordered_map<std::string, uint32_t> backendIdByName;
  for (const auto& [name, b] : plan.backends) {
    sl_backend v = encodeBackend(b);
    auto it = backendByIdentity.find(backendIdentity(v));
    uint32_t id = 0;
    if (it != backendByIdentity.end() && !desiredBackends.contains(it->second)) {
      id = it->second;
    } else {
      auto fresh = backendPool.allocate();
      if (!fresh.ok()) {
        return fail(fresh.error());
      }
      id = *fresh;
    }
    desiredBackends[id] = v;
    backendIdByName[name] = id;
  }

  // ---- Groups: content as ids, compared with what the group's entry points at now.
  auto readGroup = [&](uint32_t id) {
    return readAppliedGroup(mirror(MapId::Group), mirror(MapId::Slot), id);
  };

  std::map<std::string, DesiredGroup> groups;
  std::unordered_map<std::string, std::vector<uint32_t>> unclaimedBySignature;
  bool signaturesBuilt = false;
  std::set<uint32_t> claimedGroupIds;
  for (const auto& [name, g] : plan.groups) {
    DesiredGroup d;
    d.content.lb = encodeLb(g.lb);
    d.content.maxConns = g.maxConnectionsPerBackend;
    for (const auto& b : g.backends) {
      auto it = backendIdByName.find(b);
      if (it == backendIdByName.end()) {
        return fail(Error::invalid("group " + name + ": unknown backend " + b));
      }
      d.content.backends.push_back(it->second);
    }
    for (uint32_t index : g.hashTable) {
      if (index >= d.content.backends.size()) {
        return fail(Error::invalid("group " + name + ": hash table index out of range"));
      }
      d.content.hash.push_back(d.content.backends[index]);
    }
    if (auto it = groupIds_.find(name); it != groupIds_.end()) {
      d.id = it->second;
    }
    groups[name] = std::move(d);
    if (groups[name].id != 0) {
      claimedGroupIds.insert(groups[name].id);
    }
  }
  for (auto& [name, d] : groups) {
    if (d.id == 0) {
      // Unknown name (first apply after a restart, or a new group): adopt a group in the maps with
      // exactly this content, else take a fresh id.
      if (!signaturesBuilt) {
        signaturesBuilt = true;
        for (const auto& [k, v] : mirror(MapId::Group)) {
          uint32_t id = decode<uint32_t>(k);
          if (claimedGroupIds.contains(id)) {
            continue;
          }
          if (auto applied = readGroup(id); applied && applied->second) {
            unclaimedBySignature[applied->second->signature()].push_back(id);
          }
        }
      }
      auto& candidates = unclaimedBySignature[d.content.signature()];
      if (!candidates.empty()) {
        d.id = candidates.back();
        candidates.pop_back();
      } else {
        auto id = groupPool.allocate();
        if (!id.ok()) {
          return fail(id.error());
        }
        d.id = *id;
      }
      claimedGroupIds.insert(d.id);
    }
    auto applied = readGroup(d.id);
    if (applied) {
      d.applied = applied->first;
      d.changed = !applied->second || !(*applied->second == d.content);
    } else {
      d.fresh = true;
      d.changed = true;
    }
  }

  // ---- Services: routes encoded with the current group ids; a group that changes in place under a
  // service that flips gets a fresh id, which flips every service reading it; repeat until stable.
  std::vector<DesiredService> services;
  services.reserve(plan.frontends.size());
  for (const auto& f : plan.frontends) {
    DesiredService s;
    s.frontend = &f;
    s.key = encodeSvcKey(f);
    if (auto it = mirror(MapId::Svc).find(str(s.key)); it != mirror(MapId::Svc).end()) {
      s.applied = decode<sl_svc>(it->second);
      s.id = s.applied->svc_id;
    } else {
      auto id = svcIds.allocate();
      if (!id.ok()) {
        return fail(id.error());
      }
      s.id = *id;
    }
    s.flags = static_cast<uint16_t>((f.mode == plan::FrontendMode::L7Proxy ? SL_SVC_F_L7 : 0) |
                                    (f.byClientClass.empty() ? 0 : SL_SVC_F_HAS_CLASSES));
    services.push_back(std::move(s));
  }
  auto activeRoutes = [&](const DesiredService& s) {
    std::map<uint32_t, std::string> out;
    if (!s.applied) {
      return out;
    }
    auto it = routesBySvc.find(s.id);
    if (it == routesBySvc.end()) {
      return out;
    }
    for (const auto& k : it->second) {
      if (k.generation == s.applied->generation) {
        out[k.client_class] = mirror(MapId::Route).at(str(k));
      }
    }
    return out;
  };
  auto planGroupId = [&](const std::string& name) -> std::optional<uint32_t> {
    auto it = groups.find(name);
    return it == groups.end() ? std::nullopt : std::optional<uint32_t>(it->second.id);
  };
  for (;;) {
    std::unordered_set<uint32_t> readByFlipping;
    for (auto& s : services) {
      if (Status st = encodeServiceRoutes(s, classIds, planGroupId); !st.ok()) {
        return fail(st.error());
      }
      auto active = activeRoutes(s);
      bool same = s.applied && active.size() == s.routes.size();
      auto a = active.begin();
      for (auto r = s.routes.begin(); same && r != s.routes.end(); ++a, ++r) {
        same = a->first == r->first && a->second == str(r->second);
      }
      s.flip = !same;
      if (s.flip) {
        for (const auto& [cls, bytes] : active) {
          auto route = decode<sl_route>(bytes);
          for (uint32_t i = 0; i < route.count && i < SL_MAX_DESTS; ++i) {
            readByFlipping.insert(route.group[i]);
            readByFlipping.insert(route.alias_group[i]);
          }
        }
      }
    }
    bool forked = false;
    for (auto& [name, d] : groups) {
      if (d.changed && !d.fresh && readByFlipping.contains(d.id)) {
        auto id = groupPool.allocate();
        if (!id.ok()) {
          return fail(id.error());
        }
        d.id = *id;
        d.applied.reset();
        d.fresh = true;
        forked = true;
      }
    }
    if (!forked) {
      break;
    }
  }

  // ---- 0. Frontends that leave the plan: deleting their commit word first is their whole change, and
  // nothing they read can then be seen half-changed by later steps.
  {
    std::unordered_set<std::string> keep;
    for (const auto& s : services) {
      keep.insert(str(s.key));
    }
    std::vector<std::string> gone;
    for (const auto& [k, v] : mirror(MapId::Svc)) {
      if (!keep.contains(k)) {
        gone.push_back(k);
      }
    }
    std::sort(gone.begin(), gone.end());
    for (const auto& k : gone) {
      if (Status st = del(MapId::Svc, bytesOf(k), stats); !st.ok()) {
        return fail(st.error());
      }
    }
  }

  // ---- 1. Backends, and their connection counters (created once, never overwritten).
  for (const auto& [id, v] : desiredBackends) {
    if (Status st = putBackend(id, asBytes(v), stats); !st.ok()) {
      return fail(st.error());
    }
  }

  // ---- 2. Groups: the idle half first, then the entry that points at it.
  auto putEntry = [&](MapId map, Bytes key, Bytes value) { return put(map, key, value, stats); };
  auto delEntry = [&](MapId map, Bytes key) { return del(map, key, stats); };
  for (auto& [name, d] : groups) {
    if (!d.changed) {
      continue;
    }
    if (Status st = commitGroup(d, slotsByGroup[d.id], putEntry, delEntry); !st.ok()) {
      return fail(st.error().wrap("group " + name));
    }
    ++stats.groupsCommitted;
  }

  // ---- 3. Routes under the other generation of every service that flips.
  for (auto& s : services) {
    if (!s.flip) {
      continue;
    }
    uint8_t gen = s.applied ? static_cast<uint8_t>(s.applied->generation ^ 1) : 0;
    for (const auto& k : routesBySvc[s.id]) {
      if (k.generation == gen && !s.routes.contains(k.client_class)) {
        if (Status st = del(MapId::Route, asBytes(k), stats); !st.ok()) {
          return fail(st.error().wrap("frontend " + describeSvcKey(s.key)));
        }
      }
    }
    for (const auto& [cls, route] : s.routes) {
      if (Status st = put(MapId::Route, asBytes(routeKey(s.id, cls, gen)), asBytes(route), stats);
          !st.ok()) {
        return fail(st.error().wrap("frontend " + describeSvcKey(s.key)));
      }
    }
  }

  // ---- 4. The commit word of each service: generation flip and flags in one update.
  for (auto& s : services) {
    uint8_t gen = s.applied ? s.applied->generation : 0;
    if (s.flip && s.applied) {
      gen = static_cast<uint8_t>(gen ^ 1);
    }
    sl_svc v{};
    v.svc_id = s.id;
    v.flags = s.flags;
    v.generation = gen;
    if (Status st = put(MapId::Svc, asBytes(s.key), asBytes(v), stats); !st.ok()) {
      return fail(st.error().wrap("frontend " + describeSvcKey(s.key)));
    }
    stats.servicesFlipped += s.flip ? 1 : 0;
  }

  // ---- 5. Enrolled clients.
  std::unordered_set<std::string> enrolled;
  for (const auto& e : clients) {
    uint32_t cls = 0;
    if (auto it = classOfPod.find(e.pod); it != classOfPod.end()) {
      cls = classIds.at(it->second);
    }
    if (Status st = put(MapId::Client, asBytes(e.cgroupId), asBytes(encodeClient(cls, e.podIp)),
                        stats);
        !st.ok()) {
      return fail(st.error().wrap("enroll " + e.pod));
    }
    enrolled.insert(str(e.cgroupId));
  }

  // ---- 6. Deletes, now that nothing visible points at them (after deleteGrace, see the options).
  const auto now = options_.clock();
  std::unordered_map<std::string, std::chrono::steady_clock::time_point> garbage;
  auto sweep = [&](MapId map, auto&& keep) -> Status {
    std::vector<std::string> gone;
    for (const auto& [k, v] : mirror(map)) {
      if (!keep(k, v)) {
        gone.push_back(k);
      }
    }
    std::sort(gone.begin(), gone.end());
    for (const auto& k : gone) {
      if (map != MapId::Client && options_.deleteGrace.count() > 0) {
        std::string tag = static_cast<char>(map) + k;
        auto seen = garbageSince_.find(tag);
        auto since = seen == garbageSince_.end() ? now : seen->second;
        if (now - since < options_.deleteGrace) {
          garbage[tag] = since;
          ++stats.pendingDeletes;
          continue;
        }
      }
      if (Status st = del(map, bytesOf(k), stats); !st.ok()) {
        return st;
      }
    }
    return okStatus();
  };
  std::unordered_set<uint32_t> liveSvcIds, liveGroupIds;
  std::unordered_set<std::string> liveSvcKeys;
  for (const auto& s : services) {
    liveSvcIds.insert(s.id);
    liveSvcKeys.insert(str(s.key));
  }
  for (const auto& [name, d] : groups) {
    liveGroupIds.insert(d.id);
  }
  Status st = sweep(MapId::Client, [&](const std::string& k, const std::string&) {
    return enrolled.contains(k);
  });
  if (st.ok()) {
    st = sweep(MapId::Svc, [&](const std::string& k, const std::string&) {
      return liveSvcKeys.contains(k);
    });
  }
  if (st.ok()) {
    st = sweep(MapId::Route, [&](const std::string& k, const std::string&) {
      return liveSvcIds.contains(decode<sl_route_key>(k).svc_id);
    });
  }
  if (st.ok()) {
    st = sweep(MapId::Group, [&](const std::string& k, const std::string&) {
      return liveGroupIds.contains(decode<uint32_t>(k));
    });
  }
  if (st.ok()) {
    st = sweep(MapId::Slot, [&](const std::string& k, const std::string&) {
      return liveGroupIds.contains(decode<sl_slot_key>(k).group_id);
    });
  }
  if (st.ok()) {
    st = sweep(MapId::Backend, [&](const std::string& k, const std::string& v) {
      uint32_t id = decode<uint32_t>(k);
      if (desiredBackends.contains(id)) {
        return true;
      }
      draining_[id] = backendIdentity(decode<sl_backend>(v));
      return false;
    });
  }
  garbageSince_ = std::move(garbage);
  if (!st.ok()) {
    return fail(st.error());
  }
  // A removed backend's counter goes once no socket holds it; until then its id stays reserved.
  std::vector<uint32_t> orphans;
  for (const auto& [k, v] : mirror(MapId::Conns)) {
    uint32_t id = decode<uint32_t>(k);
    if (!desiredBackends.contains(id) && !mirror(MapId::Backend).contains(k)) {
      orphans.push_back(id);
    }
  }
  if (Status st = releaseIdleCounters(orphans, stats); !st.ok()) {
    return fail(st.error());
  }

  groupIds_.clear();
  for (const auto& [name, d] : groups) {
    groupIds_[name] = d.id;
  }
  classIds_ = std::move(classIds);
  backendIds_ = std::move(backendIdByName);
  return stats;
}

std::optional<Result<ApplyStats>> Applier::applyChanged(const plan::DataplanePlan& plan,
                                                        const std::vector<Enrollment>& clients) {
  if (!last_ || plan.clientClasses != last_->clientClasses ||
      plan.frontends.size() != last_->frontends.size() ||
      plan.groups.size() != last_->groups.size() || clients.size() != lastClients_.size()) {
    return std::nullopt;
  }
  for (size_t i = 0; i < clients.size(); ++i) {
    const auto &a = clients[i], &b = lastClients_[i];
    if (a.cgroupId != b.cgroupId || a.pod != b.pod || a.podIp != b.podIp) {
      return std::nullopt;
    }
  }
  plan::DataplanePlan& last = *last_;
  ApplyStats stats;
  stats.incremental = true;
  auto fail = [](const Error& e) { return e.wrap("apply plan"); };

  // ---- What differs from the last plan: the same frontends and groups (else applyAll), changed.
  std::vector<size_t> changedFrontends;
  for (size_t i = 0; i < plan.frontends.size(); ++i) {
    const auto &f = plan.frontends[i], &g = last.frontends[i];
    if (f.vip != g.vip || f.port != g.port || f.protocol != g.protocol) {
      return std::nullopt;
    }
    if (!(f == g)) {
      changedFrontends.push_back(i);
    }
  }
  std::vector<const plan::BackendGroup*> changedGroups;
  for (auto a = plan.groups.begin(), b = last.groups.cbegin(); a != plan.groups.end(); ++a, ++b) {
    if (a->first != b->first || !groupIds_.contains(a->first)) {
      return std::nullopt;
    }
    if (!(a->second == b->second)) {
      changedGroups.push_back(&a->second);
    }
  }
  std::vector<const plan::Backend*> upserted;
  std::vector<std::string> removed;
  {
    auto a = plan.backends.begin(), b = last.backends.cbegin();
    while (a != plan.backends.end() || b != last.backends.end()) {
      if (b == last.backends.end() || (a != plan.backends.end() && a->first < b->first)) {
        upserted.push_back(&(a++)->second);
      } else if (a == plan.backends.end() || b->first < a->first) {
        removed.push_back((b++)->first);
      } else {
        if (!(a->second == b->second)) {
          upserted.push_back(&a->second);
        }
        ++a, ++b;
      }
    }
  }

  // ---- Backend ids: kept by name, else the id of the same address still in the maps (garbage or
  // draining, with its live counter), else a fresh one that nothing in the maps uses.
  std::unordered_map<std::string, uint32_t> newIds;
  std::unordered_set<uint32_t> taken;
  for (const auto* b : upserted) {
    uint32_t id = 0;
    if (auto it = backendIds_.find(b->name); it != backendIds_.end()) {
      id = it->second;
    } else if (auto same = backendByIdentity_.find(backendIdentity(encodeBackend(*b)));
               same != backendByIdentity_.end()) {
      id = same->second;
    } else {
      std::string identity = backendIdentity(encodeBackend(*b));
      for (const auto& [drained, bytes] : draining_) {
        if (bytes == identity) {
          id = drained;
        }
      }
    }
    if (id == 0 || !taken.insert(id).second) {
      for (;;) {
        uint32_t candidate = cursors_[2];
        cursors_[2] = candidate == 0xffffffffu ? 1 : candidate + 1;
        if (candidate != 0 && !mirror(MapId::Backend).contains(str(candidate)) &&
            !mirror(MapId::Conns).contains(str(candidate)) && !draining_.contains(candidate) &&
            taken.insert(candidate).second) {
          id = candidate;
          break;
        }
      }
    }
    newIds[b->name] = id;
  }
  auto backendId = [&](const std::string& name) -> std::optional<uint32_t> {
    if (auto it = newIds.find(name); it != newIds.end()) {
      return it->second;
    }
    if (auto it = backendIds_.find(name); it != backendIds_.end()) {
      return it->second;
    }
    return std::nullopt;
  };

  // ---- Changed groups, in place under their ids.
  std::vector<DesiredGroup> groups;
  std::unordered_set<uint32_t> changedGroupIds;
  for (const auto* g : changedGroups) {
    DesiredGroup d;
    d.id = groupIds_.at(g->name);
    d.content.lb = encodeLb(g->lb);
    d.content.maxConns = g->maxConnectionsPerBackend;
    for (const auto& b : g->backends) {
      auto id = backendId(b);
      if (!id) {
        return fail(Error::invalid("group " + g->name + ": unknown backend " + b));
      }
      d.content.backends.push_back(*id);
    }
    for (uint32_t index : g->hashTable) {
      if (index >= d.content.backends.size()) {
        return fail(Error::invalid("group " + g->name + ": hash table index out of range"));
      }
      d.content.hash.push_back(d.content.backends[index]);
    }
    auto applied = readAppliedGroup(mirror(MapId::Group), mirror(MapId::Slot), d.id);
    if (!applied) {
      return std::nullopt;
    }
    d.applied = applied->first;
    d.changed = !applied->second || !(*applied->second == d.content);
    if (d.changed) {
      changedGroupIds.insert(d.id);
    }
    groups.push_back(std::move(d));
  }

  // ---- Changed frontends: their routes, and whether they flip. A flipping service that reads a
  // group changing in place needs that group under a fresh id: applyAll does that.
  std::vector<DesiredService> services;
  for (size_t i : changedFrontends) {
    DesiredService s;
    s.frontend = &plan.frontends[i];
    s.key = encodeSvcKey(*s.frontend);
    auto entry = mirror(MapId::Svc).find(str(s.key));
    if (entry == mirror(MapId::Svc).end()) {
      return std::nullopt;
    }
    s.applied = decode<sl_svc>(entry->second);
    s.id = s.applied->svc_id;
    s.flags = static_cast<uint16_t>((s.frontend->mode == plan::FrontendMode::L7Proxy ? SL_SVC_F_L7 : 0) |
                                    (s.frontend->byClientClass.empty() ? 0 : SL_SVC_F_HAS_CLASSES));
    if (Status st = encodeServiceRoutes(s, classIds_, [this](const std::string& name) {
          return groupId(name);
        });
        !st.ok()) {
      return fail(st.error());
    }
    std::map<uint32_t, std::string> active;
    if (auto keys = routeKeysBySvc_.find(s.id); keys != routeKeysBySvc_.end()) {
      for (const auto& k : keys->second) {
        auto key = decode<sl_route_key>(k);
        if (key.generation == s.applied->generation) {
          active[key.client_class] = mirror(MapId::Route).at(k);
        }
      }
    }
    bool same = active.size() == s.routes.size();
    auto a = active.begin();
    for (auto r = s.routes.begin(); same && r != s.routes.end(); ++a, ++r) {
      same = a->first == r->first && a->second == str(r->second);
    }
    s.flip = !same;
    if (s.flip) {
      for (const auto& [cls, bytes] : active) {
        auto route = decode<sl_route>(bytes);
        for (uint32_t j = 0; j < route.count && j < SL_MAX_DESTS; ++j) {
          if (changedGroupIds.contains(route.group[j]) || changedGroupIds.contains(route.alias_group[j])) {
            return std::nullopt;
          }
        }
      }
    }
    services.push_back(std::move(s));
  }

  // ---- From here on the same steps as applyAll, over the changed objects only.
  for (const auto* b : upserted) {
    if (Status st = putBackend(newIds.at(b->name), asBytes(encodeBackend(*b)), stats); !st.ok()) {
      return fail(st.error());
    }
  }
  auto putEntry = [&](MapId map, Bytes key, Bytes value) { return put(map, key, value, stats); };
  auto delEntry = [&](MapId map, Bytes key) { return del(map, key, stats); };
  for (auto& d : groups) {
    if (!d.changed) {
      continue;
    }
    std::vector<uint32_t> existing;
    if (auto slots = slotsByGroup_.find(d.id); slots != slotsByGroup_.end()) {
      existing.assign(slots->second.begin(), slots->second.end());
    }
    if (Status st = commitGroup(d, std::move(existing), putEntry, delEntry); !st.ok()) {
      return fail(st.error());
    }
    ++stats.groupsCommitted;
  }
  for (auto& s : services) {
    if (!s.flip) {
      continue;
    }
    uint8_t gen = static_cast<uint8_t>(s.applied->generation ^ 1);
    std::vector<std::string> stale;
    if (auto keys = routeKeysBySvc_.find(s.id); keys != routeKeysBySvc_.end()) {
      for (const auto& k : keys->second) {
        auto key = decode<sl_route_key>(k);
        if (key.generation == gen && !s.routes.contains(key.client_class)) {
          stale.push_back(k);
        }
      }
    }
    std::sort(stale.begin(), stale.end());
    for (const auto& k : stale) {
      if (Status st = del(MapId::Route, bytesOf(k), stats); !st.ok()) {
        return fail(st.error());
      }
    }
    for (const auto& [cls, route] : s.routes) {
      if (Status st = put(MapId::Route, asBytes(routeKey(s.id, cls, gen)), asBytes(route), stats); !st.ok()) {
        return fail(st.error());
      }
    }
  }
  for (auto& s : services) {
    sl_svc v{};
    v.svc_id = s.id;
    v.flags = s.flags;
    v.generation = s.flip ? static_cast<uint8_t>(s.applied->generation ^ 1) : s.applied->generation;
    if (Status st = put(MapId::Svc, asBytes(s.key), asBytes(v), stats); !st.ok()) {
      return fail(st.error());
    }
    stats.servicesFlipped += s.flip ? 1 : 0;
  }

  // ---- Garbage: what was pending, and the removed backends. No frontend or group came or went, so
  // pending svc, route, group and slot garbage is still garbage; a backend is revived by its id.
  for (const auto& name : removed) {
    uint32_t id = backendIds_.at(name);
    if (taken.contains(id)) {
      continue;  // the same address under a new name took the id back
    }
    std::string k = str(id);
    if (auto it = mirror(MapId::Backend).find(k); it != mirror(MapId::Backend).end()) {
      draining_[id] = backendIdentity(decode<sl_backend>(it->second));
      garbageSince_.emplace(static_cast<char>(MapId::Backend) + k, options_.clock());
    }
  }
  const auto now = options_.clock();
  std::vector<std::string> pending;
  for (const auto& [tag, since] : garbageSince_) {
    pending.push_back(tag);
  }
  std::sort(pending.begin(), pending.end());
  for (const auto& tag : pending) {
    auto map = static_cast<MapId>(tag[0]);
    std::string k = tag.substr(1);
    if (map == MapId::Backend && taken.contains(decode<uint32_t>(k))) {
      garbageSince_.erase(tag);
      continue;
    }
    if (now - garbageSince_.at(tag) < options_.deleteGrace) {
      ++stats.pendingDeletes;
      continue;
    }
    if (Status st = del(map, bytesOf(k), stats); !st.ok()) {
      return fail(st.error());
    }
    garbageSince_.erase(tag);
  }
  std::vector<uint32_t> orphans;
  for (const auto& [id, identity] : draining_) {
    if (!taken.contains(id) && !mirror(MapId::Backend).contains(str(id)) &&
        mirror(MapId::Conns).contains(str(id))) {
      orphans.push_back(id);
    }
  }
  if (Status st = releaseIdleCounters(orphans, stats); !st.ok()) {
    return fail(st.error());
  }

  // ---- The new plan becomes the last one, object by object.
  for (size_t i : changedFrontends) {
    last.frontends[i] = plan.frontends[i];
  }
  for (const auto* g : changedGroups) {
    last.groups[g->name] = *g;
  }
  for (const auto& name : removed) {
    last.backends.erase(name);
    backendIds_.erase(name);
  }
  for (const auto* b : upserted) {
    last.backends[b->name] = *b;
    backendIds_[b->name] = newIds.at(b->name);
  }
  return Result<ApplyStats>(stats);
}

std::optional<uint32_t> Applier::serviceId(const plan::Frontend& frontend) const {
  auto it = mirror(MapId::Svc).find(str(encodeSvcKey(frontend)));
  if (it == mirror(MapId::Svc).end()) {
    return std::nullopt;
  }
  return decode<sl_svc>(it->second).svc_id;
}

std::optional<uint32_t> Applier::groupId(const std::string& name) const {
  auto it = groupIds_.find(name);
  return it == groupIds_.end() ? std::nullopt : std::optional<uint32_t>(it->second);
}

std::optional<uint32_t> Applier::classId(const std::string& name) const {
  auto it = classIds_.find(name);
  return it == classIds_.end() ? std::nullopt : std::optional<uint32_t>(it->second);
}

std::optional<uint32_t> Applier::backendId(const plan::Backend& backend) const {
  std::string identity = backendIdentity(encodeBackend(backend));
  for (const auto& [k, v] : mirror(MapId::Backend)) {
    if (backendIdentity(decode<sl_backend>(v)) == identity) {
      return decode<uint32_t>(k);
    }
  }
  return std::nullopt;
}

}  // namespace sluice::dataplane
