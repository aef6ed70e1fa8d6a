#include <gtest/gtest.h>

#include "hash_table.h"

#include <algorithm>

namespace sluice::compile {
namespace {

std::vector<std::string> backends(int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) {
    out.push_back("10.0." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1) + ":8080");
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> owners(const std::vector<std::string>& names,
                                const std::vector<uint32_t>& table) {
  std::vector<std::string> out;
  for (uint32_t i : table) {
    out.push_back(names.at(i));
  }
  return out;
}

TEST(Primes, LargestPrimeAtMost) {
  EXPECT_TRUE(isPrime(16381));
  EXPECT_FALSE(isPrime(16383));
  EXPECT_EQ(largestPrimeAtMost(16384), 16381u);
  EXPECT_EQ(largestPrimeAtMost(1000), 997u);
  EXPECT_EQ(largestPrimeAtMost(2), 2u);
}

TEST(Maglev, EveryBackendGetsItsShareWithinOne) {
  for (int n : {1, 2, 3, 7, 100}) {
    auto names = backends(n);
    auto table = maglevTable(names, 16381);
    ASSERT_EQ(table.size(), 16381u);
    std::vector<int> counts(n, 0);
    for (uint32_t i : table) {
      ASSERT_LT(i, static_cast<uint32_t>(n));
      ++counts[i];
    }
    auto [lo, hi] = std::minmax_element(counts.begin(), counts.end());
    EXPECT_LE(*hi - *lo, 1) << "n=" << n;
  }
}

TEST(Maglev, RemovingOneBackendMovesLittleElse) {
  auto before = backends(20);
  auto after = before;
  const std::string removed = after[7];
  after.erase(after.begin() + 7);
  auto a = owners(before, maglevTable(before, 16381));
  auto b = owners(after, maglevTable(after, 16381));
  int moved = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i] != removed && a[i] != b[i]) {
      ++moved;
    }
  }
  // The removed backend's 1/20 must move; Maglev disturbs only a few percent of the rest.
  EXPECT_LT(moved, static_cast<int>(a.size() * 0.05)) << moved;
}

TEST(Maglev, DependsOnlyOnNames) {
  auto names = backends(5);
  EXPECT_EQ(maglevTable(names, 251), maglevTable(names, 251));
  EXPECT_TRUE(maglevTable({}, 251).empty());
}

TEST(RingHash, RemovingOneBackendMovesLittleElse) {
  auto before = backends(10);
  auto after = before;
  const std::string removed = after[3];
  after.erase(after.begin() + 3);
  auto a = owners(before, ringHashTable(before, 1024, 4093));
  auto b = owners(after, ringHashTable(after, 1024, 4093));
  int removedEntries = 0;
  int moved = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i] == removed) {
      ++removedEntries;
    } else if (a[i] != b[i]) {
      ++moved;
    }
  }
  EXPECT_GT(removedEntries, 0);
  // As in Envoy, the ring keeps about minimumRingSize points, so survivors gain ~1/9 more points
  // each and those take over some of their neighbours' ranges; far less than a rehash (~90%).
  EXPECT_LT(moved, static_cast<int>(a.size() * 0.15)) << moved;
}

TEST(RingHash, SharesAreRoughlyFair) {
  auto names = backends(4);
  auto table = ringHashTable(names, 1024, 4093);
  std::vector<int> counts(4, 0);
  for (uint32_t i : table) {
    ++counts[i];
  }
  for (int c : counts) {
    EXPECT_GT(c, 4093 / 4 / 2);
    EXPECT_LT(c, 4093 / 4 * 3 / 2);
  }
}

}  // namespace
}  // namespace sluice::compile
