#pragma once
// Applier: a DataplanePlan → BPF map writes, make-before-break, only what changed.
//
// Every write goes through a MapBackend and into a mirror of what the maps hold, so the next apply
// diffs the new plan against the maps themselves (not against a plan that may have been half written):
// a failed apply is retried by applying again, and after a restart restore() reads the maps back.
//
// Order of one apply (each step only for entries whose bytes differ from the maps):
//   0. sl_svc entries of frontends that left the plan (their whole change, committed first);
//   1. backends, each with a zero sl_conns_v1 entry created only if none exists (never overwriting a
//      live counter);
//   2. groups: slots into the half the group entry does not point at (base ^ SL_SLOT_HALF), then the
//      group entry (the commit word of a group);
//   3. routes of every service whose decision changed, under its other generation;
//   4. sl_svc entries: the generation flip (the commit word of a service);
//   5. sl_client entries of the enrolled workloads;
//   6. deletes: routes of removed services, groups, their slots, backends (and their sl_conns_v1 entry
//      once no socket holds it; until then the backend id stays reserved).
// A group whose content changes in place while a service that reads it flips its routes would let
// that service see old weights over new endpoints for a moment; such a group gets a fresh id instead
// (see docs/dataplane.md), so each frontend resolves to exactly the old or the new decision.
#include <sluice/compile/plan.h>
#include <sluice/dataplane/map_backend.h>
#include <sluice/net/address.h>
#include <sluice/result.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace sluice::dataplane {

// A workload the agent translates: its cgroup, and the pod it runs ("ns/name").
struct Enrollment {
  uint64_t cgroupId = 0;
  std::string pod;
  net::IpAddress podIp;
};

struct ApplierOptions {
  // Entries that became garbage (a removed service's routes, a removed or superseded group and its
  // slots, a removed backend) are deleted only once they have been garbage this long, at a later
  // apply: a connect() that read a commit word just before the flip may still be following its old
  // ids for a moment (the kernel does not make one program's lookups atomic against our deletes).
  // 0 deletes them at the end of the same apply.
  std::chrono::milliseconds deleteGrace{0};
  std::function<std::chrono::steady_clock::time_point()> clock = std::chrono::steady_clock::now;
};

struct ApplyStats {
  size_t upserts = 0;
  size_t erases = 0;
  size_t servicesFlipped = 0;
  size_t groupsCommitted = 0;
  size_t backendsDraining = 0;  // removed backends whose sl_conns_v1 entry still counts sockets
  size_t pendingDeletes = 0;    // garbage younger than deleteGrace: apply again later to delete it
  bool incremental = false;     // only the objects that differ from the previous plan were encoded
};

class Applier {
 public:
  // Reads every map the agent owns through `maps` (which must outlive the Applier), so IDs and the
  // first diff start from what the kernel holds.
  [[nodiscard]] static Result<std::unique_ptr<Applier>> restore(MapBackend& maps,
                                                                ApplierOptions options = {});

  Applier(const Applier&) = delete;
  Applier& operator=(const Applier&) = delete;

  [[nodiscard]] Result<ApplyStats> apply(const plan::DataplanePlan& plan,
                                         const std::vector<Enrollment>& clients);

  // IDs as allocated (for status output and tests); nullopt when unknown.
  std::optional<uint32_t> serviceId(const plan::Frontend& frontend) const;
  std::optional<uint32_t> groupId(const std::string& name) const;
  std::optional<uint32_t> classId(const std::string& name) const;
  std::optional<uint32_t> backendId(const plan::Backend& backend) const;

 private:
  Applier(MapBackend& maps, ApplierOptions options) : maps_(maps), options_(std::move(options)) {}

  using Mirror = std::unordered_map<std::string, std::string>;
  Result<ApplyStats> applyAll(const plan::DataplanePlan& plan, const std::vector<Enrollment>& clients);
  // The O(changed) path: nullopt (before any write) when the plan differs from the previous one in a
  // way only applyAll handles (frontends or groups added or removed, client classes or enrollments
  // changed, a group that must move to a fresh id).
  std::optional<Result<ApplyStats>> applyChanged(const plan::DataplanePlan& plan,
                                                 const std::vector<Enrollment>& clients);
  void index(MapId map, const std::string& key, const std::string* oldValue, const std::string* value);
  Status put(MapId map, Bytes key, Bytes value, ApplyStats& stats);
  Status del(MapId map, Bytes key, ApplyStats& stats);
  // Writes a backend and creates its connection counter if it has none (never overwritten).
  Status putBackend(uint32_t id, Bytes value, ApplyStats& stats);
  Status releaseIdleCounters(const std::vector<uint32_t>& ids, ApplyStats& stats);
  Mirror& mirror(MapId map) { return mirror_[static_cast<size_t>(map)]; }
  const Mirror& mirror(MapId map) const { return mirror_[static_cast<size_t>(map)]; }

  MapBackend& maps_;
  ApplierOptions options_;
  // Garbage entries (map id byte + key) and when they were first seen unreferenced.
  std::unordered_map<std::string, std::chrono::steady_clock::time_point> garbageSince_;
  std::array<Mirror, kMapCount> mirror_;
  std::map<std::string, uint32_t> groupIds_;
  std::map<std::string, uint32_t> classIds_;
  // Removed backends whose connection counter still holds sockets: id → sl_backend bytes, so the same
  // address coming back reuses its id (and its live counter).
  std::map<uint32_t, std::string> draining_;
  std::array<uint32_t, 4> cursors_{1, 1, 1, 1};  // next id to try: service, group, backend, class

  // Indexes over the mirror, kept by put()/del(), so applyChanged never scans a whole map.
  std::unordered_map<uint32_t, std::unordered_set<std::string>> routeKeysBySvc_;
  std::unordered_map<uint32_t, std::unordered_set<uint32_t>> slotsByGroup_;
  std::unordered_map<std::string, uint32_t> backendByIdentity_;
  // The last plan applied whole and successfully (reset by any failure), what applyChanged diffs
  // against, and the backend ids it was written with.
  std::optional<plan::DataplanePlan> last_;
  std::vector<Enrollment> lastClients_;
  std::unordered_map<std::string, uint32_t> backendIds_;
};

}  // namespace sluice::dataplane
