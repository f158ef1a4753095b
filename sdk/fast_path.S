/* SPDX-License-Identifier: MIT */
/*
 * The fast path: one plain probe on a site whose arguments are whole registers, outermost,
 * the record fitting in the ring without wrapping (or the ring full: the drop is counted
 * here too, as the general path would, until it is time to read the consumer's tail).  That is most events, and here they
 * cost a fraction of the general path (trampoline.S, dispatch.c): the stub has pushed the
 * argument values, so no register file is saved; eight scratch registers are kept below
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
 * One copy per argument count n (sled_fast_trampoline_0 .. _8, FAST_TRAMPOLINE below), so
 * that the record size is an immediate and the values are copied without a loop.
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

#if FP_MAX_ARGS != 8
#error "FAST_TRAMPOLINE copies below are for 0..8 arguments"
#endif

#define CFI_FRAME							\
	/* DW_CFA_def_cfa_expression: breg7(rsp) 10; deref_size 2; breg7 128; plus */	\
	.cfi_escape 0x0f, 0x08, 0x77, 0x0a, 0x94, 0x02, 0x77, 0x80, 0x01, 0x22;	\
	/* DW_CFA_val_expression rip: breg7 0; deref; dup; plus_uconst 16; deref_size 4; \
	 * const4u 1<<31; xor; const4u 1<<31; minus (sign extension); plus;	\
	 * plus_uconst 20 */							\
	.cfi_escape 0x16, 0x10, 0x17, 0x77, 0x00, 0x06, 0x12, 0x23, FP_RET_TO_REL32, 0x94, \
		0x04, 0x0c, 0x00, 0x00, 0x00, 0x80, 0x27, 0x0c, 0x00, 0x00, 0x00, 0x80, 0x1c, \
		0x22, 0x23, FP_RET_TO_REL32 + 4

	.macro FAST_TRAMPOLINE n
	.globl	sled_fast_trampoline_\n
	.hidden	sled_fast_trampoline_\n
	.type	sled_fast_trampoline_\n, @function
	.p2align 4
sled_fast_trampoline_\n:
	/*
	 * Unwind info, as if the site's function had called us: the CFA is the site's %rsp,
	 * %rsp + 128 + the record size (the u16 at 10(%rsp)); the return address is the
	 * site's continuation, the target of the stub's `jmp site + 6`:
	 * ret + FP_RET_TO_REL32 + 4 + its sign-extended rel32.
	 */
	.cfi_startproc simple
	CFI_FRAME
	movq	%rcx, -8(%rsp)
	SAVED(2, 0x78)
	movq	%rsi, -16(%rsp)
	SAVED(4, 0x70)
	/* The site's lanes, first as a hint: a probe with functions, strings or
	 * aggregations (no FAST bit) goes to the general path for two loads. */
	movzwl	8(%rsp), %esi			/* slot */
	movq	sled_rt+FP_RT_SITES(%rip), %rcx
	testq	%rcx, %rcx
	jz	.Learly\n			/* the runtime is off */
	imulq	$FP_SITE_SIZE, %rsi, %rsi
	addq	%rsi, %rcx			/* rcx: the site */
	testl	$FP_LANES_FAST, FP_SITE_LANES(%rcx)
	jz	.Learly\n
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
	shlq	$32, %rdx
	orq	%rax, %rdx			/* rdx: the timestamp */
	movzwl	8(%rsp), %esi			/* rsi: slot */
	movq	sled_tls_prod@gottpoff(%rip), %r10	/* r10: this thread's producer state */
	movq	%fs:FP_TLS_RING(%r10), %rdi	/* rdi: the ring */
	testq	%rdi, %rdi
	jz	.Lgeneral\n			/* first event of the thread: claim a ring */
	cmpl	$0, %fs:FP_TLS_DEPTH(%r10)
	jne	.Lgeneral\n			/* inside another event: nested */
	movl	$1, %fs:FP_TLS_DEPTH(%r10)
	leal	1(%rsi), %eax
	movl	%eax, FP_RING_IN_SLOT(%rdi)
	/* The lanes again, now that in_slot says we are in this slot (dispatch.c). */
	movl	FP_SITE_LANES(%rcx), %r9d	/* r9: lanes */
	testl	$FP_LANES_FAST, %r9d
	jz	.Lundo\n
	movl	%r9d, %r8d
	shrl	$FP_LANES_FAST_SHIFT, %r8d
	andl	$3, %r8d
	leal	(%r8,%rsi,4), %r8d
	shlq	$6, %r8
	leaq	FP_RING_LANES(%rdi,%r8), %r8	/* r8: this lane's counters */
	movq	%fs:FP_TLS_RESV(%r10), %rax	/* rax: head (private) */
	movq	sled_ring_mask(%rip), %rcx
	andq	%rax, %rcx			/* rcx: position in the data */
	leaq	16 + 8 * \n(%rcx), %rsi
	cmpq	sled_rt+FP_RT_RING_DATA(%rip), %rsi
	ja	.Lundo\n			/* would wrap: the general path pads */
	leaq	16 + 8 * \n(%rax), %rsi
	subq	FP_RING_TAIL_CACHE(%rdi), %rsi
	cmpq	sled_rt+FP_RT_RING_DATA(%rip), %rsi
	ja	.Lfull\n
	leaq	16 + 8 * \n(%rax), %rsi
	cmpxchgq %rsi, %fs:FP_TLS_RESV(%r10)
	jne	.Lundo\n			/* a nested event reserved meanwhile */
	incq	FP_LANE_HITS(%r8)
	/* The record: size, slot and lanes in one store, the time, the values. */
	leaq	FP_RING_DATA(%rdi,%rcx), %rcx
	movzwl	8(%rsp), %esi
	andl	$FP_LANES_ACTIVE, %r9d
	shll	$16, %r9d
	orl	%esi, %r9d
	shlq	$32, %r9
	orq	$16 + 8 * \n, %r9
	movq	%r9, (%rcx)
	movq	%rdx, 8(%rcx)
	.set	i, 0
	.rept	\n
	movq	16 + 8 * i(%rsp), %rax
	movq	%rax, 16 + 8 * i(%rcx)
	.set	i, i + 1
	.endr
.Lpublish\n:
	/* Publish everything reserved so far (a nested event's record too). */
	movq	%fs:FP_TLS_RESV(%r10), %rax
	movq	%rax, FP_RING_HEAD(%rdi)
.Lleave\n:
	movl	$0, FP_RING_IN_SLOT(%rdi)
	movl	$0, %fs:FP_TLS_DEPTH(%r10)
	cmpq	%fs:FP_TLS_RESV(%r10), %rax
	jne	.Lrepublish\n
.Ldone\n:
	testq	%rsp, %rsp			/* ZF=0: done */
	jmp	.Lrestore\n
.Lfull\n:
	/* Full as far as the cached tail says: a drop, counted as the general path does,
	 * which reads the consumer's line only once every 64 of them. */
	cmpl	$0, FP_RING_RECHECK(%rdi)
	je	.Lundo\n
	decl	FP_RING_RECHECK(%rdi)
	incq	FP_LANE_HITS(%r8)
	incq	FP_LANE_DROPS(%r8)
	/* Nothing to publish unless a nested event recorded meanwhile: the head's line,
	 * which the daemon reads, is left alone (a store would take it from the daemon). */
	movq	%fs:FP_TLS_RESV(%r10), %rax
	cmpq	FP_RING_HEAD(%rdi), %rax
	je	.Lleave\n
	jmp	.Lpublish\n
.Lrepublish\n:
	/* An event nested after the head was stored and before depth was 0: publish up
	 * to it, never moving the head back (it may have published further itself). */
	movq	%fs:FP_TLS_RESV(%r10), %rsi
	movq	FP_RING_HEAD(%rdi), %rax
1:	cmpq	%rsi, %rax
	jae	.Ldone\n
	cmpxchgq %rsi, FP_RING_HEAD(%rdi)
	jne	1b
	jmp	.Ldone\n
.Lundo\n:
	movl	$0, FP_RING_IN_SLOT(%rdi)
	movl	$0, %fs:FP_TLS_DEPTH(%r10)
.Lgeneral\n:
	xorl	%eax, %eax			/* ZF=1: the general path */
.Lrestore\n:
	movq	-24(%rsp), %rax
	movq	-32(%rsp), %rdx
	movq	-40(%rsp), %rdi
	movq	-48(%rsp), %r8
	movq	-56(%rsp), %r9
	movq	-64(%rsp), %r10
.Learly\n:				/* ZF=1 from the test that came here */
	movq	-8(%rsp), %rcx
	movq	-16(%rsp), %rsi
	ret
	.cfi_endproc
	.size	sled_fast_trampoline_\n, .-sled_fast_trampoline_\n
	.endm

	.text
	FAST_TRAMPOLINE 0
	FAST_TRAMPOLINE 1
	FAST_TRAMPOLINE 2
	FAST_TRAMPOLINE 3
	FAST_TRAMPOLINE 4
	FAST_TRAMPOLINE 5
	FAST_TRAMPOLINE 6
	FAST_TRAMPOLINE 7
	FAST_TRAMPOLINE 8

	/* stubs.c: the entry for n arguments (FP_MAX_ARGS is 8). */
	.section .data.rel.ro, "aw"
	.p2align 3
	.globl	sled_fast_trampolines
	.hidden	sled_fast_trampolines
	.type	sled_fast_trampolines, @object
sled_fast_trampolines:
	.quad	sled_fast_trampoline_0, sled_fast_trampoline_1, sled_fast_trampoline_2
	.quad	sled_fast_trampoline_3, sled_fast_trampoline_4, sled_fast_trampoline_5
	.quad	sled_fast_trampoline_6, sled_fast_trampoline_7, sled_fast_trampoline_8
	.size	sled_fast_trampolines, .-sled_fast_trampolines

	.section .note.GNU-stack,"",@progbits
