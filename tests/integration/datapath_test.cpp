// The dataplane against the kernel: Datapath loads sock.bpf.o, pins its maps in a private bpffs,
// attaches to a cgroup this test creates and moves itself into, and real connect()s to a VIP land on
// listeners bound to addresses on lo of a private netns. Every test runs in its own process
// (gtest_discover_tests), so unshare() here never leaks past the test.
#include <sluice/dataplane/datapath.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

namespace sluice::dataplane {
namespace {

using Clock = std::chrono::steady_clock;

bool writeFile(const std::string& path, const std::string& text) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    return false;
  }
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  return ok;
}

std::string cgroup2Mount() {
  std::ifstream mounts("/proc/self/mounts");
  std::string dev, dir, type, rest;
  while (mounts >> dev >> dir >> type && std::getline(mounts, rest)) {
    if (type == "cgroup2") {
      return dir;
    }
  }
  return {};
}

std::string ownCgroup() {
  std::ifstream f("/proc/self/cgroup");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("0::", 0) == 0) {
      return line.substr(3);
    }
  }
  return {};
}

// Backends on lo; the VIP is on no interface and has no route, so only a translated connect()
// reaches anything (an untranslated one fails with ENETUNREACH, which counts as a failure).
const char* const kBackendIps[] = {"10.210.0.1", "10.210.0.2", "10.210.0.3"};
constexpr uint16_t kBackendPort = 8080;
const char* const kVip = "10.96.7.7";
constexpr uint16_t kVipPort = 80;

// One listener per backend address: accepts and answers with its index as one byte.
class Listener {
 public:
  Listener(const char* ip, char tag) : tag_(tag) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(kBackendPort);
    inet_pton(AF_INET, ip, &a.sin_addr);
    ok_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0 && ::listen(fd_, 512) == 0;
    thread_ = std::thread([this] { serve(); });
  }
  ~Listener() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;
  bool ok() const { return ok_; }

 private:
  void serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) {
        continue;
      }
      int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c >= 0) {
        (void)!::write(c, &tag_, 1);
        ::close(c);
      }
    }
  }
  int fd_ = -1;
  char tag_;
  bool ok_ = false;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

struct Landing {
  int err = 0;        // errno of the first failing call, 0 when a backend answered
  char backend = 0;   // '0'.. index into kBackendIps
  bool peerIsVip = false;
};

Landing connectVip() {
  Landing out;
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(kVipPort);
  inet_pton(AF_INET, kVip, &a.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    out.err = errno;
    ::close(fd);
    return out;
  }
  sockaddr_in peer{};
  socklen_t len = sizeof(peer);
  ::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len);
  out.peerIsVip = peer.sin_addr.s_addr == a.sin_addr.s_addr && peer.sin_port == a.sin_port;
  if (::read(fd, &out.backend, 1) != 1) {
    out.err = errno ? errno : EPIPE;
  }
  ::close(fd);
  return out;
}

plan::Backend backend(int i) {
  plan::Backend b;
  b.ip = *net::IpAddress::parse(kBackendIps[i]);
  b.port = kBackendPort;
  b.name = std::string(kBackendIps[i]) + ":" + std::to_string(kBackendPort);
  return b;
}

// A plan for the one VIP: `split` of (group backends, weight); groups are named g0, g1, ...
plan::DataplanePlan vipPlan(const std::vector<std::pair<std::vector<int>, uint32_t>>& split,
                            plan::LbPolicy lb = plan::LbPolicy::RoundRobin) {
  plan::DataplanePlan p;
  plan::Frontend f;
  f.vip = *net::IpAddress::parse(kVip);
  f.port = kVipPort;
  for (size_t g = 0; g < split.size(); ++g) {
    plan::BackendGroup group;
    group.name = "g" + std::to_string(g);
    group.lb = lb;
    for (int b : split[g].first) {
      plan::Backend be = backend(b);
      group.backends.push_back(be.name);
      p.backends[be.name] = be;
    }
    p.groups[group.name] = group;
    f.defaultRoute.split.push_back({group.name, split[g].second});
  }
  p.frontends.push_back(f);
  return p;
}

std::set<char> backendsOf(const plan::DataplanePlan& p) {
  std::set<char> out;
  for (const auto& [name, b] : p.backends) {
    for (int i = 0; i < 3; ++i) {
      if (b.ip == *net::IpAddress::parse(kBackendIps[i])) {
        out.insert(static_cast<char>('0' + i));
      }
    }
  }
  return out;
}

class DatapathTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) {
      GTEST_SKIP() << "needs root (label integration)";
    }
    ASSERT_EQ(unshare(CLONE_NEWNET | CLONE_NEWNS), 0) << std::strerror(errno);
    ASSERT_EQ(mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr), 0) << std::strerror(errno);
    ASSERT_EQ(std::system("ip link set lo up"), 0);
    for (const char* ip : kBackendIps) {
      ASSERT_EQ(std::system((std::string("ip addr add ") + ip + "/32 dev lo").c_str()), 0);
    }
    char tmpl[] = "/tmp/sluice-dataplane-it-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    mountDir_ = tmpl;
    ASSERT_EQ(mount("bpf", mountDir_.c_str(), "bpf", 0, nullptr), 0) << std::strerror(errno);
    mounted_ = true;
    bpffs_ = mountDir_ + "/sluice";

    std::string mnt = cgroup2Mount();
    ASSERT_FALSE(mnt.empty()) << "no cgroup2 mount";
    parentCgroup_ = mnt + ownCgroup();
    cgroup_ = mnt + "/sluice-dataplane-it-" + std::to_string(getpid());
    ASSERT_EQ(mkdir(cgroup_.c_str(), 0755), 0) << cgroup_ << ": " << std::strerror(errno);
    madeCgroup_ = true;
    ASSERT_TRUE(writeFile(cgroup_ + "/cgroup.procs", std::to_string(getpid())));
    moved_ = true;
    for (int i = 0; i < 3; ++i) {
      listeners_.push_back(std::make_unique<Listener>(kBackendIps[i], static_cast<char>('0' + i)));
      ASSERT_TRUE(listeners_.back()->ok()) << kBackendIps[i];
    }
    auto id = cgroupId(cgroup_);
    ASSERT_TRUE(id.ok()) << id.error().message();
    struct stat st {};
    ASSERT_EQ(stat(cgroup_.c_str(), &st), 0);
    ASSERT_EQ(*id, static_cast<uint64_t>(st.st_ino));
    clients_ = {{*id, "ns/client", *net::IpAddress::parse("10.1.1.1")}};
  }

  void TearDown() override {
    listeners_.clear();
    if (moved_) {
      EXPECT_TRUE(writeFile(parentCgroup_ + "/cgroup.procs", std::to_string(getpid())));
    }
    if (madeCgroup_) {
      auto deadline = Clock::now() + std::chrono::seconds(5);
      while (rmdir(cgroup_.c_str()) != 0) {
        if (errno != EBUSY || Clock::now() > deadline) {
          ADD_FAILURE() << "rmdir " << cgroup_ << ": " << std::strerror(errno);
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    }
    if (mounted_) {
      EXPECT_EQ(umount2(mountDir_.c_str(), MNT_DETACH), 0);
    }
    if (!mountDir_.empty()) {
      EXPECT_EQ(rmdir(mountDir_.c_str()), 0) << mountDir_;
    }
  }

  std::unique_ptr<Datapath> openAttached() {
    auto dp = Datapath::open({bpffs_});
    EXPECT_TRUE(dp.ok()) << dp.error().message();
    if (!dp.ok()) {
      return nullptr;
    }
    Status st = (*dp)->attach(cgroup_);
    EXPECT_TRUE(st.ok()) << st.error().message();
    return std::move(dp).value();
  }

  std::string mountDir_, bpffs_, cgroup_, parentCgroup_;
  bool mounted_ = false, madeCgroup_ = false, moved_ = false;
  std::vector<std::unique_ptr<Listener>> listeners_;
  std::vector<Enrollment> clients_;
};

TEST_F(DatapathTest, ConnectLandsOnThePlannedBackendAndSeesTheVip) {
  auto dp = openAttached();
  ASSERT_TRUE(dp);
  EXPECT_FALSE(dp->adoptedPins());
  auto st = dp->apply(vipPlan({{{1}, 1}}), clients_);
  ASSERT_TRUE(st.ok()) << st.error().message();
  for (int i = 0; i < 20; ++i) {
    Landing l = connectVip();
    ASSERT_EQ(l.err, 0) << std::strerror(l.err);
    EXPECT_EQ(l.backend, '1');
    EXPECT_TRUE(l.peerIsVip);
  }
  // Round robin over two backends alternates.
  st = dp->apply(vipPlan({{{0, 2}, 1}}), clients_);
  ASSERT_TRUE(st.ok()) << st.error().message();
  std::map<char, int> seen;
  for (int i = 0; i < 20; ++i) {
    Landing l = connectVip();
    ASSERT_EQ(l.err, 0) << std::strerror(l.err);
    ++seen[l.backend];
  }
  EXPECT_EQ(seen['0'], 10);
  EXPECT_EQ(seen['2'], 10);
  // A known service with nowhere to go refuses fast.
  st = dp->apply(vipPlan({}), clients_);
  ASSERT_TRUE(st.ok()) << st.error().message();
  EXPECT_EQ(connectVip().err, ECONNREFUSED);
  // The pins are in the private bpffs.
  struct stat pin {};
  EXPECT_EQ(stat((bpffs_ + "/sl_svc_v1").c_str(), &pin), 0);
}

TEST_F(DatapathTest, ConfigFlipsUnderContinuousConnectsNeverFailOrMisroute) {
  auto dp = openAttached();
  ASSERT_TRUE(dp);
  // Weight shifts, subset-like group changes and endpoint changes, in a cycle.
  const std::vector<plan::DataplanePlan> plans = {
      vipPlan({{{0}, 1}}),
      vipPlan({{{0}, 50}, {{1}, 50}}),
      vipPlan({{{1, 2}, 1}}),
      vipPlan({{{2}, 90}, {{0, 1}, 10}}, plan::LbPolicy::LeastRequest),
      vipPlan({{{2}, 1}}, plan::LbPolicy::Random),
  };
  ASSERT_TRUE(dp->apply(plans[0], clients_).ok());
  // applied = index of the last plan fully applied; applying = the one being written.
  std::atomic<size_t> applied{0}, applying{0};
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::vector<std::string> problems;
  std::atomic<size_t> connects{0};
  std::thread client([&] {
    while (!stop) {
      size_t from = applied.load();
      Landing l = connectVip();
      size_t to = applying.load();
      std::set<char> allowed;
      for (size_t i = from; i <= to; ++i) {
        auto b = backendsOf(plans[i % plans.size()]);
        allowed.insert(b.begin(), b.end());
      }
      ++connects;
      if (l.err != 0 || !allowed.contains(l.backend) || !l.peerIsVip) {
        std::lock_guard lock(mu);
        problems.push_back("plans " + std::to_string(from) + ".." + std::to_string(to) +
                           ": err=" + std::strerror(l.err) + " backend=" + std::string(1, l.backend));
      }
    }
  });
  size_t flips = 0;
  auto deadline = Clock::now() + std::chrono::seconds(4);
  for (size_t k = 1; Clock::now() < deadline || flips < 100; ++k) {
    applying = k;
    auto st = dp->apply(plans[k % plans.size()], clients_);
    ASSERT_TRUE(st.ok()) << st.error().message();
    applied = k;
    ++flips;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  stop = true;
  client.join();
  EXPECT_GE(connects.load(), 200u);
  EXPECT_TRUE(problems.empty()) << problems.size() << " of " << connects.load()
                                << " connections failed or misrouted, first: " << problems.front();
}

TEST_F(DatapathTest, RestartReadoptsPinnedMapsAndIds) {
  auto plan = vipPlan({{{0}, 30}, {{1, 2}, 70}});
  {
    auto first = openAttached();
    ASSERT_TRUE(first);
    ASSERT_TRUE(first->apply(plan, clients_).ok());
  }  // the first agent exits: links detached, pins stay
  auto second = Datapath::open({bpffs_});
  ASSERT_TRUE(second.ok()) << second.error().message();
  EXPECT_TRUE((*second)->adoptedPins());
  auto st = (*second)->apply(plan, clients_);
  ASSERT_TRUE(st.ok()) << st.error().message();
  EXPECT_EQ(st->upserts, 0u) << "the restarted agent rewrote entries it should have re-adopted";
  EXPECT_EQ(st->erases, 0u);
  ASSERT_TRUE((*second)->attach(cgroup_).ok());
  std::set<char> seen;
  for (int i = 0; i < 60; ++i) {
    Landing l = connectVip();
    ASSERT_EQ(l.err, 0) << std::strerror(l.err);
    seen.insert(l.backend);
  }
  EXPECT_EQ(seen, (std::set<char>{'0', '1', '2'}));
  // A change after the restart is still written make-before-break over the adopted ids.
  st = (*second)->apply(vipPlan({{{2}, 1}}), clients_);
  ASSERT_TRUE(st.ok()) << st.error().message();
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(connectVip().backend, '2');
  }
  second->reset();
  ASSERT_TRUE(Datapath::uninstall(bpffs_).ok());
  struct stat pin {};
  EXPECT_NE(stat((bpffs_ + "/sl_svc_v1").c_str(), &pin), 0);
}

#ifdef SLUICE_AGENT_PATH
std::string readAll(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void writeAtomic(const std::string& path, const std::string& text) {
  {
    std::ofstream out(path + ".tmp");
    out << text;
  }
  ASSERT_EQ(std::rename((path + ".tmp").c_str(), path.c_str()), 0);
}

// A Service 10.96.7.7:80 → 8080 on the given backend addresses (indexes into kBackendIps).
std::string meshYaml(const std::vector<int>& backends) {
  std::string y =
      "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: it\nspec:\n"
      "  clusterIP: \"10.96.7.7\"\n  ports:\n  - name: http\n    port: 80\n    targetPort: 8080\n"
      "    protocol: TCP\n---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n"
      "  name: web-1\n  namespace: it\n  labels:\n    kubernetes.io/service-name: web\n"
      "addressType: IPv4\nports:\n- name: http\n  port: 8080\n  protocol: TCP\nendpoints:\n";
  for (int b : backends) {
    y += std::string("- addresses: [\"") + kBackendIps[b] +
         "\"]\n  conditions: {ready: true, serving: true, terminating: false}\n";
  }
  return y;
}

// One HTTP/1.0 GET to 127.0.0.1:port; the whole response, or "" when the connect fails.
std::string httpGet(uint16_t port, const std::string& path) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  std::string out;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0) {
    std::string req = "GET " + path + " HTTP/1.0\r\n\r\n";
    if (::write(fd, req.data(), req.size()) == static_cast<ssize_t>(req.size())) {
      char buf[4096];
      ssize_t n;
      while ((n = ::read(fd, buf, sizeof buf)) > 0) {
        out.append(buf, static_cast<size_t>(n));
      }
    }
  }
  ::close(fd);
  return out;
}

// Waits (bounded) until the ready file says `generation want`.
bool waitGeneration(const std::string& readyFile, int want, pid_t agent) {
  auto deadline = Clock::now() + std::chrono::seconds(20);
  while (Clock::now() < deadline) {
    if (readAll(readyFile) == "generation " + std::to_string(want) + "\n") {
      return true;
    }
    if (waitpid(agent, nullptr, WNOHANG) == agent) {
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

TEST_F(DatapathTest, AgentAppliesKeepsLastGoodPlanExitsOnSigtermAndUninstalls) {
  std::string configDir = mountDir_ + ".config";
  std::string readyFile = mountDir_ + ".ready";
  std::string logFile = mountDir_ + ".log";
  ASSERT_EQ(mkdir(configDir.c_str(), 0755), 0);
  struct Cleanup {
    std::string dir, ready, log;
    ~Cleanup() {
      std::filesystem::remove_all(dir);
      std::filesystem::remove(ready);
      std::filesystem::remove(log);
    }
  } cleanup{configDir, readyFile, logFile};
  writeAtomic(configDir + "/mesh.yaml", meshYaml({0}));

  pid_t agent = fork();
  ASSERT_GE(agent, 0);
  if (agent == 0) {
    int fd = ::open(logFile.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    execl(SLUICE_AGENT_PATH, SLUICE_AGENT_PATH, "--config-dir", configDir.c_str(), "--bpffs",
          bpffs_.c_str(), "--enroll", ("it/client=" + cgroup_).c_str(), "--ready-file",
          readyFile.c_str(), "--log-level", "debug", "--metrics-addr", "127.0.0.1:19091",
          static_cast<char*>(nullptr));
    _exit(127);
  }
  struct Reaper {
    pid_t pid;
    ~Reaper() {
      if (pid > 0) {
        kill(pid, SIGKILL);
        waitpid(pid, nullptr, 0);
      }
    }
  } reaper{agent};

  ASSERT_TRUE(waitGeneration(readyFile, 1, agent)) << readAll(logFile);
  for (int i = 0; i < 5; ++i) {
    Landing l = connectVip();
    ASSERT_EQ(l.err, 0) << std::strerror(l.err) << "\n" << readAll(logFile);
    EXPECT_EQ(l.backend, '0');
  }
  // A broken document (no object named) holds back every object of its file: generation 1 keeps
  // serving.
  writeAtomic(configDir + "/mesh.yaml", meshYaml({1}) + "---\nkind: [unterminated\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(readAll(readyFile), "generation 1\n");
  EXPECT_NE(readAll(logFile).find("config rejected"), std::string::npos) << readAll(logFile);
  EXPECT_EQ(connectVip().backend, '0');
  // Fixed: applied as generation 2.
  writeAtomic(configDir + "/mesh.yaml", meshYaml({1}));
  ASSERT_TRUE(waitGeneration(readyFile, 2, agent)) << readAll(logFile);
  EXPECT_EQ(connectVip().backend, '1');
  // An invalid object (a negative weight) in another file stays out; the other objects update.
  writeAtomic(configDir + "/bad.yaml",
              "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata:\n  name: bad\n"
              "  namespace: it\nspec:\n  hosts: [web]\n  http:\n  - route:\n    - destination: "
              "{host: web}\n      weight: -1\n");
  writeAtomic(configDir + "/mesh.yaml", meshYaml({2}));
  ASSERT_TRUE(waitGeneration(readyFile, 3, agent)) << readAll(logFile);
  EXPECT_NE(readAll(logFile).find("object VirtualService/it/bad has errors"), std::string::npos)
      << readAll(logFile);
  EXPECT_EQ(connectVip().backend, '2');
  // Observability on loopback: the rejection is counted, the generation and the reload histogram
  // are exported, the agent is healthy and ready.
  std::string metrics = httpGet(19091, "/metrics");
  EXPECT_NE(metrics.find(" 200 OK\r\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("\nsluice_generation 3\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("\nsluice_config_rejections_total "), std::string::npos) << metrics;
  EXPECT_EQ(metrics.find("\nsluice_config_rejections_total 0\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("sluice_network_programming_duration_seconds_count 3\n"), std::string::npos)
      << metrics;
  EXPECT_NE(httpGet(19091, "/healthz").find(" 200 OK\r\n"), std::string::npos);
  EXPECT_NE(httpGet(19091, "/readyz").find(" 200 OK\r\n"), std::string::npos);

  // SIGTERM: clean exit, pins stay, links go (the VIP is no longer translated).
  ASSERT_EQ(kill(agent, SIGTERM), 0);
  int status = 0;
  ASSERT_EQ(waitpid(agent, &status, 0), agent);
  reaper.pid = 0;
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status << readAll(logFile);
  struct stat pin {};
  EXPECT_EQ(stat((bpffs_ + "/sl_svc_v1").c_str(), &pin), 0);
  EXPECT_EQ(connectVip().err, ENETUNREACH);

  std::string cmd = std::string(SLUICE_AGENT_PATH) + " uninstall --bpffs " + bpffs_ + " >/dev/null";
  EXPECT_EQ(std::system(cmd.c_str()), 0);
  EXPECT_NE(stat((bpffs_ + "/sl_svc_v1").c_str(), &pin), 0);
}
// --pin-links: kill -9 of the agent and a restart are a non-event for enrolled cgroups; the restarted
// agent re-adopts the pinned links, SIGTERM leaves them, uninstall removes them.
TEST_F(DatapathTest, AgentKilledAndRestartedWithPinnedLinksFailsNoConnect) {
  std::string configDir = mountDir_ + ".config";
  std::string readyFile = mountDir_ + ".ready";
  std::string logFile = mountDir_ + ".log";
  ASSERT_EQ(mkdir(configDir.c_str(), 0755), 0);
  struct Cleanup {
    std::string dir, ready, log;
    ~Cleanup() {
      std::filesystem::remove_all(dir);
      std::filesystem::remove(ready);
      std::filesystem::remove(log);
    }
  } cleanup{configDir, readyFile, logFile};
  writeAtomic(configDir + "/mesh.yaml", meshYaml({0}));
  auto start = [&] {
    pid_t pid = fork();
    if (pid == 0) {
      int fd = ::open(logFile.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      dup2(fd, 1);
      dup2(fd, 2);
      execl(SLUICE_AGENT_PATH, SLUICE_AGENT_PATH, "--config-dir", configDir.c_str(), "--bpffs",
            bpffs_.c_str(), "--enroll", ("it/client=" + cgroup_).c_str(), "--ready-file",
            readyFile.c_str(), "--pin-links", static_cast<char*>(nullptr));
      _exit(127);
    }
    return pid;
  };
  struct Reaper {
    pid_t pid;
    ~Reaper() {
      if (pid > 0) {
        kill(pid, SIGKILL);
        waitpid(pid, nullptr, 0);
      }
    }
  } reaper{start()};
  ASSERT_GT(reaper.pid, 0);
  ASSERT_TRUE(waitGeneration(readyFile, 1, reaper.pid)) << readAll(logFile);

  std::atomic<bool> stop{false};
  std::atomic<int> good{0}, bad{0};
  std::thread load([&] {
    while (!stop) {
      Landing l = connectVip();
      (l.err == 0 && l.backend == '0' ? good : bad)++;
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  kill(reaper.pid, SIGKILL);
  waitpid(reaper.pid, nullptr, 0);
  std::filesystem::remove(readyFile);
  int duringGap = good;
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  duringGap = good - duringGap;
  reaper.pid = start();
  bool restarted = waitGeneration(readyFile, 1, reaper.pid);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  stop = true;
  load.join();
  ASSERT_TRUE(restarted) << readAll(logFile);
  EXPECT_EQ(bad, 0) << good << " good";
  EXPECT_GT(duringGap, 0) << "no connection ran while no agent was running";

  ASSERT_EQ(kill(reaper.pid, SIGTERM), 0);
  ASSERT_EQ(waitpid(reaper.pid, nullptr, 0), reaper.pid);
  reaper.pid = 0;
  EXPECT_EQ(connectVip().backend, '0') << "pinned links stay after SIGTERM";
  std::string cmd = std::string(SLUICE_AGENT_PATH) + " uninstall --bpffs " + bpffs_ + " >/dev/null";
  EXPECT_EQ(std::system(cmd.c_str()), 0);
  EXPECT_EQ(connectVip().err, ENETUNREACH);
  EXPECT_FALSE(std::filesystem::exists(bpffs_ + "/links"));
}
#endif

}  // namespace
}  // namespace sluice::dataplane
