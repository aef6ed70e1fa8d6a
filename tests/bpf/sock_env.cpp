#include "sock_env.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "sock.skel.h"

namespace sluice::test {
namespace {

using Clock = std::chrono::steady_clock;

std::string cgroup2Mount() {
  std::ifstream mounts("/proc/self/mounts");
  std::string dev, dir, type, rest;
  while (mounts >> dev >> dir >> type && std::getline(mounts, rest)) {
    if (type == "cgroup2") return dir;
  }
  return {};
}

std::string ownCgroupPath() {
  std::ifstream f("/proc/self/cgroup");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("0::", 0) == 0) return line.substr(3);
  }
  return {};
}

bool writeFile(const std::string& path, const std::string& text) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  return ok;
}

constexpr const char* kCgroupPrefix = "sluice-bpf-test-";

// A test process that crashed left its cgroup behind (empty once the process is gone): remove those
// whose pid no longer exists, so the machine does not collect them.
void sweepStaleCgroups(const std::string& mnt) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(mnt, ec)) {
    std::string name = entry.path().filename().string();
    if (name.rfind(kCgroupPrefix, 0) != 0) continue;
    pid_t pid = static_cast<pid_t>(std::atoi(name.c_str() + std::strlen(kCgroupPrefix)));
    if (pid > 0 && ::kill(pid, 0) != 0 && errno == ESRCH) ::rmdir(entry.path().c_str());
  }
}

}  // namespace

Endpoint Endpoint::parse(const std::string& ip, uint16_t port) {
  Endpoint ep;
  ep.port = port;
  if (inet_pton(AF_INET, ip.c_str(), ep.addr.bytes) == 1) {
    ep.af = AF_INET;
  } else if (inet_pton(AF_INET6, ip.c_str(), ep.addr.bytes) == 1) {
    ep.af = AF_INET6;
  } else {
    ADD_FAILURE() << "bad address " << ip;
  }
  return ep;
}

sockaddr_storage Endpoint::sockaddr(socklen_t* len) const {
  sockaddr_storage ss{};
  if (af == AF_INET) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    std::memcpy(&sin->sin_addr, addr.bytes, 4);
    *len = sizeof(*sin);
  } else {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(port);
    std::memcpy(&sin6->sin6_addr, addr.bytes, 16);
    *len = sizeof(*sin6);
  }
  return ss;
}

Endpoint Endpoint::from(const sockaddr_storage& ss) {
  Endpoint ep;
  ep.af = ss.ss_family;
  if (ss.ss_family == AF_INET) {
    const auto* sin = reinterpret_cast<const sockaddr_in*>(&ss);
    std::memcpy(ep.addr.bytes, &sin->sin_addr, 4);
    ep.port = ntohs(sin->sin_port);
  } else {
    const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(&ss);
    std::memcpy(ep.addr.bytes, &sin6->sin6_addr, 16);
    ep.port = ntohs(sin6->sin6_port);
  }
  return ep;
}

std::string Endpoint::str() const {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(af, addr.bytes, buf, sizeof(buf));
  return af == AF_INET ? std::string(buf) + ":" + std::to_string(port)
                       : "[" + std::string(buf) + "]:" + std::to_string(port);
}

bool Endpoint::operator==(const Endpoint& o) const {
  return af == o.af && port == o.port && std::memcmp(addr.bytes, o.addr.bytes, 16) == 0;
}

void ip(const std::string& args) {
  std::string cmd = "ip " + args;
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
}

void enterPrivateNetns() {
  static bool entered = false;
  if (entered) return;
  ASSERT_EQ(geteuid(), 0u) << "bpf tests need root (label bpf)";
  ASSERT_EQ(unshare(CLONE_NEWNET), 0) << std::strerror(errno);
  entered = true;
  ip("link set lo up");
  // Backends and the proxy live on lo; VIPs (10.96.0.0/16, fd00:96::/64) are on no interface and
  // have no route, so only a translated connect() can reach anything.
  for (const char* a : {"10.0.1.1", "10.0.1.2", "10.0.1.3", "10.0.1.4", "10.0.9.1"})
    ip(std::string("addr add ") + a + "/32 dev lo");
  for (const char* a : {"fd00::1", "fd00::2", "fd00::9"})
    ip(std::string("-6 addr add ") + a + "/128 dev lo nodad");
}

Fd& Fd::operator=(Fd&& o) noexcept {
  if (this != &o) {
    reset();
    fd_ = o.fd_;
    o.fd_ = -1;
  }
  return *this;
}

Fd::~Fd() { reset(); }

void Fd::reset() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

Fd listenTcp(const Endpoint& ep) {
  Fd fd(::socket(ep.af, SOCK_STREAM | SOCK_CLOEXEC, 0));
  int one = 1;
  setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  socklen_t len;
  sockaddr_storage ss = ep.sockaddr(&len);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0 || ::listen(fd.get(), 512) != 0) {
    ADD_FAILURE() << "listen " << ep.str() << ": " << std::strerror(errno);
    fd.reset();
  }
  return fd;
}

Fd bindUdp(const Endpoint& ep) {
  Fd fd(::socket(ep.af, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  socklen_t len;
  sockaddr_storage ss = ep.sockaddr(&len);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    ADD_FAILURE() << "bind " << ep.str() << ": " << std::strerror(errno);
    fd.reset();
  }
  return fd;
}

int connectTcp(const Endpoint& to, Fd* out) {
  Fd fd(::socket(to.af, SOCK_STREAM | SOCK_CLOEXEC, 0));
  linger lg{1, 0};
  setsockopt(fd.get(), SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
  socklen_t len;
  sockaddr_storage ss = to.sockaddr(&len);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) return -errno;
  *out = std::move(fd);
  return 0;
}

Endpoint localOf(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  EXPECT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len), 0);
  return Endpoint::from(ss);
}

Endpoint peerOf(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  EXPECT_EQ(::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len), 0) << std::strerror(errno);
  return Endpoint::from(ss);
}

int landing(const std::vector<Fd>& listeners, const Endpoint& client, Fd* accepted) {
  auto deadline = Clock::now() + std::chrono::seconds(2);
  while (Clock::now() < deadline) {
    std::vector<pollfd> pfds;
    for (const Fd& l : listeners) pfds.push_back({l.get(), POLLIN, 0});
    if (::poll(pfds.data(), pfds.size(), 100) <= 0) continue;
    for (size_t i = 0; i < pfds.size(); ++i) {
      if (!(pfds[i].revents & POLLIN)) continue;
      Fd conn(::accept4(pfds[i].fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
      if (conn.get() < 0) continue;
      if (peerOf(conn.get()) == client) {
        if (accepted) *accepted = std::move(conn);
        return static_cast<int>(i);
      }
    }
  }
  return -1;
}

SockEnv::SockEnv() { setUp(); }

// gtest's ASSERT_* cannot be used in a constructor; on failure ok_ stays false and the destructor
// removes whatever was made.
void SockEnv::setUp() {
  std::string mnt = cgroup2Mount();
  ASSERT_FALSE(mnt.empty()) << "no cgroup2 mount";
  std::string own = ownCgroupPath();
  ASSERT_FALSE(own.empty()) << "no cgroup2 membership in /proc/self/cgroup";
  parentCgroupDir_ = mnt + own;
  sweepStaleCgroups(mnt);
  std::string dir = mnt + "/" + kCgroupPrefix + std::to_string(getpid());
  ASSERT_EQ(::mkdir(dir.c_str(), 0755), 0) << dir << ": " << std::strerror(errno);
  cgroupDir_ = dir;
  struct stat st {};
  ASSERT_EQ(::stat(dir.c_str(), &st), 0);
  cgroupId_ = st.st_ino;  // a cgroup2 directory's inode number is its cgroup id
  cgroupFd_ = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(cgroupFd_, 0);

  skel_ = sock_bpf__open_and_load();
  ASSERT_NE(skel_, nullptr) << "load sock.bpf.o: " << std::strerror(errno);
  bpf_program* prog = nullptr;
  bpf_object__for_each_program(prog, skel_->obj) {
    bpf_link* link = bpf_program__attach_cgroup(prog, cgroupFd_);
    ASSERT_NE(link, nullptr) << "attach " << bpf_program__name(prog) << ": " << std::strerror(errno);
    links_.push_back(link);
  }
  ASSERT_TRUE(writeFile(cgroupDir_ + "/cgroup.procs", std::to_string(getpid())))
      << "move into " << cgroupDir_ << ": " << std::strerror(errno);
  ok_ = true;
}

SockEnv::~SockEnv() {
  for (bpf_link* l : links_) bpf_link__destroy(l);
  sock_bpf__destroy(skel_);
  if (cgroupFd_ >= 0) ::close(cgroupFd_);
  if (cgroupDir_.empty()) return;
  EXPECT_TRUE(writeFile(parentCgroupDir_ + "/cgroup.procs", std::to_string(getpid())))
      << "move back to " << parentCgroupDir_;
  // rmdir can report EBUSY for a moment after the last task left.
  auto deadline = Clock::now() + std::chrono::seconds(5);
  while (::rmdir(cgroupDir_.c_str()) != 0) {
    if (errno != EBUSY || Clock::now() > deadline) {
      ADD_FAILURE() << "rmdir " << cgroupDir_ << ": " << std::strerror(errno);
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void SockEnv::update(int mapFd, const void* key, const void* value) {
  ASSERT_EQ(bpf_map_update_elem(mapFd, key, value, BPF_ANY), 0) << std::strerror(errno);
}

void SockEnv::enroll(uint32_t clientClass, const Endpoint& podIp, uint32_t flags) {
  sl_client c{};
  c.client_class = clientClass;
  c.flags = flags;
  c.pod_ip = podIp.addr;
  c.family = podIp.family();
  update(bpf_map__fd(skel_->maps.sl_client_v1), &cgroupId_, &c);
}

void SockEnv::unenroll() {
  ASSERT_EQ(bpf_map_delete_elem(bpf_map__fd(skel_->maps.sl_client_v1), &cgroupId_), 0);
}

void SockEnv::service(const Endpoint& vip, uint8_t proto, uint32_t svcId, uint16_t flags,
                      uint8_t generation) {
  sl_svc_key k{};
  k.vip = vip.addr;
  k.port = htons(vip.port);
  k.proto = proto;
  k.family = vip.family();
  sl_svc v{};
  v.svc_id = svcId;
  v.flags = flags;
  v.generation = generation;
  update(bpf_map__fd(skel_->maps.sl_svc_v1), &k, &v);
}

void SockEnv::route(uint32_t svcId, uint32_t clientClass, uint8_t generation,
                    const std::vector<std::pair<uint32_t, uint32_t>>& groupWeights) {
  sl_route_key k{};
  k.svc_id = svcId;
  k.client_class = clientClass;
  k.generation = generation;
  sl_route r{};
  const size_t n = groupWeights.size();
  ASSERT_LE(n, static_cast<size_t>(SL_MAX_DESTS));
  r.count = static_cast<uint32_t>(n);
  double total = 0;
  for (const auto& gw : groupWeights) total += gw.second;
  // Vose's alias method: column i keeps group i with probability prob[i], else its alias.
  std::vector<double> p(n);
  std::vector<size_t> small, large;
  for (size_t i = 0; i < n; ++i) {
    p[i] = groupWeights[i].second * static_cast<double>(n) / total;
    (p[i] < 1.0 ? small : large).push_back(i);
  }
  std::vector<size_t> alias(n);
  for (size_t i = 0; i < n; ++i) alias[i] = i;
  while (!small.empty() && !large.empty()) {
    size_t s = small.back(), l = large.back();
    small.pop_back();
    large.pop_back();
    alias[s] = l;
    p[l] = p[l] + p[s] - 1.0;
    (p[l] < 1.0 ? small : large).push_back(l);
  }
  for (size_t i : small) p[i] = 1.0;
  for (size_t i : large) p[i] = 1.0;
  for (size_t i = 0; i < n; ++i) {
    r.prob[i] = static_cast<uint32_t>(std::min(1.0, p[i]) * SL_WEIGHT_SCALE + 0.5);
    r.group[i] = groupWeights[i].first;
    r.alias_group[i] = groupWeights[alias[i]].first;
  }
  update(bpf_map__fd(skel_->maps.sl_route_v1), &k, &r);
}

void SockEnv::backend(uint32_t id, const Endpoint& ep) {
  sl_backend b{};
  b.addr = ep.addr;
  b.port = htons(ep.port);
  b.family = ep.family();
  b.state = SL_BACKEND_ACTIVE;
  update(bpf_map__fd(skel_->maps.sl_backend_v1), &id, &b);
  sl_conns c{};
  update(bpf_map__fd(skel_->maps.sl_conns_v1), &id, &c);
}

void SockEnv::group(uint32_t id, uint8_t lb, const std::vector<uint32_t>& backends,
                    uint32_t maxConns, const std::vector<uint32_t>& hashTable) {
  sl_group g{};
  g.base = id * 1024;
  g.count = static_cast<uint32_t>(backends.size());
  g.hash_base = g.base + 512;
  g.hash_size = static_cast<uint32_t>(hashTable.size());
  g.max_conns = maxConns;
  g.lb = lb;
  int slots = bpf_map__fd(skel_->maps.sl_slot_v1);
  for (size_t i = 0; i < backends.size(); ++i) {
    sl_slot_key k{id, g.base + static_cast<uint32_t>(i)};
    update(slots, &k, &backends[i]);
  }
  for (size_t i = 0; i < hashTable.size(); ++i) {
    sl_slot_key k{id, g.hash_base + static_cast<uint32_t>(i)};
    update(slots, &k, &hashTable[i]);
  }
  update(bpf_map__fd(skel_->maps.sl_group_v1), &id, &g);
}

void SockEnv::proxy(const Endpoint& v4, const Endpoint& v6) {
  uint32_t zero = 0;
  sl_cfg c{};
  c.proxy4 = v4.addr;
  c.proxy6 = v6.addr;
  c.proxy_port = htons(v4.port);
  update(bpf_map__fd(skel_->maps.sl_cfg_v1), &zero, &c);
}

int64_t SockEnv::conns(uint32_t backendId) const {
  sl_conns c{};
  EXPECT_EQ(bpf_map_lookup_elem(bpf_map__fd(skel_->maps.sl_conns_v1), &backendId, &c), 0);
  return c.active;
}

uint64_t SockEnv::stat(sl_reason reason) const {
  int cpus = libbpf_num_possible_cpus();
  std::vector<uint64_t> perCpu(static_cast<size_t>(cpus > 0 ? cpus : 1));
  uint32_t key = reason;
  EXPECT_EQ(bpf_map_lookup_elem(bpf_map__fd(skel_->maps.sl_stats_v1), &key, perCpu.data()), 0);
  uint64_t sum = 0;
  for (uint64_t v : perCpu) sum += v;
  return sum;
}

bool SockEnv::handoff(const Endpoint& client, sl_handoff* out) const {
  sl_handoff_key k{};
  k.client = client.addr;
  k.client_port = htons(client.port);
  k.family = client.family();
  return bpf_map_lookup_elem(bpf_map__fd(skel_->maps.sl_handoff_v1), &k, out) == 0;
}

}  // namespace sluice::test
