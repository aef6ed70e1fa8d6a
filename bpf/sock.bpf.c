// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Every cgroup socket hook of Sluice. Entries only map a worker's errno to a verdict; the workers
 * live in lib/ and count every reason they bail out (sl_stats_v1). The journey is in lib/xlate.h.
 */
#include "lib/redirect.h"
#include "lib/revnat.h"
#include "lib/sock_ctx.h"
#include "lib/xlate.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Fail closed only when a known service has nowhere to send the caller (ECONNREFUSED), or when the
 * translation could not be remembered (ENOMEM: the application would see the pod IP and the count
 * would leak). Everything else, including config we cannot follow, passes through unchanged. */
static __always_inline int sl_fwd_verdict(int err)
{
	if (err == -ECONNREFUSED || err == -ENOMEM) {
		sl_set_retval(err);
		return SYS_REJECT;
	}
	return SYS_PROCEED;
}

SEC("cgroup/connect4")
int sl_connect4(struct bpf_sock_addr *ctx)
{
	return sl_fwd_verdict(__sock_xlate_fwd(ctx, SL_FAMILY_V4, false));
}

SEC("cgroup/connect6")
int sl_connect6(struct bpf_sock_addr *ctx)
{
	return sl_fwd_verdict(__sock_xlate_fwd(ctx, SL_FAMILY_V6, false));
}

SEC("cgroup/sendmsg4")
int sl_sendmsg4(struct bpf_sock_addr *ctx)
{
	return sl_fwd_verdict(__sock_xlate_fwd(ctx, SL_FAMILY_V4, true));
}

SEC("cgroup/sendmsg6")
int sl_sendmsg6(struct bpf_sock_addr *ctx)
{
	return sl_fwd_verdict(__sock_xlate_fwd(ctx, SL_FAMILY_V6, true));
}

/* Reverse translation never fails a call: without state the kernel's answer stands. */
SEC("cgroup/recvmsg4")
int sl_recvmsg4(struct bpf_sock_addr *ctx)
{
	__sock_xlate_rev_msg(ctx, SL_FAMILY_V4);
	return SYS_PROCEED;
}

SEC("cgroup/recvmsg6")
int sl_recvmsg6(struct bpf_sock_addr *ctx)
{
	__sock_xlate_rev_msg(ctx, SL_FAMILY_V6);
	return SYS_PROCEED;
}

SEC("cgroup/getpeername4")
int sl_getpeername4(struct bpf_sock_addr *ctx)
{
	__sock_xlate_rev_peer(ctx, SL_FAMILY_V4);
	return SYS_PROCEED;
}

SEC("cgroup/getpeername6")
int sl_getpeername6(struct bpf_sock_addr *ctx)
{
	__sock_xlate_rev_peer(ctx, SL_FAMILY_V6);
	return SYS_PROCEED;
}

/* Keeps sl_conns_v1 right: every inet socket passes here once, however it was closed. */
SEC("cgroup/sock_release")
int sl_sock_release(struct bpf_sock *sk)
{
	__sock_release(sk);
	return SYS_PROCEED;
}

/* L7 hand-off bookkeeping; other sockops events are not ours and are not counted. */
SEC("sockops")
int sl_sockops(struct bpf_sock_ops *skops)
{
	if (skops->op == BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB)
		__sl_handoff_publish(skops);
	else if (skops->op == BPF_SOCK_OPS_STATE_CB)
		__sl_handoff_state(skops);
	return 1;
}
