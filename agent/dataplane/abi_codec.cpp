#include "abi_codec.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>
#include <map>

namespace sluice::dataplane {

sl_addr encodeAddr(const net::IpAddress& ip) {
  sl_addr out{};
  // IpAddress already holds network-order bytes, zero beyond the 4th for v4, as the ABI wants.
  std::memcpy(out.bytes, ip.bytes().data(), sizeof(out.bytes));
  return out;
}

uint8_t encodeFamily(const net::IpAddress& ip) {
  return ip.isV4() ? SL_FAMILY_V4 : SL_FAMILY_V6;
}

net::IpAddress decodeAddr(const sl_addr& addr, uint8_t family) {
  if (family == SL_FAMILY_V4) {
    uint32_t host = (uint32_t{addr.bytes[0]} << 24) | (uint32_t{addr.bytes[1]} << 16) |
                    (uint32_t{addr.bytes[2]} << 8) | uint32_t{addr.bytes[3]};
    return net::IpAddress::v4(host);
  }
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(AF_INET6, addr.bytes, buf, sizeof(buf));
  return *net::IpAddress::parse(buf);
}

namespace {

std::string hostPort(const sl_addr& addr, uint8_t family, __be16 port) {
  std::string ip = decodeAddr(addr, family).toString();
  std::string p = std::to_string(ntohs(port));
  return family == SL_FAMILY_V6 ? "[" + ip + "]:" + p : ip + ":" + p;
}

}  // namespace

sl_svc_key encodeSvcKey(const plan::Frontend& frontend) {
  sl_svc_key key{};
  key.vip = encodeAddr(frontend.vip);
  key.port = htons(frontend.port);
  key.proto = frontend.protocol == plan::Protocol::Udp ? SL_PROTO_UDP : SL_PROTO_TCP;
  key.family = encodeFamily(frontend.vip);
  return key;
}

std::string describeSvcKey(const sl_svc_key& key) {
  return hostPort(key.vip, key.family, key.port) + (key.proto == SL_PROTO_UDP ? "/udp" : "/tcp");
}

sl_backend encodeBackend(const plan::Backend& backend) {
  sl_backend out{};
  out.addr = encodeAddr(backend.ip);
  out.port = htons(backend.port);
  out.family = encodeFamily(backend.ip);
  out.state = backend.state == plan::BackendState::Terminating ? SL_BACKEND_TERMINATING
                                                                : SL_BACKEND_ACTIVE;
  return out;
}

std::string describeBackend(const sl_backend& backend) {
  return hostPort(backend.addr, backend.family, backend.port);
}

uint8_t encodeLb(plan::LbPolicy lb) {
  switch (lb) {
    case plan::LbPolicy::LeastRequest:
      return SL_LB_LEAST_REQUEST;
    case plan::LbPolicy::RoundRobin:
      return SL_LB_ROUND_ROBIN;
    case plan::LbPolicy::Random:
      return SL_LB_RANDOM;
    case plan::LbPolicy::Passthrough:
      return SL_LB_PASSTHROUGH;
    case plan::LbPolicy::MaglevSourceIp:
      return SL_LB_MAGLEV;
    case plan::LbPolicy::RingHashSourceIp:
      return SL_LB_RING_HASH;
  }
  return SL_LB_LEAST_REQUEST;
}

sl_client encodeClient(uint32_t clientClass, const net::IpAddress& podIp) {
  sl_client out{};
  out.client_class = clientClass;
  out.flags = SL_CLIENT_F_ENROLLED;
  out.pod_ip = encodeAddr(podIp);
  out.family = encodeFamily(podIp);
  return out;
}

uint32_t AliasTable::prob(size_t column) const {
  // keep <= total <= 16 * 2^32, so keep * 2^16 fits in 64 bits.
  return static_cast<uint32_t>((keep[column] * SL_WEIGHT_SCALE + total / 2) / total);
}

Result<AliasTable> buildAliasTable(std::span<const uint32_t> weights) {
  if (weights.size() > SL_MAX_DESTS) {
    return Error::fromErrno(E2BIG, "alias table: " + std::to_string(weights.size()) +
                                       " destinations, at most " + std::to_string(SL_MAX_DESTS));
  }
  AliasTable table;
  for (uint32_t w : weights) {
    table.total += w;
  }
  if (table.total == 0) {
    return table;
  }
  const size_t n = weights.size();
  // Scale every weight by n so that each column holds exactly `total` units; no division, no floats.
  std::vector<uint64_t> scaled(n);
  std::vector<size_t> small, large;
  for (size_t i = 0; i < n; ++i) {
    scaled[i] = uint64_t{weights[i]} * n;
    (scaled[i] < table.total ? small : large).push_back(i);
  }
  table.keep.assign(n, table.total);
  table.alias.resize(n);
  for (size_t i = 0; i < n; ++i) {
    table.alias[i] = static_cast<uint32_t>(i);
  }
  while (!small.empty() && !large.empty()) {
    size_t s = small.back();
    small.pop_back();
    size_t l = large.back();
    table.keep[s] = scaled[s];
    table.alias[s] = static_cast<uint32_t>(l);
    scaled[l] -= table.total - scaled[s];
    if (scaled[l] < table.total) {
      large.pop_back();
      small.push_back(l);
    }
  }
  // Whatever remains holds exactly `total` (integer arithmetic leaves no residue): keep everything.
  return table;
}

Result<sl_route> encodeRoute(const std::vector<std::pair<uint32_t, uint32_t>>& split) {
  std::vector<uint32_t> groups;
  std::vector<uint32_t> weights;
  for (const auto& [group, weight] : split) {
    auto it = std::find(groups.begin(), groups.end(), group);
    if (it != groups.end()) {
      weights[static_cast<size_t>(it - groups.begin())] += weight;
    } else if (weight > 0) {
      groups.push_back(group);
      weights.push_back(weight);
    }
  }
  auto table = buildAliasTable(weights);
  if (!table.ok()) {
    return table.error().wrap("encode route");
  }
  sl_route route{};
  if (table->total == 0) {
    return route;  // count 0: a known service with nowhere to go
  }
  route.count = static_cast<uint32_t>(groups.size());
  for (size_t i = 0; i < groups.size(); ++i) {
    route.prob[i] = table->prob(i);
    route.group[i] = groups[i];
    route.alias_group[i] = groups[table->alias[i]];
  }
  return route;
}

}  // namespace sluice::dataplane
