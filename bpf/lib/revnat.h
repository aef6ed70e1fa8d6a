/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Remember what connect()/sendmsg() decided, and answer getpeername()/recvmsg() with the VIP:
 *   sl_sock_v1 (SK_STORAGE)  per connected socket: VIP, backend, the sl_conns_v1 reference it holds
 *   sl_revnat_v1 (LRU)       per {socket cookie, backend addr:port}: the VIP a UDP reply must show
 * SK_STORAGE dies with the socket, so nothing leaks and nothing is evicted under load.
 */
#ifndef SLUICE_BPF_REVNAT_H
#define SLUICE_BPF_REVNAT_H

#include "lib/compiler.h"
#include "lib/lb.h"
#include "lib/maps.h"
#include "lib/metrics.h"
#include "lib/sock_ctx.h"

/* Return the sl_conns_v1 reference a socket holds and mark it untranslated (family 0): at release,
 * and when a socket connects again (UDP re-connect, TCP retry after a failed connect). */
static __always_inline void sl_sock_forget(struct sl_sock *st)
{
	if (st->flags & SL_SOCK_F_COUNTED) {
		sl_unclaim(st->backend_id);
		sl_count(SL_REASON_RELEASED);
	}
	st->flags = 0;
	st->family = 0;
}

static __always_inline void sl_sock_record(struct sl_sock *st, const struct sl_svc_key *vip,
					   const struct sl_svc *svc, const struct sl_client *client,
					   __u64 cgroup_id, __u32 backend_id, __u8 flags)
{
	st->vip = vip->vip;
	st->vport = vip->port;
	st->family = vip->family;
	st->flags = flags;
	st->backend_id = backend_id;
	st->svc_id = svc->svc_id;
	st->client_class = client->client_class;
	st->cgroup_id = cgroup_id;
}

/* cgroup/sock_release: the socket is going away; give back what connect() counted. */
static __always_inline int __sock_release(struct bpf_sock *sk)
{
	struct sl_sock *st = bpf_sk_storage_get(&sl_sock_v1, sk, 0, 0);

	if (!st || !(st->flags & SL_SOCK_F_COUNTED)) {
		sl_count(SL_REASON_NO_SOCK_STATE);
		return -ENXIO;
	}
	sl_sock_forget(st);
	return 0;
}

/* UDP replies arrive from the backend; record which VIP that backend stands for on this socket.
 * Looked up first so a busy sender does not rewrite the same LRU entry per datagram. */
static __always_inline int __sl_revnat_record(__u64 cookie, const struct sl_pick *pick,
					      const struct sl_svc_key *vip)
{
	struct sl_revnat_key key = {};
	struct sl_revnat val = {};
	struct sl_revnat *old;

	key.cookie = cookie;
	key.addr = pick->addr;
	key.port = pick->port;
	key.family = vip->family;
	old = bpf_map_lookup_elem(&sl_revnat_v1, &key);
	if (old && old->vport == vip->port && sl_addr_eq(&old->vip, &vip->vip))
		return 0;
	val.vip = vip->vip;
	val.vport = vip->port;
	if (bpf_map_update_elem(&sl_revnat_v1, &key, &val, BPF_ANY)) {
		sl_count(SL_REASON_REVNAT_FAIL);
		return -ENOMEM;
	}
	return 0;
}

/* cgroup/getpeername4/6: a socket connect() translated reports the VIP it asked for. A v6 socket
 * can hold a v4 VIP (it connected to a v4-mapped address); a v4 socket never holds a v6 one. */
static __always_inline int __sock_xlate_rev_peer(struct bpf_sock_addr *ctx, __u8 family)
{
	struct sl_sock *st = bpf_sk_storage_get(&sl_sock_v1, ctx->sk, 0, 0);

	if (!st || !st->family || (family == SL_FAMILY_V4 && st->family != SL_FAMILY_V4)) {
		sl_count(SL_REASON_NO_SOCK_STATE);
		return -ENXIO;
	}
	sl_ctx_set_addr(ctx, family, &st->vip, st->family, st->vport);
	sl_count(SL_REASON_REVERSED);
	return 0;
}

/* cgroup/recvmsg4/6: a datagram from a backend this socket was sent to shows the VIP as source. */
static __always_inline int __sock_xlate_rev_msg(struct bpf_sock_addr *ctx, __u8 family)
{
	struct sl_revnat_key key = {};
	struct sl_revnat *val;

	key.cookie = bpf_get_socket_cookie(ctx);
	key.family = sl_ctx_get_addr(ctx, family, &key.addr, &key.port);
	val = bpf_map_lookup_elem(&sl_revnat_v1, &key);
	if (!val) {
		sl_count(SL_REASON_NO_SOCK_STATE);
		return -ENXIO;
	}
	sl_ctx_set_addr(ctx, family, &val->vip, key.family, val->vport);
	sl_count(SL_REASON_REVERSED);
	return 0;
}

#endif /* SLUICE_BPF_REVNAT_H */
