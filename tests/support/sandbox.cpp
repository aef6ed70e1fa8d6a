#include "sandbox.h"

#include "process.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

namespace sluice::e2e {
namespace {

constexpr const char* kCgroupPrefix = "sluice-e2e-";
constexpr const char* kRunDirPrefix = "/tmp/sluice-e2e-";

void check(bool ok, const std::string& what) {
  if (!ok) throw std::runtime_error(what + ": " + strerror(errno));
}

void writeSysctl(const std::string& path, const std::string& value) {
  std::ofstream out(path);
  out << value;
  out.flush();
  if (!out) throw std::runtime_error("sysctl " + path + " = " + value + " failed");
}

// The cgroup2 mount point, from mountinfo (the machine mounts it in hybrid mode, not at the usual
// path, so it is looked up rather than assumed).
std::string findCgroup2() {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    auto dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    std::istringstream tail(line.substr(dash + 3));
    std::string fstype;
    tail >> fstype;
    if (fstype != "cgroup2") continue;
    std::istringstream head(line.substr(0, dash));
    std::string id, parent, devno, root, mountPoint;
    head >> id >> parent >> devno >> root >> mountPoint;
    return mountPoint;
  }
  return {};
}

bool removeCgroup(const std::string& path) {
  // Children first: rmdir only removes empty cgroups.
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(path, ec)) {
    if (entry.is_directory()) removeCgroup(entry.path());
  }
  std::ofstream(path + "/cgroup.kill") << "1";
  // A cgroup stays busy for a moment after its last process exits.
  return waitUntil(deadlineIn(std::chrono::milliseconds(5000)),
                   [&] { return rmdir(path.c_str()) == 0 || errno == ENOENT; });
}

// Cgroups of earlier runs whose process is gone (killed by a timeout before its destructors ran).
void sweepStaleCgroups(const std::string& cgroup2) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(cgroup2, ec)) {
    const std::string name = entry.path().filename();
    if (!entry.is_directory() || name.rfind(kCgroupPrefix, 0) != 0) continue;
    const std::string pid = name.substr(std::strlen(kCgroupPrefix));
    if (!std::filesystem::exists("/proc/" + pid)) removeCgroup(entry.path());
  }
}

// Mount points of earlier runs that were killed: empty directories on the host's /tmp.
void sweepStaleRunDirs() {
  std::error_code ec;
  const std::string prefix = std::filesystem::path(kRunDirPrefix).filename();
  for (const auto& entry : std::filesystem::directory_iterator("/tmp", ec)) {
    const std::string name = entry.path().filename();
    if (!entry.is_directory() || name.rfind(prefix, 0) != 0) continue;
    const std::string pid = name.substr(prefix.size());
    if (!std::filesystem::exists("/proc/" + pid)) rmdir(entry.path().c_str());
  }
}

std::vector<std::string> splitSpaces(const std::string& command) {
  std::vector<std::string> argv;
  std::istringstream in(command);
  std::string word;
  while (in >> word) argv.push_back(word);
  return argv;
}

}  // namespace

std::string Sandbox::unavailableReason() {
  if (geteuid() != 0) return "needs root (network namespaces, cgroups, bpffs)";
  if (findCgroup2().empty()) return "no cgroup2 mount";
  return {};
}

const Sandbox& Sandbox::enter() {
  static Sandbox* sandbox = [] {
    auto* s = new Sandbox();
    const std::string cgroup2 = findCgroup2();
    if (cgroup2.empty()) throw std::runtime_error("no cgroup2 mount");
    check(unshare(CLONE_NEWNET | CLONE_NEWNS) == 0, "unshare(CLONE_NEWNET|CLONE_NEWNS)");
    // Nothing mounted from here on may propagate back to the host.
    check(mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0, "make / private");
    sweepStaleRunDirs();
    s->runDir_ = std::string(kRunDirPrefix) + std::to_string(getpid());
    check(mkdir(s->runDir_.c_str(), 0755) == 0, "mkdir " + s->runDir_);
    check(mount("sluice-e2e", s->runDir_.c_str(), "tmpfs", 0, "mode=0755") == 0,
          "mount tmpfs on " + s->runDir_);
    s->bpffsDir_ = s->runDir_ + "/bpffs";
    s->netnsDir_ = s->runDir_ + "/netns";
    for (const auto& dir : {s->bpffsDir_, s->netnsDir_}) {
      check(mkdir(dir.c_str(), 0755) == 0, "mkdir " + dir);
    }
    check(mount("bpffs", s->bpffsDir_.c_str(), "bpf", 0, "mode=0700") == 0, "mount bpffs");

    // The node netns routes between pods: forwarding on, and no DAD delay before IPv6 addresses work.
    runHere("ip link set lo up");
    writeSysctl("/proc/sys/net/ipv4/ip_forward", "1");
    writeSysctl("/proc/sys/net/ipv6/conf/all/forwarding", "1");
    writeSysctl("/proc/sys/net/ipv6/conf/default/accept_dad", "0");
    writeSysctl("/proc/sys/net/ipv6/conf/all/accept_dad", "0");

    // Service VIPs (10.96.0.0/12, fd00:96::/64) are unreachable at the node, answered with ICMP
    // (not rate-limited): a connect() the agent did not rewrite fails visibly (EHOSTUNREACH, at
    // the first SYN retransmission) instead of hanging until a timeout.
    runHere("ip route add unreachable 10.96.0.0/12");
    runHere("ip -6 route add unreachable fd00:96::/64");
    writeSysctl("/proc/sys/net/ipv4/icmp_ratelimit", "0");
    writeSysctl("/proc/sys/net/ipv6/icmp/ratelimit", "0");

    sweepStaleCgroups(cgroup2);
    s->cgroupRoot_ = cgroup2 + "/" + kCgroupPrefix + std::to_string(getpid());
    check(mkdir(s->cgroupRoot_.c_str(), 0755) == 0, "mkdir " + s->cgroupRoot_);
    // What is not private goes when the process exits normally: the parent cgroup (CgroupGuards
    // remove the children) and the run dir's mount point on the host's /tmp (its content is a
    // tmpfs that dies with the mount namespace).
    static const std::string root = s->cgroupRoot_;
    static const std::string runDir = s->runDir_;
    std::atexit([] {
      removeCgroup(root);
      umount2(runDir.c_str(), MNT_DETACH);
      rmdir(runDir.c_str());
    });
    return s;
  }();
  return *sandbox;
}

NetnsGuard::NetnsGuard(const Sandbox& sandbox, const std::string& name)
    : path_(sandbox.netnsDir() + "/" + name) {
  int fd = open(path_.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
  check(fd >= 0, "create " + path_);
  close(fd);
  // A namespace switch affects only the calling thread: a short-lived thread creates the netns and
  // pins it with a bind mount, and the test's own thread stays in the node netns.
  std::string error;
  std::thread([&] {
    if (unshare(CLONE_NEWNET) != 0) {
      error = std::string("unshare(CLONE_NEWNET): ") + strerror(errno);
    } else if (mount("/proc/thread-self/ns/net", path_.c_str(), nullptr, MS_BIND, nullptr) != 0) {
      error = std::string("bind netns: ") + strerror(errno);
    }
  }).join();
  if (!error.empty()) throw std::runtime_error(error);
  runIn(*this, "ip link set lo up");
  runIn(*this, "sysctl -q -w net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0");
}

NetnsGuard::~NetnsGuard() {
  umount2(path_.c_str(), MNT_DETACH);
  unlink(path_.c_str());
}

CgroupGuard::CgroupGuard(const Sandbox& sandbox, const std::string& name)
    : path_(sandbox.cgroupRoot() + "/" + name) {
  check(mkdir(path_.c_str(), 0755) == 0, "mkdir " + path_);
}

CgroupGuard::~CgroupGuard() { removeCgroup(path_); }

std::string runIn(const NetnsGuard& netns, const std::string& command) {
  auto argv = splitSpaces(command);
  argv.insert(argv.begin(), {"nsenter", "--net=" + netns.path(), "--"});
  return runCommand(argv);
}

std::string runHere(const std::string& command) { return runCommand(splitSpaces(command)); }

}  // namespace sluice::e2e
