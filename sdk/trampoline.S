/* SPDX-License-Identifier: MIT */
/*
 * The common trampoline, entered by `call` from a site's stub (stubs.c).  Stack on entry:
 *
 *     0(%rsp)    return address into the stub
 *     8(%rsp)    slot index pushed by the stub
 *     16(%rsp)   128 bytes of the application's red zone, untouched
 *     144(%rsp)  the application's %rsp at the site
 *
 * It saves every general-purpose register into a struct sled_regs (shm_layout.h order:
 * r15 at the lowest address ... rax, then rsp and rip), calls sled_dispatch(regs, slot)
 * on a 64-byte aligned stack, and restores everything.  The hot path (dispatch.c) is
 * compiled with -mgeneral-regs-only, so SSE/AVX state needs no saving; only the slow path
 * (a thread's first event, ordinary C) runs between XSAVE and XRSTOR.  Flags need no
 * saving: on x86 the compiler treats every asm statement, our sites included, as
 * clobbering them.
 */
	.text
	.globl	sled_trampoline
	.hidden	sled_trampoline
	.type	sled_trampoline, @function
	.p2align 4
sled_trampoline:
	.cfi_startproc
	subq	$16, %rsp		/* rsp and rip slots of struct sled_regs */
	pushq	%rax
	pushq	%rcx
	pushq	%rdx
	pushq	%rbx
	pushq	%rbp
	pushq	%rsi
	pushq	%rdi
	pushq	%r8
	pushq	%r9
	pushq	%r10
	pushq	%r11
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	/* The site's %rsp: 15 pushes + 16 + return address + slot + red zone. */
	leaq	(120 + 16 + 8 + 8 + 128)(%rsp), %rax
	movq	%rax, 120(%rsp)
	movq	$0, 128(%rsp)
	movq	%rsp, %rbx		/* regs; callee-saved across the calls below */
	andq	$-64, %rsp
	movq	%rbx, %rdi
	movq	144(%rbx), %rsi		/* the slot pushed by the stub */
	call	sled_dispatch
	testl	%eax, %eax
	jz	1f

	/* Slow path: preserve the extended register state around ordinary C code. */
	subq	sled_xsave_size(%rip), %rsp
	cmpl	$0, sled_xsave_ok(%rip)
	je	2f
	xorl	%eax, %eax		/* the XSAVE header must start zeroed */
	movq	%rax, 512(%rsp)
	movq	%rax, 520(%rsp)
	movq	%rax, 528(%rsp)
	movq	%rax, 536(%rsp)
	movq	%rax, 544(%rsp)
	movq	%rax, 552(%rsp)
	movq	%rax, 560(%rsp)
	movq	%rax, 568(%rsp)
	movl	$-1, %eax
	movl	$-1, %edx
	xsave	(%rsp)
	jmp	3f
2:	fxsave	(%rsp)
3:	movq	%rbx, %rdi
	movq	144(%rbx), %rsi
	call	sled_dispatch_slow
	cmpl	$0, sled_xsave_ok(%rip)
	je	4f
	movl	$-1, %eax
	movl	$-1, %edx
	xrstor	(%rsp)
	jmp	1f
4:	fxrstor	(%rsp)

1:	movq	%rbx, %rsp
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%r11
	popq	%r10
	popq	%r9
	popq	%r8
	popq	%rdi
	popq	%rsi
	popq	%rbp
	popq	%rbx
	popq	%rdx
	popq	%rcx
	popq	%rax
	addq	$16, %rsp
	ret
	.cfi_endproc
	.size	sled_trampoline, .-sled_trampoline

	.section .note.GNU-stack, "", @progbits
