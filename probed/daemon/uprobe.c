/* SPDX-License-Identifier: MIT */
/*
 * uprobe: uprobe mode, the user-space half (see uprobe.h; the BPF half and the record
 * layout are in probed/bpf/).
 *
 * A handle is a slot of a fixed table, the same index as the BPF maps' entries
 * (probe_info, counts) and the low 32 bits of the USDT cookie; a 16-bit generation,
 * bumped at each reuse, is in the cookie's next bits and in every record, so records and
 * hits of an earlier user of a slot are never attributed to the next one.  The handle
 * number given out encodes both (gen << 12 | index), so a stale handle is refused too.
 *
 * Nothing read from the ring buffer is trusted: the record's size against its header,
 * the index against the table, the generation and nargs against the slot, each string's
 * length against what remains of the record.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <sled/tracepoint.h>

#include "shm_layout.h"
#include "uprobe.h"
#include "usdt_events.h"
#include "usdt_events.skel.h"

_Static_assert(USDT_STR_TRUNCATED == SLED_REC_STR_TRUNCATED, "string flags as in sled mode");
_Static_assert(USDT_STR_NULL == SLED_REC_STR_NULL, "string flags as in sled mode");
_Static_assert(USDT_STR_LEN_MASK == SLED_REC_STR_LEN_MASK, "string flags as in sled mode");
_Static_assert(USDT_MAX_STR == SLED_SHM_MAX_STR, "string bound as in sled mode");
_Static_assert(USDT_MAX_ARGS == SLED_MAX_ARGS && USDT_MAX_ARGS <= SLED_EVENT_MAX_FIELDS,
	       "argument count");
_Static_assert(USDT_T_STRING == SLED_T_STRING, "string type code");
_Static_assert(sizeof(struct usdt_rec_hdr) == 24, "record header");
_Static_assert(USDT_MAX_PROBES <= 4096, "handles encode the index in 12 bits");

#ifndef RING_BYTES
#define RING_BYTES (4u << 20) /* 87k records of 2 integers; a power of 2 */
#endif
#define UPROBE_DEFAULT_WAKEUP (RING_BYTES / 4)
#define CLOCK_REFRESH_NS 100000000ull /* realtime - monotonic offset, refreshed each 100 ms */
#define INDEX_BITS 12

enum slot_state { SLOT_FREE, SLOT_ATTACHED, SLOT_DETACHED };

struct slot {
	enum slot_state state;
	uint16_t gen;            /* 0 = never used */
	uint32_t probe_id;
	pid_t pid;
	unsigned nfields;
	unsigned fds;
	uint64_t exported;
	uint64_t arg_errors;
	struct bpf_link *link;
	char *binary;
	char provider[64], name[64];
	struct sled_field fields[SLED_MAX_ARGS];
};

struct uprobe_ctx {
	struct usdt_events *skel;
	struct ring_buffer *rb;
	int ncpus;
	struct usdt_counts *percpu; /* scratch for reading one counts entry (ncpus values) */
	unsigned next;              /* round-robin cursor for slot allocation */
	int64_t real_minus_mono;
	uint64_t clock_at;          /* monotonic ns of the last offset refresh */
	/* During a drain. */
	void (*sink)(const struct sled_event *ev, uint32_t probe_id, void *arg);
	void *sink_arg;
	uint64_t drained;
	uint64_t malformed, stale;
	struct slot slots[USDT_MAX_PROBES];
};

/* --- libbpf messages: kept for error lines, printed only with SLED_LIBBPF_DEBUG=1 ---- */

static char libbpf_last[256];

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	static int debug = -1;
	va_list copy;

	if (debug < 0) {
		const char *e = getenv("SLED_LIBBPF_DEBUG");

		debug = e && *e && strcmp(e, "0") != 0;
	}
	if (debug) {
		va_copy(copy, ap);
		vfprintf(stderr, fmt, copy);
		va_end(copy);
	}
	if (level == LIBBPF_WARN) {
		char msg[sizeof(libbpf_last)];
		const char *m = msg;
		size_t n;

		vsnprintf(msg, sizeof(msg), fmt, ap);
		if (strncmp(m, "libbpf: ", 8) == 0)
			m += 8;
		snprintf(libbpf_last, sizeof(libbpf_last), "%s", m);
		n = strlen(libbpf_last);
		while (n && (libbpf_last[n - 1] == '\n' || libbpf_last[n - 1] == ' '))
			libbpf_last[--n] = '\0';
	}
	return 0;
}

static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* " (libbpf: <its last warning>)", or "" when it said nothing */
static const char *libbpf_why(char *buf, size_t len)
{
	buf[0] = '\0';
	if (libbpf_last[0])
		snprintf(buf, len, " (libbpf: %s)", libbpf_last);
	return buf;
}

/* --- Clock -------------------------------------------------------------------------- */

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void clock_refresh(struct uprobe_ctx *u)
{
	uint64_t m0 = clock_ns(CLOCK_MONOTONIC), r = clock_ns(CLOCK_REALTIME);
	uint64_t m1 = clock_ns(CLOCK_MONOTONIC);

	u->real_minus_mono = (int64_t)r - (int64_t)(m0 + (m1 - m0) / 2);
	u->clock_at = m1;
}

/* --- Handles ------------------------------------------------------------------------ */

static int handle_of(unsigned index, uint16_t gen)
{
	return (int)(((uint32_t)gen << INDEX_BITS) | index);
}

/* The slot of a live handle (attached or detached, not reused since), else NULL. */
static struct slot *slot_of(struct uprobe_ctx *u, int handle, unsigned *index)
{
	unsigned i;
	struct slot *s;

	if (!u || handle <= 0)
		return NULL;
	i = (unsigned)handle & ((1u << INDEX_BITS) - 1);
	if (i >= USDT_MAX_PROBES)
		return NULL;
	s = &u->slots[i];
	if (s->state == SLOT_FREE || s->gen != (uint16_t)((unsigned)handle >> INDEX_BITS))
		return NULL;
	if (index)
		*index = i;
	return s;
}

/* A slot to (re)use: a free one, else the detached one the cursor meets first, so that
 * reuse happens as late as possible. */
static int slot_alloc(struct uprobe_ctx *u)
{
	for (unsigned pass = 0; pass < 2; pass++) {
		for (unsigned k = 0; k < USDT_MAX_PROBES; k++) {
			unsigned i = (u->next + k) % USDT_MAX_PROBES;
			enum slot_state st = u->slots[i].state;

			if (st == SLOT_FREE || (pass == 1 && st == SLOT_DETACHED)) {
				u->next = (i + 1) % USDT_MAX_PROBES;
				return (int)i;
			}
		}
	}
	return -1;
}

static void slot_release(struct slot *s)
{
	free(s->binary);
	s->binary = NULL;
	s->state = SLOT_FREE;
}

static unsigned count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	unsigned n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n ? n - 1 : 0; /* the directory's own fd */
}

/* Zero a probe index's per-CPU counters and write its description. */
static int slot_program(struct uprobe_ctx *u, unsigned index, const struct usdt_probe_info *info)
{
	__u32 key = index;

	memset(u->percpu, 0, sizeof(*u->percpu) * (size_t)u->ncpus);
	if (bpf_map_update_elem(bpf_map__fd(u->skel->maps.counts), &key, u->percpu, BPF_ANY))
		return -errno;
	if (bpf_map_update_elem(bpf_map__fd(u->skel->maps.probe_info), &key, info, BPF_ANY))
		return -errno;
	return 0;
}

/* Mark a probe index unused in the BPF map: hits that still reach it are ignored. */
static void slot_unprogram(struct uprobe_ctx *u, unsigned index)
{
	struct usdt_probe_info info = { 0 };
	__u32 key = index;

	bpf_map_update_elem(bpf_map__fd(u->skel->maps.probe_info), &key, &info, BPF_ANY);
}

/* --- Records -------------------------------------------------------------------------- */


/* Decode one record into ev; -1 (malformed) if it does not hold what its slot says. */
static int decode(const struct uprobe_ctx *u, const struct slot *s, const struct usdt_rec_hdr *h,
		  const char *data, size_t size, struct sled_event *ev)
{
	unsigned n = h->nargs;
	const char *str, *end = data + size;
	uint64_t v[USDT_MAX_ARGS];

	if (n != s->nfields || n > USDT_MAX_ARGS || sizeof(*h) + 8ull * n > size)
		return -1;
	memcpy(v, data + sizeof(*h), 8ull * n);
	str = data + sizeof(*h) + 8ull * n;
	ev->provider = s->provider;
	ev->name = s->name;
	ev->ts_ns = (uint64_t)((int64_t)h->ktime + u->real_minus_mono);
	ev->pid = (pid_t)h->pid;
	ev->tid = (pid_t)h->tid;
	ev->mode = "uprobe";
	ev->nfields = n;
	for (unsigned i = 0; i < n; i++) {
		struct sled_event_field *f = &ev->fields[i];
		uint8_t type = s->fields[i].type;

		if (type != SLED_T_STRING) {
			sled_event_field_set(f, s->fields[i].name, type, v[i]);
			continue;
		}
		uint64_t word = v[i], len = word & USDT_STR_LEN_MASK;

		f->name = s->fields[i].name;
		f->type = type;
		if (word & USDT_STR_NULL) {
			f->v.str.ptr = NULL;
			f->v.str.len = 0;
			f->v.str.truncated = false;
			continue;
		}
		if (word & USDT_STR_FAULT) {
			/* Unreadable memory: nothing kept of it, so it is reported as a
			 * string cut to nothing (listed in "truncated"), not as NULL. */
			f->v.str.ptr = str;
			f->v.str.len = 0;
			f->v.str.truncated = true;
			continue;
		}
		if (len > USDT_MAX_STR || len > (uint64_t)(end - str))
			return -1;
		f->v.str.ptr = str;
		f->v.str.len = (uint32_t)len;
		f->v.str.truncated = (word & USDT_STR_TRUNCATED) != 0;
		str += len;
	}
	return 0;
}

#define STOP_DRAIN (-ECANCELED) /* callback's "budget spent": libbpf stops, record consumed */

static int on_record(void *ctx, void *data, size_t size)
{
	struct uprobe_ctx *u = ctx;
	struct usdt_rec_hdr h;
	struct sled_event ev;
	struct slot *s;

	if (size < sizeof(h) || size > USDT_REC_MAX || (size & 7)) {
		u->malformed++;
		return 0;
	}
	memcpy(&h, data, sizeof(h));
	if (h.index >= USDT_MAX_PROBES) {
		u->malformed++;
		return 0;
	}
	s = &u->slots[h.index];
	if (s->state == SLOT_FREE || s->gen != h.gen) {
		u->stale++;
		return 0;
	}
	if (decode(u, s, &h, data, size, &ev) < 0) {
		u->malformed++;
		return 0;
	}
	if (h.flags & USDT_REC_F_ARGERR)
		s->arg_errors++;
	u->sink(&ev, s->probe_id, u->sink_arg);
	s->exported++;
	return ++u->drained >= UPROBE_DRAIN_BUDGET ? STOP_DRAIN : 0;
}

/* --- Open / close --------------------------------------------------------------------- */

static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* libbpf uses the uprobe PMU; without it (old or unusual kernels) it falls back to
 * tracefs's uprobe_events, which must then be mounted.  Mount it once and say so. */
static int check_uprobes(char *err, size_t errlen)
{
	static bool said;
	struct stat st;

	if (stat("/sys/bus/event_source/devices/uprobe/type", &st) == 0)
		return 0;
	if (stat("/sys/kernel/tracing/uprobe_events", &st) == 0 ||
	    stat("/sys/kernel/debug/tracing/uprobe_events", &st) == 0)
		return 0;
	if (mount("nodev", "/sys/kernel/tracing", "tracefs", 0, NULL) == 0) {
		if (!said)
			fprintf(stderr, "probed: mounted tracefs at /sys/kernel/tracing (needed for uprobes)\n");
		said = true;
		if (stat("/sys/kernel/tracing/uprobe_events", &st) == 0)
			return 0;
	}
	seterr(err, errlen, "uprobe mode unavailable: the kernel has no uprobes "
	       "(no uprobe PMU in /sys/bus/event_source/devices, no tracefs uprobe_events; "
	       "needs CONFIG_UPROBE_EVENTS)");
	return -ENOTSUP;
}

int uprobe_open(struct uprobe_ctx **out, char *err, size_t errlen)
{
	struct uprobe_ctx *u;
	char why[300];
	int rc;

	*out = NULL;
	raise_nofile();
	libbpf_set_print(libbpf_print);
	libbpf_last[0] = '\0';
	if (access("/sys/kernel/btf/vmlinux", R_OK) != 0) {
		rc = errno == EACCES ? -EACCES : -ENOTSUP;
		seterr(err, errlen, "uprobe mode unavailable: %s",
		       rc == -EACCES ? "cannot read the kernel's BTF (/sys/kernel/btf/vmlinux): run as root"
				     : "the kernel has no BTF (/sys/kernel/btf/vmlinux; needs CONFIG_DEBUG_INFO_BTF)");
		return rc;
	}
	rc = check_uprobes(err, errlen);
	if (rc)
		return rc;

	u = calloc(1, sizeof(*u));
	if (!u) {
		seterr(err, errlen, "uprobe mode unavailable: out of memory");
		return -ENOMEM;
	}
	u->ncpus = libbpf_num_possible_cpus();
	if (u->ncpus <= 0) {
		rc = u->ncpus ? u->ncpus : -EINVAL;
		seterr(err, errlen, "uprobe mode unavailable: cannot count possible CPUs: %s", strerror(-rc));
		free(u);
		return rc;
	}
	u->percpu = calloc((size_t)u->ncpus, sizeof(*u->percpu));
	u->skel = u->percpu ? usdt_events__open() : NULL;
	if (!u->skel) {
		rc = u->percpu ? -errno : -ENOMEM;
		seterr(err, errlen, "uprobe mode unavailable: cannot open the BPF object: %s%s",
		       strerror(-rc), libbpf_why(why, sizeof(why)));
		goto fail;
	}
	bpf_map__set_max_entries(u->skel->maps.events, RING_BYTES);
	rc = usdt_events__load(u->skel);
	if (rc) {
		rc = rc < 0 ? rc : -EINVAL;
		if (rc == -EPERM || (rc == -EACCES && geteuid() != 0))
			seterr(err, errlen, "uprobe mode unavailable: loading BPF programs needs root "
			       "(CAP_BPF and CAP_PERFMON; and no kernel lockdown): %s", strerror(-rc));
		else if (rc == -EACCES)
			seterr(err, errlen, "uprobe mode unavailable: the kernel's verifier rejected the "
			       "BPF program (SLED_LIBBPF_DEBUG=1 shows its log)");
		else if (rc == -ENOSYS)
			seterr(err, errlen, "uprobe mode unavailable: the kernel has no BPF "
			       "(bpf(2): %s)", strerror(-rc));
		else
			seterr(err, errlen, "uprobe mode unavailable: cannot load the BPF program: %s%s "
			       "(SLED_LIBBPF_DEBUG=1 shows libbpf's log)",
			       strerror(-rc), libbpf_why(why, sizeof(why)));
		goto fail;
	}
	u->rb = ring_buffer__new(bpf_map__fd(u->skel->maps.events), on_record, u, NULL);
	if (!u->rb) {
		rc = -errno;
		seterr(err, errlen, "uprobe mode unavailable: cannot map the BPF ring buffer: %s",
		       strerror(-rc));
		goto fail;
	}
	uprobe_set_wakeup(u, UPROBE_DEFAULT_WAKEUP);
	clock_refresh(u);
	*out = u;
	return 0;
fail:
	if (u->skel)
		usdt_events__destroy(u->skel);
	free(u->percpu);
	free(u);
	return rc;
}

int uprobe_fd(struct uprobe_ctx *u)
{
	return u ? ring_buffer__epoll_fd(u->rb) : -EINVAL;
}

void uprobe_close(struct uprobe_ctx *u)
{
	if (!u)
		return;
	for (unsigned i = 0; i < USDT_MAX_PROBES; i++) {
		struct slot *s = &u->slots[i];

		if (s->link)
			bpf_link__destroy(s->link);
		s->link = NULL;
		slot_release(s);
	}
	ring_buffer__free(u->rb);
	usdt_events__destroy(u->skel);
	free(u->percpu);
	free(u);
}

void uprobe_set_wakeup(struct uprobe_ctx *u, uint64_t bytes)
{
	if (u && u->skel->bss)
		__atomic_store_n(&u->skel->bss->wakeup_bytes, bytes, __ATOMIC_RELAXED);
}

/* --- Attach / detach ------------------------------------------------------------------ */

int uprobe_attach(struct uprobe_ctx *u, const char *binary, pid_t pid, const char *provider,
		  const char *name, const struct sled_field *fields, unsigned nfields,
		  uint32_t probe_id, char *err, size_t errlen)
{
	struct usdt_probe_info info = { 0 };
	struct bpf_link *link;
	struct slot *s;
	unsigned fds0, fds1;
	char why[300];
	int index, rc;

	if (!u || !binary || !*binary || !provider || !name || (!fields && nfields)) {
		seterr(err, errlen, "uprobe attach: missing argument");
		return -EINVAL;
	}
	if (!*provider || !*name || strlen(provider) >= sizeof(s->provider) ||
	    strlen(name) >= sizeof(s->name)) {
		seterr(err, errlen, "uprobe attach: bad tracepoint name '%s:%s'", provider, name);
		return -EINVAL;
	}
	if (nfields > USDT_MAX_ARGS) {
		seterr(err, errlen, "uprobe attach: %s:%s has %u fields, at most %d are supported",
		       provider, name, nfields, USDT_MAX_ARGS);
		return -EINVAL;
	}
	if (pid == 0 || pid < -1) {
		seterr(err, errlen, "uprobe attach: pid must be -1 (every process) or a process id");
		return -EINVAL;
	}
	if (access(binary, R_OK) != 0) {
		rc = -errno;
		seterr(err, errlen, "cannot attach %s:%s: %s: %s", provider, name, binary, strerror(-rc));
		return rc;
	}
	if (pid > 0 && kill(pid, 0) != 0 && errno == ESRCH) {
		seterr(err, errlen, "cannot attach %s:%s: no process %d", provider, name, (int)pid);
		return -ESRCH;
	}
	index = slot_alloc(u);
	if (index < 0) {
		seterr(err, errlen, "cannot attach %s:%s: all %d uprobe handles are in use",
		       provider, name, USDT_MAX_PROBES);
		return -ENOSPC;
	}
	s = &u->slots[index];
	if (s->state == SLOT_DETACHED)
		slot_release(s); /* its records, if any are left, will count as stale */

	info.gen = (uint16_t)(s->gen + 1);
	if (!info.gen)
		info.gen = 1; /* 0 is "never used" (and what an unprogrammed map entry holds) */
	info.nargs = (uint8_t)nfields;
	for (unsigned i = 0; i < nfields; i++) {
		info.types[i] = fields[i].type;
		if (fields[i].type == SLED_T_STRING)
			info.nstrings++;
	}
	s->gen = info.gen;
	rc = slot_program(u, (unsigned)index, &info);
	if (rc) {
		seterr(err, errlen, "cannot attach %s:%s: BPF map update: %s", provider, name,
		       strerror(-rc));
		return rc;
	}

	LIBBPF_OPTS(bpf_usdt_opts, opts, .usdt_cookie = USDT_COOKIE(index, info.gen));
	libbpf_last[0] = '\0';
	fds0 = count_fds();
	link = bpf_program__attach_usdt(u->skel->progs.sled_usdt, pid, binary, provider, name, &opts);
	if (!link) {
		rc = -errno;
		if (rc >= 0)
			rc = -EINVAL;
		slot_unprogram(u, (unsigned)index);
		libbpf_why(why, sizeof(why));
		if (rc == -ENOENT && !strstr(libbpf_last, "No such file"))
			seterr(err, errlen, "cannot attach %s:%s: no such tracepoint in %s%s", provider,
			       name, binary, why);
		else if (rc == -EBADF || rc == -ENOEXEC)
			seterr(err, errlen, "cannot attach %s:%s: %s is not an ELF file we can read%s",
			       provider, name, binary, why);
		else if (rc == -ESRCH)
			seterr(err, errlen, "cannot attach %s:%s: no process %d", provider, name, (int)pid);
		else if (rc == -EMFILE || rc == -ENFILE)
			seterr(err, errlen, "cannot attach %s:%s in %s: out of file descriptors "
			       "(2 per site; raise RLIMIT_NOFILE)%s", provider, name, binary, why);
		else
			seterr(err, errlen, "cannot attach %s:%s in %s: %s%s", provider, name, binary,
			       strerror(-rc), why);
		return rc;
	}
	fds1 = count_fds();

	s->binary = strdup(binary);
	if (!s->binary) {
		bpf_link__destroy(link);
		slot_unprogram(u, (unsigned)index);
		seterr(err, errlen, "cannot attach %s:%s: out of memory", provider, name);
		return -ENOMEM;
	}
	s->state = SLOT_ATTACHED;
	s->link = link;
	s->probe_id = probe_id;
	s->pid = pid;
	s->nfields = nfields;
	s->fds = fds1 > fds0 ? fds1 - fds0 : 0;
	s->exported = 0;
	s->arg_errors = 0;
	snprintf(s->provider, sizeof(s->provider), "%s", provider);
	snprintf(s->name, sizeof(s->name), "%s", name);
	for (unsigned i = 0; i < nfields; i++) {
		s->fields[i] = fields[i];
		s->fields[i].name[sizeof(s->fields[i].name) - 1] = '\0';
	}
	return handle_of((unsigned)index, s->gen);
}

void uprobe_detach(struct uprobe_ctx *u, int handle)
{
	unsigned index;
	struct slot *s = slot_of(u, handle, &index);

	if (!s || s->state != SLOT_ATTACHED)
		return;
	bpf_link__destroy(s->link); /* unregisters every uprobe: no hit after this */
	s->link = NULL;
	slot_unprogram(u, index);
	s->state = SLOT_DETACHED;
}

/* --- Drain and counts ----------------------------------------------------------------- */

uint64_t uprobe_drain(struct uprobe_ctx *u,
		      void (*sink)(const struct sled_event *ev, uint32_t probe_id, void *arg),
		      void *arg)
{
	uint64_t now;

	if (!u || !sink)
		return 0;
	now = clock_ns(CLOCK_MONOTONIC);
	if (now - u->clock_at >= CLOCK_REFRESH_NS)
		clock_refresh(u);
	u->sink = sink;
	u->sink_arg = arg;
	u->drained = 0;
	ring_buffer__consume(u->rb); /* errors: only STOP_DRAIN from on_record */
	u->sink = NULL;
	return u->drained;
}

void uprobe_counts(struct uprobe_ctx *u, int handle, uint64_t *emitted, uint64_t *exported,
		   uint64_t *dropped)
{
	unsigned index;
	struct slot *s = slot_of(u, handle, &index);
	uint64_t hits = 0, drops = 0;
	__u32 key;

	if (s) {
		key = index;
		if (bpf_map_lookup_elem(bpf_map__fd(u->skel->maps.counts), &key, u->percpu) == 0) {
			for (int c = 0; c < u->ncpus; c++) {
				hits += u->percpu[c].hits;
				drops += u->percpu[c].drops;
			}
		}
	}
	if (emitted)
		*emitted = hits;
	if (exported)
		*exported = s ? s->exported : 0;
	if (dropped)
		*dropped = drops;
}

int uprobe_handle_info(struct uprobe_ctx *u, int handle, struct uprobe_handle_info *info)
{
	struct slot *s = slot_of(u, handle, NULL);

	if (!s)
		return -ENOENT;
	memset(info, 0, sizeof(*info));
	info->probe_id = s->probe_id;
	info->pid = s->pid;
	info->fds = s->fds;
	info->attached = s->state == SLOT_ATTACHED;
	info->arg_errors = s->arg_errors;
	snprintf(info->provider, sizeof(info->provider), "%s", s->provider);
	snprintf(info->name, sizeof(info->name), "%s", s->name);
	info->binary = s->binary;
	return 0;
}

void uprobe_stats(struct uprobe_ctx *u, struct uprobe_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (!u)
		return;
	for (unsigned i = 0; i < USDT_MAX_PROBES; i++) {
		if (u->slots[i].state == SLOT_ATTACHED) {
			st->handles++;
			st->fds += u->slots[i].fds;
		}
	}
	st->malformed = u->malformed;
	st->stale = u->stale;
	st->ring_bytes = RING_BYTES;
}
