/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Service lookup and backend choice: sl_svc_v1 → sl_route_v1 (alias table) → sl_group_v1 (policy) →
 * sl_slot_v1 → sl_backend_v1, with sl_conns_v1 counting what connect() handed out. Workers return 0 or
 * -errno and count their own bail-out reason:
 *   -ENXIO         leave the caller's destination alone (not ours, or config we cannot follow)
 *   -ECONNREFUSED  a known service with nowhere to go: fail the call fast
 */
#ifndef SLUICE_BPF_LB_H
#define SLUICE_BPF_LB_H

#include "lib/compiler.h"
#include "lib/maps.h"
#include "lib/metrics.h"
#include "lib/sock_ctx.h"

/* Backends tried, in slot order from the first choice, when max_conns turns the first ones away.
 * Bounded so the verifier sees a constant loop; a group whose first SL_PROBES candidates are all full
 * refuses the connection even if a later slot has room (documented in docs/datapath.md). */
#define SL_PROBES 8

/* Randomness for one decision: bpf_get_prandom_u32 per draw for connect(); for unconnected UDP a
 * stream seeded by the socket cookie, so every datagram of a socket makes the same choices and the
 * socket sticks to one backend (Cilium's sock_select_slot). splitmix64. */
struct sl_rng {
	__u64 state;
	bool sticky;
};

static __always_inline __u32 sl_rand(struct sl_rng *rng)
{
	__u64 z;

	if (!rng->sticky)
		return bpf_get_prandom_u32();
	rng->state += 0x9e3779b97f4a7c15ULL;
	z = rng->state;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return (__u32)((z ^ (z >> 31)) >> 32);
}

/* The backend connect() settles on. */
struct sl_pick {
	__u32 backend_id;
	bool counted; /* holds one sl_conns_v1 reference */
	struct sl_addr addr;
	__be16 port;
};

static __always_inline int __sl_svc_lookup(const struct sl_svc_key *key, struct sl_svc **svc)
{
	*svc = bpf_map_lookup_elem(&sl_svc_v1, key);
	if (!*svc) {
		sl_count(SL_REASON_NOT_SERVICE);
		return -ENXIO;
	}
	return 0;
}

/* The client's class has its own route only when the service says some class does; otherwise, or
 * when this class has none, the default route (class 0). */
static __always_inline int __sl_route_lookup(const struct sl_svc *svc, __u32 client_class,
					     struct sl_route **route)
{
	struct sl_route_key key = {};

	key.svc_id = svc->svc_id;
	key.generation = svc->generation;
	*route = NULL;
	if (client_class && (svc->flags & SL_SVC_F_HAS_CLASSES)) {
		key.client_class = client_class;
		*route = bpf_map_lookup_elem(&sl_route_v1, &key);
	}
	if (!*route) {
		key.client_class = 0;
		*route = bpf_map_lookup_elem(&sl_route_v1, &key);
	}
	if (!*route) {
		sl_count(SL_REASON_NO_ROUTE);
		return -ENXIO;
	}
	return 0;
}

/* Walker's alias table: one uniform column, one biased coin. */
static __always_inline int __sl_route_pick(const struct sl_route *route, struct sl_rng *rng,
					   __u32 *group_id)
{
	__u32 n = route->count, i, coin;

	if (n == 0) {
		sl_count(SL_REASON_NO_BACKEND);
		return -ECONNREFUSED;
	}
	if (n > SL_MAX_DESTS) {
		sl_count(SL_REASON_MAP_MISS);
		return -ENXIO;
	}
	i = sl_rand(rng) % n;
	/* i < n <= SL_MAX_DESTS already, but clang drops a mask it can prove redundant and the
	 * verifier cannot prove it: hide i from the optimiser, then bound it. */
	barrier_var(i);
	i &= SL_MAX_DESTS - 1;
	coin = sl_rand(rng) % SL_WEIGHT_SCALE;
	*group_id = coin < route->prob[i] ? route->group[i] : route->alias_group[i];
	return 0;
}

static __always_inline __s64 sl_active_conns(__u32 group_id, __u32 index)
{
	struct sl_slot_key key = { .group_id = group_id, .index = index };
	struct sl_conns *conns;
	__u32 *backend_id;

	backend_id = bpf_map_lookup_elem(&sl_slot_v1, &key);
	if (!backend_id)
		return 0;
	conns = bpf_map_lookup_elem(&sl_conns_v1, backend_id);
	return conns ? conns->active : 0;
}

/* Power of two choices: two distinct random slots, the one with fewer live connections (ties keep
 * the first, which is itself random). Returns an index into [0, count). */
static __always_inline __u32 sl_p2c(__u32 group_id, const struct sl_group *grp, struct sl_rng *rng)
{
	__u32 n = grp->count, a, b;

	a = sl_rand(rng) % n;
	if (n == 1)
		return a;
	b = a + 1 + sl_rand(rng) % (n - 1);
	if (b >= n)
		b -= n;
	return sl_active_conns(group_id, grp->base + b) < sl_active_conns(group_id, grp->base + a) ?
		       b : a;
}

/* Take one connection slot on a backend: add first, then check, so two CPUs racing for the last
 * slot cannot both win. 0 = claimed (or not counted), -EBUSY = at max_conns. */
static __always_inline int __sl_claim(__u32 backend_id, __u32 max_conns, bool count, bool *counted)
{
	struct sl_conns *conns;
	__s64 before;

	*counted = false;
	if (!count)
		return 0;
	conns = bpf_map_lookup_elem(&sl_conns_v1, &backend_id);
	if (!conns)
		return 0;
	before = __sync_fetch_and_add(&conns->active, 1);
	if (max_conns && before >= (__s64)max_conns) {
		__sync_fetch_and_add(&conns->active, -1);
		return -EBUSY;
	}
	*counted = true;
	return 0;
}

static __always_inline void sl_unclaim(__u32 backend_id)
{
	struct sl_conns *conns = bpf_map_lookup_elem(&sl_conns_v1, &backend_id);

	if (conns)
		__sync_fetch_and_add(&conns->active, -1);
}

/* Walk up to SL_PROBES slots of [base, base+size) from index first; take the first backend with
 * room. A missing slot or backend, or a backend of the other family, means a torn or wrong write. */
static __always_inline int __sl_probe(__u32 group_id, __u32 base, __u32 size, __u32 first,
				      __u32 max_conns, __u8 family, bool count, struct sl_pick *pick)
{
	struct sl_slot_key key = { .group_id = group_id };
	struct sl_backend *be;
	__u32 k, idx, *backend_id;

	for (k = 0; k < SL_PROBES && k < size; k++) {
		idx = first + k;
		if (idx >= size)
			idx -= size;
		key.index = base + idx;
		backend_id = bpf_map_lookup_elem(&sl_slot_v1, &key);
		if (!backend_id)
			goto map_miss;
		be = bpf_map_lookup_elem(&sl_backend_v1, backend_id);
		if (!be || be->family != family)
			goto map_miss;
		if (__sl_claim(*backend_id, max_conns, count, &pick->counted))
			continue;
		pick->backend_id = *backend_id;
		pick->addr = be->addr;
		pick->port = be->port;
		return 0;
	}
	sl_count(SL_REASON_BACKEND_FULL);
	return -ECONNREFUSED;
map_miss:
	sl_count(SL_REASON_MAP_MISS);
	return -ENXIO;
}

/* The group's policy picks the first candidate; __sl_probe enforces max_conns from there. */
static __always_inline int __sl_group_pick(__u32 group_id, const struct sl_client *client,
					   __u8 family, struct sl_rng *rng, bool count,
					   struct sl_pick *pick)
{
	struct sl_group *grp = bpf_map_lookup_elem(&sl_group_v1, &group_id);
	__u32 n, base, size, first;

	if (!grp) {
		sl_count(SL_REASON_MAP_MISS);
		return -ENXIO;
	}
	if (grp->lb == SL_LB_PASSTHROUGH) {
		sl_count(SL_REASON_PASSTHROUGH);
		return -ENXIO;
	}
	n = grp->count;
	if (n == 0) {
		sl_count(SL_REASON_NO_BACKEND);
		return -ECONNREFUSED;
	}
	base = grp->base;
	size = n;
	switch (grp->lb) {
	case SL_LB_MAGLEV:
	case SL_LB_RING_HASH:
		if (grp->hash_size == 0) {
			sl_count(SL_REASON_MAP_MISS);
			return -ENXIO;
		}
		base = grp->hash_base;
		size = grp->hash_size;
		first = sl_hash_addr(&client->pod_ip) % size;
		break;
	case SL_LB_ROUND_ROBIN:
		/* A sticky (sendmsg) decision must not move the shared cursor per datagram. */
		first = rng->sticky ? sl_rand(rng) % n : __sync_fetch_and_add(&grp->rr, 1) % n;
		break;
	case SL_LB_LEAST_REQUEST:
		first = rng->sticky ? sl_rand(rng) % n : sl_p2c(group_id, grp, rng);
		break;
	default: /* SL_LB_RANDOM, and any policy newer than this program: random is never wrong */
		first = sl_rand(rng) % n;
		break;
	}
	return __sl_probe(group_id, base, size, first, grp->max_conns, family, count, pick);
}

/* svc → route (by client class) → group → backend. count: connect() takes an sl_conns_v1
 * reference (and so is subject to max_conns); unconnected UDP does not. */
static __always_inline int __sl_select(const struct sl_svc *svc, const struct sl_client *client,
				       __u8 family, struct sl_rng *rng, bool count,
				       struct sl_pick *pick)
{
	struct sl_route *route;
	__u32 group_id;
	int err;

	err = __sl_route_lookup(svc, client->client_class, &route);
	if (err)
		return err;
	err = __sl_route_pick(route, rng, &group_id);
	if (err)
		return err;
	return __sl_group_pick(group_id, client, family, rng, count, pick);
}

#endif /* SLUICE_BPF_LB_H */
