/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Every map of sock.bpf.c, in one place. Names, key and value types are ABI (bpf/abi/sluice_abi.h).
 * Pinning is left to the loader (bpf_map__set_pin_path before load reuses a pinned map), so the bpffs
 * directory is the agent's choice and tests need no bpffs. Sparse hashes are BPF_F_NO_PREALLOC: the
 * limits are ceilings, and preallocating SL_MAX_SLOTS entries would cost tens of MB per load.
 * max_entries may be changed with bpf_map__set_max_entries before load.
 */
#ifndef SLUICE_BPF_MAPS_H
#define SLUICE_BPF_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "abi/sluice_abi.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, SL_MAX_CLIENTS);
	__type(key, __u64); /* cgroup id */
	__type(value, struct sl_client);
} sl_client_v1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, SL_MAX_FRONTENDS);
	__type(key, struct sl_svc_key);
	__type(value, struct sl_svc);
} sl_svc_v1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, SL_MAX_ROUTES);
	__type(key, struct sl_route_key);
	__type(value, struct sl_route);
} sl_route_v1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, SL_MAX_GROUPS);
	__type(key, __u32); /* group id */
	__type(value, struct sl_group);
} sl_group_v1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, SL_MAX_SLOTS);
	__type(key, struct sl_slot_key);
	__type(value, __u32); /* backend id */
} sl_slot_v1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, SL_MAX_BACKENDS);
	__type(key, __u32); /* backend id */
	__type(value, struct sl_backend);
} sl_backend_v1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, SL_MAX_BACKENDS);
	__type(key, __u32); /* backend id */
	__type(value, struct sl_conns);
} sl_conns_v1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct sl_sock);
} sl_sock_v1 SEC(".maps");

/* LRU: unconnected UDP sockets come and go without a hook that could clean up after them. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SL_MAX_REVNAT);
	__type(key, struct sl_revnat_key);
	__type(value, struct sl_revnat);
} sl_revnat_v1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, SL_MAX_HANDOFF);
	__type(key, struct sl_handoff_key);
	__type(value, struct sl_handoff);
} sl_handoff_v1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sl_cfg);
} sl_cfg_v1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SL_REASON_MAX);
	__type(key, __u32);
	__type(value, __u64);
} sl_stats_v1 SEC(".maps");

#endif /* SLUICE_BPF_MAPS_H */
