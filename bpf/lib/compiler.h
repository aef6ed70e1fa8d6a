/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Compiler helpers for the BPF programs, and nothing else. */
#ifndef SLUICE_BPF_COMPILER_H
#define SLUICE_BPF_COMPILER_H

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

/* Keeps the compiler from merging or reordering a value the verifier must see bounded
 * (bpf_helpers.h has the same definition; whichever comes first wins). */
#ifndef barrier_var
#define barrier_var(var) asm volatile("" : "+r"(var))
#endif

/* One 4-byte context load that clang may not merge with its neighbour: the verifier accepts only
 * the field's own width on context fields such as user_ip6[] and local_ip6[]. */
#define READ_ONCE_U32(x) (*(const volatile __u32 *)&(x))

#endif /* SLUICE_BPF_COMPILER_H */
