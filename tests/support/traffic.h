#pragma once
// Client side of the topologies: run `sluice-pod connect` inside a client pod (its netns and test
// cgroup) and read back, for every attempt, where it landed (the answering pod's name), what the
// socket reported as the peer (getpeername / recvfrom source) and, on failure, the errno.
#include "topology.h"

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace sluice::e2e {

struct Attempt {
  bool ok = false;
  std::uint64_t startNs = 0;  // CLOCK_MONOTONIC when the attempt began
  std::uint64_t endNs = 0;    // and when it was over
  std::string pod;            // ok: the pod that answered
  std::string peer;           // ok: getpeername() (TCP) or the reply's source (UDP)
  int error = 0;              // failed: errno
  std::string stage;          // failed: socket | connect | read | send | recv
};

struct ClientSpec {
  ClientSpec(std::string target, int count) : target(std::move(target)), count(count) {}
  ClientSpec& viaUdp() { udp = true; return *this; }
  ClientSpec& timeout(int ms) { timeoutMs = ms; return *this; }
  ClientSpec& forAtMost(int ms) { durationMs = ms; return *this; }

  std::string target;  // "VIP:port" or "[VIP6]:port"
  int count;
  bool udp = false;
  int durationMs = 0;  // stop early once this much time has passed (0 = no limit)
  int timeoutMs = 2000;
};

struct ClientRun {
  std::vector<Attempt> attempts;

  std::map<std::string, int> byPod() const;
  std::map<std::string, int> byPeer() const;
  std::map<int, int> errors() const;  // errno → count
  int failures() const;
  // One line for assertion messages: "pod-a=12 pod-b=3 fail[ECONNREFUSED]=1".
  std::string summary() const;
};

// Parses `sluice-pod connect` output.
ClientRun parseClientOutput(const std::string& text);

// Runs a client to completion (bounded by its own timeouts plus a margin) and returns its results.
ClientRun runClient(Topology& topo, const Pod& client, const ClientSpec& spec);

// Starts a client that opens `count` TCP connections and keeps them open until the topology is torn
// down (or the returned process is stopped); returns once all attempts are made.
ClientRun holdConnections(Topology& topo, const Pod& client, const std::string& target, int count,
                          Process** process = nullptr);

// A client running in the background (for connects that continue while the config changes).
class BackgroundClient {
 public:
  BackgroundClient(Topology& topo, const Pod& client, const ClientSpec& spec);
  // Asks the client to stop after its current attempt, waits for it and parses what it reported.
  ClientRun finish();
  // Attempts reported so far.
  int attemptsSoFar() const;

 private:
  Process* process_;
  std::string outPath_;
  std::chrono::milliseconds stopBudget_;
};

// CLOCK_MONOTONIC now, on the clock of Attempt::startNs.
std::uint64_t monotonicNs();

// Pearson's chi-square statistic of observed counts against expected shares (shares sum to 1).
double chiSquare(const std::map<std::string, int>& observed,
                 const std::map<std::string, double>& shares);

std::string errnoName(int err);

}  // namespace sluice::e2e
