#pragma once
// Datapath: the kernel side of the dataplane. Loads sock.bpf.o (its skeleton), pins every map under a
// bpffs directory of the caller's choice (re-adopting maps already pinned there, so a restarted agent
// keeps the kernel's state and its IDs), attaches the cgroup programs with bpf_link, and applies plans
// through an Applier over those maps.
//
// Pins outlive the process (an agent restart is a non-event for the maps); links are owned here and
// detached when the Datapath is destroyed, unless DatapathOptions::pinLinks (see docs/agent.md).
#include <sluice/compile/plan.h>
#include <sluice/dataplane/applier.h>
#include <sluice/dataplane/map_backend.h>
#include <sluice/net/address.h>
#include <sluice/result.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace sluice::dataplane {

struct ProxyAddress {
  net::IpAddress ip;
  uint16_t port = 0;
};

struct DatapathOptions {
  std::string bpffsDir;  // must be on a bpffs mount; created if missing
  // See ApplierOptions::deleteGrace; apply() again after it to delete what is pending.
  std::chrono::milliseconds deleteGrace{1000};
  // Pin each cgroup link under bpffsDir/links/<cgroup id>/<program>, and re-adopt a pinned link at
  // attach (bpf_link_update to the newly loaded program): the cgroup stays translated while no agent
  // runs (crash, restart). uninstall() removes them.
  bool pinLinks = false;
};

class Datapath {
 public:
  [[nodiscard]] static Result<std::unique_ptr<Datapath>> open(const DatapathOptions& options);
  ~Datapath();
  Datapath(const Datapath&) = delete;
  Datapath& operator=(const Datapath&) = delete;

  // Attaches every program of the object to the cgroup v2 directory at `cgroupPath`.
  [[nodiscard]] Status attach(const std::string& cgroupPath);
  // With pinLinks: removes the pinned links of cgroups this Datapath did not attach (call it once the
  // first complete plan is applied, so enrolled cgroups never lose their programs).
  [[nodiscard]] Status pruneLinks();
  // Writes sl_cfg_v1: where L7 services are handed (v4 and/or v6 listener, one port).
  [[nodiscard]] Status setProxy(const std::vector<ProxyAddress>& proxies);
  [[nodiscard]] Result<ApplyStats> apply(const plan::DataplanePlan& plan,
                                         const std::vector<Enrollment>& clients);

  MapBackend& maps();
  const std::string& bpffsDir() const;
  // True when the maps were found pinned (a restart), false when this Datapath created them.
  bool adoptedPins() const;

  // Removes the pins this agent creates under `bpffsDir` (its maps), and the directory if empty.
  [[nodiscard]] static Status uninstall(const std::string& bpffsDir);

  struct Impl;

 private:
  explicit Datapath(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The cgroup v2 id of a cgroup directory: what bpf_get_current_cgroup_id() returns for its tasks.
[[nodiscard]] Result<uint64_t> cgroupId(const std::string& cgroupPath);

}  // namespace sluice::dataplane
