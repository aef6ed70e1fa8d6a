#pragma once
// The private world of one end-to-end test process.
//
// Sandbox::enter() moves the process into a new network namespace (the "node") and a new mount
// namespace with private propagation, then mounts a tmpfs on /tmp/sluice-e2e-<pid> and a bpffs
// inside it. Nothing mounted is visible outside, and it all disappears with the process: pod netns
// files, bpffs pins (and so pinned links), scratch files. What is global: the empty mount-point
// directory and the cgroups; they are removed at exit (CgroupGuard for each cgroup), and enter()
// sweeps the ones a killed earlier run left behind.
#include <string>

namespace sluice::e2e {

class Sandbox {
 public:
  // Empty when the sandbox can be entered, else why not (e.g. not root); tests skip with it.
  static std::string unavailableReason();
  // Idempotent; throws on failure.
  static const Sandbox& enter();

  const std::string& runDir() const { return runDir_; }         // tmpfs, private
  const std::string& bpffsDir() const { return bpffsDir_; }     // bpffs, private
  const std::string& netnsDir() const { return netnsDir_; }     // bind-mounted netns files
  const std::string& cgroupRoot() const { return cgroupRoot_; } // this run's parent cgroup

 private:
  Sandbox() = default;
  std::string runDir_;
  std::string bpffsDir_;
  std::string netnsDir_;
  std::string cgroupRoot_;
};

// A network namespace kept alive by a bind mount at <netnsDir>/<name>.
class NetnsGuard {
 public:
  NetnsGuard(const Sandbox& sandbox, const std::string& name);
  NetnsGuard(const NetnsGuard&) = delete;
  NetnsGuard& operator=(const NetnsGuard&) = delete;
  ~NetnsGuard();

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A cgroup2 directory under the run's parent cgroup; on destruction its processes are killed and
// the directory removed (retrying the brief EBUSY after the last process exits).
class CgroupGuard {
 public:
  CgroupGuard(const Sandbox& sandbox, const std::string& name);
  CgroupGuard(const CgroupGuard&) = delete;
  CgroupGuard& operator=(const CgroupGuard&) = delete;
  ~CgroupGuard();

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Runs a command inside a netns (via nsenter, which keeps the caller's cgroup and mounts).
std::string runIn(const NetnsGuard& netns, const std::string& command);
// Runs a shell-free command line split on spaces in the current netns.
std::string runHere(const std::string& command);

}  // namespace sluice::e2e
