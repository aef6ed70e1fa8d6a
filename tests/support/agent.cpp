#include "agent.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <sstream>
#include <stdexcept>

namespace sluice::e2e {
namespace {

constexpr auto kApplyBudget = std::chrono::milliseconds(15000);

}  // namespace

std::string agentPath() {
  if (const char* env = std::getenv("SLUICE_AGENT"); env && *env) return env;
  return SLUICE_AGENT_PATH;
}

bool agentBuilt() { return access(agentPath().c_str(), X_OK) == 0; }

Agent::Agent(Topology& topo, const std::string& yaml, const std::vector<std::string>& extraArgs)
    : topo_(topo) {
  // Every agent of the process gets its own files and pin directory: a ready file or pins left by
  // an earlier agent must not pass for this one's.
  static int started = 0;
  const std::string id = "agent-" + std::to_string(started++);
  const auto& run = topo.sandbox().runDir();
  configDir_ = run + "/" + id + ".config";
  readyFile_ = run + "/" + id + ".ready";
  logPath_ = run + "/" + id + ".log";
  const std::string bpffs = topo.sandbox().bpffsDir() + "/" + id;
  for (const auto& dir : {configDir_, bpffs}) {
    if (mkdir(dir.c_str(), 0755) != 0) throw std::runtime_error("mkdir " + dir);
  }
  write(yaml);

  argv_ = {agentPath(),  "--config-dir", configDir_, "--bpffs", bpffs,
           "--ready-file", readyFile_,   "--log-level", "info"};
  for (const auto& pod : topo.pods()) {
    if (!pod->cgroup) continue;
    argv_.push_back("--enroll");
    argv_.push_back(pod->enrollment());
  }
  argv_.insert(argv_.end(), extraArgs.begin(), extraArgs.end());
  bpffsDir_ = bpffs;
  start();
}

void Agent::start() {
  // The agent runs in the node netns and the test's own cgroup: it is not a workload.
  ProcessOptions options;
  options.stdoutPath = logPath_;
  process_ = std::make_unique<Process>(Process::start(argv_, options));
  waitNewerThan(0);
}

void Agent::restart(const std::string& yaml) {
  process_->stop();
  // The next agent starts counting generations at 1 again.
  unlink(readyFile_.c_str());
  write(yaml);
  start();
}

Agent::~Agent() {
  if (process_) process_->stop();
}

std::optional<std::uint64_t> Agent::generation() const {
  std::istringstream in(readFile(readyFile_));
  std::string word;
  std::uint64_t gen = 0;
  if (in >> word >> gen && word == "generation") return gen;
  return std::nullopt;
}

void Agent::write(const std::string& yaml) {
  // Renamed in from the run dir (same tmpfs), so the config dir only ever holds complete files.
  writeFileAtomic(configDir_ + "/mesh.yaml", yaml, topo_.sandbox().runDir());
}

std::uint64_t Agent::apply(const std::string& yaml) {
  const auto before = generation().value_or(0);
  write(yaml);
  return waitNewerThan(before);
}

std::uint64_t Agent::waitNewerThan(std::uint64_t previous) {
  std::uint64_t seen = 0;
  bool ok = waitUntil(deadlineIn(kApplyBudget), [&] {
    auto gen = generation();
    if (gen && *gen > previous) seen = *gen;
    return seen > previous || !running();
  });
  if (!ok || seen <= previous) {
    throw std::runtime_error("sluice-agent did not apply a generation newer than " +
                             std::to_string(previous) + (running() ? "" : " (it exited)") +
                             "; its log:\n" + log());
  }
  return seen;
}

bool Agent::running() { return process_ && process_->running(); }

std::string Agent::log() const { return readFile(logPath_); }

}  // namespace sluice::e2e
