/* SPDX-License-Identifier: MIT */
/*
 * <sled/sled.h>: what an application may ask of the runtime.  Thin: the work is in
 * runtime.c (start, stop) and self_notes.c (which sites are provider:name).
 */
#include <errno.h>
#include <stddef.h>
#include <sled/sled.h>

#include "runtime.h"

/* libbpf's rule for sized options: a caller's struct may be larger than ours (built
 * against a newer header) only if the fields we do not know are zero. */
static bool opts_valid(const void *opts, size_t known)
{
	const unsigned char *bytes = opts;
	size_t sz;

	if (!opts)
		return true;
	sz = *(const size_t *)opts;
	if (sz < sizeof(size_t))
		return false;
	for (size_t i = known; i < sz; i++)
		if (bytes[i])
			return false;
	return true;
}

int sled_start(const struct sled_start_opts *opts)
{
	uint64_t ring_size = 0;

	if (!opts_valid(opts, sizeof(struct sled_start_opts)))
		return -EINVAL;
	/* A caller built against an older header has no ring_size: its sz says so. */
	if (opts && opts->sz >= offsetof(struct sled_start_opts, ring_size) + sizeof(opts->ring_size))
		ring_size = opts->ring_size;
	if (ring_size && !sled_ring_data_ok(ring_size))
		return -EINVAL;
	return sled_runtime_start(ring_size);
}

int sled_stop(void)
{
	return sled_runtime_stop();
}

/* True when the site at addr has a slot that is patched. */
static bool site_is_on(uint64_t addr, void *arg)
{
	const struct sled_shm_site *sites = arg;

	for (unsigned i = 0; i < SLED_SHM_MAX_SITES; i++)
		if (__atomic_load_n(&sites[i].kind, __ATOMIC_ACQUIRE) != SLED_SITE_SLOT_FREE &&
		    sites[i].addr == addr &&
		    __atomic_load_n(&sites[i].state, __ATOMIC_ACQUIRE) == SLED_STATE_ON)
			return true;
	return false;
}

int sled_enabled(const char *provider, const char *name)
{
	struct sled_shm_site *sites = sled_rt.sites;

	if (!provider || !name)
		return -EINVAL;
	/* Not started, or stopped (the block stays mapped then, but nothing is patched). */
	if (!__atomic_load_n(&sled_rt.shm, __ATOMIC_ACQUIRE) || !sites)
		return 0;
	return sled_self_sites(provider, name, site_is_on, sites);
}
