#include "abi_codec.h"

#include <gtest/gtest.h>

#include <random>

namespace sluice::dataplane {
namespace {

// P(group g) = 1/n * sum over columns of keep/total (column g) + (total-keep)/total (alias = g);
// exact when n * weight[g] equals that sum times total.
void expectExact(const std::vector<uint32_t>& weights) {
  auto table = buildAliasTable(weights);
  ASSERT_TRUE(table.ok()) << table.error().message();
  const size_t n = weights.size();
  if (table->total == 0) {
    EXPECT_TRUE(table->keep.empty());  // nothing to pick: the route gets count 0
    return;
  }
  std::vector<uint64_t> mass(n, 0);
  for (size_t i = 0; i < n; ++i) {
    ASSERT_LE(table->keep[i], table->total);
    mass[i] += table->keep[i];
    mass[table->alias[i]] += table->total - table->keep[i];
  }
  for (size_t g = 0; g < n; ++g) {
    EXPECT_EQ(mass[g], uint64_t{weights[g]} * n) << "group " << g;
    // The scaled table is within one unit of 2^16 per column.
    double want = static_cast<double>(weights[g]) / static_cast<double>(table->total);
    double got = 0;
    for (size_t i = 0; i < n; ++i) {
      double p = table->prob(i) / double(SL_WEIGHT_SCALE);
      got += ((i == g) ? p : 0) + ((table->alias[i] == g) ? 1 - p : 0);
    }
    EXPECT_NEAR(got / double(n), want, 1.0 / SL_WEIGHT_SCALE);
  }
}

TEST(AliasTable, ExactForFixedSplits) {
  expectExact({80, 20});
  expectExact({1, 2});
  expectExact({1, 1, 1});
  expectExact({100});
  expectExact({0, 5, 0, 7});
  expectExact(std::vector<uint32_t>(SL_MAX_DESTS, 0xffffffffu));
}

TEST(AliasTable, ExactForRandomWeights) {
  std::mt19937 rng(42);
  for (int round = 0; round < 500; ++round) {
    std::vector<uint32_t> w(1 + rng() % SL_MAX_DESTS);
    for (auto& x : w) {
      x = rng() % 4 == 0 ? 0 : 1 + rng() % 1000;
    }
    expectExact(w);
  }
}

TEST(AliasTable, ZeroWeightIsNeverPicked) {
  auto table = buildAliasTable(std::vector<uint32_t>{0, 3});
  ASSERT_TRUE(table.ok());
  EXPECT_EQ(table->keep[0], 0u);
  EXPECT_EQ(table->alias[0], 1u);
  EXPECT_EQ(table->prob(1), SL_WEIGHT_SCALE);
}

TEST(AliasTable, TooManyDestinationsIsE2BIG) {
  auto table = buildAliasTable(std::vector<uint32_t>(SL_MAX_DESTS + 1, 1));
  ASSERT_FALSE(table.ok());
  EXPECT_EQ(table.error().code.value(), E2BIG);
}

TEST(EncodeRoute, MergesRepeatedGroupsAndDropsZeroWeights) {
  auto route = encodeRoute({{7, 30}, {9, 0}, {7, 30}, {8, 40}});
  ASSERT_TRUE(route.ok());
  EXPECT_EQ(route->count, 2u);
  EXPECT_EQ(route->group[0], 7u);
  EXPECT_EQ(route->group[1], 8u);
}

TEST(EncodeRoute, EmptySplitIsCountZero) {
  auto route = encodeRoute({});
  ASSERT_TRUE(route.ok());
  EXPECT_EQ(route->count, 0u);
}

TEST(AbiCodec, SvcKeyIsNetworkOrder) {
  plan::Frontend f;
  f.vip = *net::IpAddress::parse("10.96.0.10");
  f.port = 0x1f90;  // 8080
  f.protocol = plan::Protocol::Udp;
  sl_svc_key k = encodeSvcKey(f);
  const auto* port = reinterpret_cast<const uint8_t*>(&k.port);
  EXPECT_EQ(port[0], 0x1f);
  EXPECT_EQ(port[1], 0x90);
  EXPECT_EQ(k.vip.bytes[0], 10);
  EXPECT_EQ(k.vip.bytes[3], 10);
  EXPECT_EQ(k.vip.bytes[4], 0);
  EXPECT_EQ(k.proto, SL_PROTO_UDP);
  EXPECT_EQ(k.family, SL_FAMILY_V4);
  EXPECT_EQ(describeSvcKey(k), "10.96.0.10:8080/udp");
}

TEST(AbiCodec, BackendRoundTripsV6) {
  plan::Backend b;
  b.ip = *net::IpAddress::parse("fd00::5");
  b.port = 443;
  b.state = plan::BackendState::Terminating;
  sl_backend v = encodeBackend(b);
  EXPECT_EQ(v.family, SL_FAMILY_V6);
  EXPECT_EQ(v.state, SL_BACKEND_TERMINATING);
  EXPECT_EQ(decodeAddr(v.addr, v.family), b.ip);
  EXPECT_EQ(describeBackend(v), "[fd00::5]:443");
}

}  // namespace
}  // namespace sluice::dataplane
