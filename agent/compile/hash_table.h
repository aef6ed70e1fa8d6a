#pragma once
// Consistent-hash lookup tables for consistentHash.useSourceIp. The kernel does one thing for both
// kinds: table[hash(client ip) % table.size()] is an index into the group's backend list. All the
// work (and the determinism) is here: tables depend only on the sorted backend names.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::compile {

// A fixed, seeded 64-bit hash (FNV-1a folded through a splitmix64 finalizer). Stable across hosts
// and releases: tables built by two agents, or before and after a restart, must agree.
uint64_t stableHash(std::string_view data, uint64_t seed);

bool isPrime(uint64_t n);
// The largest prime ≤ n (n ≥ 2).
uint32_t largestPrimeAtMost(uint32_t n);

// Maglev (Eisenbud et al., NSDI '16, as Cilium's pkg/maglev builds it): `size` must be prime. Each
// backend gets size/N entries ± 1, and adding or removing one backend moves few other entries.
std::vector<uint32_t> maglevTable(const std::vector<std::string>& backends, uint32_t size);

// A ring of about `ringSize` points (Envoy RING_HASH: ceil(ringSize/N) points per backend) flattened
// into `size` entries: entry i belongs to the owner of the first ring point at or after a fixed
// pseudo-random position for i, so the table keeps the ring's minimal disruption.
std::vector<uint32_t> ringHashTable(const std::vector<std::string>& backends, uint64_t ringSize,
                                    uint32_t size);

}  // namespace sluice::compile
