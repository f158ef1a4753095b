/* SPDX-License-Identifier: MIT */
/*
 * The fast path: one plain probe on a site whose arguments are whole registers, outermost,
 * the record fitting in the ring without wrapping.  That is most events, and here they
 * cost a fraction of the general path (trampoline.S, dispatch.c): the stub has pushed the
 * argument values, so no register file is saved; nine scratch registers are kept below
 * %rsp (the kernel skips 128 bytes there when it delivers a signal), the timestamp is
 * read first so that its ~30 cycles overlap the rest.  Anything else returns at once,
 * with nothing changed, and the stub takes the general path.  Stack on entry:
 *
 *     0(%rsp)          return address into the stub
 *     8(%rsp)          u16 slot, u16 record size (16 + 8 * nargs), pushed by the stub
 *     16(%rsp)         the arguments' values, argument 0 first
 *     16 + 8n(%rsp)    128 bytes of the application's red zone, untouched
 *     144 + 8n(%rsp)   the application's %rsp at the site
 *
 * Returns ZF=0 when the event is done, ZF=1 for the general path.
 *
 * It follows dispatch.c's protocol exactly: depth and in_slot are set before the lanes
 * word is read and cleared after the head is published, so a signal handler's event
 * nested anywhere in here takes the general path as a nested event and is published by
 * us (or publishes itself once depth is 0 again); the reservation is one compare-and-
 * exchange without a lock prefix (a signal arrives between instructions), so one that
 * a nested event moved meanwhile is left to the general path.
 */
#include "fast_path.h"

/* DWARF register rule "saved at %rsp + off" (off a one-byte SLEB128, -64..-8): valid
 * from the save on; after the restore the slot still holds the register's value. */
#define SAVED(dwreg, sleb) .cfi_escape 0x10, dwreg, 0x02, 0x77, sleb

	.text
	.globl	sled_fast_trampoline
	.hidden	sled_fast_trampoline
	.type	sled_fast_trampoline, @function
	.p2align 4
sled_fast_trampoline:
	/*
	 * Unwind info, as if the site's function had called us: the CFA is the site's %rsp,
	 * %rsp + 128 + the record size (the u16 at 10(%rsp)); the return address is the
	 * site's continuation, the target of the stub's `jmp site + 6`:
	 * ret + FP_RET_TO_REL32 + 4 + its sign-extended rel32.
	 */
	.cfi_startproc simple
	/* DW_CFA_def_cfa_expression: breg7(rsp) 10; deref_size 2; breg7 128; plus */
	.cfi_escape 0x0f, 0x08, 0x77, 0x0a, 0x94, 0x02, 0x77, 0x80, 0x01, 0x22
	/* DW_CFA_val_expression rip: breg7 0; deref; dup; plus_uconst 16; deref_size 4;
	 * const4u 1<<31; xor; const4u 1<<31; minus (sign extension); plus; plus_uconst 20 */
	.cfi_escape 0x16, 0x10, 0x17, 0x77, 0x00, 0x06, 0x12, 0x23, FP_RET_TO_REL32, 0x94, 0x04, \
		0x0c, 0x00, 0x00, 0x00, 0x80, 0x27, 0x0c, 0x00, 0x00, 0x00, 0x80, 0x1c, 0x22, \
		0x23, FP_RET_TO_REL32 + 4
	movq	%rcx, -8(%rsp)
	SAVED(2, 0x78)
	movq	%rsi, -16(%rsp)
	SAVED(4, 0x70)
	/* The site's lanes, first as a hint: a probe with functions, strings or
	 * aggregations (no FAST bit) goes to the general path for two loads. */
	movzwl	8(%rsp), %esi			/* slot */
	movq	sled_rt+FP_RT_SITES(%rip), %rcx
	testq	%rcx, %rcx
	jz	.Lgeneral_early			/* the runtime is off */
	imulq	$FP_SITE_SIZE, %rsi, %rsi
	addq	%rsi, %rcx			/* rcx: the site */
	testl	$FP_LANES_FAST, FP_SITE_LANES(%rcx)
	jz	.Lgeneral_early
	movq	%rax, -24(%rsp)
	SAVED(0, 0x68)
	movq	%rdx, -32(%rsp)
	SAVED(1, 0x60)
	rdtsc
	movq	%rdi, -40(%rsp)
	SAVED(5, 0x58)
	movq	%r8, -48(%rsp)
	SAVED(8, 0x50)
	movq	%r9, -56(%rsp)
	SAVED(9, 0x48)
	movq	%r10, -64(%rsp)
	SAVED(10, 0x40)
	movq	%r11, -72(%rsp)
	.cfi_escape 0x10, 11, 0x03, 0x77, 0xb8, 0x7f	/* r11 at %rsp - 72 */
	shlq	$32, %rdx
	orq	%rax, %rdx			/* rdx: the timestamp */
	movzwl	8(%rsp), %esi			/* rsi: slot */
	movq	sled_tls_prod@gottpoff(%rip), %r10	/* r10: this thread's producer state */
	movq	%fs:FP_TLS_RING(%r10), %rdi	/* rdi: the ring */
	testq	%rdi, %rdi
	jz	.Lgeneral			/* first event of the thread: claim a ring */
	cmpl	$0, %fs:FP_TLS_DEPTH(%r10)
	jne	.Lgeneral			/* inside another event: nested */
	movl	$1, %fs:FP_TLS_DEPTH(%r10)
	leal	1(%rsi), %eax
	movl	%eax, FP_RING_IN_SLOT(%rdi)
	/* The lanes again, now that in_slot says we are in this slot (dispatch.c). */
	movl	FP_SITE_LANES(%rcx), %r9d	/* r9: lanes */
	testl	$FP_LANES_FAST, %r9d
	jz	.Lundo
	movzwl	10(%rsp), %ecx			/* rcx: record size */
	movq	%fs:FP_TLS_RESV(%r10), %rax	/* rax: head (private) */
	movq	sled_ring_mask(%rip), %r8
	andq	%rax, %r8			/* r8: position in the data */
	leaq	(%r8,%rcx), %r11
	cmpq	sled_rt+FP_RT_RING_DATA(%rip), %r11
	ja	.Lundo				/* would wrap: the general path pads */
	leaq	(%rax,%rcx), %r11
	subq	FP_RING_TAIL_CACHE(%rdi), %r11
	cmpq	sled_rt+FP_RT_RING_DATA(%rip), %r11
	ja	.Lundo				/* full, as far as we know: it reads the tail */
	leaq	(%rax,%rcx), %r11
	cmpxchgq %r11, %fs:FP_TLS_RESV(%r10)
	jne	.Lundo				/* a nested event reserved meanwhile */
	/* Reserved: count the hit in this lane's counters. */
	movl	%r9d, %eax
	shrl	$FP_LANES_FAST_SHIFT, %eax
	andl	$3, %eax
	leal	(%rax,%rsi,4), %eax
	shlq	$6, %rax
	incq	FP_RING_LANES(%rdi,%rax)
	/* The record: size, slot and lanes in one store, the time, the values. */
	leaq	FP_RING_DATA(%rdi,%r8), %r8
	andl	$FP_LANES_ACTIVE, %r9d
	shlq	$48, %r9
	shlq	$32, %rsi
	orq	%rsi, %r9
	orq	%rcx, %r9
	movq	%r9, (%r8)
	movq	%rdx, 8(%r8)
	subl	$16, %ecx
	jz	2f
	xorl	%esi, %esi
1:	movq	16(%rsp,%rsi), %rdx
	movq	%rdx, 16(%r8,%rsi)
	addl	$8, %esi
	cmpl	%ecx, %esi
	jb	1b
2:	/* Publish everything reserved so far (a nested event's record too). */
	movq	%fs:FP_TLS_RESV(%r10), %rax
	movq	%rax, FP_RING_HEAD(%rdi)
	movl	$0, FP_RING_IN_SLOT(%rdi)
	movl	$0, %fs:FP_TLS_DEPTH(%r10)
	cmpq	%fs:FP_TLS_RESV(%r10), %rax
	jne	.Lrepublish
.Ldone:
	testq	%rsp, %rsp			/* ZF=0: done */
	jmp	.Lrestore
.Lrepublish:
	/* An event nested after the head was stored and before depth was 0: publish up
	 * to it, never moving the head back (it may have published further itself). */
	movq	%fs:FP_TLS_RESV(%r10), %r11
	movq	FP_RING_HEAD(%rdi), %rax
3:	cmpq	%r11, %rax
	jae	.Ldone
	cmpxchgq %r11, FP_RING_HEAD(%rdi)
	jne	3b
	jmp	.Ldone
.Lundo:
	movl	$0, FP_RING_IN_SLOT(%rdi)
	movl	$0, %fs:FP_TLS_DEPTH(%r10)
.Lgeneral:
	xorl	%eax, %eax			/* ZF=1: the general path */
.Lrestore:
	movq	-24(%rsp), %rax
	movq	-32(%rsp), %rdx
	movq	-40(%rsp), %rdi
	movq	-48(%rsp), %r8
	movq	-56(%rsp), %r9
	movq	-64(%rsp), %r10
	movq	-72(%rsp), %r11
.Lgeneral_early:				/* ZF=1 from the test that came here */
	movq	-8(%rsp), %rcx
	movq	-16(%rsp), %rsi
	ret
	.cfi_endproc
	.size	sled_fast_trampoline, .-sled_fast_trampoline

	.section .note.GNU-stack,"",@progbits
