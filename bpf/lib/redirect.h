/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * L7 hand-off. connect() to an SL_SVC_F_L7 service goes to the node proxy (sl_cfg_v1) instead of a
 * backend, and the socket is flagged SL_SOCK_F_L7. When that socket is established, sockops
 * publishes {client addr:port} → {VIP, service, client} in sl_handoff_v1: the proxy's accepted socket
 * sees the client address as its peer and looks the original destination up there. The entry is
 * deleted when the client socket reaches TCP_CLOSE (state callback), so the map holds only live
 * connections and needs no eviction.
 */
#ifndef SLUICE_BPF_REDIRECT_H
#define SLUICE_BPF_REDIRECT_H

#include <bpf/bpf_endian.h>

#include "lib/compiler.h"
#include "lib/maps.h"
#include "lib/metrics.h"
#include "lib/revnat.h"
#include "lib/sock_ctx.h"

/* -ENXIO when no proxy is configured: the connection goes to the VIP as written (fail open: an L7
 * service without a proxy is a deployment error the counter shows, not a reason to break traffic).
 * family: the program's; vip->family: the address's (v4 for a v4-mapped VIP on a v6 socket). */
static __always_inline int __sl_to_proxy(struct bpf_sock_addr *ctx, __u8 family,
					 const struct sl_svc_key *vip,
					 const struct sl_svc *svc, const struct sl_client *client,
					 __u64 cgroup_id, struct sl_sock *st)
{
	__u32 zero = 0;
	struct sl_cfg *cfg = bpf_map_lookup_elem(&sl_cfg_v1, &zero);
	const struct sl_addr *proxy;

	if (!cfg || !cfg->proxy_port)
		goto unset;
	proxy = vip->family == SL_FAMILY_V4 ? &cfg->proxy4 : &cfg->proxy6;
	if (sl_addr_is_zero(proxy))
		goto unset;
	sl_ctx_set_addr(ctx, family, proxy, vip->family, cfg->proxy_port);
	sl_sock_record(st, vip, svc, client, cgroup_id, 0, SL_SOCK_F_L7);
	sl_count(SL_REASON_TO_PROXY);
	return 0;
unset:
	sl_count(SL_REASON_PROXY_UNSET);
	return -ENXIO;
}

/* The key the proxy will use: the client's own address, as the proxy sees its peer. A dual-stack
 * client talking to the v4 proxy through a v4-mapped address is an IPv4 peer on the wire. */
static __always_inline void sl_handoff_key(const struct bpf_sock_ops *skops, struct sl_handoff_key *key)
{
	if (skops->family == SL_AF_INET) {
		sl_addr_set4(&key->client, skops->local_ip4);
		key->family = SL_FAMILY_V4;
	} else {
		__u32 w[4] = { READ_ONCE_U32(skops->local_ip6[0]), READ_ONCE_U32(skops->local_ip6[1]),
			       READ_ONCE_U32(skops->local_ip6[2]), READ_ONCE_U32(skops->local_ip6[3]) };

		key->family = sl_addr_from_v6(w, &key->client);
	}
	key->client_port = bpf_htons((__u16)skops->local_port); /* local_port is host order */
}

/* sockops ACTIVE_ESTABLISHED: publish the original destination of a socket connect() sent to the
 * proxy, and ask for the state callback that will remove it. */
static __always_inline int __sl_handoff_publish(struct bpf_sock_ops *skops)
{
	struct sl_handoff_key key = {};
	struct sl_handoff val = {};
	struct bpf_sock *sk = skops->sk;
	struct sl_sock *st;

	if (!sk)
		goto no_state;
	st = bpf_sk_storage_get(&sl_sock_v1, sk, 0, 0);
	if (!st || !(st->flags & SL_SOCK_F_L7))
		goto no_state;
	sl_handoff_key(skops, &key);
	val.orig = st->vip;
	val.orig_port = st->vport;
	val.family = st->family;
	val.proto = SL_PROTO_TCP;
	val.svc_id = st->svc_id;
	val.client_class = st->client_class;
	val.cgroup_id = st->cgroup_id;
	if (bpf_map_update_elem(&sl_handoff_v1, &key, &val, BPF_ANY))
		goto fail;
	/* Without the state callback nothing would ever delete the entry: do not publish it. */
	if (bpf_sock_ops_cb_flags_set(skops, (int)(skops->bpf_sock_ops_cb_flags |
						     BPF_SOCK_OPS_STATE_CB_FLAG))) {
		bpf_map_delete_elem(&sl_handoff_v1, &key);
		goto fail;
	}
	sl_count(SL_REASON_HANDOFF);
	return 0;
fail:
	sl_count(SL_REASON_HANDOFF_FAIL);
	return -ENOMEM;
no_state:
	sl_count(SL_REASON_NO_SOCK_STATE);
	return -ENXIO;
}

/* sockops STATE_CB, only for sockets __sl_handoff_publish asked it for. args[1] is the new state. */
static __always_inline int __sl_handoff_state(struct bpf_sock_ops *skops)
{
	struct sl_handoff_key key = {};

	if (skops->args[1] != BPF_TCP_CLOSE)
		return 0;
	sl_handoff_key(skops, &key);
	bpf_map_delete_elem(&sl_handoff_v1, &key);
	return 0;
}

#endif /* SLUICE_BPF_REDIRECT_H */
