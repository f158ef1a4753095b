/* SPDX-License-Identifier: MIT */
/*
 * Patching live code with no signal: the kernel's text_poke_bp order, in user space, with
 * a 2-byte self-jump (`eb fe`, jmp to itself) where the kernel puts int3.
 *
 * A thread may be stopped at any instruction boundary and resume much later, so a 5-byte
 * instruction is never rewritten in place.  All the sites of one batch go through:
 *   1. write `eb fe` on bytes 0-1 of every site, sync;
 *   2. write bytes 2-4 of the new instruction on every site, sync;
 *   3. write the new bytes 0-1 on every site, sync.
 * Three syncs per batch whatever its size, as in text_poke_bp_batch.
 *
 * Why no thread ever executes a mix of old and new bytes:
 *   - Threads stop only at instruction boundaries: at a site's byte 0 or outside the site,
 *     never on bytes 1-4.  From step 1's sync on, a thread that reaches the site spins on
 *     the self-jump at byte 0 (it waits, it is not trapped), so nothing decodes bytes 2-4
 *     while step 2 rewrites them.  Step 3 turns the self-jump into the finished
 *     instruction; a spinning thread takes it at the latest when step 3's sync
 *     serializes its core.  A signal handler that hits a site while its thread spins
 *     there spins too, and both go on after step 3: the agent thread, which blocks every
 *     signal, always finishes the batch.
 *   - Steps 1 and 3 change two bytes that are decoded together, so each is one store that
 *     no core can see half done.  A 16-bit store that lies within one cache line is
 *     atomic on x86-64 (Intel SDM vol. 3A "Guaranteed Atomic Operations"; AMD APM vol. 2
 *     "Access Atomicity"), hence the two bytes must lie in one 64-byte line: a site whose
 *     bytes 0-1 straddle a line is refused (-EXDEV) and never written.  The store is our
 *     own `movw`, made while PROT_WRITE is added to the site's page for the batch.  /proc/self/mem cannot give
 *     that guarantee: the kernel copies through its memcpy, which is `rep movsb` (byte
 *     elements) on CPUs with FSRM and byte stores for 1-3 bytes in its fallback, so a
 *     core could fetch `0f fe` or `eb 1f` (a jump elsewhere) in between.
 *   - Step 2's bytes are decoded by nobody while they change: any store order is fine.
 *
 * The signals, handlers, sigaltstacks and masks of the application are never touched:
 * a thread that blocks every signal, and a site hit inside a signal handler, are safe.
 *
 * "Sync" is membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE): every thread of the
 * process runs a core-serializing instruction before it next runs user code, which is
 * what the cross-modifying-code rule asks of the cores that execute the code.
 *
 * The write window: the pages of a batch are PROT_READ|PROT_WRITE|PROT_EXEC from before
 * step 1 to after step 3, then get their segment's protection back (the agent holds its
 * lock, so fork() never copies an open window; the batch holds the loader's, so dlclose
 * never unmaps a page under it).  They stay executable throughout, so threads running
 * there are undisturbed.  The kernel may keep each such page as its own mapping
 * afterwards (same file, same offsets, in several lines of /proc/PID/maps), and a kernel
 * uprobe registered during the window skips the page (uprobes ignore writable mappings).
 * A system that forbids writable executable mappings (SELinux execmod, PaX MPROTECT, a
 * sealed mapping) refuses the mprotect: the site fails with that error, unwritten.
 *
 * Other writes (stubs in pages no thread runs yet, a just-forked single-threaded child)
 * need no atomicity and go through /proc/self/mem, whose writes the kernel makes with
 * FOLL_FORCE without changing the mapping's protection.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <linux/membarrier.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "runtime.h"

#define CACHE_LINE 64
#define PAGE_MASK_OF(a) ((a) & ~(uint64_t)4095)

static int mem_fd = -1;

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

/* One store of two bytes: a single movw, which UBSan and the compiler cannot split. */
static void store2(uint64_t addr, const uint8_t bytes[2])
{
	uint16_t v;

	memcpy(&v, bytes, 2);
	__asm__ volatile("movw %1, %0" : "=m"(*(volatile uint16_t *)addr) : "r"(v) : "memory");
}

static void store3(uint64_t addr, const uint8_t bytes[3])
{
	volatile uint8_t *p = (volatile uint8_t *)addr;

	p[0] = bytes[0];
	p[1] = bytes[1];
	p[2] = bytes[2];
}

struct segment_query {
	uint64_t lo, hi;
	int prot; /* -1 until found */
};

static int find_segment(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct segment_query *q = arg;

	(void)size;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *p = &info->dlpi_phdr[i];
		uint64_t start = info->dlpi_addr + p->p_vaddr;

		if (p->p_type != PT_LOAD || q->lo < start || q->hi > start + p->p_memsz)
			continue;
		q->prot = (p->p_flags & PF_R ? PROT_READ : 0) | (p->p_flags & PF_W ? PROT_WRITE : 0) |
			  (p->p_flags & PF_X ? PROT_EXEC : 0);
		return 1;
	}
	return 0;
}

int sled_segment_prot(uint64_t addr, uint64_t len)
{
	struct segment_query q = { addr, addr + len, -1 };

	dl_iterate_phdr(find_segment, &q);
	return q.prot;
}

/* The batch's pages, opened for writing once and closed once. */
struct window {
	uint64_t page;
	int prot; /* to restore */
	int err;  /* opening failed: the page's sites are not written */
};

static struct window *window_of(struct window *w, size_t nw, uint64_t addr)
{
	for (size_t i = 0; i < nw; i++)
		if (w[i].page == PAGE_MASK_OF(addr))
			return &w[i];
	return NULL;
}

static void window_open(struct window *w, uint64_t addr)
{
	w->page = PAGE_MASK_OF(addr);
	w->prot = sled_segment_prot(addr, 1);
	w->err = 0;
	if (w->prot < 0 || !(w->prot & PROT_EXEC))
		w->err = -EFAULT;
	else if (mprotect((void *)w->page, 4096, PROT_READ | PROT_WRITE | PROT_EXEC))
		w->err = -errno;
}

static int window_close(const struct window *w)
{
	if (w->err)
		return 0;
	return mprotect((void *)w->page, 4096, w->prot) ? -errno : 0;
}

/* The window of the page at addr, opened on first use; its error, if it could not be. */
static int need_window(struct window *win, size_t *nw, uint64_t addr)
{
	struct window *w = window_of(win, *nw, addr);

	if (!w) {
		w = &win[(*nw)++];
		window_open(w, addr);
	}
	return w->err;
}

/* Checks a site and opens its pages before anything is written: 1 if it needs the three
 * steps, 0 if it is done (already want) or refused (p->err). */
static int site_needs_patch(struct sled_poke *p, struct window *win, size_t *nw)
{
	volatile const uint8_t *at = (volatile const uint8_t *)p->addr;
	uint8_t cur[5];

	if (p->addr % CACHE_LINE == CACHE_LINE - 1) {
		p->err = -EXDEV; /* bytes 0-1 straddle a cache line: no atomic 2-byte store */
		return 0;
	}
	/* Both pages of the 5 bytes (bytes 0-1 never cross one): open means mapped, and the
	 * loader lock keeps them so, hence the direct reads. */
	p->err = need_window(win, nw, p->addr);
	if (!p->err)
		p->err = need_window(win, nw, p->addr + 4);
	if (p->err)
		return 0;
	for (int k = 0; k < 5; k++)
		cur[k] = at[k];
	if (!memcmp(cur, p->want, 5))
		return 0;
	if (memcmp(cur, p->expect, 5)) {
		p->err = -EILSEQ; /* not the bytes we expect: never write */
		return 0;
	}
	return 1;
}

static int poke_batch_locked(struct sled_poke *sites, size_t n)
{
	static const uint8_t self_jump[2] = { 0xeb, 0xfe };
	/* A site's 5 bytes may cross a page boundary (bytes 0-1 never do): two pages each. */
	static struct window win[2 * SLED_SHM_MAX_SITES];
	static unsigned char todo[SLED_SHM_MAX_SITES];
	size_t nw = 0, ntodo = 0;
	int ret = 0, r;

	for (size_t i = 0; i < n; i++) {
		todo[i] = (unsigned char)site_needs_patch(&sites[i], win, &nw);
		ntodo += todo[i];
	}
	if (!ntodo)
		goto close;

	for (size_t i = 0; i < n; i++)
		if (todo[i])
			store2(sites[i].addr, self_jump);
	if ((r = serialize()) && !ret)
		ret = r;
	for (size_t i = 0; i < n; i++)
		if (todo[i])
			store3(sites[i].addr + 2, sites[i].want + 2);
	if ((r = serialize()) && !ret)
		ret = r;
	for (size_t i = 0; i < n; i++)
		if (todo[i])
			store2(sites[i].addr, sites[i].want);
	if ((r = serialize()) && !ret)
		ret = r;
close:
	for (size_t i = 0; i < nw; i++)
		if ((r = window_close(&win[i])) && !ret)
			ret = r;
	return ret;
}

struct batch_call {
	struct sled_poke *sites;
	size_t n;
	int ret;
};

static int batch_under_loader_lock(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct batch_call *c = arg;

	(void)info;
	(void)size;
	c->ret = poke_batch_locked(c->sites, c->n);
	return 1;
}

/*
 * The whole batch runs inside a dl_iterate_phdr callback, under the loader's lock: dlclose
 * takes that lock to unlink an object before it unmaps it, so no page of the batch can
 * vanish between the check and the stores (our stores, unlike /proc/self/mem, would fault).
 * No thread can spin on a site while holding that lock: it would have had to enter before
 * the batch began, when every site was still whole.
 */
int sled_poke_batch(struct sled_poke *sites, size_t n)
{
	struct batch_call c = { sites, n, -ENOENT };

	if (n > SLED_SHM_MAX_SITES)
		return -E2BIG;
	dl_iterate_phdr(batch_under_loader_lock, &c);
	return c.ret;
}

int sled_poke5(uint64_t addr, const uint8_t expect[5], const uint8_t want[5])
{
	struct sled_poke p = { .addr = addr };
	int ret;

	memcpy(p.expect, expect, 5);
	memcpy(p.want, want, 5);
	ret = sled_poke_batch(&p, 1);
	return p.err ? p.err : ret;
}

/* /proc/self/mem opened before fork() still names the parent's memory. */
void sled_poke_after_fork(void)
{
	if (mem_fd >= 0)
		close(mem_fd);
	mem_fd = -1;
	sled_poke_init();
}
