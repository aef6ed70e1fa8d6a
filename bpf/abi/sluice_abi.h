/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The one header shared by the BPF programs and userspace (agent/dataplane, the proxy's hand-off
 * lookup, sluicectl maps). Plain C11 on <linux/types.h> only. Rules: fixed-width types, natural
 * alignment with explicit padding, a size assert after every struct, keys zero-initialised before use
 * (hash maps compare padding too). Map names are ABI: <= 15 characters and versioned; any layout
 * change bumps the suffix. Reason codes are append-only.
 *
 * A connection's journey through the maps (connect4/6):
 *   sl_client_v1[cgroup id]            → is the caller enrolled? its client class and pod IP
 *   sl_svc_v1[{vip, port, proto}]      → service id, flags, generation
 *   sl_route_v1[{svc, class, gen}]     → alias table over up to SL_MAX_DESTS weighted groups
 *                                        (class 0 = default, used when the class has no entry)
 *   sl_group_v1[group id]              → LB policy, slot range of its backends (double-buffered)
 *   sl_slot_v1[{group, index}]         → backend id
 *   sl_backend_v1[backend id]          → pod address and port; sl_conns_v1[backend id] live count
 */
#ifndef SLUICE_ABI_H
#define SLUICE_ABI_H

#include <linux/types.h>

#ifdef __cplusplus
#define SLUICE_ABI_ASSERT(cond) static_assert(cond, #cond)
#else
#define SLUICE_ABI_ASSERT(cond) _Static_assert(cond, #cond)
#endif

/* ---- limits (max_entries of the maps; the agent reports E2BIG/ENOSPC against these) ---- */
#define SL_MAX_FRONTENDS 65536
#define SL_MAX_ROUTES 131072
#define SL_MAX_GROUPS 131072
#define SL_MAX_SLOTS 1048576
#define SL_MAX_BACKENDS 262144
#define SL_MAX_CLIENTS 16384
#define SL_MAX_REVNAT 65536
#define SL_MAX_HANDOFF 65536
#define SL_MAX_DESTS 16 /* weighted destinations per route action */

/* Slot indexes of a group: backends live at [base, base+count), its hash table (Maglev/ring) at
 * [hash_base, hash_base+hash_size). A writer fills the other half (base ^ SL_SLOT_HALF) and commits by
 * rewriting the group entry, so a connect() sees either the old or the new backend set, never a mix. */
#define SL_SLOT_HALF 0x80000000u

enum sl_family {
	SL_FAMILY_V4 = 4,
	SL_FAMILY_V6 = 6,
};

enum sl_proto {
	SL_PROTO_TCP = 6,
	SL_PROTO_UDP = 17,
};

/* sl_svc.flags */
#define SL_SVC_F_L7 0x1          /* hand the connection to the node proxy */
#define SL_SVC_F_HAS_CLASSES 0x2 /* some client classes have their own route: look them up first */

enum sl_lb {
	SL_LB_LEAST_REQUEST = 0, /* power of two choices over sl_conns_v1 */
	SL_LB_ROUND_ROBIN = 1,
	SL_LB_RANDOM = 2,
	SL_LB_PASSTHROUGH = 3, /* leave the destination as the caller wrote it */
	SL_LB_MAGLEV = 4,      /* hash of the client's pod IP into the group's hash table */
	SL_LB_RING_HASH = 5,   /* same lookup; the table was built from a ring */
};

enum sl_backend_state {
	SL_BACKEND_ACTIVE = 0,
	SL_BACKEND_TERMINATING = 1,
};

/* sl_client.flags */
#define SL_CLIENT_F_ENROLLED 0x1 /* translate this workload's connections */

/* Every reason a program returns without translating, or fails a call. Index into sl_stats_v1.
 * Append only; never renumber (retired values stay as SL_REASON_UNUSED_<n>). */
enum sl_reason {
	SL_REASON_TRANSLATED = 0,     /* VIP rewritten to a backend */
	SL_REASON_NOT_ENROLLED = 1,   /* caller's cgroup is not a managed workload */
	SL_REASON_NOT_SERVICE = 2,    /* destination is not a known frontend: pass through */
	SL_REASON_NO_ROUTE = 3,       /* frontend without a route entry (config being written) */
	SL_REASON_NO_BACKEND = 4,     /* known service, nothing usable: ECONNREFUSED */
	SL_REASON_BACKEND_FULL = 5,   /* maxConnections reached on the chosen backends: ECONNREFUSED */
	SL_REASON_MAP_MISS = 6,       /* an id points at a missing entry (torn write would show here) */
	SL_REASON_REVNAT_FAIL = 7,    /* could not record the VIP for getpeername/recvmsg */
	SL_REASON_TO_PROXY = 8,       /* L7 service handed to the node proxy */
	SL_REASON_PROXY_UNSET = 9,    /* L7 service but no proxy address configured: pass through */
	SL_REASON_HANDOFF_FAIL = 10,  /* could not record the original destination for the proxy */
	SL_REASON_REVERSED = 11,      /* getpeername/recvmsg answered with the VIP */
	SL_REASON_PASSTHROUGH = 12,   /* PASSTHROUGH policy: destination kept */
	SL_REASON_UNCOUNTED = 13,     /* translated, but the backend has no sl_conns_v1 entry: its
	                               * connection is invisible to maxConnections and LEAST_REQUEST */
	SL_REASON_RELEASED = 14,      /* a counted socket closed; its sl_conns_v1 reference returned */
	SL_REASON_NO_SOCK_STATE = 15, /* getpeername/recvmsg/release/sockops on a socket Sluice did not
	                               * translate: nothing to do */
	SL_REASON_HANDOFF = 16,       /* sockops published sl_handoff_v1 for an established L7 socket */
	SL_REASON_MAX,
};

struct sl_addr {
	__u8 bytes[16]; /* network order; v4 uses the first 4 bytes, the rest zero */
};
SLUICE_ABI_ASSERT(sizeof(struct sl_addr) == 16);

/* sl_svc_v1: HASH, key sl_svc_key → sl_svc */
struct sl_svc_key {
	struct sl_addr vip;
	__be16 port;
	__u8 proto;  /* enum sl_proto */
	__u8 family; /* enum sl_family */
};
SLUICE_ABI_ASSERT(sizeof(struct sl_svc_key) == 20);

struct sl_svc {
	__u32 svc_id;
	__u16 flags;      /* SL_SVC_F_* */
	__u8 generation;  /* selects the route entries; flipped to commit a whole service at once */
	__u8 pad;
};
SLUICE_ABI_ASSERT(sizeof(struct sl_svc) == 8);

/* sl_route_v1: HASH, key sl_route_key → sl_route. Walker's alias table: pick i = rand % count; take
 * group[i] if (rand2 % SL_WEIGHT_SCALE) < prob[i], else alias_group[i]. Exact relative weights in O(1). */
#define SL_WEIGHT_SCALE 65536u
struct sl_route_key {
	__u32 svc_id;
	__u32 client_class; /* 0 = the default route */
	__u8 generation;
	__u8 pad[3];
};
SLUICE_ABI_ASSERT(sizeof(struct sl_route_key) == 12);

struct sl_route {
	__u32 count; /* 0 = known service with nowhere to go: ECONNREFUSED */
	__u32 pad;
	__u32 prob[SL_MAX_DESTS];
	__u32 group[SL_MAX_DESTS];
	__u32 alias_group[SL_MAX_DESTS];
};
SLUICE_ABI_ASSERT(sizeof(struct sl_route) == 8 + 3 * 4 * SL_MAX_DESTS);

/* sl_group_v1: HASH, __u32 group id → sl_group */
struct sl_group {
	__u32 base;      /* first slot index of the backend list */
	__u32 count;     /* selectable backends */
	__u32 hash_base; /* first slot index of the hash table */
	__u32 hash_size; /* 0 unless lb is MAGLEV/RING_HASH */
	__u32 max_conns; /* per backend; 0 = unlimited */
	__u32 rr;        /* round-robin cursor, advanced by the kernel */
	__u8 lb;         /* enum sl_lb */
	__u8 pad[7];
};
SLUICE_ABI_ASSERT(sizeof(struct sl_group) == 32);

/* sl_slot_v1: HASH, sl_slot_key → __u32 backend id */
struct sl_slot_key {
	__u32 group_id;
	__u32 index;
};
SLUICE_ABI_ASSERT(sizeof(struct sl_slot_key) == 8);

/* sl_backend_v1: HASH, __u32 backend id → sl_backend */
struct sl_backend {
	struct sl_addr addr;
	__be16 port;
	__u8 family; /* enum sl_family */
	__u8 state;  /* enum sl_backend_state */
	__u32 pad;
};
SLUICE_ABI_ASSERT(sizeof(struct sl_backend) == 24);

/* sl_conns_v1: HASH, __u32 backend id → sl_conns; the kernel adds at connect, subtracts at release.
 * The agent creates the entry with the backend and never overwrites a live one. */
struct sl_conns {
	__s64 active;
};
SLUICE_ABI_ASSERT(sizeof(struct sl_conns) == 8);

/* sl_client_v1: HASH, __u64 cgroup id → sl_client (enrolled workloads) */
struct sl_client {
	__u32 client_class; /* 0 = no class */
	__u32 flags;        /* SL_CLIENT_F_* */
	struct sl_addr pod_ip; /* the hash input for consistentHash.useSourceIp */
	__u8 family;
	__u8 pad[7];
};
SLUICE_ABI_ASSERT(sizeof(struct sl_client) == 32);

/* sl_sock_v1: SK_STORAGE → sl_sock. What connect decided, for getpeername, release and hand-off. */
struct sl_sock {
	struct sl_addr vip;
	__be16 vport;
	__u8 family;
	__u8 flags; /* SL_SOCK_F_* */
	__u32 backend_id;
	__u32 svc_id;
	__u32 client_class;
	__u64 cgroup_id;
};
SLUICE_ABI_ASSERT(sizeof(struct sl_sock) == 40);
#define SL_SOCK_F_COUNTED 0x1 /* holds one sl_conns_v1 reference on backend_id */
#define SL_SOCK_F_L7 0x2      /* connected to the proxy; publish sl_handoff_v1 when established */

/* sl_revnat_v1: LRU_HASH, sl_revnat_key → sl_revnat. Unconnected UDP replies: backend → VIP. */
struct sl_revnat_key {
	__u64 cookie; /* socket cookie */
	struct sl_addr addr;
	__be16 port;
	__u8 family;
	__u8 pad[5];
};
SLUICE_ABI_ASSERT(sizeof(struct sl_revnat_key) == 32);

struct sl_revnat {
	struct sl_addr vip;
	__be16 vport;
	__u8 pad[6];
};
SLUICE_ABI_ASSERT(sizeof(struct sl_revnat) == 24);

/* sl_handoff_v1: HASH, sl_handoff_key → sl_handoff. Written by sockops when a socket that connect
 * sent to the proxy is established, keyed by the client's address as the proxy's accepted socket sees
 * it (its peer); deleted when that socket closes. TCP 4-tuple uniqueness towards one proxy listener
 * makes the key collision-free, and nothing is evicted. */
struct sl_handoff_key {
	struct sl_addr client;
	__be16 client_port;
	__u8 family;
	__u8 pad;
};
SLUICE_ABI_ASSERT(sizeof(struct sl_handoff_key) == 20);

struct sl_handoff {
	struct sl_addr orig;  /* the VIP the application connected to */
	__be16 orig_port;
	__u8 family;
	__u8 proto;
	__u32 svc_id;
	__u32 client_class;
	__u32 pad;
	__u64 cgroup_id;      /* the client workload */
};
SLUICE_ABI_ASSERT(sizeof(struct sl_handoff) == 40);

/* sl_cfg_v1: ARRAY[1] of sl_cfg, runtime settings the agent writes without reloading programs. */
struct sl_cfg {
	struct sl_addr proxy4; /* the proxy listener for L7 services (v4 and v6) */
	struct sl_addr proxy6;
	__be16 proxy_port;
	__u8 pad[6];
};
SLUICE_ABI_ASSERT(sizeof(struct sl_cfg) == 40);

/* sl_stats_v1: PERCPU_ARRAY[SL_REASON_MAX] of __u64 counters, indexed by enum sl_reason. */

/* The hash MAGLEV/RING_HASH groups apply to sl_client.pod_ip: the slot is
 * hash_base + sl_hash_addr(&pod_ip) % hash_size. Here (not in bpf/lib) so userspace can predict where a
 * client lands (sluicectl explain, tests). FNV-1a over all 16 bytes. */
static inline __u32 sl_hash_addr(const struct sl_addr *a)
{
	__u32 h = 2166136261u;

	for (int i = 0; i < 16; i++) {
		h ^= a->bytes[i];
		h *= 16777619u;
	}
	return h;
}

#endif /* SLUICE_ABI_H */
