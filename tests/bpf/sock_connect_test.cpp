// Real connect()/sendmsg()/recvmsg()/getpeername() through the attached programs, in a private
// netns: VIPs are on no interface and have no route, so reaching a listener proves a translation and
// ENETUNREACH proves there was none. Map entries are written directly, as the agent would.
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <thread>
#include <vector>

#include "sock.skel.h"
#include "sock_env.h"

namespace sluice::test {
namespace {

Endpoint ep(const char* ip, uint16_t port) { return Endpoint::parse(ip, port); }

class SockConnectTest : public ::testing::Test {
 protected:
  void SetUp() override {
    enterPrivateNetns();
    ASSERT_FALSE(HasFatalFailure());
    env_ = std::make_unique<SockEnv>();
    ASSERT_TRUE(env_->ok());
    env_->enroll(0, pod_);
  }
  void TearDown() override { env_.reset(); }

  // Connects to `to` and returns the index of the listener it reached (-1: none).
  int connectAndLand(const Endpoint& to, const std::vector<Fd>& listeners, Fd* client = nullptr) {
    Fd c;
    int err = connectTcp(to, &c);
    EXPECT_EQ(err, 0) << to.str() << ": " << std::strerror(-err);
    if (err) return -1;
    int where = landing(listeners, localOf(c.get()));
    if (client) *client = std::move(c);
    return where;
  }

  std::vector<Fd> listeners(const std::vector<Endpoint>& eps) {
    std::vector<Fd> out;
    for (const Endpoint& e : eps) out.push_back(listenTcp(e));
    return out;
  }

  // backend ids 1..n at 10.0.1.<id>:8080, each with its own listener
  std::vector<Endpoint> backends(uint32_t n) {
    std::vector<Endpoint> out;
    for (uint32_t id = 1; id <= n; ++id) {
      out.push_back(ep(("10.0.1." + std::to_string(id)).c_str(), 8080));
      env_->backend(id, out.back());
    }
    return out;
  }

  std::unique_ptr<SockEnv> env_;
  const Endpoint pod_ = ep("10.0.5.5", 0);
  const Endpoint vip_ = ep("10.96.0.10", 80);
};

TEST_F(SockConnectTest, VipIsRewrittenToTheBackendAndGetpeernameShowsTheVip) {
  auto be = backends(1);
  auto ls = listeners(be);
  env_->group(10, SL_LB_RANDOM, {1});
  env_->route(100, 0, 0, {{10, 1}});
  env_->service(vip_, SL_PROTO_TCP, 100);

  Fd c;
  ASSERT_EQ(connectTcp(vip_, &c), 0);
  Fd srv;
  ASSERT_EQ(landing(ls, localOf(c.get()), &srv), 0);
  EXPECT_EQ(peerOf(c.get()), vip_) << "the application must see the VIP";
  EXPECT_EQ(localOf(srv.get()), be[0]) << "the connection itself went to the pod";
  EXPECT_EQ(env_->conns(1), 1);
  c.reset();
  EXPECT_EQ(env_->conns(1), 0) << "sock_release returns the count";
  EXPECT_EQ(env_->stat(SL_REASON_TRANSLATED), 1u);
  EXPECT_EQ(env_->stat(SL_REASON_RELEASED), 1u);
  EXPECT_GE(env_->stat(SL_REASON_REVERSED), 1u);
}

TEST_F(SockConnectTest, UnknownDestinationPassesThrough) {
  auto real = ep("10.0.1.3", 9000);
  auto ls = listeners({real});
  Fd c;
  ASSERT_EQ(connectAndLand(real, ls, &c), 0);
  EXPECT_EQ(peerOf(c.get()), real);
  EXPECT_GE(env_->stat(SL_REASON_NOT_SERVICE), 1u);
  EXPECT_EQ(env_->stat(SL_REASON_TRANSLATED), 0u);
}

TEST_F(SockConnectTest, WeightsSendConnectionsToGroupsInProportion) {
  auto be = backends(3);
  auto ls = listeners(be);
  env_->group(11, SL_LB_RANDOM, {1});
  env_->group(12, SL_LB_RANDOM, {2});
  env_->group(13, SL_LB_RANDOM, {3});
  const std::vector<double> weights = {60, 30, 10};
  env_->route(100, 0, 0, {{11, 60}, {12, 30}, {13, 10}});
  env_->service(vip_, SL_PROTO_TCP, 100);

  const int n = 1500;
  std::vector<int> seen(3);
  for (int i = 0; i < n; ++i) {
    int where = connectAndLand(vip_, ls);
    ASSERT_GE(where, 0);
    ++seen[static_cast<size_t>(where)];
  }
  double chi2 = 0;
  for (size_t i = 0; i < 3; ++i) {
    double expect = n * weights[i] / 100.0;
    chi2 += (seen[i] - expect) * (seen[i] - expect) / expect;
  }
  // 2 degrees of freedom: P(chi2 > 18.42) = 1e-4 for a correct table.
  EXPECT_LT(chi2, 18.42) << seen[0] << "/" << seen[1] << "/" << seen[2];
}

TEST_F(SockConnectTest, ClientClassAndGenerationSelectTheRoute) {
  auto be = backends(3);
  auto ls = listeners(be);
  env_->group(11, SL_LB_RANDOM, {1});
  env_->group(12, SL_LB_RANDOM, {2});
  env_->group(13, SL_LB_RANDOM, {3});
  env_->route(100, 0, 0, {{13, 1}});  // generation 0: superseded
  env_->route(100, 0, 1, {{11, 1}});
  env_->route(100, 7, 1, {{12, 1}});
  env_->service(vip_, SL_PROTO_TCP, 100, SL_SVC_F_HAS_CLASSES, 1);

  EXPECT_EQ(connectAndLand(vip_, ls), 0) << "class 0: the default route of generation 1";
  env_->enroll(7, pod_);
  EXPECT_EQ(connectAndLand(vip_, ls), 1) << "class 7 has its own route";
  env_->enroll(8, pod_);
  EXPECT_EQ(connectAndLand(vip_, ls), 0) << "class 8 has none: falls back to class 0";
}

TEST_F(SockConnectTest, LeastRequestAvoidsABackendHoldingOpenConnections) {
  auto be = backends(2);
  auto ls = listeners(be);
  const Endpoint busyVip = ep("10.96.0.11", 80);
  env_->group(20, SL_LB_RANDOM, {1});
  env_->group(21, SL_LB_LEAST_REQUEST, {1, 2});
  env_->route(200, 0, 0, {{20, 1}});
  env_->route(201, 0, 0, {{21, 1}});
  env_->service(busyVip, SL_PROTO_TCP, 200);
  env_->service(vip_, SL_PROTO_TCP, 201);

  std::vector<Fd> held(5);
  for (Fd& h : held) ASSERT_EQ(connectAndLand(busyVip, ls, &h), 0);
  EXPECT_EQ(env_->conns(1), 5);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(connectAndLand(vip_, ls), 1) << "connection " << i;
  EXPECT_EQ(env_->conns(2), 0);

  held.clear();
  EXPECT_EQ(env_->conns(1), 0) << "closing the held connections drops the count";
  std::set<int> landed;
  for (int i = 0; i < 30; ++i) landed.insert(connectAndLand(vip_, ls));
  EXPECT_EQ(landed, (std::set<int>{0, 1})) << "with equal load both backends are used again";
}

TEST_F(SockConnectTest, RoundRobinCyclesThroughTheBackends) {
  auto be = backends(3);
  auto ls = listeners(be);
  env_->group(30, SL_LB_ROUND_ROBIN, {1, 2, 3});
  env_->route(300, 0, 0, {{30, 1}});
  env_->service(vip_, SL_PROTO_TCP, 300);

  std::vector<int> order;
  for (int i = 0; i < 9; ++i) order.push_back(connectAndLand(vip_, ls));
  EXPECT_EQ(std::set<int>(order.begin(), order.begin() + 3), (std::set<int>{0, 1, 2}));
  for (size_t i = 3; i < order.size(); ++i) EXPECT_EQ(order[i], order[i % 3]) << "connection " << i;
}

TEST_F(SockConnectTest, MaglevTableSticksOneClientToOneBackend) {
  auto be = backends(3);
  auto ls = listeners(be);
  std::vector<uint32_t> table;
  for (uint32_t i = 0; i < 13; ++i) table.push_back(1 + (i * 7) % 3);
  env_->group(40, SL_LB_MAGLEV, {1, 2, 3}, 0, table);
  env_->route(400, 0, 0, {{40, 1}});
  env_->service(vip_, SL_PROTO_TCP, 400);

  auto expected = [&](const Endpoint& pod) {
    return static_cast<int>(table[sl_hash_addr(&pod.addr) % table.size()]) - 1;
  };
  for (int i = 0; i < 10; ++i) EXPECT_EQ(connectAndLand(vip_, ls), expected(pod_)) << i;

  // Another client whose hash lands on a different backend goes there, and stays.
  Endpoint other = pod_;
  for (uint8_t last = 6; expected(other) == expected(pod_); ++last) other.addr.bytes[3] = last;
  env_->enroll(0, other);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(connectAndLand(vip_, ls), expected(other)) << i;
}

TEST_F(SockConnectTest, MaxConnectionsSkipsFullBackendsThenRefuses) {
  auto be = backends(2);
  auto ls = listeners(be);
  env_->group(50, SL_LB_RANDOM, {1, 2}, /*maxConns=*/1);
  env_->route(500, 0, 0, {{50, 1}});
  env_->service(vip_, SL_PROTO_TCP, 500);

  Fd a, b, c;
  int first = connectAndLand(vip_, ls, &a);
  int second = connectAndLand(vip_, ls, &b);
  ASSERT_GE(first, 0);
  EXPECT_EQ(second, 1 - first) << "the full backend is skipped";
  EXPECT_EQ(connectTcp(vip_, &c), -ECONNREFUSED);
  EXPECT_EQ(env_->stat(SL_REASON_BACKEND_FULL), 1u);
  EXPECT_EQ(env_->conns(1), 1);
  EXPECT_EQ(env_->conns(2), 1);

  a.reset();
  EXPECT_EQ(connectAndLand(vip_, ls), first) << "room again after a close";
}

// Add-then-check in the kernel: racing connects never let more than max_conns through.
TEST_F(SockConnectTest, MaxConnectionsHoldsUnderConcurrentConnects) {
  auto be = backends(1);
  auto ls = listeners(be);
  const uint32_t maxConns = 16;
  env_->group(51, SL_LB_LEAST_REQUEST, {1}, maxConns);
  env_->route(510, 0, 0, {{51, 1}});
  env_->service(vip_, SL_PROTO_TCP, 510);

  const int threads = 4, perThread = 25;
  std::vector<std::vector<Fd>> held(threads);
  std::vector<int> refused(threads), other(threads);
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      for (int i = 0; i < perThread; ++i) {
        Fd c;
        int err = connectTcp(vip_, &c);
        if (err == 0) {
          held[static_cast<size_t>(t)].push_back(std::move(c));
        } else if (err == -ECONNREFUSED) {
          ++refused[static_cast<size_t>(t)];
        } else {
          ++other[static_cast<size_t>(t)];
        }
      }
    });
  }
  for (std::thread& w : workers) w.join();
  size_t ok = 0;
  int refusedTotal = 0, otherTotal = 0;
  for (int t = 0; t < threads; ++t) {
    ok += held[static_cast<size_t>(t)].size();
    refusedTotal += refused[static_cast<size_t>(t)];
    otherTotal += other[static_cast<size_t>(t)];
  }
  EXPECT_EQ(ok, maxConns);
  EXPECT_EQ(refusedTotal, threads * perThread - static_cast<int>(maxConns));
  EXPECT_EQ(otherTotal, 0);
  EXPECT_EQ(env_->conns(1), static_cast<int64_t>(maxConns));
  held.clear();
  EXPECT_EQ(env_->conns(1), 0);
}

// Counts never leak: after a churn of TCP and connected-UDP sockets from several threads, some
// re-connected, every backend is back at zero and the counters balance.
TEST_F(SockConnectTest, CountsReturnToZeroAfterChurn) {
  auto be = backends(3);
  auto ls = listeners(be);
  env_->group(52, SL_LB_LEAST_REQUEST, {1, 2, 3});
  env_->route(520, 0, 0, {{52, 1}});
  env_->service(vip_, SL_PROTO_TCP, 520);
  env_->service(vip_, SL_PROTO_UDP, 520);

  std::vector<std::thread> workers;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    workers.emplace_back([&] {
      std::vector<Fd> open;
      for (int i = 0; i < 50; ++i) {
        Fd c;
        if (connectTcp(vip_, &c) != 0) ++failures;
        open.push_back(std::move(c));
        Fd u(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
        socklen_t len;
        sockaddr_storage ss = vip_.sockaddr(&len);
        for (int again = 0; again < 2; ++again) {  // the second connect re-picks
          if (::connect(u.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) ++failures;
        }
        open.push_back(std::move(u));
        if (open.size() > 6) open.erase(open.begin(), open.begin() + 3);
      }
    });
  }
  for (std::thread& w : workers) w.join();
  EXPECT_EQ(failures.load(), 0);
  for (uint32_t id = 1; id <= 3; ++id) EXPECT_EQ(env_->conns(id), 0) << "backend " << id;
  EXPECT_EQ(env_->stat(SL_REASON_TRANSLATED), 4u * 50 * 3);
  EXPECT_EQ(env_->stat(SL_REASON_RELEASED), 4u * 50 * 3);
}

TEST_F(SockConnectTest, ServiceWithNoBackendRefusesFast) {
  const Endpoint noRoute = ep("10.96.0.12", 80);
  env_->route(600, 0, 0, {});  // route.count == 0: the route has no destination
  env_->service(vip_, SL_PROTO_TCP, 600);
  env_->group(61, SL_LB_RANDOM, {});  // group.count == 0: subset without endpoints
  env_->route(601, 0, 0, {{61, 1}});
  env_->service(noRoute, SL_PROTO_TCP, 601);

  Fd c;
  EXPECT_EQ(connectTcp(vip_, &c), -ECONNREFUSED);
  EXPECT_EQ(connectTcp(noRoute, &c), -ECONNREFUSED);
  EXPECT_EQ(env_->stat(SL_REASON_NO_BACKEND), 2u);
}

TEST_F(SockConnectTest, UnenrolledCgroupIsNotTranslated) {
  auto be = backends(1);
  auto ls = listeners(be);
  env_->group(10, SL_LB_RANDOM, {1});
  env_->route(100, 0, 0, {{10, 1}});
  env_->service(vip_, SL_PROTO_TCP, 100);

  Fd c;
  env_->unenroll();
  EXPECT_EQ(connectTcp(vip_, &c), -ENETUNREACH) << "absent from sl_client_v1";
  env_->enroll(0, pod_, /*flags=*/0);
  EXPECT_EQ(connectTcp(vip_, &c), -ENETUNREACH) << "present but not enrolled";
  EXPECT_EQ(env_->stat(SL_REASON_NOT_ENROLLED), 2u);
  EXPECT_EQ(env_->stat(SL_REASON_TRANSLATED), 0u);
  env_->enroll(0, pod_);
  EXPECT_EQ(connectAndLand(vip_, ls), 0) << "the same config translates an enrolled caller";
}

// Missing or torn config fails open: the call goes to the VIP as written (unroutable here).
TEST_F(SockConnectTest, ConfigThatCannotBeFollowedPassesThrough) {
  auto be = backends(1);
  auto ls = listeners(be);
  Fd c;
  env_->service(vip_, SL_PROTO_TCP, 100);
  EXPECT_EQ(connectTcp(vip_, &c), -ENETUNREACH);
  EXPECT_EQ(env_->stat(SL_REASON_NO_ROUTE), 1u);

  env_->route(100, 0, 0, {{10, 1}});  // group 10 does not exist
  EXPECT_EQ(connectTcp(vip_, &c), -ENETUNREACH);
  env_->group(10, SL_LB_RANDOM, {7});  // backend 7 does not exist
  EXPECT_EQ(connectTcp(vip_, &c), -ENETUNREACH);
  env_->backend(7, ep("fd00::1", 8080));  // wrong family for a v4 frontend
  EXPECT_EQ(connectTcp(vip_, &c), -ENETUNREACH);
  EXPECT_EQ(env_->stat(SL_REASON_MAP_MISS), 3u);
  EXPECT_EQ(env_->stat(SL_REASON_TRANSLATED), 0u);
}

// A backend without its sl_conns_v1 entry is still used, visibly uncounted.
TEST_F(SockConnectTest, BackendWithoutCountEntryIsUsedUncounted) {
  auto be = backends(1);
  auto ls = listeners(be);
  env_->group(10, SL_LB_RANDOM, {1});
  env_->route(100, 0, 0, {{10, 1}});
  env_->service(vip_, SL_PROTO_TCP, 100);
  uint32_t id = 1;
  ASSERT_EQ(bpf_map_delete_elem(bpf_map__fd(env_->skel()->maps.sl_conns_v1), &id), 0);

  Fd c;
  EXPECT_EQ(connectAndLand(vip_, ls, &c), 0);
  EXPECT_EQ(env_->stat(SL_REASON_TRANSLATED), 1u);
  EXPECT_EQ(env_->stat(SL_REASON_UNCOUNTED), 1u);
  c.reset();
  EXPECT_EQ(env_->stat(SL_REASON_RELEASED), 0u) << "nothing was counted, nothing is returned";
}

TEST_F(SockConnectTest, PassthroughPolicyKeepsTheDestination) {
  const Endpoint real = ep("10.0.1.3", 9000);
  auto ls = listeners({real});
  env_->group(70, SL_LB_PASSTHROUGH, {});
  env_->route(700, 0, 0, {{70, 1}});
  env_->service(real, SL_PROTO_TCP, 700);

  EXPECT_EQ(connectAndLand(real, ls), 0);
  EXPECT_EQ(env_->stat(SL_REASON_PASSTHROUGH), 1u);
}

// Reads one datagram on whichever of `socks` gets it first; returns its index and the sender.
int recvOn(const std::vector<Fd>& socks, Endpoint* from) {
  std::vector<pollfd> pfds;
  for (const Fd& s : socks) pfds.push_back({s.get(), POLLIN, 0});
  if (::poll(pfds.data(), pfds.size(), 2000) <= 0) return -1;
  for (size_t i = 0; i < pfds.size(); ++i) {
    if (!(pfds[i].revents & POLLIN)) continue;
    char buf[64];
    sockaddr_storage ss{};
    socklen_t len = sizeof(ss);
    if (::recvfrom(pfds[i].fd, buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&ss), &len) < 0)
      return -1;
    *from = Endpoint::from(ss);
    return static_cast<int>(i);
  }
  return -1;
}

void sendTo(int fd, const Endpoint& to) {
  socklen_t len;
  sockaddr_storage ss = to.sockaddr(&len);
  ASSERT_EQ(::sendto(fd, "x", 1, 0, reinterpret_cast<sockaddr*>(&ss), len), 1)
      << to.str() << ": " << std::strerror(errno);
}

// The server answers `to`; returns the source address the client's recvfrom() reports.
Endpoint replySource(const Fd& server, const Endpoint& to, const Fd& client) {
  sendTo(server.get(), to);
  std::vector<Fd> one;
  one.push_back(Fd(::dup(client.get())));
  Endpoint from;
  EXPECT_EQ(recvOn(one, &from), 0) << "no reply";
  return from;
}

TEST_F(SockConnectTest, UdpDatagramsStickToOneBackendAndRepliesComeFromTheVip) {
  const Endpoint dns = ep("10.96.0.10", 53);
  std::vector<Fd> servers;
  for (uint32_t id = 1; id <= 3; ++id) {
    Endpoint be = ep(("10.0.1." + std::to_string(id)).c_str(), 5353);
    env_->backend(id, be);
    servers.push_back(bindUdp(be));
  }
  env_->group(80, SL_LB_RANDOM, {1, 2, 3});
  env_->route(800, 0, 0, {{80, 1}});
  env_->service(dns, SL_PROTO_UDP, 800);

  // Unconnected: sendmsg translates, recvmsg reverse-translates.
  Fd client(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  std::set<int> hit;
  for (int i = 0; i < 5; ++i) {
    sendTo(client.get(), dns);
    Endpoint sender;
    int where = recvOn(servers, &sender);
    ASSERT_GE(where, 0);
    hit.insert(where);
    EXPECT_EQ(replySource(servers[static_cast<size_t>(where)], sender, client), dns)
        << "the reply must come from the VIP";
  }
  EXPECT_EQ(hit.size(), 1u) << "one socket sticks to one backend";

  // Connected: connect translates and counts; getpeername and recvfrom show the VIP.
  Fd conn(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  socklen_t len;
  sockaddr_storage ss = dns.sockaddr(&len);
  ASSERT_EQ(::connect(conn.get(), reinterpret_cast<sockaddr*>(&ss), len), 0);
  EXPECT_EQ(peerOf(conn.get()), dns);
  ASSERT_EQ(::send(conn.get(), "y", 1, 0), 1);
  Endpoint sender;
  int where = recvOn(servers, &sender);
  ASSERT_GE(where, 0);
  EXPECT_EQ(env_->conns(static_cast<uint32_t>(where + 1)), 1);
  EXPECT_EQ(replySource(servers[static_cast<size_t>(where)], sender, conn), dns);

  // Re-connecting elsewhere drops the old decision and its count.
  const Endpoint plain = ep("10.0.1.3", 7);
  ss = plain.sockaddr(&len);
  ASSERT_EQ(::connect(conn.get(), reinterpret_cast<sockaddr*>(&ss), len), 0);
  EXPECT_EQ(peerOf(conn.get()), plain);
  EXPECT_EQ(env_->conns(static_cast<uint32_t>(where + 1)), 0);
}

TEST_F(SockConnectTest, Ipv6VipIsRewrittenAndGetpeernameShowsTheVip) {
  const Endpoint vip6 = ep("fd00:96::10", 80);
  const Endpoint be6 = ep("fd00::1", 8080);
  const Endpoint be6b = ep("fd00::2", 8080);
  auto ls = listeners({be6, be6b});
  env_->enroll(0, ep("fd00::5", 0));
  env_->backend(1, be6);
  env_->backend(2, be6b);
  env_->group(90, SL_LB_ROUND_ROBIN, {1, 2});
  env_->route(900, 0, 0, {{90, 1}});
  env_->service(vip6, SL_PROTO_TCP, 900);

  Fd c;
  int first = connectAndLand(vip6, ls, &c);
  ASSERT_GE(first, 0);
  EXPECT_EQ(peerOf(c.get()), vip6);
  EXPECT_EQ(env_->conns(static_cast<uint32_t>(first + 1)), 1);
  EXPECT_EQ(connectAndLand(vip6, ls), 1 - first);

  Fd unrouted;
  env_->unenroll();
  EXPECT_EQ(connectTcp(vip6, &unrouted), -ENETUNREACH) << "the v6 VIP itself is unreachable";
}

TEST_F(SockConnectTest, UdpOverIpv6AndFullUdpServiceRefusal) {
  const Endpoint dns6 = ep("fd00:96::53", 53);
  const Endpoint be6 = ep("fd00::2", 5353);
  env_->backend(1, be6);
  std::vector<Fd> servers;
  servers.push_back(bindUdp(be6));
  env_->group(81, SL_LB_LEAST_REQUEST, {1});
  env_->route(810, 0, 0, {{81, 1}});
  env_->service(dns6, SL_PROTO_UDP, 810);

  Fd client(::socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  sendTo(client.get(), dns6);
  Endpoint sender;
  ASSERT_EQ(recvOn(servers, &sender), 0);
  EXPECT_EQ(replySource(servers[0], sender, client), dns6);
  EXPECT_EQ(env_->conns(1), 0) << "unconnected UDP holds no connection";

  // A known UDP service without endpoints refuses the datagram itself.
  env_->group(81, SL_LB_LEAST_REQUEST, {});
  socklen_t len;
  sockaddr_storage ss = dns6.sockaddr(&len);
  EXPECT_EQ(::sendto(client.get(), "x", 1, 0, reinterpret_cast<sockaddr*>(&ss), len), -1);
  EXPECT_EQ(errno, ECONNREFUSED);
}

// A second connect() on a non-blocking socket must not pick (and count) a second backend (the
// kernel does not run the hook again once the socket left TCP_CLOSE).
TEST_F(SockConnectTest, RepeatedNonBlockingConnectKeepsTheFirstDecision) {
  auto be = backends(2);
  auto ls = listeners(be);
  env_->group(10, SL_LB_RANDOM, {1, 2});
  env_->route(100, 0, 0, {{10, 1}});
  env_->service(vip_, SL_PROTO_TCP, 100);

  for (int i = 0; i < 10; ++i) {
    Fd c(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    socklen_t len;
    sockaddr_storage ss = vip_.sockaddr(&len);
    int rc = ::connect(c.get(), reinterpret_cast<sockaddr*>(&ss), len);
    ASSERT_TRUE(rc == 0 || errno == EINPROGRESS) << std::strerror(errno);
    pollfd pfd{c.get(), POLLOUT, 0};
    ASSERT_EQ(::poll(&pfd, 1, 2000), 1);
    // The connect() that collects an asynchronous success returns 0, later ones EISCONN.
    rc = ::connect(c.get(), reinterpret_cast<sockaddr*>(&ss), len);
    EXPECT_TRUE(rc == 0 || errno == EISCONN) << std::strerror(errno);
    int where = landing(ls, localOf(c.get()));
    ASSERT_GE(where, 0);
    EXPECT_EQ(env_->conns(static_cast<uint32_t>(where + 1)), 1) << "connection " << i;
    EXPECT_EQ(env_->conns(static_cast<uint32_t>(2 - where)), 0) << "connection " << i;
    EXPECT_EQ(peerOf(c.get()), vip_);
  }
  EXPECT_EQ(env_->stat(SL_REASON_TRANSLATED), 10u);
}

TEST_F(SockConnectTest, Ipv6L7ServiceIsHandedToTheV6Proxy) {
  const Endpoint vip6 = ep("fd00:96::10", 80);
  const Endpoint proxy6 = ep("fd00::9", 15001);
  auto ls = listeners({proxy6});
  env_->proxy(ep("10.0.9.1", 15001), proxy6);
  env_->service(vip6, SL_PROTO_TCP, 1001, SL_SVC_F_L7);

  Fd c;
  ASSERT_EQ(connectTcp(vip6, &c), 0);
  Endpoint client = localOf(c.get());
  ASSERT_EQ(landing(ls, client), 0);
  EXPECT_EQ(peerOf(c.get()), vip6);
  sl_handoff h{};
  ASSERT_TRUE(env_->handoff(client, &h));
  EXPECT_EQ(std::memcmp(h.orig.bytes, vip6.addr.bytes, 16), 0);
  EXPECT_EQ(h.family, SL_FAMILY_V6);
  EXPECT_EQ(h.svc_id, 1001u);
}

// A dual-stack AF_INET6 socket (Java's default) reaches an IPv4 VIP as ::ffff:a.b.c.d.
TEST_F(SockConnectTest, V4MappedVipOnADualStackSocketIsTranslated) {
  auto be = backends(1);
  auto ls = listeners(be);
  env_->group(10, SL_LB_RANDOM, {1});
  env_->route(100, 0, 0, {{10, 1}});
  env_->service(vip_, SL_PROTO_TCP, 100);

  const Endpoint mappedVip = ep("::ffff:10.96.0.10", 80);
  Fd c;
  ASSERT_EQ(connectTcp(mappedVip, &c), 0);
  Endpoint local = localOf(c.get());
  ASSERT_EQ(local.af, AF_INET6);
  Endpoint client = ep("0.0.0.0", local.port);
  std::memcpy(client.addr.bytes, local.addr.bytes + 12, 4);  // the v4 peer the listener sees
  EXPECT_EQ(landing(ls, client), 0);
  EXPECT_EQ(peerOf(c.get()), mappedVip);
  EXPECT_EQ(env_->conns(1), 1);
}

TEST_F(SockConnectTest, L7ServiceIsHandedToTheProxyWithTheOriginalDestination) {
  const Endpoint proxy4 = ep("10.0.9.1", 15001);
  auto ls = listeners({proxy4});
  env_->proxy(proxy4, ep("fd00::9", 15001));
  env_->service(vip_, SL_PROTO_TCP, 1000, SL_SVC_F_L7);

  Fd c, accepted;
  ASSERT_EQ(connectTcp(vip_, &c), 0);
  Endpoint client = localOf(c.get());
  ASSERT_EQ(landing(ls, client, &accepted), 0) << "the connection lands on the proxy";
  EXPECT_EQ(peerOf(c.get()), vip_);

  sl_handoff h{};
  ASSERT_TRUE(env_->handoff(client, &h)) << "sockops published the hand-off at ESTABLISHED";
  EXPECT_EQ(std::memcmp(h.orig.bytes, vip_.addr.bytes, 16), 0);
  EXPECT_EQ(ntohs(h.orig_port), 80);
  EXPECT_EQ(h.family, SL_FAMILY_V4);
  EXPECT_EQ(h.proto, SL_PROTO_TCP);
  EXPECT_EQ(h.svc_id, 1000u);
  EXPECT_EQ(h.cgroup_id, env_->cgroupId());
  EXPECT_EQ(env_->stat(SL_REASON_TO_PROXY), 1u);
  EXPECT_EQ(env_->stat(SL_REASON_HANDOFF), 1u);

  c.reset();
  accepted.reset();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (env_->handoff(client, &h) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_FALSE(env_->handoff(client, &h)) << "removed when the client socket closed";
}

TEST_F(SockConnectTest, L7ServiceWithoutProxyPassesThrough) {
  env_->service(vip_, SL_PROTO_TCP, 1000, SL_SVC_F_L7);
  Fd c;
  EXPECT_EQ(connectTcp(vip_, &c), -ENETUNREACH);
  EXPECT_EQ(env_->stat(SL_REASON_PROXY_UNSET), 1u);
}

}  // namespace
}  // namespace sluice::test
