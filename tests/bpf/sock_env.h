// Test environment for the cgroup socket programs: a private network namespace (addresses on lo, no
// routes, so an untranslated connect() to a VIP fails fast with ENETUNREACH), a test-made cgroup under
// the cgroup2 mount that this process moves into, and the loaded sock skeleton attached to it. Map
// entries are written straight through the skeleton's map fds. Everything is removed on every exit
// path (destructors), including when an assertion fails half-way.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <vector>

#include "sluice_abi.h"

struct sock_bpf;
struct bpf_link;

namespace sluice::test {

// An IPv4 or IPv6 endpoint in network order, as the maps store it.
struct Endpoint {
  int af = AF_INET;
  sl_addr addr{};
  uint16_t port = 0;  // host order

  static Endpoint parse(const std::string& ip, uint16_t port);
  uint8_t family() const { return af == AF_INET ? SL_FAMILY_V4 : SL_FAMILY_V6; }
  sockaddr_storage sockaddr(socklen_t* len) const;
  static Endpoint from(const sockaddr_storage& ss);
  std::string str() const;
  bool operator==(const Endpoint& o) const;
};

// Creates the namespace once per process (gtest_discover_tests runs one process per test).
void enterPrivateNetns();
// `ip` commands inside the private namespace; fails the test on error.
void ip(const std::string& args);

// Owns a TCP or UDP socket fd.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  Fd& operator=(Fd&& o) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd();
  int get() const { return fd_; }
  void reset();

 private:
  int fd_ = -1;
};

Fd listenTcp(const Endpoint& ep);
Fd bindUdp(const Endpoint& ep);
// connect() that returns 0 and the socket, or -errno. The socket resets on close (SO_LINGER 0), so a
// long run of connections leaves no TIME_WAIT behind.
int connectTcp(const Endpoint& to, Fd* out);
Endpoint localOf(int fd);
Endpoint peerOf(int fd);

// Accepts the connection whose peer is `client` on whichever listener it reached; -1 if none did
// within a deadline. Returns the listener's index.
int landing(const std::vector<Fd>& listeners, const Endpoint& client, Fd* accepted = nullptr);

class SockEnv {
 public:
  SockEnv();  // loads, attaches and moves this process into the test cgroup; ASSERTs on failure
  ~SockEnv();
  SockEnv(const SockEnv&) = delete;
  SockEnv& operator=(const SockEnv&) = delete;

  bool ok() const { return ok_; }
  sock_bpf* skel() const { return skel_; }
  uint64_t cgroupId() const { return cgroupId_; }
  size_t attached() const { return links_.size(); }

  // Map writers (fail the test on error).
  void enroll(uint32_t clientClass, const Endpoint& podIp, uint32_t flags = SL_CLIENT_F_ENROLLED);
  void unenroll();
  void service(const Endpoint& vip, uint8_t proto, uint32_t svcId, uint16_t flags = 0,
               uint8_t generation = 0);
  // An alias table over groups with these weights (Vose), as the compiler builds it.
  void route(uint32_t svcId, uint32_t clientClass, uint8_t generation,
             const std::vector<std::pair<uint32_t, uint32_t>>& groupWeights);
  void backend(uint32_t id, const Endpoint& ep);
  // Backends in slots [base, base+n) of the group; hashTable (backend ids) at hash_base.
  void group(uint32_t id, uint8_t lb, const std::vector<uint32_t>& backends, uint32_t maxConns = 0,
             const std::vector<uint32_t>& hashTable = {});
  void proxy(const Endpoint& v4, const Endpoint& v6);

  int64_t conns(uint32_t backendId) const;
  uint64_t stat(sl_reason reason) const;  // summed over CPUs
  bool handoff(const Endpoint& client, sl_handoff* out) const;

 private:
  void setUp();
  void update(int mapFd, const void* key, const void* value);
  bool ok_ = false;
  sock_bpf* skel_ = nullptr;
  std::vector<bpf_link*> links_;
  std::string cgroupDir_;
  std::string parentCgroupDir_;
  int cgroupFd_ = -1;
  uint64_t cgroupId_ = 0;
};

}  // namespace sluice::test
