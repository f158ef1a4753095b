/* SPDX-License-Identifier: MIT */
/*
 * probectl list [PATTERN] [-b PATH | -p PID] [-v] [--json]
 *
 * Works without the daemon: reads the notes of a binary (-b), of every object a process
 * maps (-p), or of every process this user can read (neither).  One row per tracepoint
 * per object: the sites of a tracepoint inlined many times are counted on one row.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cell.h"
#include "cli.h"
#include "ctl_client.h"
#include "json_writer.h"
#include "pattern.h"
#include "process.h"
#include "sites.h"

struct row {
	pid_t pid;
	const struct sled_process_object *po; /* the object, as the process maps it */
	const struct sled_site *first; /* the tracepoint site whose fields are shown */
	size_t nsites, nguards, cap;
	const struct sled_site **sites; /* tracepoint sites, then guards */
	size_t non;                      /* tracepoint sites the daemon reports on */
};

/* A site the daemon has patched (or tried to), from its "sites" reply. */
struct daemon_site {
	pid_t pid;               /* -1: a uprobe on every process of binary */
	uint64_t address;        /* sled mode's site; 0 for a uprobe */
	bool on;
	/* Uprobe mode: attached by provider:name in binary (no slot, no address). */
	char provider[64], name[64], binary[512];
};

struct listing {
	const char *pattern;
	bool verbose;
	bool have_daemon;        /* the daemon answered: show each tracepoint's state */
	size_t ndsites;
	struct daemon_site *dsites;
	size_t nrows;
	struct row *rows;
	/* Sources owned by the listing, freed at the end. */
	size_t nprocs;
	struct sled_process *procs;
	struct sled_objcache *cache; /* each file mapped by many processes read once */
	struct sled_object single;
	struct sled_process_object single_po; /* -b: the file, mapped nowhere */
	bool have_single;
};

static int row_add_site(struct row *r, const struct sled_site *s)
{
	if (r->nsites + r->nguards == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 4;
		const struct sled_site **v = realloc(r->sites, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		r->sites = v;
		r->cap = cap;
	}
	r->sites[r->nsites + r->nguards] = s;
	if (s->kind == SLED_SITE_GUARD) {
		r->nguards++;
	} else {
		r->nsites++;
		/* Prefer a site that carries sled field metadata for the field list. */
		if (!r->first || (!r->first->has_sled_note && s->has_sled_note))
			r->first = s;
	}
	return 0;
}

static struct row *find_row(struct listing *l, pid_t pid, const struct sled_process_object *po,
			    const struct sled_site *s)
{
	for (size_t i = 0; i < l->nrows; i++) {
		struct row *r = &l->rows[i];
		const struct sled_site *any = r->sites[0];

		if (r->pid == pid && r->po == po && !strcmp(any->provider, s->provider) &&
		    !strcmp(any->name, s->name))
			return r;
	}
	return NULL;
}

static int add_object_rows(struct listing *l, pid_t pid, const struct sled_process_object *po)
{
	const struct sled_object *obj = po->obj;

	for (size_t i = 0; i < obj->nsites; i++) {
		const struct sled_site *s = &obj->sites[i];
		struct row *r;

		if (!sled_pattern_match(l->pattern, s->provider, s->name))
			continue;
		r = find_row(l, pid, po, s);
		if (!r) {
			struct row *v = realloc(l->rows, (l->nrows + 1) * sizeof(*v));

			if (!v)
				return -ENOMEM;
			l->rows = v;
			r = &v[l->nrows++];
			memset(r, 0, sizeof(*r));
			r->pid = pid;
			r->po = po;
		}
		if (row_add_site(r, s))
			return -ENOMEM;
	}
	return 0;
}

static void warn_diag(const struct sled_process_object *po, pid_t pid, const char *msg)
{
	if (pid)
		p_warn("pid %d: %s: %s", (int)pid, po->path, msg);
	else
		p_warn("%s: %s", po->path, msg);
}

/* The object's own problems (its notes), then the process's (its mappings). */
static void warn_diags(const struct sled_process_object *po, pid_t pid)
{
	for (size_t i = 0; i < po->obj->ndiags; i++)
		warn_diag(po, pid, po->obj->diags[i].msg);
	for (size_t i = 0; i < po->ndiags; i++)
		warn_diag(po, pid, po->diags[i].msg);
}

static int add_process(struct listing *l, pid_t pid, bool quiet)
{
	struct sled_process *v, *p;
	char err[256];
	int ret;

	v = realloc(l->procs, (l->nprocs + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	l->procs = v;
	p = &v[l->nprocs];
	if (!l->cache && !(l->cache = sled_objcache_new(SLED_OBJCACHE_DEFAULT_MAX_BYTES)))
		return -ENOMEM;
	ret = sled_process_read(l->cache, pid, p, err, sizeof(err));
	if (ret) {
		if (!quiet)
			p_err("%s", err);
		return ret;
	}
	l->nprocs++;
	return 0;
}

/* Rows are built after all sources are read: reading reallocs the procs array. */
static int build_rows(struct listing *l, bool warn)
{
	if (l->have_single) {
		if (warn)
			warn_diags(&l->single_po, 0);
		return add_object_rows(l, 0, &l->single_po);
	}
	for (size_t i = 0; i < l->nprocs; i++) {
		for (size_t j = 0; j < l->procs[i].nobjects; j++) {
			const struct sled_process_object *po = &l->procs[i].objects[j];

			if (warn)
				warn_diags(po, l->procs[i].pid);
			if (add_object_rows(l, l->procs[i].pid, po))
				return -ENOMEM;
		}
	}
	return 0;
}

static int scan_all_processes(struct listing *l)
{
	DIR *d = opendir("/proc");
	struct dirent *e;

	if (!d) {
		p_err("cannot read /proc: %s", strerror(errno));
		return -errno;
	}
	while ((e = readdir(d))) {
		char *end;
		long pid = strtol(e->d_name, &end, 10);

		if (*end || pid <= 0)
			continue;
		/* Processes come and go, and some are not ours to read: skip quietly. */
		if (add_process(l, (pid_t)pid, true) == -ENOMEM) {
			closedir(d);
			p_err("out of memory");
			return -ENOMEM;
		}
	}
	closedir(d);
	return 0;
}

/* Ask a running daemon which sites are patched; silently nothing without a daemon. */
static void fetch_daemon_state(struct listing *l)
{
	const msgpack_object *arr;
	struct ctl_call call;
	msgpack_sbuffer sb;
	msgpack_packer pk;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	ctl_pack_request(&pk, "sites", 0);
	if (ctl_call(&call, &sb, true))
		return;
	arr = ctl_get(&call.reply.data, "sites");
	if (arr && arr->type == MSGPACK_OBJECT_ARRAY) {
		l->dsites = calloc(arr->via.array.size + 1, sizeof(*l->dsites));
		for (uint32_t i = 0; l->dsites && i < arr->via.array.size; i++) {
			const msgpack_object *o = &arr->via.array.ptr[i];
			int64_t pid = 0, addr = 0;
			char state[16] = "";
			struct daemon_site *ds = &l->dsites[l->ndsites++];

			ctl_get_i64(o, "pid", &pid);
			ctl_get_i64(o, "address", &addr);
			ctl_get_str(o, "state", state, sizeof(state));
			ds->pid = (pid_t)pid;
			ds->address = (uint64_t)addr;
			ds->on = !strcmp(state, "on");
			ctl_get_str(o, "provider", ds->provider, sizeof(ds->provider));
			ctl_get_str(o, "name", ds->name, sizeof(ds->name));
			ctl_get_str(o, "binary", ds->binary, sizeof(ds->binary));
		}
		l->have_daemon = l->dsites != NULL;
	}
	ctl_call_end(&call);
}

/* Is the uprobe ds on row r's tracepoint?  Its binary is the path it was attached by: the
 * object's path, or the object seen through /proc/PID/root. */
static bool uprobe_covers(const struct daemon_site *ds, const struct row *r)
{
	size_t nb = strlen(ds->binary), no = strlen(r->po->path);

	if (!ds->on || !ds->provider[0] || (ds->pid != r->pid && ds->pid != -1))
		return false;
	if (strcmp(ds->provider, r->sites[0]->provider) || strcmp(ds->name, r->sites[0]->name))
		return false;
	return nb >= no && !strcmp(ds->binary + nb - no, r->po->path);
}

static void count_on(struct listing *l)
{
	for (size_t i = 0; i < l->nrows; i++) {
		struct row *r = &l->rows[i];
		bool up = false;

		/* A uprobe takes every site of its provider:name in the object. */
		for (size_t k = 0; r->pid && k < l->ndsites && !up; k++)
			up = uprobe_covers(&l->dsites[k], r);
		if (up) {
			r->non = r->nsites;
			continue;
		}

		for (size_t j = 0; r->pid && j < r->nsites; j++)
			for (size_t k = 0; k < l->ndsites; k++)
				if (l->dsites[k].pid == r->pid && l->dsites[k].on &&
				    l->dsites[k].address == sled_site_runtime(r->po, r->sites[j]))
					r->non++;
	}
}

static const char *state_text(const struct row *r, char *buf, size_t len)
{
	if (!r->non)
		return "off";
	if (r->non == r->nsites)
		return "on";
	snprintf(buf, len, "on %zu/%zu", r->non, r->nsites);
	return buf;
}

static int row_cmp(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	int c = strcmp(x->sites[0]->provider, y->sites[0]->provider);

	if (!c)
		c = strcmp(x->sites[0]->name, y->sites[0]->name);
	if (!c)
		c = (x->pid > y->pid) - (x->pid < y->pid);
	if (!c)
		c = strcmp(x->po->path, y->po->path);
	return c;
}

static void fields_text(const struct row *r, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = 0;
	if (!r->first)
		return;
	for (int i = 0; i < r->first->nargs && o < len; i++)
		o += snprintf(buf + o, len - o, "%s%s:%s", i ? " " : "", r->first->fields[i].name,
			      sled_type_name(r->first->fields[i].type));
}

static uint64_t site_address(const struct row *r, const struct sled_site *s)
{
	return r->pid ? sled_site_runtime(r->po, s) : s->pc;
}

static void print_table(const struct listing *l, bool with_pid)
{
	bool with_state = with_pid && l->have_daemon;
	char fields[1024], tp[160], st[32], cell[64];

	if (with_pid)
		printf("%-8s ", "PID");
	printf("%-32s ", "TRACEPOINT");
	if (with_state)
		printf("%-8s ", "STATE");
	printf("%-48s %5s  %s\n", "FIELDS", "SITES", "OBJECT");
	for (size_t i = 0; i < l->nrows; i++) {
		const struct row *r = &l->rows[i];

		snprintf(tp, sizeof(tp), "%s:%s", r->sites[0]->provider, r->sites[0]->name);
		fields_text(r, fields, sizeof(fields));
		if (with_pid)
			printf("%-8d ", (int)r->pid);
		printf("%-32s ", cell_fit(cell, sizeof(cell), tp, 32, CELL_HEAD));
		if (with_state)
			printf("%-8s ", state_text(r, st, sizeof(st)));
		/* The whole list is in -v and --json; the table keeps its columns. */
		printf("%-48s %5zu  %s%s\n",
		       fields[0] ? cell_fit(cell, sizeof(cell), fields, 48, CELL_HEAD) : "-", r->nsites,
		       r->po->path, r->nguards ? "  (+guard)" : "");
		if (!l->verbose)
			continue;
		for (size_t j = 0; j < r->nsites + r->nguards; j++) {
			const struct sled_site *s = r->sites[j];

			if (s->kind == SLED_SITE_GUARD)
				printf("    guard 0x%llx -> 0x%llx\n",
				       (unsigned long long)site_address(r, s),
				       (unsigned long long)(s->target + site_address(r, s) - s->pc));
			else
				printf("    site  0x%llx  %s%s\n", (unsigned long long)site_address(r, s),
				       s->argspec, s->has_sled_note ? "" : "  (stapsdt only)");
		}
	}
}

static void print_json(const struct listing *l)
{
	struct json_writer *w = jsonw_new(stdout);

	if (!w)
		return;
	jsonw_start_array(w);
	for (size_t i = 0; i < l->nrows; i++) {
		const struct row *r = &l->rows[i];

		jsonw_start_object(w);
		jsonw_string_field(w, "provider", r->sites[0]->provider);
		jsonw_string_field(w, "name", r->sites[0]->name);
		jsonw_string_field(w, "object", r->po->path);
		if (r->pid)
			jsonw_int_field(w, "pid", r->pid);
		jsonw_bool_field(w, "sled", r->first && r->first->has_sled_note);
		if (l->have_daemon && r->pid)
			jsonw_uint_field(w, "enabled_sites", r->non);
		jsonw_name(w, "fields");
		jsonw_start_array(w);
		for (int f = 0; r->first && f < r->first->nargs; f++) {
			jsonw_start_object(w);
			jsonw_string_field(w, "name", r->first->fields[f].name);
			jsonw_string_field(w, "type", sled_type_name(r->first->fields[f].type));
			jsonw_end_object(w);
		}
		jsonw_end_array(w);
		jsonw_name(w, "sites");
		jsonw_start_array(w);
		for (size_t j = 0; j < r->nsites; j++) {
			const struct sled_site *s = r->sites[j];

			jsonw_start_object(w);
			jsonw_uint_field(w, "address", site_address(r, s));
			jsonw_uint_field(w, "pc", s->pc);
			jsonw_uint_field(w, "file_offset", s->file_offset);
			jsonw_string_field(w, "args", s->argspec);
			jsonw_end_object(w);
		}
		jsonw_end_array(w);
		jsonw_name(w, "guards");
		jsonw_start_array(w);
		for (size_t j = r->nsites; j < r->nsites + r->nguards; j++) {
			const struct sled_site *s = r->sites[j];

			jsonw_start_object(w);
			jsonw_uint_field(w, "address", site_address(r, s));
			jsonw_uint_field(w, "pc", s->pc);
			jsonw_uint_field(w, "target", s->target + site_address(r, s) - s->pc);
			jsonw_end_object(w);
		}
		jsonw_end_array(w);
		jsonw_end_object(w);
	}
	jsonw_end_array(w);
	jsonw_destroy(&w);
}

static void listing_free(struct listing *l)
{
	for (size_t i = 0; i < l->nrows; i++)
		free(l->rows[i].sites);
	free(l->rows);
	for (size_t i = 0; i < l->nprocs; i++)
		sled_process_free(&l->procs[i]);
	free(l->procs);
	sled_objcache_free(l->cache);
	free(l->dsites);
	if (l->have_single)
		sled_object_free(&l->single);
}

static int parse_pid(const char *s, pid_t *pid)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (!*s || *end || errno || v <= 0 || v > 0x3fffffff)
		return -1;
	*pid = (pid_t)v;
	return 0;
}

static void list_usage(void)
{
	fprintf(stderr, "Usage: probectl list [PATTERN] [-b PATH | -p PID] [-v] [--json]\n");
}

int do_list(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "binary", required_argument, NULL, 'b' },
		{ "pid", required_argument, NULL, 'p' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct listing l = { 0 };
	const char *binary = NULL;
	pid_t pid = 0;
	char err[512];
	int c, ret = 0;

	optind = 1;
	opterr = 0; /* getopt's messages do not start with "Error:": ours below */
	while ((c = getopt_long(argc, argv, ":b:p:vh", opts, NULL)) != -1) {
		switch (c) {
		case 'b': binary = optarg; break;
		case 'p':
			if (parse_pid(optarg, &pid)) {
				p_err("bad PID '%s'", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'v': l.verbose = true; break;
		case 'h': list_usage(); return 0;
		case ':':
			p_err("list: option '%s' needs a value", argv[optind - 1]);
			return EXIT_USAGE;
		default:
			if (optopt)
				p_err("list: unknown option '-%c'", optopt);
			else
				p_err("list: unknown option '%s'", argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	if (binary && pid) {
		p_err("-b and -p are mutually exclusive");
		return EXIT_USAGE;
	}
	if (optind < argc)
		l.pattern = argv[optind++];
	if (optind < argc) {
		p_err("unexpected argument '%s'", argv[optind]);
		return EXIT_USAGE;
	}
	if (sled_pattern_check(l.pattern, err, sizeof(err))) {
		p_err("%s", err);
		return EXIT_USAGE;
	}

	if (binary) {
		ret = sled_object_read(binary, &l.single, err, sizeof(err));
		if (ret) {
			p_err("%s", err);
			return 1;
		}
		l.single_po.obj = &l.single;
		l.single_po.path = l.single.path;
		l.have_single = true;
	} else if (pid) {
		if (add_process(&l, pid, false)) {
			ret = 1;
			goto out;
		}
	} else if (scan_all_processes(&l)) {
		ret = 1;
		goto out;
	}
	/* Diagnostics of other people's processes are noise unless asked for. */
	if (build_rows(&l, binary || pid || l.verbose)) {
		p_err("out of memory");
		ret = 1;
		goto out;
	}
	if (l.nrows) /* qsort wants a non-NULL array even for none */
		qsort(l.rows, l.nrows, sizeof(*l.rows), row_cmp);
	if (!binary) {
		fetch_daemon_state(&l);
		count_on(&l);
	}
	if (json_output)
		print_json(&l);
	else
		print_table(&l, !binary);
out:
	listing_free(&l);
	return ret;
}
