#pragma once
// A one-node cluster inside the sandbox: the test process's netns is the node; every pod gets its
// own netns joined to the node by a veth pair, like a routed CNI (Calico-style): the pod has a /32
// and a /128 and a default route to the node's side of the veth (169.254.1.1 / fe80::1), and the
// node routes each pod address to its veth. Client pods also get a test cgroup: that is what the
// agent enrolls. Service VIPs are routed nowhere, so only a rewritten connect() can reach a pod.
#include "process.h"
#include "sandbox.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace sluice::e2e {

using Labels = std::map<std::string, std::string>;

struct Pod {
  std::string name;
  std::string ns;  // Kubernetes namespace
  Labels labels;
  std::string ip4;
  std::string ip6;
  std::unique_ptr<NetnsGuard> netns;
  std::unique_ptr<CgroupGuard> cgroup;  // client pods only

  std::string key() const { return ns + "/" + name; }
  // The --enroll argument of sluice-agent for this pod.
  std::string enrollment() const { return key() + "=" + cgroup->path(); }
};

class Topology {
 public:
  explicit Topology(const Sandbox& sandbox) : sandbox_(sandbox) {}
  Topology(const Topology&) = delete;
  Topology& operator=(const Topology&) = delete;
  // Processes first (they hold netns and cgroups), then pods.
  ~Topology();

  // Pods are numbered in creation order: the n-th gets 10.77.0.(10+n) and fd00:77::(10+n).
  // (Labels are the pod's Kubernetes labels; client pods get a test cgroup.)
  Pod& addPod(const std::string& name, const Labels& labels, bool client,
              const std::string& ns = "e2e");

  // Starts `sluice-pod serve` in the pod, answering with the pod's name on each TCP and UDP port;
  // returns once it is listening.
  void serve(const Pod& pod, const std::vector<int>& ports, bool http = false);
  // The same, speaking HTTP/2 with prior knowledge (sluice-pod serve --h2c).
  void serveH2c(const Pod& pod, const std::vector<int>& ports);

  // Starts a process inside a pod's netns (and its cgroup for client pods); kept until teardown.
  Process& spawn(const Pod& pod, const std::vector<std::string>& argv, const std::string& logName);

  const Sandbox& sandbox() const { return sandbox_; }
  const std::vector<std::unique_ptr<Pod>>& pods() const { return pods_; }

 private:
  // sluice-pod serve with `mode` ("", "--http" or "--h2c"); waits for its "ready".
  void startServer(const Pod& pod, const std::vector<int>& ports, const std::string& mode);

  const Sandbox& sandbox_;
  std::vector<std::unique_ptr<Pod>> pods_;
  std::vector<std::unique_ptr<Process>> processes_;
};

// Path of the sluice-pod executable (built next to the tests).
std::string podToolPath();

}  // namespace sluice::e2e
