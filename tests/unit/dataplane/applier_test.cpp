#include <sluice/dataplane/applier.h>

#include "fake_map_backend.h"
#include "kernel_sim.h"

#include <gtest/gtest.h>

#include <random>
#include <set>

namespace sluice::dataplane::testing {
namespace {

plan::Backend backend(const std::string& ip, uint16_t port) {
  plan::Backend b;
  b.ip = *net::IpAddress::parse(ip);
  b.port = port;
  b.name = b.ip.isV4() ? ip + ":" + std::to_string(port) : "[" + ip + "]:" + std::to_string(port);
  return b;
}

plan::Frontend frontend(const std::string& vip, uint16_t port,
                        std::vector<plan::WeightedGroup> split) {
  plan::Frontend f;
  f.vip = *net::IpAddress::parse(vip);
  f.port = port;
  f.defaultRoute.split = std::move(split);
  return f;
}

// Adds a group and its backends (by address) to the plan.
void addGroup(plan::DataplanePlan& p, const std::string& name, const std::vector<std::string>& ips,
              plan::LbPolicy lb = plan::LbPolicy::LeastRequest) {
  plan::BackendGroup g;
  g.name = name;
  g.lb = lb;
  for (const auto& ip : ips) {
    plan::Backend b = backend(ip, 8080);
    g.backends.push_back(b.name);
    p.backends[b.name] = b;
  }
  if (lb == plan::LbPolicy::MaglevSourceIp && !ips.empty()) {
    for (uint32_t i = 0; i < 7; ++i) {
      g.hashTable.push_back(i % ips.size());
    }
  }
  p.groups[name] = g;
}

const std::vector<Enrollment> kClients = {
    {1, "ns/a", *net::IpAddress::parse("10.0.0.1")},
    {2, "ns/b", *net::IpAddress::parse("10.0.0.2")},
    {3, "ns/c", *net::IpAddress::parse("10.0.0.3")},
};

// v1 → 3 pods, v2 → 2 pods, reviews 80/20 over them; ratings → one group; class "c1" (ns/a) gets v2.
plan::DataplanePlan basePlan() {
  plan::DataplanePlan p;
  addGroup(p, "v1", {"10.1.0.1", "10.1.0.2", "10.1.0.3"});
  addGroup(p, "v2", {"10.1.0.4", "10.1.0.5"}, plan::LbPolicy::RoundRobin);
  addGroup(p, "ratings", {"10.2.0.1"}, plan::LbPolicy::MaglevSourceIp);
  auto reviews = frontend("10.96.0.1", 80, {{"v1", 80}, {"v2", 20}});
  reviews.byClientClass["c1"].split = {{"v2", 1}};
  p.frontends.push_back(reviews);
  p.frontends.push_back(frontend("10.96.0.2", 9080, {{"ratings", 1}}));
  p.frontends.push_back(frontend("fd00::2", 9080, {{"ratings", 1}}));
  p.clientClasses.push_back({"c1", {"ns/a"}});
  return p;
}

int firstIndex(const FakeMapBackend& fake, MapId map, size_t from = 0) {
  for (size_t i = from; i < fake.log.size(); ++i) {
    if (fake.log[i].map == map) {
      return static_cast<int>(i);
    }
  }
  return -1;
}
int lastIndex(const FakeMapBackend& fake, MapId map, FakeMapBackend::Op::Kind kind) {
  for (size_t i = fake.log.size(); i-- > 0;) {
    if (fake.log[i].map == map && fake.log[i].kind == kind) {
      return static_cast<int>(i);
    }
  }
  return -1;
}
size_t count(const FakeMapBackend& fake, MapId map, FakeMapBackend::Op::Kind kind) {
  size_t n = 0;
  for (const auto& op : fake.log) {
    n += op.map == map && op.kind == kind;
  }
  return n;
}

std::unique_ptr<Applier> mustRestore(FakeMapBackend& fake) {
  auto a = Applier::restore(fake);
  EXPECT_TRUE(a.ok());
  return std::move(a).value();
}

void mustApply(Applier& a, const plan::DataplanePlan& p,
               const std::vector<Enrollment>& clients = kClients) {
  auto st = a.apply(p, clients);
  ASSERT_TRUE(st.ok()) << st.error().message();
}

using Op = FakeMapBackend::Op;

TEST(Applier, FullPlanIsWrittenBackendsSlotsGroupsRoutesThenServices) {
  FakeMapBackend fake;
  auto a = mustRestore(fake);
  mustApply(*a, basePlan());
  int lastBackend = lastIndex(fake, MapId::Backend, Op::Upsert);
  int lastConns = lastIndex(fake, MapId::Conns, Op::Upsert);
  int firstSlot = firstIndex(fake, MapId::Slot);
  int lastSlot = lastIndex(fake, MapId::Slot, Op::Upsert);
  int firstGroup = firstIndex(fake, MapId::Group);
  int lastGroup = lastIndex(fake, MapId::Group, Op::Upsert);
  int firstRoute = firstIndex(fake, MapId::Route);
  int lastRoute = lastIndex(fake, MapId::Route, Op::Upsert);
  int firstSvc = firstIndex(fake, MapId::Svc);
  int firstClient = firstIndex(fake, MapId::Client);
  EXPECT_LT(lastBackend, firstSlot);
  EXPECT_LT(lastConns, firstSlot);
  EXPECT_LT(firstSlot, firstGroup);
  EXPECT_LT(lastGroup, firstRoute);
  EXPECT_LT(lastRoute, firstSvc);
  EXPECT_LT(firstSvc, firstClient);
  EXPECT_GT(lastSlot, 0);
  // Each group's slots come before its own entry.
  for (size_t i = 0; i < fake.log.size(); ++i) {
    if (fake.log[i].map != MapId::Slot) {
      continue;
    }
    auto key = fromBytes<sl_slot_key>(FakeMapBackend::bytes(fake.log[i].key));
    int entry = -1;
    for (size_t j = 0; j < fake.log.size(); ++j) {
      if (fake.log[j].map == MapId::Group &&
          fromBytes<uint32_t>(FakeMapBackend::bytes(fake.log[j].key)) == key.group_id) {
        entry = static_cast<int>(j);
      }
    }
    EXPECT_GT(entry, static_cast<int>(i));
  }
  EXPECT_EQ(count(fake, MapId::Backend, Op::Upsert), 6u);
  EXPECT_EQ(count(fake, MapId::Conns, Op::Upsert), 6u);
  EXPECT_EQ(count(fake, MapId::Group, Op::Upsert), 3u);
  EXPECT_EQ(count(fake, MapId::Slot, Op::Upsert), 3u + 2u + 1u + 7u);
  EXPECT_EQ(count(fake, MapId::Route, Op::Upsert), 4u);
  EXPECT_EQ(count(fake, MapId::Svc, Op::Upsert), 3u);
  EXPECT_EQ(count(fake, MapId::Client, Op::Upsert), 3u);

  // ns/a (class c1) goes to v2 only; ns/c (no class) gets the 80/20 default.
  sl_svc_key reviews = encodeSvcKey(basePlan().frontends[0]);
  EXPECT_EQ(simulate(fake, reviews, 1),
            "flags=2 count=1 [p=65536 {lb=1 max=0 backends=[ 10.1.0.4:8080 10.1.0.5:8080 ] "
            "hash=[ ]}]");
  std::string def = simulate(fake, reviews, 3);
  EXPECT_NE(def.find("count=2"), std::string::npos) << def;
  EXPECT_EQ(simulate(fake, reviews, 99), "NOT_ENROLLED");
  EXPECT_EQ(simulate(fake, encodeSvcKey(basePlan().frontends[2]), 3).substr(0, 26),
            "flags=0 count=1 [p=65536 {");
}

TEST(Applier, SamePlanTwiceWritesNothing) {
  FakeMapBackend fake;
  auto a = mustRestore(fake);
  mustApply(*a, basePlan());
  fake.log.clear();
  mustApply(*a, basePlan());
  EXPECT_TRUE(fake.log.empty());
}

TEST(Applier, WeightShiftWritesRoutesUnderOtherGenerationThenFlips) {
  FakeMapBackend fake;
  auto a = mustRestore(fake);
  auto p = basePlan();
  mustApply(*a, p);
  auto before = fromBytes<sl_svc>(FakeMapBackend::bytes(
      fake.table(MapId::Svc).at(FakeMapBackend::str(asBytes(encodeSvcKey(p.frontends[0]))))));
  fake.log.clear();
  p.frontends[0].defaultRoute.split = {{"v1", 50}, {"v2", 50}};
  mustApply(*a, p);
  // Both routes of the service (default and c1) under the other generation, then one svc write.
  ASSERT_EQ(fake.log.size(), 3u);
  for (int i = 0; i < 2; ++i) {
    ASSERT_EQ(fake.log[i].map, MapId::Route);
    auto key = fromBytes<sl_route_key>(FakeMapBackend::bytes(fake.log[i].key));
    EXPECT_EQ(key.generation, before.generation ^ 1);
    EXPECT_EQ(key.svc_id, before.svc_id);
  }
  ASSERT_EQ(fake.log[2].map, MapId::Svc);
  auto after = fromBytes<sl_svc>(FakeMapBackend::bytes(fake.log[2].value));
  EXPECT_EQ(after.generation, before.generation ^ 1);
  EXPECT_EQ(after.svc_id, before.svc_id);

  // Shifting back reuses the first generation: only the changed default route is rewritten there.
  fake.log.clear();
  p.frontends[0].defaultRoute.split = {{"v1", 80}, {"v2", 20}};
  mustApply(*a, p);
  EXPECT_EQ(count(fake, MapId::Route, Op::Upsert), 0u);  // gen 0 still holds exactly these routes
  EXPECT_EQ(count(fake, MapId::Svc, Op::Upsert), 1u);
}

TEST(Applier, SubsetChangeCommitsTheGroupInItsOtherHalf) {
  FakeMapBackend fake;
  auto a = mustRestore(fake);
  auto p = basePlan();
  mustApply(*a, p);
  uint32_t v1 = *a->groupId("v1");
  fake.log.clear();
  // v1 now selects one pod fewer (a subset's labels changed); no route changes.
  p.groups["v1"].backends = {"10.1.0.1:8080", "10.1.0.3:8080"};
  p.backends.erase("10.1.0.2:8080");
  mustApply(*a, p);
  EXPECT_EQ(count(fake, MapId::Route, Op::Upsert), 0u);
  EXPECT_EQ(count(fake, MapId::Svc, Op::Upsert), 0u);
  ASSERT_EQ(count(fake, MapId::Group, Op::Upsert), 1u);
  int group = firstIndex(fake, MapId::Group);
  auto entry = fromBytes<sl_group>(FakeMapBackend::bytes(fake.log[group].value));
  EXPECT_EQ(entry.base, SL_SLOT_HALF);
  EXPECT_EQ(entry.count, 2u);
  EXPECT_EQ(fromBytes<uint32_t>(FakeMapBackend::bytes(fake.log[group].key)), v1);
  for (int i = 0; i < group; ++i) {
    ASSERT_EQ(fake.log[i].map, MapId::Slot);
    auto key = fromBytes<sl_slot_key>(FakeMapBackend::bytes(fake.log[i].key));
    EXPECT_EQ(key.index & SL_SLOT_HALF, SL_SLOT_HALF);
  }
  // The removed pod goes after the commit, with its (idle) counter.
  EXPECT_GT(lastIndex(fake, MapId::Backend, Op::Erase), group);
  EXPECT_EQ(count(fake, MapId::Backend, Op::Erase), 1u);
  EXPECT_EQ(count(fake, MapId::Conns, Op::Erase), 1u);
}

TEST(Applier, EndpointChangeWritesOnlyTheNewBackendAndItsGroup) {
  FakeMapBackend fake;
  auto a = mustRestore(fake);
  auto p = basePlan();
  mustApply(*a, p);
  fake.log.clear();
  plan::Backend b = backend("10.2.0.2", 8080);
  p.backends[b.name] = b;
  p.groups["ratings"].backends.push_back(b.name);
  p.groups["ratings"].hashTable = {0, 1, 0, 1, 0, 1, 0};
  mustApply(*a, p);
  EXPECT_EQ(count(fake, MapId::Backend, Op::Upsert), 1u);
  EXPECT_EQ(count(fake, MapId::Conns, Op::Upsert), 1u);
  EXPECT_EQ(count(fake, MapId::Group, Op::Upsert), 1u);
  EXPECT_EQ(count(fake, MapId::Slot, Op::Upsert), 2u + 7u);
  EXPECT_EQ(count(fake, MapId::Route, Op::Upsert), 0u);
  EXPECT_EQ(count(fake, MapId::Svc, Op::Upsert), 0u);
  EXPECT_EQ(firstIndex(fake, MapId::Backend), 0);
  EXPECT_EQ(lastIndex(fake, MapId::Group, Op::Upsert), static_cast<int>(fake.log.size()) - 1);
}

TEST(Applier, LiveConnectionCounterIsNeverOverwrittenAndDrainsBeforeDeletion) {
  FakeMapBackend fake;
  auto a = mustRestore(fake);
  auto p = basePlan();
  mustApply(*a, p);
  uint32_t id = *a->backendId(p.backends.at("10.1.0.4:8080"));
  sl_conns live{};
  live.active = 5;
  std::string idKey = FakeMapBackend::str(asBytes(id));
  fake.table(MapId::Conns)[idKey] = FakeMapBackend::str(asBytes(live));

  // Removed while 5 sockets count on it: the backend goes, the counter and the id stay.
  auto q = p;
  q.groups["v2"].backends = {"10.1.0.5:8080"};
  q.backends.erase("10.1.0.4:8080");
  auto stats = a->apply(q, kClients);
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->backendsDraining, 1u);
  EXPECT_FALSE(fake.table(MapId::Backend).contains(idKey));
  ASSERT_TRUE(fake.table(MapId::Conns).contains(idKey));

  // It comes back: same id, counter untouched.
  mustApply(*a, p);
  EXPECT_EQ(*a->backendId(p.backends.at("10.1.0.4:8080")), id);
  EXPECT_EQ(fromBytes<sl_conns>(FakeMapBackend::bytes(fake.table(MapId::Conns).at(idKey))).active, 5);

  // Removed again, and once its sockets are gone the counter is deleted too.
  mustApply(*a, q);
  ASSERT_TRUE(fake.table(MapId::Conns).contains(idKey));
  fake.table(MapId::Conns)[idKey] = FakeMapBackend::str(asBytes(sl_conns{}));
  mustApply(*a, q);
  EXPECT_FALSE(fake.table(MapId::Conns).contains(idKey));
}

TEST(Applier, RestartReadsIdsBackAndWritesNothingForTheSamePlan) {
  FakeMapBackend fake;
  auto p = basePlan();
  std::optional<uint32_t> svc, v1, c1;
  {
    auto a = mustRestore(fake);
    mustApply(*a, p);
    p.frontends[0].defaultRoute.split = {{"v1", 10}, {"v2", 90}};  // leave generation 1 active
    mustApply(*a, p);
    svc = a->serviceId(p.frontends[0]);
    v1 = a->groupId("v1");
    c1 = a->classId("c1");
  }
  fake.log.clear();
  auto b = mustRestore(fake);
  mustApply(*b, p);
  EXPECT_TRUE(fake.log.empty()) << fake.log.size() << " writes after restart";
  EXPECT_EQ(b->serviceId(p.frontends[0]), svc);
  EXPECT_EQ(b->groupId("v1"), v1);
  EXPECT_EQ(b->classId("c1"), c1);
  // New ids never collide with restored ones.
  p.frontends.push_back(frontend("10.96.0.9", 80, {{"v1", 1}}));
  mustApply(*b, p);
  EXPECT_NE(b->serviceId(p.frontends.back()), svc);
}

// ---- Randomized: at every intermediate write, each frontend and client resolves to exactly the
// decision before or after the apply.

struct RandomPlans {
  std::mt19937 rng{7};
  std::vector<std::string> ips = {"10.1.0.1", "10.1.0.2", "10.1.0.3", "10.1.0.4",
                                  "10.1.0.5", "10.1.0.6", "fd00::1:1", "fd00::1:2"};
  std::vector<std::pair<std::string, uint16_t>> vips = {
      {"10.96.0.1", 80}, {"10.96.0.2", 80}, {"10.96.0.3", 53}, {"fd00::10", 80}};

  plan::DataplanePlan next() {
    plan::DataplanePlan p;
    const plan::LbPolicy lbs[] = {plan::LbPolicy::LeastRequest, plan::LbPolicy::RoundRobin,
                                  plan::LbPolicy::MaglevSourceIp, plan::LbPolicy::Random};
    for (int g = 0; g < 5; ++g) {
      std::vector<std::string> members;
      for (const auto& ip : ips) {
        if (rng() % 3 == 0) {
          members.push_back(ip);
        }
      }
      addGroup(p, "g" + std::to_string(g), members, lbs[rng() % 4]);
    }
    auto split = [&] {
      std::vector<plan::WeightedGroup> s;
      int n = static_cast<int>(rng() % 4);
      for (int i = 0; i < n; ++i) {
        s.push_back({"g" + std::to_string(rng() % 5), 1 + static_cast<uint32_t>(rng() % 100)});
      }
      return s;
    };
    for (const auto& [vip, port] : vips) {
      if (rng() % 5 == 0) {
        continue;
      }
      auto f = frontend(vip, port, split());
      if (rng() % 2) {
        f.byClientClass["c1"].split = split();
      }
      if (rng() % 3 == 0) {
        f.byClientClass["c2"].split = split();
      }
      if (rng() % 7 == 0) {
        f.mode = plan::FrontendMode::L7Proxy;
      }
      p.frontends.push_back(f);
    }
    // Membership is fixed: a pod changing class is a separate commit (docs/dataplane.md).
    p.clientClasses.push_back({"c1", {"ns/a"}});
    p.clientClasses.push_back({"c2", {"ns/c"}});
    return p;
  }

  std::vector<sl_svc_key> keys() const {
    std::vector<sl_svc_key> out;
    for (const auto& [vip, port] : vips) {
      out.push_back(encodeSvcKey(frontend(vip, port, {})));
    }
    return out;
  }
};

using Decisions = std::vector<std::string>;

Decisions decide(const FakeMapBackend& fake, const std::vector<sl_svc_key>& keys) {
  Decisions d;
  for (const auto& k : keys) {
    for (const auto& c : kClients) {
      d.push_back(simulate(fake, k, c.cgroupId));
    }
  }
  return d;
}

// With a delete grace, garbage outlives several applies and ids stay reserved longer; the clock
// moves by a random step each round so some garbage expires mid-sequence.
void checkRandomizedOldOrNew(std::chrono::milliseconds grace) {
  RandomPlans gen;
  auto keys = gen.keys();
  FakeMapBackend fake;
  auto now = std::chrono::steady_clock::time_point{};
  ApplierOptions options;
  options.deleteGrace = grace;
  options.clock = [&] { return now; };
  auto restored = Applier::restore(fake, options);
  ASSERT_TRUE(restored.ok());
  auto& a = **restored;
  std::vector<Decisions> seen;
  fake.afterWrite = [&] { seen.push_back(decide(fake, keys)); };
  size_t checked = 0;
  for (int round = 0; round < 300; ++round) {
    now += std::chrono::milliseconds(gen.rng() % 1000);
    Decisions before = decide(fake, keys);
    seen.clear();
    auto p = gen.next();
    auto st = a.apply(p, kClients);
    ASSERT_TRUE(st.ok()) << st.error().message();
    Decisions after = decide(fake, keys);
    for (const auto& mid : seen) {
      for (size_t i = 0; i < mid.size(); ++i) {
        ASSERT_TRUE(mid[i] == before[i] || mid[i] == after[i])
            << "round " << round << " decision " << i << "\n  before: " << before[i]
            << "\n  after:  " << after[i] << "\n  mid:    " << mid[i];
        ++checked;
      }
    }
    for (const auto& d : after) {
      ASSERT_EQ(d.find("MAP_MISS"), std::string::npos) << d;
      ASSERT_NE(d, "NO_ROUTE");
    }
  }
  EXPECT_GT(checked, 1000u);
}

TEST(Applier, RandomizedEveryIntermediateStateIsTheOldOrTheNewDecision) {
  checkRandomizedOldOrNew(std::chrono::milliseconds(0));
}

TEST(Applier, RandomizedOldOrNewWithDeleteGrace) {
  checkRandomizedOldOrNew(std::chrono::milliseconds(1500));
}

TEST(Applier, FailedApplyIsRetriedToTheSameMaps) {
  RandomPlans gen;
  for (int round = 0; round < 100; ++round) {
    auto p1 = gen.next();
    auto p2 = gen.next();
    FakeMapBackend clean, faulty;
    auto a = mustRestore(clean);
    auto b = mustRestore(faulty);
    mustApply(*a, p1);
    mustApply(*b, p1);
    mustApply(*a, p2);
    faulty.failAfter(static_cast<int>(gen.rng() % 20));
    if (!b->apply(p2, kClients).ok()) {
      mustApply(*b, p2);
    }
    auto keys = gen.keys();
    ASSERT_EQ(decide(clean, keys), decide(faulty, keys)) << "round " << round;
    // A fresh agent on the faulty maps converges too, and then has nothing left to write.
    auto c = mustRestore(faulty);
    mustApply(*c, p2);
    faulty.log.clear();
    mustApply(*c, p2);
    ASSERT_TRUE(faulty.log.empty());
  }
}

TEST(Applier, PodChangingClassEndsOnItsNewClassRoute) {
  FakeMapBackend fake;
  auto a = mustRestore(fake);
  auto p = basePlan();
  mustApply(*a, p);
  sl_svc_key reviews = encodeSvcKey(p.frontends[0]);
  std::string c1Route = simulate(fake, reviews, 1);
  std::string defaultRoute = simulate(fake, reviews, 2);
  ASSERT_NE(c1Route, defaultRoute);
  p.clientClasses[0].pods = {"ns/b"};  // ns/a leaves c1, ns/b joins it
  mustApply(*a, p);
  EXPECT_EQ(simulate(fake, reviews, 1), defaultRoute);
  EXPECT_EQ(simulate(fake, reviews, 2), c1Route);
}

TEST(Applier, GarbageIsDeletedOnlyAfterTheGrace) {
  FakeMapBackend fake;
  auto now = std::chrono::steady_clock::time_point{};
  ApplierOptions options;
  options.deleteGrace = std::chrono::milliseconds(1000);
  options.clock = [&] { return now; };
  auto restored = Applier::restore(fake, options);
  ASSERT_TRUE(restored.ok());
  auto& a = **restored;
  auto p = basePlan();
  mustApply(a, p);
  auto q = p;
  q.frontends.pop_back();  // the v6 frontend goes; its routes are garbage
  q.groups["v2"].backends = {"10.1.0.5:8080"};
  q.backends.erase("10.1.0.4:8080");  // and so is this backend
  auto stats = a.apply(q, kClients);
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->pendingDeletes, 2u);  // one route, one backend (its counter waits for it)
  EXPECT_EQ(simulate(fake, encodeSvcKey(p.frontends.back()), 3), "NOT_SERVICE");
  EXPECT_EQ(fake.table(MapId::Backend).size(), 6u);
  EXPECT_EQ(fake.table(MapId::Conns).size(), 6u);
  now += std::chrono::milliseconds(999);
  stats = a.apply(q, kClients);
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->pendingDeletes, 2u);
  now += std::chrono::milliseconds(1);
  fake.log.clear();
  stats = a.apply(q, kClients);
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->pendingDeletes, 0u);
  EXPECT_EQ(count(fake, MapId::Route, Op::Erase), 1u);
  EXPECT_EQ(count(fake, MapId::Backend, Op::Erase), 1u);
  EXPECT_EQ(count(fake, MapId::Conns, Op::Erase), 1u);
  EXPECT_EQ(fake.log.size(), 3u);
}

TEST(Applier, UnknownGroupIsAnErrorAndWritesNothing) {
  FakeMapBackend fake;
  auto a = mustRestore(fake);
  auto p = basePlan();
  p.frontends[1].defaultRoute.split = {{"missing", 1}};
  auto st = a->apply(p, kClients);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code.value(), EINVAL);
  EXPECT_TRUE(fake.log.empty());
}

// The incremental path (same frontends and groups, endpoints, weights and policies changed) leaves
// the maps exactly as a whole apply would: a second applier restored from them and applying the same
// plan whole writes nothing; a frontend added goes through the whole path.
TEST(Applier, IncrementalApplyMatchesAWholeApply) {
  FakeMapBackend fake;
  auto a = mustRestore(fake);
  auto p = basePlan();
  mustApply(*a, p);
  auto expectSameAsWhole = [&](const plan::DataplanePlan& plan, bool incremental) {
    auto st = a->apply(plan, kClients);
    ASSERT_TRUE(st.ok()) << st.error().message();
    EXPECT_EQ(st->incremental, incremental);
    auto whole = mustRestore(fake);
    auto again = whole->apply(plan, kClients);
    ASSERT_TRUE(again.ok());
    EXPECT_FALSE(again->incremental);
    EXPECT_EQ(again->upserts, 0u);
    EXPECT_EQ(again->erases, 0u);
  };
  // An endpoint replaced (one backend removed, one added).
  p.groups["v1"].backends.pop_back();
  p.backends.erase("10.1.0.3:8080");
  plan::Backend b = backend("10.1.0.9", 8080);
  p.backends[b.name] = b;
  p.groups["v1"].backends.push_back(b.name);
  expectSameAsWhole(p, true);
  // The weights shift, and the group of an unchanged service changes policy.
  p.frontends[0].defaultRoute.split = {{"v1", 50}, {"v2", 50}};
  p.groups["ratings"].lb = plan::LbPolicy::RoundRobin;
  p.groups["ratings"].hashTable.clear();
  expectSameAsWhole(p, true);
  // The removed address comes back.
  plan::Backend back = backend("10.1.0.3", 8080);
  p.backends[back.name] = back;
  p.groups["v1"].backends.push_back(back.name);
  expectSameAsWhole(p, true);
  // A new frontend.
  p.frontends.push_back(frontend("10.96.0.3", 80, {{"v1", 1}}));
  expectSameAsWhole(p, false);
}

}  // namespace
}  // namespace sluice::dataplane::testing
