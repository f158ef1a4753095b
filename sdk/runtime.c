/* SPDX-License-Identifier: MIT */
/*
 * libsled start-up and shutdown.
 *
 * At load: create the block (a sealed memfd), map it, describe the layout, leave a hint
 * for the daemon, start the agent thread.  No waiting for a daemon, no socket, no
 * start-up delay: a daemon finds us when it wants to.  At exit: remove the hint.  At
 * fork: the child gets its own block and agent and restores the sleds it inherited, so
 * it never writes into its parent's rings.  SLED_DISABLE=1 in the environment turns it all off;
 * SLED_DEFER=1, or an app's own `sled_autostart = 0`, leaves the start to sled_start().
 */
#define _GNU_SOURCE
#include <cpuid.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sled/sled.h>

#include "runtime.h"

/* Nothing calls into libsled, so a static link (libsled.a) would leave this object, and
 * with it the constructor below, out.  sled.pc's static flags and sled::static name this
 * symbol with --undefined to pull it in; through the pointer it also pulls in
 * sled_runtime_version, which is how probed tells a static binary that carries the
 * runtime. */
SLED_API const void *const sled_runtime_anchor = (const void *)&sled_runtime_version;

struct sled_runtime sled_rt;
uint64_t sled_ring_mask = SLED_SHM_RING_DATA_DEFAULT - 1;
uint64_t sled_xsave_size = 4096;
uint32_t sled_xsave_ok;

uint64_t sled_monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Size of the XSAVE area for the features the OS enabled (CPUID leaf 0xd). */
static void probe_xsave(void)
{
	unsigned a, b, c, d;

	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_OSXSAVE)) {
		sled_xsave_size = 512 + 64;
		return;
	}
	__cpuid_count(0xd, 0, a, b, c, d);
	sled_xsave_ok = 1;
	sled_xsave_size = ((uint64_t)b + 63) & ~63ull;
	if (sled_xsave_size < 576)
		sled_xsave_size = 576;
}

/* Field 22 of /proc/self/stat: start time in clock ticks, to tell a reused pid apart. */
static uint64_t process_start_time(void)
{
	char buf[1024], *p;
	unsigned long long v = 0;
	int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	p = strrchr(buf, ')'); /* the command name may contain spaces and parentheses */
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d "
			 "%*d %*d %*d %*d %llu", &v) != 1)
		return 0;
	return v;
}

/*
 * The block is a memfd, not a name in a shared directory: no other user can create it
 * first, open it, or change its size.  Sealed against shrinking and growing (and against
 * new seals) before anyone can see it, so the daemon, which checks the seals, can never
 * take a SIGBUS from a block its owner cut short.  The fd is closed once mapped: the
 * daemon finds the mapping in /proc/PID/maps and opens it through /proc/PID/map_files.
 */
static void *map_sealed_memfd(uint64_t size)
{
	void *mem;
	int fd = memfd_create(SLED_SHM_MEMFD, MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (fd < 0)
		return NULL;
	if (ftruncate(fd, (off_t)size) ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)) {
		close(fd);
		return NULL;
	}
	mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	return mem == MAP_FAILED ? NULL : mem;
}

/* An empty /dev/shm/sled.<pid> wakes a daemon at once (inotify).  Only a hint: anyone may
 * squat or forge the name, and then the daemon finds us by its /proc scan instead. */
static void create_hint(void)
{
	int fd;

	snprintf(sled_rt.path, sizeof(sled_rt.path), SLED_SHM_DIR "/" SLED_SHM_PREFIX "%d",
		 (int)sled_rt.pid);
	/* A leftover with our pid belongs to a dead process or to our pre-exec image. */
	unlink(sled_rt.path);
	fd = open(sled_rt.path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0444);
	if (fd < 0)
		sled_rt.path[0] = 0; /* not ours: never unlink it */
	else
		close(fd);
}

/*
 * SLED_RING_SIZE: bytes per ring, a power of two from 64K to 16M, in bytes or with a K
 * or M suffix.  A bad value is said once on stderr and the default used: tracing must
 * never stop an application from starting.
 */
static uint64_t ring_size_from_env(void)
{
	const char *v = getenv("SLED_RING_SIZE");
	unsigned long long n;
	char *end;

	if (!v || !*v)
		return SLED_SHM_RING_DATA_DEFAULT;
	errno = 0;
	n = strtoull(v, &end, 10);
	if (!errno && (*end == 'K' || *end == 'k'))
		n <<= 10, end++;
	else if (!errno && (*end == 'M' || *end == 'm'))
		n <<= 20, end++;
	if (errno || end == v || *end || !sled_ring_data_ok(n)) {
		fprintf(stderr, "libsled: SLED_RING_SIZE=%s is not a power of two from 64K to 16M; "
			"using %uK\n", v, SLED_SHM_RING_DATA_DEFAULT >> 10);
		return SLED_SHM_RING_DATA_DEFAULT;
	}
	return n;
}

static int create_block(uint64_t ring_data)
{
	struct sled_shm_header *h;
	uint64_t size = sled_shm_size(ring_data), id = 0;
	void *mem;

	sled_rt.pid = getpid();
	mem = map_sealed_memfd(size);
	if (!mem)
		return -errno;
	h = mem;
	h->version = SLED_SHM_VERSION;
	h->header_size = sizeof(*h);
	h->pid = (uint32_t)sled_rt.pid;
	h->max_sites = SLED_SHM_MAX_SITES;
	h->max_rings = SLED_SHM_MAX_RINGS;
	h->ring_data = (uint32_t)ring_data;
	h->ring_stride = sled_ring_stride(ring_data);
	h->sites_offset = sled_shm_sites_offset();
	h->rings_offset = sled_shm_rings_offset();
	h->total_size = size;
	h->start_time = process_start_time();
	if (getrandom(&id, sizeof(id), GRND_NONBLOCK) != sizeof(id))
		id = sled_monotonic_ns() ^ (uint64_t)sled_rt.pid << 32;
	h->exec_id = id;
	h->heartbeat_timeout_ms = 3000;
	sled_rt.size = size;
	sled_rt.ring_data = ring_data;
	sled_ring_mask = ring_data - 1;
	sled_rt.sites = (struct sled_shm_site *)((char *)mem + sled_shm_sites_offset());
	sled_rt.rings = (char *)mem + sled_shm_rings_offset();
	sled_rt.aggs = (struct sled_shm_agg *)((char *)mem + sled_shm_aggs_offset());
	__atomic_store_n(&h->magic, SLED_SHM_MAGIC, __ATOMIC_RELEASE);
	sled_rt.shm = h;
	create_hint();
	return 0;
}

static void remove_hint(void)
{
	if (sled_rt.path[0])
		unlink(sled_rt.path);
	sled_rt.path[0] = 0;
}

static void drop_block(void)
{
	if (sled_rt.shm)
		munmap(sled_rt.shm, sled_rt.size);
	sled_rt.shm = NULL;
	sled_rt.sites = NULL;
	sled_rt.rings = NULL;
	sled_rt.aggs = NULL;
}

static int start(uint64_t ring_data)
{
	int err = create_block(ring_data);

	if (err)
		return err;
	err = sled_poke_init();
	if (!err)
		err = sled_agent_start();
	if (err) {
		remove_hint();
		drop_block();
	}
	return err;
}

/* Serialises start and stop; stopped: sled_stop() ended the runtime of this image. */
static pthread_mutex_t start_lock = PTHREAD_MUTEX_INITIALIZER;
static bool stopped, atfork_registered;

static bool env_set(const char *name)
{
	const char *v = getenv(name);

	return v && *v && strcmp(v, "0");
}

static void after_fork_child(void)
{
	/* The parent may have forked while another thread held the lock. */
	pthread_mutex_init(&start_lock, NULL);
	if (stopped) {
		/* The parent's runtime ended; the child may start its own, so its thread must
		 * not keep the parent's old ring (if it ever claimed one). */
		if (sled_tls_prod.ring)
			sled_rings_forget_after_fork();
		stopped = false;
	}
	if (!sled_rt.shm)
		return;
	/* Order matters: reopen /proc/self/mem, put the inherited sleds back to NOPs (this is
	 * the only thread, so plain writes are safe), then leave the parent's block. */
	sled_poke_after_fork();
	sled_agent_forget_after_fork();
	sled_rings_forget_after_fork();
	/* The parent's block and hint stay the parent's: unmap the one, forget the other
	 * (never unlink it), and make our own memfd. */
	drop_block();
	sled_rt.path[0] = 0;
	start(sled_rt.ring_data); /* the parent's ring size */
}

int sled_runtime_start(uint64_t ring_size)
{
	static bool xsave_probed;
	const char *fast_path_env;
	int err = 0;

	if (env_set("SLED_DISABLE"))
		return -ECANCELED;
	pthread_mutex_lock(&start_lock);
	/* SLED_FAST_PATH=0: the general path only (for comparison and diagnosis). */
	fast_path_env = getenv("SLED_FAST_PATH");
	sled_fast_path = !fast_path_env || strcmp(fast_path_env, "0");
	if (!atfork_registered) {
		pthread_atfork(NULL, NULL, after_fork_child);
		atfork_registered = true;
	}
	if (stopped) {
		err = -ESHUTDOWN;
	} else if (sled_rt.shm) {
		/* Running already (started itself before main): its rings cannot change. */
		if (ring_size && ring_size != sled_rt.ring_data)
			err = -EBUSY;
	} else {
		if (!xsave_probed) {
			probe_xsave();
			xsave_probed = true;
		}
		err = start(ring_size ? ring_size : ring_size_from_env());
	}
	pthread_mutex_unlock(&start_lock);
	return err;
}

int sled_runtime_stop(void)
{
	int err = 0;

	pthread_mutex_lock(&start_lock);
	if (sled_rt.shm) {
		pid_t creator = sled_rt.pid;

		err = sled_agent_stop();
		/* The file going away is what tells the daemon to let go of us. */
		if (creator == getpid())
			remove_hint();
		stopped = true;
	}
	pthread_mutex_unlock(&start_lock);
	return err;
}

/* An app that must start the runtime itself defines `const int sled_autostart = 0;`
 * (SLED_NO_AUTOSTART in <sled/sled.h>).  A weak reference: apps that define nothing
 * resolve it to NULL and start as before. */
extern const int sled_autostart __attribute__((weak, visibility("default")));

__attribute__((constructor)) static void sled_runtime_init(void)
{
	if (env_set("SLED_DEFER") || (&sled_autostart && !sled_autostart))
		return;
	sled_runtime_start(0);
}

__attribute__((destructor)) static void sled_runtime_fini(void)
{
	/* Only the process that created the hint removes it (not a child that shares it). */
	if (sled_rt.shm && sled_rt.pid == getpid()) {
		__atomic_store_n(&sled_rt.shm->agent_alive, 0, __ATOMIC_RELEASE);
		remove_hint();
	}
}
