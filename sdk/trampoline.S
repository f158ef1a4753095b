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
#define STUB_RET_TO_JMP 8	/* stubs.c: the jmp back to the site, after the call */

	.text
	.globl	sled_trampoline
	.hidden	sled_trampoline
	.type	sled_trampoline, @function
	.p2align 4
sled_trampoline:
	/*
	 * Unwind info: the frame is described as if the site's function had called the
	 * trampoline directly, so debuggers and profilers walk from the dispatcher through
	 * here straight into the site's function (the stub below us has no unwind info).
	 * The CFA is the site's %rsp (entry %rsp + 144); the return address is the rip slot,
	 * filled with the sled's end, the address the site's function continues at (until
	 * it is filled, and at the final ret, the return address into the stub); every
	 * register is found in its save slot.
	 */
	.cfi_startproc
	.cfi_def_cfa_offset 144
	.cfi_offset %rip, -144
	subq	$16, %rsp		/* rsp and rip slots of struct sled_regs */
	.cfi_adjust_cfa_offset 16
	pushq	%rax
	.cfi_adjust_cfa_offset 8
	.cfi_offset %rax, -168
	pushq	%rcx
	.cfi_adjust_cfa_offset 8
	.cfi_offset %rcx, -176
	pushq	%rdx
	.cfi_adjust_cfa_offset 8
	.cfi_offset %rdx, -184
	pushq	%rbx
	.cfi_adjust_cfa_offset 8
	.cfi_offset %rbx, -192
	pushq	%rbp
	.cfi_adjust_cfa_offset 8
	.cfi_offset %rbp, -200
	pushq	%rsi
	.cfi_adjust_cfa_offset 8
	.cfi_offset %rsi, -208
	pushq	%rdi
	.cfi_adjust_cfa_offset 8
	.cfi_offset %rdi, -216
	pushq	%r8
	.cfi_adjust_cfa_offset 8
	.cfi_offset %r8, -224
	pushq	%r9
	.cfi_adjust_cfa_offset 8
	.cfi_offset %r9, -232
	pushq	%r10
	.cfi_adjust_cfa_offset 8
	.cfi_offset %r10, -240
	pushq	%r11
	.cfi_adjust_cfa_offset 8
	.cfi_offset %r11, -248
	pushq	%r12
	.cfi_adjust_cfa_offset 8
	.cfi_offset %r12, -256
	pushq	%r13
	.cfi_adjust_cfa_offset 8
	.cfi_offset %r13, -264
	pushq	%r14
	.cfi_adjust_cfa_offset 8
	.cfi_offset %r14, -272
	pushq	%r15
	.cfi_adjust_cfa_offset 8
	.cfi_offset %r15, -280
	/* The site's %rsp: 15 pushes + 16 + return address + slot + red zone. */
	leaq	(120 + 16 + 8 + 8 + 128)(%rsp), %rax
	movq	%rax, 120(%rsp)
	/* The site's %rip: the sled's end, where its function continues, read from the
	 * stub's own `jmp site + 6` (stubs.c: it starts STUB_RET_TO_JMP bytes after the
	 * return address, and stubs are never freed), so no site table is looked up. */
	movq	136(%rsp), %rax		/* the return address into the stub */
	movslq	STUB_RET_TO_JMP+1(%rax), %rcx	/* the jmp's rel32 */
	leaq	STUB_RET_TO_JMP+5(%rax,%rcx), %rax
	movq	%rax, 128(%rsp)
	movq	144(%rsp), %rsi		/* the slot pushed by the stub */
	.cfi_offset %rip, -152
	/* regs, in %rbp: the one register sled_dispatch preserves (dispatch.c is compiled
	 * with rbx and r12-r15 call-clobbered: everything is restored below anyway). */
	movq	%rsp, %rbp
	.cfi_def_cfa_register %rbp
	andq	$-64, %rsp
	movq	%rbp, %rdi
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
3:	movq	%rbp, %rdi
	movq	144(%rbp), %rsi
	call	sled_dispatch_slow
	cmpl	$0, sled_xsave_ok(%rip)
	je	4f
	movl	$-1, %eax
	movl	$-1, %edx
	xrstor	(%rsp)
	jmp	1f
4:	fxrstor	(%rsp)

1:	movq	%rbp, %rsp
	.cfi_def_cfa_register %rsp
	popq	%r15
	.cfi_adjust_cfa_offset -8
	.cfi_restore %r15
	popq	%r14
	.cfi_adjust_cfa_offset -8
	.cfi_restore %r14
	popq	%r13
	.cfi_adjust_cfa_offset -8
	.cfi_restore %r13
	popq	%r12
	.cfi_adjust_cfa_offset -8
	.cfi_restore %r12
	popq	%r11
	.cfi_adjust_cfa_offset -8
	.cfi_restore %r11
	popq	%r10
	.cfi_adjust_cfa_offset -8
	.cfi_restore %r10
	popq	%r9
	.cfi_adjust_cfa_offset -8
	.cfi_restore %r9
	popq	%r8
	.cfi_adjust_cfa_offset -8
	.cfi_restore %r8
	popq	%rdi
	.cfi_adjust_cfa_offset -8
	.cfi_restore %rdi
	popq	%rsi
	.cfi_adjust_cfa_offset -8
	.cfi_restore %rsi
	popq	%rbp
	.cfi_adjust_cfa_offset -8
	.cfi_restore %rbp
	popq	%rbx
	.cfi_adjust_cfa_offset -8
	.cfi_restore %rbx
	popq	%rdx
	.cfi_adjust_cfa_offset -8
	.cfi_restore %rdx
	popq	%rcx
	.cfi_adjust_cfa_offset -8
	.cfi_restore %rcx
	popq	%rax
	.cfi_adjust_cfa_offset -8
	.cfi_restore %rax
	addq	$16, %rsp
	.cfi_adjust_cfa_offset -16
	.cfi_offset %rip, -144		/* the slot left below %rsp: back to the stub's */
	ret
	.cfi_endproc
	.size	sled_trampoline, .-sled_trampoline

	.section .note.GNU-stack, "", @progbits
