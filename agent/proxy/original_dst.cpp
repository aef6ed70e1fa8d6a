#include "original_dst.h"

#include <abi/sluice_abi.h>

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace sluice::proxy {

std::optional<std::pair<net::IpAddress, uint16_t>> fromSockaddr(const sockaddr_storage& sa) {
  char text[INET6_ADDRSTRLEN];
  if (sa.ss_family == AF_INET) {
    const auto& in = reinterpret_cast<const sockaddr_in&>(sa);
    inet_ntop(AF_INET, &in.sin_addr, text, sizeof(text));
    auto ip = net::IpAddress::parse(text);
    return ip ? std::optional(std::pair{*ip, ntohs(in.sin_port)}) : std::nullopt;
  }
  if (sa.ss_family == AF_INET6) {
    const auto& in6 = reinterpret_cast<const sockaddr_in6&>(sa);
    inet_ntop(AF_INET6, &in6.sin6_addr, text, sizeof(text));
    auto ip = net::IpAddress::parse(text);
    return ip ? std::optional(std::pair{*ip, ntohs(in6.sin6_port)}) : std::nullopt;
  }
  return std::nullopt;
}

socklen_t toSockaddr(const net::IpAddress& ip, uint16_t port, sockaddr_storage& out) {
  std::memset(&out, 0, sizeof(out));
  if (ip.isV4()) {
    auto& in = reinterpret_cast<sockaddr_in&>(out);
    in.sin_family = AF_INET;
    in.sin_port = htons(port);
    std::memcpy(&in.sin_addr, ip.bytes().data(), 4);
    return sizeof(sockaddr_in);
  }
  auto& in6 = reinterpret_cast<sockaddr_in6&>(out);
  in6.sin6_family = AF_INET6;
  in6.sin6_port = htons(port);
  std::memcpy(&in6.sin6_addr, ip.bytes().data(), 16);
  return sizeof(sockaddr_in6);
}

Result<std::unique_ptr<HandoffMapResolver>> HandoffMapResolver::open(const std::string& bpffs) {
  std::string path = bpffs + "/sl_handoff_v1";
  int fd = bpf_obj_get(path.c_str());
  if (fd < 0) {
    return Error::fromErrno(errno, "open hand-off map " + path);
  }
  return std::unique_ptr<HandoffMapResolver>(new HandoffMapResolver(fd));
}

HandoffMapResolver::~HandoffMapResolver() { ::close(fd_); }

std::optional<OriginalDestination> HandoffMapResolver::resolve(const sockaddr_storage& peer) {
  sl_handoff_key key;
  std::memset(&key, 0, sizeof(key));
  if (peer.ss_family == AF_INET) {
    const auto& in = reinterpret_cast<const sockaddr_in&>(peer);
    std::memcpy(key.client.bytes, &in.sin_addr, 4);
    key.client_port = in.sin_port;
    key.family = SL_FAMILY_V4;
  } else if (peer.ss_family == AF_INET6) {
    const auto& in6 = reinterpret_cast<const sockaddr_in6&>(peer);
    key.client_port = in6.sin6_port;
    // A dual-stack listener sees IPv4 clients as ::ffff:a.b.c.d; the kernel keyed them as IPv4.
    if (IN6_IS_ADDR_V4MAPPED(&in6.sin6_addr)) {
      std::memcpy(key.client.bytes, &in6.sin6_addr.s6_addr[12], 4);
      key.family = SL_FAMILY_V4;
    } else {
      std::memcpy(key.client.bytes, &in6.sin6_addr, 16);
      key.family = SL_FAMILY_V6;
    }
  } else {
    return std::nullopt;
  }
  sl_handoff value;
  if (bpf_map_lookup_elem(fd_, &key, &value) != 0) {
    return std::nullopt;
  }
  std::array<uint8_t, 16> bytes{};
  std::memcpy(bytes.data(), value.orig.bytes, 16);
  char text[INET6_ADDRSTRLEN];
  inet_ntop(value.family == SL_FAMILY_V6 ? AF_INET6 : AF_INET, bytes.data(), text, sizeof(text));
  auto ip = net::IpAddress::parse(text);
  if (!ip) {
    return std::nullopt;
  }
  return OriginalDestination{*ip, ntohs(value.orig_port), value.cgroup_id};
}

}  // namespace sluice::proxy
