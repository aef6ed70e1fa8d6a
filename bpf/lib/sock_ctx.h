/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Accessors for struct bpf_sock_addr and the few constants the UAPI headers do not give a BPF program.
 * Everything that reads or writes the caller's address goes through here, so the workers never
 * touch the context's layout.
 */
#ifndef SLUICE_BPF_SOCK_CTX_H
#define SLUICE_BPF_SOCK_CTX_H

#include <stdbool.h>
#include <linux/bpf.h>
#include <linux/errno.h>
#include <linux/in.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "abi/sluice_abi.h"
#include "lib/compiler.h"

#define SL_AF_INET 2 /* bpf_sock_ops.family */

/* cgroup sock_addr verdicts */
#define SYS_REJECT 0
#define SYS_PROCEED 1

/* libbpf 1.1's helper list predates bpf_set_retval (kernel 5.18). */
static long (*const sl_set_retval)(int retval) = (void *)BPF_FUNC_set_retval;

static __always_inline void sl_addr_set4(struct sl_addr *a, __u32 ip4)
{
	__builtin_memset(a, 0, sizeof(*a));
	__builtin_memcpy(a->bytes, &ip4, 4);
}

static __always_inline __u32 sl_addr_get4(const struct sl_addr *a)
{
	__u32 ip4;

	__builtin_memcpy(&ip4, a->bytes, 4);
	return ip4;
}

/* An IPv6 address from four context words. A v4-mapped one (::ffff:a.b.c.d: a dual-stack socket,
 * e.g. Java's default, talking to an IPv4 address) is returned as the v4 address it is. Returns the
 * address's family. */
static __always_inline __u8 sl_addr_from_v6(const __u32 w[4], struct sl_addr *a)
{
	if (w[0] == 0 && w[1] == 0 && w[2] == bpf_htonl(0xffff)) {
		sl_addr_set4(a, w[3]);
		return SL_FAMILY_V4;
	}
	__builtin_memcpy(a->bytes, w, 16);
	return SL_FAMILY_V6;
}

/* The destination the caller wrote (connect, sendmsg) or the peer the kernel is about to report
 * (getpeername, recvmsg): both live in user_ip4/user_ip6/user_port. prog_family is the program's
 * (a constant: the verifier rejects even an unreachable user_ip6 access in a v4 program). Returns
 * the address's family, which is v4 for a v4-mapped address in a v6 program. */
static __always_inline __u8 sl_ctx_get_addr(const struct bpf_sock_addr *ctx, __u8 prog_family,
					    struct sl_addr *a, __be16 *port)
{
	*port = (__be16)ctx->user_port;
	if (prog_family == SL_FAMILY_V4) {
		sl_addr_set4(a, ctx->user_ip4);
		return SL_FAMILY_V4;
	} else {
		__u32 w[4] = { READ_ONCE_U32(ctx->user_ip6[0]), READ_ONCE_U32(ctx->user_ip6[1]),
			       READ_ONCE_U32(ctx->user_ip6[2]), READ_ONCE_U32(ctx->user_ip6[3]) };

		return sl_addr_from_v6(w, a);
	}
}

/* The inverse: a v4 address written into a v6 program's context becomes v4-mapped. */
static __always_inline void sl_ctx_set_addr(struct bpf_sock_addr *ctx, __u8 prog_family,
					    const struct sl_addr *a, __u8 addr_family, __be16 port)
{
	if (prog_family == SL_FAMILY_V4) {
		ctx->user_ip4 = sl_addr_get4(a);
	} else {
		__u32 w[4] = { 0, 0, bpf_htonl(0xffff), sl_addr_get4(a) };

		if (addr_family == SL_FAMILY_V6)
			__builtin_memcpy(w, a->bytes, 16);
		/* The verifier allows only 4-byte stores to user_ip6. */
		ctx->user_ip6[0] = w[0];
		ctx->user_ip6[1] = w[1];
		ctx->user_ip6[2] = w[2];
		ctx->user_ip6[3] = w[3];
	}
	ctx->user_port = port;
}

static __always_inline bool sl_addr_is_zero(const struct sl_addr *a)
{
	__u64 w[2];

	__builtin_memcpy(w, a->bytes, 16);
	return (w[0] | w[1]) == 0;
}

static __always_inline bool sl_addr_eq(const struct sl_addr *a, const struct sl_addr *b)
{
	__u64 x[2], y[2];

	__builtin_memcpy(x, a->bytes, 16);
	__builtin_memcpy(y, b->bytes, 16);
	return x[0] == y[0] && x[1] == y[1];
}

#endif /* SLUICE_BPF_SOCK_CTX_H */
