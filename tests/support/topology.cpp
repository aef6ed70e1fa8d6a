#include "topology.h"

#include <unistd.h>

#include <stdexcept>

namespace sluice::e2e {

std::string podToolPath() { return SLUICE_POD_TOOL; }

Topology::~Topology() {
  for (auto& p : processes_) p->stop(std::chrono::milliseconds(1000));
  processes_.clear();
  pods_.clear();
}

Pod& Topology::addPod(const std::string& name, const Labels& labels, bool client,
                      const std::string& ns) {
  // Numbered per process, not per topology: a deleted pod's veth and routes go away
  // asynchronously with its netns, so a later topology in the same process must not reuse them.
  static int created = 0;
  const int host = 10 + created++;
  if (host > 250) throw std::runtime_error("too many pods");
  auto pod = std::make_unique<Pod>();
  pod->name = name;
  pod->ns = ns;
  pod->labels = labels;
  pod->ip4 = "10.77.0." + std::to_string(host);
  pod->ip6 = "fd00:77::" + std::to_string(host);
  pod->netns = std::make_unique<NetnsGuard>(sandbox_, "pod-" + name);
  if (client) pod->cgroup = std::make_unique<CgroupGuard>(sandbox_, "pod-" + name);

  // The veth is created inside the pod and its peer pushed into the node netns (this process's).
  const std::string nodeIf = "vp" + std::to_string(host);
  const auto& netns = *pod->netns;
  runIn(netns, "ip link add eth0 type veth peer name " + nodeIf + " netns " +
                   std::to_string(getpid()));
  runIn(netns, "ip addr add " + pod->ip4 + "/32 dev eth0");
  runIn(netns, "ip -6 addr add " + pod->ip6 + "/128 dev eth0 nodad");
  runIn(netns, "ip link set eth0 up");
  runIn(netns, "ip route add 169.254.1.1/32 dev eth0");
  runIn(netns, "ip route add default via 169.254.1.1 dev eth0");
  runIn(netns, "ip -6 route add default via fe80::1 dev eth0");

  runHere("ip addr add 169.254.1.1/32 dev " + nodeIf);
  runHere("ip -6 addr add fe80::1/64 dev " + nodeIf + " nodad");
  runHere("ip link set " + nodeIf + " up");
  runHere("ip route add " + pod->ip4 + "/32 dev " + nodeIf);
  runHere("ip -6 route add " + pod->ip6 + "/128 dev " + nodeIf);

  pods_.push_back(std::move(pod));
  return *pods_.back();
}

Process& Topology::spawn(const Pod& pod, const std::vector<std::string>& argv,
                         const std::string& logName) {
  ProcessOptions options;
  options.netnsPath = pod.netns->path();
  if (pod.cgroup) options.cgroupPath = pod.cgroup->path();
  options.stdoutPath = sandbox_.runDir() + "/" + logName + ".out";
  options.stderrPath = sandbox_.runDir() + "/" + logName + ".err";
  processes_.push_back(std::make_unique<Process>(Process::start(argv, options)));
  return *processes_.back();
}

void Topology::serveH2c(const Pod& pod, const std::vector<int>& ports) {
  startServer(pod, ports, "--h2c");
}

void Topology::serve(const Pod& pod, const std::vector<int>& ports, bool http) {
  startServer(pod, ports, http ? "--http" : "");
}

void Topology::startServer(const Pod& pod, const std::vector<int>& ports, const std::string& mode) {
  std::vector<std::string> argv = {podToolPath(), "serve", "--name", pod.name};
  if (!mode.empty()) argv.push_back(mode);
  for (int port : ports) {
    argv.push_back("--port");
    argv.push_back(std::to_string(port));
  }
  const std::string log = "serve-" + pod.name;
  auto& proc = spawn(pod, argv, log);
  const std::string out = sandbox_.runDir() + "/" + log + ".out";
  if (!waitUntil(deadlineIn(std::chrono::milliseconds(5000)),
                 [&] { return readFile(out).find("ready") != std::string::npos || !proc.running(); }) ||
      !proc.running()) {
    throw std::runtime_error("server in pod " + pod.name + " did not start: " +
                             readFile(sandbox_.runDir() + "/" + log + ".err"));
  }
}

}  // namespace sluice::e2e
