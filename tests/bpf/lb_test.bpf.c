// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * lib/lb.h driven from an XDP program through BPF_PROG_TEST_RUN (Cilium's pattern for socket
 * workers): bpf_get_prandom_u32 is replaced by a sequence the test writes, so the alias table and
 * power-of-two choices can be checked exactly instead of statistically.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

__u32 rand_seq[8];
__u32 rand_pos;

static __u32 sl_test_rand(void)
{
	__u32 v = rand_seq[rand_pos & 7];

	rand_pos++;
	return v;
}
#define bpf_get_prandom_u32 sl_test_rand

#include "lib/lb.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* inputs */
struct sl_svc in_svc;
struct sl_client in_client;
__u8 in_family;
__u8 in_count;
/* outputs */
int out_err;
__u32 out_backend;
__u8 out_counted;

SEC("xdp")
int test_select(struct xdp_md *ctx)
{
	struct sl_rng rng = {};
	struct sl_pick pick = {};

	(void)ctx;
	rand_pos = 0;
	out_err = __sl_select(&in_svc, &in_client, in_family, &rng, in_count != 0, &pick);
	out_backend = pick.backend_id;
	out_counted = pick.counted;
	return XDP_PASS;
}
