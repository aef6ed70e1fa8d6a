#pragma once
// Plan types ⇄ the structs of bpf/abi/sluice_abi.h. The only place byte order changes: ports and
// addresses leave here in network order, everything else stays in host order as the ABI says.
#include <sluice/compile/plan.h>
#include <sluice/result.h>

#include <sluice_abi.h>

#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace sluice::dataplane {

sl_addr encodeAddr(const net::IpAddress& ip);
uint8_t encodeFamily(const net::IpAddress& ip);
net::IpAddress decodeAddr(const sl_addr& addr, uint8_t family);

sl_svc_key encodeSvcKey(const plan::Frontend& frontend);
// "ip:port/tcp" as plan::Frontend::key() prints it, for logs of entries read back from the maps.
std::string describeSvcKey(const sl_svc_key& key);

sl_backend encodeBackend(const plan::Backend& backend);
std::string describeBackend(const sl_backend& backend);

uint8_t encodeLb(plan::LbPolicy lb);

sl_client encodeClient(uint32_t clientClass, const net::IpAddress& podIp);

// Walker's alias table in exact integer arithmetic (Vose's construction). Column i is chosen with
// probability 1/n; inside it, `group i` is kept with probability keep[i] / total and `alias[i]` taken
// otherwise, where total is the sum of the weights. The only rounding is the final scaling of keep to
// SL_WEIGHT_SCALE (prob()), at most 2^-17 per column.
struct AliasTable {
  std::vector<uint64_t> keep;   // in [0, total]
  std::vector<uint32_t> alias;  // column index
  uint64_t total = 0;

  uint32_t prob(size_t column) const;  // keep scaled to SL_WEIGHT_SCALE, rounded to nearest
};
// weights.size() <= SL_MAX_DESTS; zero weights are never picked; all zero or empty → empty table.
[[nodiscard]] Result<AliasTable> buildAliasTable(std::span<const uint32_t> weights);

// A route from (group id, weight) pairs; the same group listed twice has its weights added.
[[nodiscard]] Result<sl_route> encodeRoute(const std::vector<std::pair<uint32_t, uint32_t>>& split);

}  // namespace sluice::dataplane
