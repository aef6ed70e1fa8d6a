// Every ABI struct as clang -target bpf laid it out (the BTF of sock.bpf.o) must match the C++
// compiler's layout of the same header, member by member: the userspace codec writes these bytes.
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <gtest/gtest.h>

#include <cstddef>
#include <iterator>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "sluice_abi.h"

namespace {

struct Member {
  std::string name;
  size_t offset;
};

struct Layout {
  std::string name;
  size_t size;
  std::vector<Member> members;
};

void PrintTo(const Layout& l, std::ostream* os) { *os << "struct " << l.name; }

#define SL_MEMBER(S, F) Member{#F, offsetof(struct S, F)}

std::vector<Layout> cppLayouts() {
  return {
      {"sl_addr", sizeof(sl_addr), {SL_MEMBER(sl_addr, bytes)}},
      {"sl_svc_key",
       sizeof(sl_svc_key),
       {SL_MEMBER(sl_svc_key, vip), SL_MEMBER(sl_svc_key, port), SL_MEMBER(sl_svc_key, proto),
        SL_MEMBER(sl_svc_key, family)}},
      {"sl_svc",
       sizeof(sl_svc),
       {SL_MEMBER(sl_svc, svc_id), SL_MEMBER(sl_svc, flags), SL_MEMBER(sl_svc, generation),
        SL_MEMBER(sl_svc, pad)}},
      {"sl_route_key",
       sizeof(sl_route_key),
       {SL_MEMBER(sl_route_key, svc_id), SL_MEMBER(sl_route_key, client_class),
        SL_MEMBER(sl_route_key, generation), SL_MEMBER(sl_route_key, pad)}},
      {"sl_route",
       sizeof(sl_route),
       {SL_MEMBER(sl_route, count), SL_MEMBER(sl_route, pad), SL_MEMBER(sl_route, prob),
        SL_MEMBER(sl_route, group), SL_MEMBER(sl_route, alias_group)}},
      {"sl_group",
       sizeof(sl_group),
       {SL_MEMBER(sl_group, base), SL_MEMBER(sl_group, count), SL_MEMBER(sl_group, hash_base),
        SL_MEMBER(sl_group, hash_size), SL_MEMBER(sl_group, max_conns), SL_MEMBER(sl_group, rr),
        SL_MEMBER(sl_group, lb), SL_MEMBER(sl_group, pad)}},
      {"sl_slot_key",
       sizeof(sl_slot_key),
       {SL_MEMBER(sl_slot_key, group_id), SL_MEMBER(sl_slot_key, index)}},
      {"sl_backend",
       sizeof(sl_backend),
       {SL_MEMBER(sl_backend, addr), SL_MEMBER(sl_backend, port), SL_MEMBER(sl_backend, family),
        SL_MEMBER(sl_backend, state), SL_MEMBER(sl_backend, pad)}},
      {"sl_conns", sizeof(sl_conns), {SL_MEMBER(sl_conns, active)}},
      {"sl_client",
       sizeof(sl_client),
       {SL_MEMBER(sl_client, client_class), SL_MEMBER(sl_client, flags),
        SL_MEMBER(sl_client, pod_ip), SL_MEMBER(sl_client, family), SL_MEMBER(sl_client, pad)}},
      {"sl_sock",
       sizeof(sl_sock),
       {SL_MEMBER(sl_sock, vip), SL_MEMBER(sl_sock, vport), SL_MEMBER(sl_sock, family),
        SL_MEMBER(sl_sock, flags), SL_MEMBER(sl_sock, backend_id), SL_MEMBER(sl_sock, svc_id),
        SL_MEMBER(sl_sock, client_class), SL_MEMBER(sl_sock, cgroup_id)}},
      {"sl_revnat_key",
       sizeof(sl_revnat_key),
       {SL_MEMBER(sl_revnat_key, cookie), SL_MEMBER(sl_revnat_key, addr),
        SL_MEMBER(sl_revnat_key, port), SL_MEMBER(sl_revnat_key, family),
        SL_MEMBER(sl_revnat_key, pad)}},
      {"sl_revnat",
       sizeof(sl_revnat),
       {SL_MEMBER(sl_revnat, vip), SL_MEMBER(sl_revnat, vport), SL_MEMBER(sl_revnat, pad)}},
      {"sl_handoff_key",
       sizeof(sl_handoff_key),
       {SL_MEMBER(sl_handoff_key, client), SL_MEMBER(sl_handoff_key, client_port),
        SL_MEMBER(sl_handoff_key, family), SL_MEMBER(sl_handoff_key, pad)}},
      {"sl_handoff",
       sizeof(sl_handoff),
       {SL_MEMBER(sl_handoff, orig), SL_MEMBER(sl_handoff, orig_port),
        SL_MEMBER(sl_handoff, family), SL_MEMBER(sl_handoff, proto), SL_MEMBER(sl_handoff, svc_id),
        SL_MEMBER(sl_handoff, client_class), SL_MEMBER(sl_handoff, pad),
        SL_MEMBER(sl_handoff, cgroup_id)}},
      {"sl_cfg",
       sizeof(sl_cfg),
       {SL_MEMBER(sl_cfg, proxy4), SL_MEMBER(sl_cfg, proxy6), SL_MEMBER(sl_cfg, proxy_port),
        SL_MEMBER(sl_cfg, pad)}},
  };
}

struct BtfDeleter {
  void operator()(btf* b) const { btf__free(b); }
};

class AbiLayoutTest : public ::testing::TestWithParam<Layout> {
 protected:
  static void SetUpTestSuite() {
    btf_.reset(btf__parse_elf(SLUICE_SOCK_BPF_O, nullptr));
    ASSERT_NE(btf_, nullptr) << "cannot read BTF of " << SLUICE_SOCK_BPF_O;
  }
  static void TearDownTestSuite() { btf_.reset(); }
  static inline std::unique_ptr<btf, BtfDeleter> btf_;
};

TEST_P(AbiLayoutTest, BpfLayoutMatchesCpp) {
  const Layout& want = GetParam();
  ASSERT_NE(btf_, nullptr);
  int id = btf__find_by_name_kind(btf_.get(), want.name.c_str(), BTF_KIND_STRUCT);
  ASSERT_GT(id, 0) << "struct " << want.name << " is not in the object's BTF (no map uses it?)";
  const btf_type* t = btf__type_by_id(btf_.get(), static_cast<__u32>(id));
  EXPECT_EQ(static_cast<size_t>(t->size), want.size) << want.name;
  ASSERT_EQ(static_cast<size_t>(btf_vlen(t)), want.members.size()) << want.name << " member count";
  const struct btf_member* m = btf_members(t);
  for (size_t i = 0; i < want.members.size(); ++i, ++m) {
    const char* name = btf__name_by_offset(btf_.get(), m->name_off);
    EXPECT_EQ(std::string(name), want.members[i].name) << want.name << " member " << i;
    EXPECT_EQ(btf_member_bit_offset(t, static_cast<__u32>(i)) % 8, 0u) << want.name << "." << name;
    EXPECT_EQ(static_cast<size_t>(btf_member_bit_offset(t, static_cast<__u32>(i)) / 8),
              want.members[i].offset)
        << want.name << "." << name;
  }
}

INSTANTIATE_TEST_SUITE_P(AllStructs, AbiLayoutTest, ::testing::ValuesIn(cppLayouts()),
                         [](const ::testing::TestParamInfo<Layout>& info) { return info.param.name; });

// The userspace codec writes keys and values of these sizes into these maps by name; maps.h must
// declare the same (a wrong __type() there would only show as EINVAL at the first update).
struct MapShape {
  const char* name;
  bpf_map_type type;
  size_t key;
  size_t value;
  size_t maxEntries;  // 0 = not checked (SK_STORAGE has none)
};

TEST(AbiMapsTest, EveryMapHasTheAbiShape) {
  const MapShape shapes[] = {
      {"sl_client_v1", BPF_MAP_TYPE_HASH, sizeof(__u64), sizeof(sl_client), SL_MAX_CLIENTS},
      {"sl_svc_v1", BPF_MAP_TYPE_HASH, sizeof(sl_svc_key), sizeof(sl_svc), SL_MAX_FRONTENDS},
      {"sl_route_v1", BPF_MAP_TYPE_HASH, sizeof(sl_route_key), sizeof(sl_route), SL_MAX_ROUTES},
      {"sl_group_v1", BPF_MAP_TYPE_HASH, sizeof(__u32), sizeof(sl_group), SL_MAX_GROUPS},
      {"sl_slot_v1", BPF_MAP_TYPE_HASH, sizeof(sl_slot_key), sizeof(__u32), SL_MAX_SLOTS},
      {"sl_backend_v1", BPF_MAP_TYPE_HASH, sizeof(__u32), sizeof(sl_backend), SL_MAX_BACKENDS},
      {"sl_conns_v1", BPF_MAP_TYPE_HASH, sizeof(__u32), sizeof(sl_conns), SL_MAX_BACKENDS},
      {"sl_sock_v1", BPF_MAP_TYPE_SK_STORAGE, sizeof(int), sizeof(sl_sock), 0},
      {"sl_revnat_v1", BPF_MAP_TYPE_LRU_HASH, sizeof(sl_revnat_key), sizeof(sl_revnat),
       SL_MAX_REVNAT},
      {"sl_handoff_v1", BPF_MAP_TYPE_HASH, sizeof(sl_handoff_key), sizeof(sl_handoff),
       SL_MAX_HANDOFF},
      {"sl_cfg_v1", BPF_MAP_TYPE_ARRAY, sizeof(__u32), sizeof(sl_cfg), 1},
      {"sl_stats_v1", BPF_MAP_TYPE_PERCPU_ARRAY, sizeof(__u32), sizeof(__u64), SL_REASON_MAX},
  };
  std::unique_ptr<bpf_object, decltype(&bpf_object__close)> obj(
      bpf_object__open_file(SLUICE_SOCK_BPF_O, nullptr), &bpf_object__close);
  ASSERT_NE(obj, nullptr);
  size_t maps = 0;
  bpf_map* m = nullptr;
  bpf_object__for_each_map(m, obj.get()) { ++maps; }
  EXPECT_EQ(maps, std::size(shapes)) << "a map was added or removed: update this table and the ABI";
  for (const MapShape& s : shapes) {
    SCOPED_TRACE(s.name);
    bpf_map* map = bpf_object__find_map_by_name(obj.get(), s.name);
    ASSERT_NE(map, nullptr);
    EXPECT_EQ(bpf_map__type(map), s.type);
    EXPECT_EQ(bpf_map__key_size(map), s.key);
    EXPECT_EQ(bpf_map__value_size(map), s.value);
    if (s.maxEntries) {
      EXPECT_EQ(bpf_map__max_entries(map), s.maxEntries);
    }
  }
}

}  // namespace
