#include "traffic.h"

#include <signal.h>
#include <sys/wait.h>

#include <ctime>

#include <algorithm>
#include <cstring>
#include <sstream>
#include <stdexcept>

namespace sluice::e2e {
namespace {

std::vector<std::string> connectArgv(const ClientSpec& spec, bool hold) {
  std::vector<std::string> argv = {podToolPath(),         "connect", "--to",
                                   spec.target,           "--count", std::to_string(spec.count),
                                   "--timeout-ms",        std::to_string(spec.timeoutMs)};
  if (spec.udp) argv.push_back("--udp");
  if (hold) argv.push_back("--hold");
  if (spec.durationMs > 0) {
    argv.push_back("--duration-ms");
    argv.push_back(std::to_string(spec.durationMs));
  }
  return argv;
}

std::string uniqueLog(const Pod& client) {
  static int counter = 0;
  return "client-" + client.name + "-" + std::to_string(counter++);
}

// Upper bound of a client's run: every attempt may take its timeout (connect and read each).
std::chrono::milliseconds clientBudget(const ClientSpec& spec) {
  const long perAttempt = 2L * spec.timeoutMs;
  long total = spec.durationMs > 0 ? spec.durationMs + perAttempt : perAttempt * spec.count;
  return std::chrono::milliseconds(total + 10000);
}

}  // namespace

std::map<std::string, int> ClientRun::byPod() const {
  std::map<std::string, int> counts;
  for (const auto& a : attempts) {
    if (a.ok) counts[a.pod]++;
  }
  return counts;
}

std::map<std::string, int> ClientRun::byPeer() const {
  std::map<std::string, int> counts;
  for (const auto& a : attempts) {
    if (a.ok) counts[a.peer]++;
  }
  return counts;
}

std::map<int, int> ClientRun::errors() const {
  std::map<int, int> counts;
  for (const auto& a : attempts) {
    if (!a.ok) counts[a.error]++;
  }
  return counts;
}

int ClientRun::failures() const {
  return static_cast<int>(
      std::count_if(attempts.begin(), attempts.end(), [](const Attempt& a) { return !a.ok; }));
}

std::string ClientRun::summary() const {
  std::ostringstream out;
  out << attempts.size() << " attempts:";
  for (const auto& [pod, n] : byPod()) out << " " << pod << "=" << n;
  for (const auto& [peer, n] : byPeer()) out << " peer[" << peer << "]=" << n;
  for (const auto& [err, n] : errors()) out << " fail[" << errnoName(err) << "]=" << n;
  // Where and how the first failure happened tells a lost race from a wrong route.
  for (size_t i = 0; i < attempts.size(); ++i) {
    const auto& a = attempts[i];
    if (a.ok) continue;
    out << "; first failure: attempt " << i << " in " << a.stage << " after "
        << (a.endNs - a.startNs) / 1'000'000 << " ms";
    break;
  }
  return out.str();
}

ClientRun parseClientOutput(const std::string& text) {
  ClientRun run;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string kind;
    Attempt a;
    fields >> kind;
    if (kind == "ok") {
      a.ok = true;
      fields >> a.startNs >> a.endNs >> a.pod >> a.peer;
    } else if (kind == "fail") {
      fields >> a.startNs >> a.endNs >> a.error >> a.stage;
    } else {
      continue;  // "holding N"
    }
    run.attempts.push_back(a);
  }
  return run;
}

ClientRun runClient(Topology& topo, const Pod& client, const ClientSpec& spec) {
  const std::string log = uniqueLog(client);
  auto& proc = topo.spawn(client, connectArgv(spec, false), log);
  const std::string out = topo.sandbox().runDir() + "/" + log + ".out";
  int status = proc.wait(deadlineIn(clientBudget(spec)));
  if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw std::runtime_error("client in pod " + client.name + " did not finish cleanly (status " +
                             std::to_string(status) +
                             "): " + readFile(topo.sandbox().runDir() + "/" + log + ".err"));
  }
  return parseClientOutput(readFile(out));
}

ClientRun holdConnections(Topology& topo, const Pod& client, const std::string& target, int count,
                          Process** process) {
  ClientSpec spec(target, count);
  const std::string log = uniqueLog(client);
  auto& proc = topo.spawn(client, connectArgv(spec, true), log);
  const std::string out = topo.sandbox().runDir() + "/" + log + ".out";
  if (!waitUntil(deadlineIn(clientBudget(spec)),
                 [&] { return readFile(out).find("holding") != std::string::npos || !proc.running(); }) ||
      !proc.running()) {
    throw std::runtime_error("holding client in pod " + client.name + " failed: " +
                             readFile(topo.sandbox().runDir() + "/" + log + ".err"));
  }
  if (process) *process = &proc;
  return parseClientOutput(readFile(out));
}

BackgroundClient::BackgroundClient(Topology& topo, const Pod& client, const ClientSpec& spec) {
  const std::string log = uniqueLog(client);
  outPath_ = topo.sandbox().runDir() + "/" + log + ".out";
  process_ = &topo.spawn(client, connectArgv(spec, false), log);
  // After SIGTERM the client finishes the attempt under way: at most a connect and a read timeout.
  stopBudget_ = std::chrono::milliseconds(2L * spec.timeoutMs + 5000);
}

ClientRun BackgroundClient::finish() {
  kill(process_->pid(), SIGTERM);
  int status = process_->wait(deadlineIn(stopBudget_));
  if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw std::runtime_error("background client did not finish cleanly (status " +
                             std::to_string(status) + ")");
  }
  return parseClientOutput(readFile(outPath_));
}

int BackgroundClient::attemptsSoFar() const {
  return static_cast<int>(parseClientOutput(readFile(outPath_)).attempts.size());
}

std::uint64_t monotonicNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ull +
         static_cast<std::uint64_t>(ts.tv_nsec);
}

double chiSquare(const std::map<std::string, int>& observed,
                 const std::map<std::string, double>& shares) {
  double total = 0;
  for (const auto& [_, n] : observed) total += n;
  double chi = 0;
  for (const auto& [pod, share] : shares) {
    const double expected = total * share;
    const auto it = observed.find(pod);
    const double seen = it == observed.end() ? 0 : it->second;
    chi += (seen - expected) * (seen - expected) / expected;
  }
  return chi;
}

std::string errnoName(int err) {
  const char* name = strerrorname_np(err);
  return name ? name : std::to_string(err);
}

}  // namespace sluice::e2e
