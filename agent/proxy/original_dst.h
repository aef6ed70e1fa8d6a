#pragma once
// Where a handed-off connection was going. The connect hook sends L7 connections to the node proxy;
// sockops then publishes the original VIP:port in the pinned sl_handoff_v1 map, keyed by the client
// address as the proxy's accepted socket sees it (its peer). No entry means the connection was not
// handed off by our hooks, and the proxy refuses it: it is never an open relay.
#include <sluice/net/address.h>
#include <sluice/result.h>

#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace sluice::proxy {

struct OriginalDestination {
  net::IpAddress vip;
  uint16_t port = 0;
  uint64_t cgroupId = 0;  // the client workload, 0 when unknown
};

class OriginalDstResolver {
 public:
  virtual ~OriginalDstResolver() = default;
  // `peer` is the accepted socket's peer address.
  virtual std::optional<OriginalDestination> resolve(const sockaddr_storage& peer) = 0;
};

// Reads <bpffs>/sl_handoff_v1 (opened once with bpf_obj_get).
class HandoffMapResolver final : public OriginalDstResolver {
 public:
  static Result<std::unique_ptr<HandoffMapResolver>> open(const std::string& bpffs);
  ~HandoffMapResolver() override;
  std::optional<OriginalDestination> resolve(const sockaddr_storage& peer) override;

 private:
  explicit HandoffMapResolver(int fd) : fd_(fd) {}
  int fd_;
};

// Test mode: every accepted connection goes to one fixed original destination. Only for loopback
// unit tests and demos without BPF; the binary refuses it unless --test-fixed-destination is given.
class FixedResolver final : public OriginalDstResolver {
 public:
  explicit FixedResolver(OriginalDestination dst) : dst_(dst) {}
  std::optional<OriginalDestination> resolve(const sockaddr_storage&) override { return dst_; }

 private:
  OriginalDestination dst_;
};

// sockaddr ↔ IpAddress helpers shared by the proxy.
std::optional<std::pair<net::IpAddress, uint16_t>> fromSockaddr(const sockaddr_storage& sa);
socklen_t toSockaddr(const net::IpAddress& ip, uint16_t port, sockaddr_storage& out);

}  // namespace sluice::proxy
