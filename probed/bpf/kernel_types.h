/* SPDX-License-Identifier: MIT */
/*
 * The few kernel types the BPF program needs, checked in instead of a vmlinux.h dumped
 * from the build machine's /sys/kernel/btf/vmlinux: the build then needs no BTF-enabled
 * running kernel, and the program does not change with the kernel it was built on.
 *
 *  - the BPF UAPI (map types, helper ids, flags): <linux/bpf.h> of the kernel headers;
 *  - bool and the <stdint.h> names, as vmlinux.h has them;
 *  - struct pt_regs as the kernel lays it out on x86-64 (arch/x86/include/asm/ptrace.h),
 *    with the kernel's field names, which <bpf/bpf_tracing.h> uses when __VMLINUX_H__
 *    is defined.  The uprobe program's context is this structure; libbpf's USDT spec
 *    records argument registers as offsets into it (offsetof in the user-space
 *    <asm/ptrace.h> struct, the same layout); pt_regs is not relocated;
 *  - the one kernel-internal field the program reads, a thread's %fs base (for __thread
 *    arguments), declared with preserve_access_index: libbpf relocates its offset against
 *    the running kernel's BTF at load (CO-RE), so no layout is assumed here.
 */
#ifndef SLED_BPF_KERNEL_TYPES_H
#define SLED_BPF_KERNEL_TYPES_H

#ifndef __x86_64__
#ifndef __TARGET_ARCH_x86
#error "sled's uprobe mode is x86-64 only"
#endif
#endif

#define __VMLINUX_H__ 1 /* <bpf/bpf_tracing.h>: the kernel's pt_regs field names */

#include <linux/types.h>
#include <linux/bpf.h>
#include <stdbool.h> /* the compiler's own header: no libc for -target bpf */

/* The fixed-width names the kernel's types.h gives, which shared headers use
 * (include/sled/abi/filter_prog.h); the C library's <stdint.h> is not for -target bpf. */
typedef __u8 uint8_t;
typedef __u16 uint16_t;
typedef __u32 uint32_t;
typedef __u64 uint64_t;
typedef __s8 int8_t;
typedef __s16 int16_t;
typedef __s32 int32_t;
typedef __s64 int64_t;

struct pt_regs {
	unsigned long r15;
	unsigned long r14;
	unsigned long r13;
	unsigned long r12;
	unsigned long bp;
	unsigned long bx;
	unsigned long r11;
	unsigned long r10;
	unsigned long r9;
	unsigned long r8;
	unsigned long ax;
	unsigned long cx;
	unsigned long dx;
	unsigned long si;
	unsigned long di;
	unsigned long orig_ax;
	unsigned long ip;
	unsigned long cs;
	unsigned long flags;
	unsigned long sp;
	unsigned long ss;
};

_Static_assert(sizeof(struct pt_regs) == 21 * 8, "x86-64 struct pt_regs");

struct thread_struct {
	unsigned long fsbase;
} __attribute__((preserve_access_index));

struct task_struct {
	struct thread_struct thread;
} __attribute__((preserve_access_index));

#endif /* SLED_BPF_KERNEL_TYPES_H */
