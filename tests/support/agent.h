#pragma once
// Runs the real sluice-agent inside the sandbox, against the contract
//   sluice-agent --config-dir DIR --bpffs DIR --enroll NS/POD=CGROUP_PATH ... --ready-file FILE
// and drives its configuration: one YAML file replaced atomically per change, then a wait until the
// ready file reports a newer generation (the agent writes "generation N" after each good apply).
#include "topology.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace sluice::e2e {

// Where the agent binary is (SLUICE_AGENT overrides the build tree's), and whether it exists.
std::string agentPath();
bool agentBuilt();

class Agent {
 public:
  // Writes `yaml` as the initial config, starts the agent with every client pod of `topo` enrolled
  // and waits for its first generation; throws (with the agent's log) if it does not come.
  Agent(Topology& topo, const std::string& yaml, const std::vector<std::string>& extraArgs = {});
  const std::string& configDir() const { return configDir_; }
  const std::string& bpffsDir() const { return bpffsDir_; }
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;
  ~Agent();

  // The generation in the ready file, if any.
  std::optional<std::uint64_t> generation() const;
  // Replaces the config and waits until a newer generation is ready; returns it.
  std::uint64_t apply(const std::string& yaml);
  // Replaces the config without waiting (for configs the agent is expected to reject).
  void write(const std::string& yaml);
  bool running();
  std::string log() const;
  // Stops the agent (SIGTERM: links detach, maps stay pinned), replaces the config and starts a new
  // agent on the same bpffs directory; returns once it reports its first generation.
  void restart(const std::string& yaml);

 private:
  void start();
  std::uint64_t waitNewerThan(std::uint64_t generation);

  Topology& topo_;
  std::string configDir_;
  std::string bpffsDir_;
  std::string readyFile_;
  std::string logPath_;
  std::vector<std::string> argv_;
  std::unique_ptr<Process> process_;
};

}  // namespace sluice::e2e
