// lib/lb.h with scripted randomness (see lb_test.bpf.c): exact alias-table columns and coins,
// power-of-two choices, max_conns probing with wrap-around, and reason counters.
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "sluice_abi.h"
// The skeleton's .bss struct uses the ABI types.
#include "lb_test.skel.h"

namespace {

class LbTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(geteuid(), 0u) << "bpf tests need root (label bpf)";
    skel_ = lb_test_bpf__open_and_load();
    ASSERT_NE(skel_, nullptr) << std::strerror(errno);
    skel_->bss->in_svc.svc_id = 1;
    skel_->bss->in_family = SL_FAMILY_V4;
    skel_->bss->in_count = 1;
  }
  void TearDown() override { lb_test_bpf__destroy(skel_); }

  // Runs __sl_select with these draws of bpf_get_prandom_u32; returns its errno result.
  int select(const std::vector<uint32_t>& draws) {
    EXPECT_LE(draws.size(), 8u);
    std::memset(skel_->bss->rand_seq, 0, sizeof(skel_->bss->rand_seq));
    std::memcpy(skel_->bss->rand_seq, draws.data(), draws.size() * sizeof(uint32_t));
    char packet[64] = {};
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = packet, .data_size_in = sizeof(packet));
    EXPECT_EQ(bpf_prog_test_run_opts(bpf_program__fd(skel_->progs.test_select), &opts), 0);
    EXPECT_EQ(opts.retval, static_cast<__u32>(XDP_PASS));
    return skel_->bss->out_err;
  }
  uint32_t picked() const { return skel_->bss->out_backend; }

  void put(bpf_map* map, const void* key, const void* value) {
    ASSERT_EQ(bpf_map_update_elem(bpf_map__fd(map), key, value, BPF_ANY), 0) << std::strerror(errno);
  }
  void route(const std::vector<uint32_t>& prob, const std::vector<uint32_t>& group,
             const std::vector<uint32_t>& alias) {
    sl_route_key k{};
    k.svc_id = 1;
    sl_route r{};
    r.count = static_cast<uint32_t>(prob.size());
    for (size_t i = 0; i < prob.size(); ++i) {
      r.prob[i] = prob[i];
      r.group[i] = group[i];
      r.alias_group[i] = alias[i];
    }
    put(skel_->maps.sl_route_v1, &k, &r);
  }
  // Group `id` with backends id*10+1.. in slots; each backend with `conns` live connections.
  void group(uint32_t id, uint8_t lb, const std::vector<int64_t>& conns, uint32_t maxConns = 0) {
    sl_group g{};
    g.base = 100 * id;
    g.count = static_cast<uint32_t>(conns.size());
    g.max_conns = maxConns;
    g.lb = lb;
    for (uint32_t i = 0; i < g.count; ++i) {
      uint32_t backendId = id * 10 + 1 + i;
      sl_slot_key sk{id, g.base + i};
      put(skel_->maps.sl_slot_v1, &sk, &backendId);
      sl_backend b{};
      b.family = SL_FAMILY_V4;
      b.port = htons(8080);
      b.addr.bytes[0] = 10;
      b.addr.bytes[3] = static_cast<uint8_t>(backendId);
      put(skel_->maps.sl_backend_v1, &backendId, &b);
      sl_conns c{conns[i]};
      put(skel_->maps.sl_conns_v1, &backendId, &c);
    }
    put(skel_->maps.sl_group_v1, &id, &g);
  }
  int64_t conns(uint32_t backendId) {
    sl_conns c{};
    EXPECT_EQ(bpf_map_lookup_elem(bpf_map__fd(skel_->maps.sl_conns_v1), &backendId, &c), 0);
    return c.active;
  }
  uint64_t stat(sl_reason reason) {
    std::vector<uint64_t> perCpu(static_cast<size_t>(libbpf_num_possible_cpus()));
    uint32_t key = reason;
    EXPECT_EQ(bpf_map_lookup_elem(bpf_map__fd(skel_->maps.sl_stats_v1), &key, perCpu.data()), 0);
    uint64_t sum = 0;
    for (uint64_t v : perCpu) sum += v;
    return sum;
  }

  lb_test_bpf* skel_ = nullptr;
};

// Column = draw % count; the coin (draw % 65536) keeps the column's group below prob, else its alias.
TEST_F(LbTest, AliasTableColumnAndCoinAreExact) {
  group(1, SL_LB_RANDOM, {0});
  group(2, SL_LB_RANDOM, {0});
  route({32768, 65536}, {1, 2}, {2, 2});  // weights 1:3
  EXPECT_EQ(select({0, 32767, 0}), 0);
  EXPECT_EQ(picked(), 11u) << "column 0, coin below prob: the column's own group";
  EXPECT_EQ(select({0, 32768, 0}), 0);
  EXPECT_EQ(picked(), 21u) << "column 0, coin at prob: the alias";
  EXPECT_EQ(select({1, 65535, 0}), 0);
  EXPECT_EQ(picked(), 21u) << "column 1 keeps its group with prob 1.0";
  EXPECT_EQ(select({2 + 65536 * 3, 0, 0}), 0);
  EXPECT_EQ(picked(), 11u) << "draws are reduced modulo count and scale";
}

TEST_F(LbTest, PowerOfTwoChoicesTakesTheLessLoadedOfTwoDistinctSlots) {
  group(3, SL_LB_LEAST_REQUEST, {5, 0, 2}, 0);
  route({65536}, {3}, {3});
  // draws: column, coin, first slot a, offset of b = a + 1 + draw % (count - 1)
  EXPECT_EQ(select({0, 0, 0, 0}), 0);
  EXPECT_EQ(picked(), 32u) << "a=0 (5 conns) vs b=1 (0 conns)";
  EXPECT_EQ(select({0, 0, 2, 0}), 0);
  EXPECT_EQ(picked(), 33u) << "a=2 (2 conns) vs b=0 (wraps; 5 conns)";
  EXPECT_EQ(select({0, 0, 1, 1}), 0);
  EXPECT_EQ(picked(), 32u) << "a=1 vs b=0 (1+1+1 wraps): a has fewer";
  EXPECT_EQ(conns(32), 2) << "each pick counted one connection";
}

TEST_F(LbTest, MaxConnsProbesOnwardsWithWrapAroundThenRefuses) {
  group(4, SL_LB_RANDOM, {1, 1, 0}, /*maxConns=*/1);
  route({65536}, {4}, {4});
  EXPECT_EQ(select({0, 0, 1}), 0);
  EXPECT_EQ(picked(), 43u) << "slot 1 full, slot 2 has room";
  EXPECT_EQ(conns(43), 1);
  EXPECT_EQ(select({0, 0, 2}), -ECONNREFUSED) << "2, 0, 1: all full";
  EXPECT_EQ(stat(SL_REASON_BACKEND_FULL), 1u);
  EXPECT_EQ(conns(41), 1) << "a refused claim is taken back";
  EXPECT_EQ(conns(43), 1);
}

TEST_F(LbTest, UncountedSelectionNeitherCountsNorChecksMaxConns) {
  group(5, SL_LB_RANDOM, {1}, /*maxConns=*/1);
  route({65536}, {5}, {5});
  skel_->bss->in_count = 0;  // sendmsg: unconnected UDP holds no connection
  EXPECT_EQ(select({0, 0, 0}), 0);
  EXPECT_EQ(picked(), 51u);
  EXPECT_EQ(skel_->bss->out_counted, 0);
  EXPECT_EQ(conns(51), 1);
}

TEST_F(LbTest, ClassRouteOnlyWhenTheServiceHasClasses) {
  group(6, SL_LB_RANDOM, {0});
  group(7, SL_LB_RANDOM, {0});
  route({65536}, {6}, {6});
  sl_route_key k{};
  k.svc_id = 1;
  k.client_class = 9;
  sl_route r{};
  r.count = 1;
  r.prob[0] = 65536;
  r.group[0] = r.alias_group[0] = 7;
  put(skel_->maps.sl_route_v1, &k, &r);
  skel_->bss->in_client.client_class = 9;
  EXPECT_EQ(select({0, 0, 0}), 0);
  EXPECT_EQ(picked(), 61u) << "without SL_SVC_F_HAS_CLASSES the class is not looked up";
  skel_->bss->in_svc.flags = SL_SVC_F_HAS_CLASSES;
  EXPECT_EQ(select({0, 0, 0}), 0);
  EXPECT_EQ(picked(), 71u);
}

}  // namespace
