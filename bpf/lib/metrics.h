/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Per-CPU counters indexed by enum sl_reason; userspace sums the CPUs. */
#ifndef SLUICE_BPF_METRICS_H
#define SLUICE_BPF_METRICS_H

#include "lib/compiler.h"
#include "lib/maps.h"

static __always_inline void sl_count(enum sl_reason reason)
{
	__u32 key = reason;
	__u64 *n = bpf_map_lookup_elem(&sl_stats_v1, &key);

	/* Per-CPU slot and cgroup hooks run with migration disabled: a plain add is exact. */
	if (n)
		*n += 1;
}

#endif /* SLUICE_BPF_METRICS_H */
