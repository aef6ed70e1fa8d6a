#include "hash_table.h"

#include <algorithm>
#include <utility>

namespace sluice::compile {
namespace {

constexpr uint64_t kFnvOffset = 0xcbf29ce484222325ULL;
constexpr uint64_t kFnvPrime = 0x100000001b3ULL;
constexpr uint64_t kMaglevOffsetSeed = 0x6d61676c65762d6fULL;
constexpr uint64_t kMaglevSkipSeed = 0x6d61676c65762d73ULL;
constexpr uint64_t kRingPointSeed = 0x72696e672d70746bULL;
// Envoy refuses rings above 8M points; the same bound keeps compile time predictable.
constexpr uint64_t kMaxRingPoints = 8u << 20;

uint64_t mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

}  // namespace

uint64_t stableHash(std::string_view data, uint64_t seed) {
  uint64_t h = kFnvOffset ^ mix64(seed);
  for (unsigned char c : data) {
    h ^= c;
    h *= kFnvPrime;
  }
  return mix64(h);
}

bool isPrime(uint64_t n) {
  if (n < 2) {
    return false;
  }
  for (uint64_t d = 2; d * d <= n; ++d) {
    if (n % d == 0) {
      return false;
    }
  }
  return true;
}

uint32_t largestPrimeAtMost(uint32_t n) {
  while (n > 2 && !isPrime(n)) {
    --n;
  }
  return n < 2 ? 2 : n;
}

std::vector<uint32_t> maglevTable(const std::vector<std::string>& backends, uint32_t size) {
  if (backends.empty() || size == 0) {
    return {};
  }
  const uint64_t m = size;
  const size_t n = backends.size();
  std::vector<uint64_t> offset(n), skip(n), next(n, 0);
  for (size_t i = 0; i < n; ++i) {
    offset[i] = stableHash(backends[i], kMaglevOffsetSeed) % m;
    skip[i] = m == 1 ? 1 : stableHash(backends[i], kMaglevSkipSeed) % (m - 1) + 1;
  }
  constexpr uint32_t kEmpty = UINT32_MAX;
  std::vector<uint32_t> table(size, kEmpty);
  uint64_t filled = 0;
  // Backends take turns claiming their next free preferred slot; with m prime every permutation
  // visits every slot, so the loop ends.
  while (true) {
    for (size_t i = 0; i < n; ++i) {
      uint64_t c = (offset[i] + next[i] * skip[i]) % m;
      while (table[c] != kEmpty) {
        ++next[i];
        c = (offset[i] + next[i] * skip[i]) % m;
      }
      table[c] = static_cast<uint32_t>(i);
      ++next[i];
      if (++filled == m) {
        return table;
      }
    }
  }
}

std::vector<uint32_t> ringHashTable(const std::vector<std::string>& backends, uint64_t ringSize,
                                    uint32_t size) {
  if (backends.empty() || size == 0) {
    return {};
  }
  const uint64_t n = backends.size();
  uint64_t perBackend = std::max<uint64_t>(1, (std::min(ringSize, kMaxRingPoints) + n - 1) / n);
  std::vector<std::pair<uint64_t, uint32_t>> ring;
  ring.reserve(perBackend * n);
  for (uint32_t i = 0; i < n; ++i) {
    for (uint64_t k = 0; k < perBackend; ++k) {
      // Envoy hashes "<address>_<k>" for each point of a host.
      ring.emplace_back(stableHash(backends[i] + "_" + std::to_string(k), kRingPointSeed), i);
    }
  }
  std::sort(ring.begin(), ring.end());
  std::vector<uint32_t> table(size);
  for (uint32_t slot = 0; slot < size; ++slot) {
    // mix64 is a bijection, so distinct slots probe distinct ring positions.
    auto it = std::lower_bound(ring.begin(), ring.end(),
                               std::pair<uint64_t, uint32_t>{mix64(slot + 1), 0});
    table[slot] = (it == ring.end() ? ring.front() : *it).second;
  }
  return table;
}

}  // namespace sluice::compile
