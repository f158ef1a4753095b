/* SPDX-License-Identifier: MIT */
/*
 * Patching live code, with the kernel's text_poke_bp discipline, in user space.
 *
 * A thread may be stopped at any instruction boundary and resume much later, so a
 * multi-byte instruction is never rewritten in place.  To replace the 5 bytes at addr:
 *   1. write int3 on byte 0, serialize every core;
 *   2. write bytes 1-4, serialize;
 *   3. write the new byte 0, serialize.
 * A thread that executes the transient int3 traps into our SIGTRAP handler, which resumes
 * it after the 5 bytes: the site behaves as a NOP while it is being patched.  Traps that
 * are not ours go to whatever handler the application had.
 *
 * Bytes are written through /proc/self/mem, which the kernel writes with FOLL_FORCE: the
 * text pages never become writable, and no other thread can observe an mprotect window.
 * "Serialize" is membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE): every thread of
 * the process runs a core-serializing instruction before it returns to user space.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/membarrier.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include "runtime.h"

#define INT3 0xcc

static int mem_fd = -1;
static struct sigaction old_trap;
static bool trap_installed;

static int membarrier(int cmd)
{
	return (int)syscall(__NR_membarrier, cmd, 0, 0);
}

static int serialize(void)
{
	return membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE) ? -errno : 0;
}

int sled_sync_threads(void)
{
	return serialize();
}

int sled_peek(uint64_t addr, void *bytes, size_t len)
{
	ssize_t n = pread(mem_fd, bytes, len, (off_t)addr);

	return n == (ssize_t)len ? 0 : -EFAULT;
}

int sled_poke_raw(uint64_t addr, const void *bytes, size_t len)
{
	ssize_t n = pwrite(mem_fd, bytes, len, (off_t)addr);

	return n == (ssize_t)len ? 0 : (n < 0 ? -errno : -EIO);
}

/* The slot whose patchable bytes start at addr (a sled or a guard), if any. */
static bool is_site_start(uint64_t addr)
{
	const struct sled_shm_site *s = sled_rt.sites;

	if (!s)
		return false;
	for (unsigned i = 0; i < SLED_SHM_MAX_SITES; i++) {
		uint32_t kind = __atomic_load_n(&s[i].kind, __ATOMIC_RELAXED);

		if (kind == SLED_SITE_SLOT_TRACEPOINT && s[i].addr + 1 == addr)
			return true;
		if (kind == SLED_SITE_SLOT_GUARD && s[i].addr == addr)
			return true;
	}
	return false;
}

static void on_sigtrap(int sig, siginfo_t *info, void *uc_)
{
	ucontext_t *uc = uc_;
	uint64_t rip = (uint64_t)uc->uc_mcontext.gregs[REG_RIP];

	/* int3 leaves rip after itself; a site being patched is skipped (a NOP for now). */
	if (info->si_code == SI_KERNEL && is_site_start(rip - 1)) {
		uc->uc_mcontext.gregs[REG_RIP] = (greg_t)(rip - 1 + 5);
		return;
	}
	if (old_trap.sa_flags & SA_SIGINFO) {
		if (old_trap.sa_sigaction)
			old_trap.sa_sigaction(sig, info, uc_);
		return;
	}
	if (old_trap.sa_handler == SIG_IGN)
		return;
	if (old_trap.sa_handler != SIG_DFL) {
		old_trap.sa_handler(sig);
		return;
	}
	/* Not ours, and the default action was to die: die the same way. */
	signal(SIGTRAP, SIG_DFL);
	raise(SIGTRAP);
}

/* The handler is installed on the first patch, so an untraced app keeps its own. */
static int install_trap_handler(void)
{
	struct sigaction sa;

	if (trap_installed)
		return 0;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigtrap;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTRAP, &sa, &old_trap))
		return -errno;
	trap_installed = true;
	return 0;
}

int sled_poke_init(void)
{
	if (mem_fd < 0) {
		mem_fd = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
		if (mem_fd < 0)
			return -errno;
	}
	if (membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE))
		return -errno;
	return 0;
}

int sled_poke5(uint64_t addr, const uint8_t expect[5], const uint8_t want[5])
{
	uint8_t cur[5], int3 = INT3;
	int ret;

	ret = sled_peek(addr, cur, sizeof(cur));
	if (ret)
		return ret;
	if (!memcmp(cur, want, 5))
		return 0;
	if (memcmp(cur, expect, 5))
		return -EILSEQ; /* not the bytes we expect: never write */
	ret = install_trap_handler();
	if (ret)
		return ret;
	if ((ret = sled_poke_raw(addr, &int3, 1)) || (ret = serialize()))
		goto undo;
	if ((ret = sled_poke_raw(addr + 1, want + 1, 4)) || (ret = serialize()))
		goto undo;
	if ((ret = sled_poke_raw(addr, want, 1)) || (ret = serialize()))
		goto undo;
	return 0;
undo:
	/* Put the old instruction back in the same order; byte 0 stays int3 meanwhile. */
	sled_poke_raw(addr + 1, expect + 1, 4);
	serialize();
	sled_poke_raw(addr, expect, 1);
	serialize();
	return ret;
}

/* /proc/self/mem opened before fork() still names the parent's memory. */
void sled_poke_after_fork(void)
{
	if (mem_fd >= 0)
		close(mem_fd);
	mem_fd = -1;
	sled_poke_init();
}
