/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The forward journey of connect4/6 and sendmsg4/6:
 *   enrolled caller? (sl_client_v1) → known frontend? (sl_svc_v1) → L7: node proxy (redirect.h)
 *   → else route, group, backend (lb.h) → remember (revnat.h) → rewrite the destination.
 * Returns 0 (translated), -ENXIO (pass through unchanged), -ECONNREFUSED (known service, nowhere to
 * go) or -ENOMEM (could not remember the translation, so it is not made).
 */
#ifndef SLUICE_BPF_XLATE_H
#define SLUICE_BPF_XLATE_H

#include "lib/compiler.h"
#include "lib/lb.h"
#include "lib/maps.h"
#include "lib/metrics.h"
#include "lib/redirect.h"
#include "lib/revnat.h"
#include "lib/sock_ctx.h"

static __always_inline int __sl_client_lookup(__u64 cgroup_id, struct sl_client **client)
{
	*client = bpf_map_lookup_elem(&sl_client_v1, &cgroup_id);
	if (!*client || !((*client)->flags & SL_CLIENT_F_ENROLLED)) {
		sl_count(SL_REASON_NOT_ENROLLED);
		return -ENXIO;
	}
	return 0;
}

/* A socket connecting again (UDP re-connect, TCP retry after a failed connect) drops its previous
 * decision and the count it holds; its state is reused. The kernel runs this hook for TCP only in
 * TCP_CLOSE, so a second connect() on a socket already connecting never gets here. */
static __always_inline struct sl_sock *sl_sock_reconnect(struct bpf_sock_addr *ctx)
{
	struct sl_sock *st = bpf_sk_storage_get(&sl_sock_v1, ctx->sk, 0, 0);

	if (st)
		sl_sock_forget(st);
	return st;
}

static __always_inline int __sl_frontend(const struct bpf_sock_addr *ctx, __u8 family,
					 struct sl_svc_key *key, struct sl_svc **svc)
{
	if (ctx->protocol != IPPROTO_TCP && ctx->protocol != IPPROTO_UDP) {
		sl_count(SL_REASON_NOT_SERVICE);
		return -ENXIO;
	}
	key->family = sl_ctx_get_addr(ctx, family, &key->vip, &key->port);
	key->proto = (__u8)ctx->protocol;
	return __sl_svc_lookup(key, svc);
}

/* sendmsg: unconnected UDP. Stick to one backend per socket, count no connection, and record the VIP
 * replies must show. connect: TCP and connected UDP; count a connection on the backend. */
static __always_inline int __sock_xlate_fwd(struct bpf_sock_addr *ctx, __u8 family, bool sendmsg)
{
	__u64 cgroup_id = bpf_get_current_cgroup_id();
	struct sl_svc_key key = {};
	struct sl_pick pick = {};
	struct sl_rng rng = {};
	struct sl_client *client;
	struct sl_sock *st = NULL;
	struct sl_svc *svc;
	__u64 cookie = 0;
	int err;

	err = __sl_client_lookup(cgroup_id, &client);
	if (err)
		return err;
	if (!sendmsg)
		st = sl_sock_reconnect(ctx);
	err = __sl_frontend(ctx, family, &key, &svc);
	if (err)
		return err;
	if (!sendmsg) {
		/* Created only for frontends: most sockets of a pod never need state. */
		if (!st)
			st = bpf_sk_storage_get(&sl_sock_v1, ctx->sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
		if (!st) {
			sl_count(SL_REASON_REVNAT_FAIL);
			return -ENOMEM;
		}
		/* The proxy speaks TCP only; an L7-flagged UDP frontend is balanced here as L4. */
		if ((svc->flags & SL_SVC_F_L7) && key.proto == SL_PROTO_TCP)
			return __sl_to_proxy(ctx, family, &key, svc, client, cgroup_id, st);
	}
	if (sendmsg || key.proto == SL_PROTO_UDP)
		cookie = bpf_get_socket_cookie(ctx);
	if (sendmsg) {
		rng.sticky = true;
		rng.state = cookie ^ ((__u64)key.port << 32) ^ sl_hash_addr(&key.vip);
	}
	err = __sl_select(svc, client, key.family, &rng, !sendmsg, &pick);
	if (err)
		return err;
	if (cookie) {
		err = __sl_revnat_record(cookie, &pick, &key);
		if (err) {
			if (pick.counted)
				sl_unclaim(pick.backend_id);
			return err;
		}
	}
	sl_ctx_set_addr(ctx, family, &pick.addr, key.family, pick.port);
	if (st)
		sl_sock_record(st, &key, svc, client, cgroup_id, pick.backend_id,
			       pick.counted ? SL_SOCK_F_COUNTED : 0);
	sl_count(SL_REASON_TRANSLATED);
	if (!sendmsg && !pick.counted)
		sl_count(SL_REASON_UNCOUNTED);
	return 0;
}

#endif /* SLUICE_BPF_XLATE_H */
