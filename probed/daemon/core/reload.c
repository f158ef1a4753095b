// SPDX-License-Identifier: MIT
/*
 * reload: SIGHUP applies the config file again (reload.h).  Everything that can fail is
 * tried before anything changes: the file is parsed, new outputs opened and new enables
 * checked (enable_check) first; only then are outputs swapped and probes enabled and
 * disabled.
 */
#define _GNU_SOURCE
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl.h"
#include "ctl/ctl_request.h"
#include "daemon/control/enable_check.h"
#include "daemon/core/config.h"
#include "daemon/core/daemon.h"
#include "daemon/core/engine.h"
#include "daemon/core/log.h"
#include "daemon/core/reload.h"

struct config_probe {
	char *key;   /* the enable line's words, joined by \x1f */
	uint32_t id;
};

struct reload {
	char *path;
	unsigned nout;
	struct sled_output *out[MAX_OUTPUTS]; /* the config's, among d->outputs */
	struct config_probe *probes;
	unsigned nprobes;
	uint64_t reloads, failures;
	char error[512];
};

static char *line_key(const struct config_line *l)
{
	size_t n = 1;
	char *k;

	for (int i = 0; i < l->argc; i++)
		n += strlen(l->argv[i]) + 1;
	k = malloc(n);
	if (!k)
		return NULL;
	k[0] = 0;
	for (int i = 0; i < l->argc; i++) {
		strcat(k, l->argv[i]);
		strcat(k, "\x1f");
	}
	return k;
}

int reload_init(struct daemon *d, const struct config *cfg)
{
	struct reload *r = calloc(1, sizeof(*r));

	if (!r || !(r->path = strdup(cfg->path))) {
		free(r);
		return -1;
	}
	/* The config's outputs were opened after the command line's: the last noutputs. */
	for (unsigned i = 0; i < cfg->noutputs; i++)
		r->out[r->nout++] = d->outputs[d->noutputs - cfg->noutputs + i];
	d->reload = r;
	return 0;
}

void reload_note_enable(struct daemon *d, const struct config_line *l, uint32_t id)
{
	struct reload *r = d->reload;
	struct config_probe *grown;
	char *key;

	if (!r || !(key = line_key(l)))
		return;
	grown = realloc(r->probes, (r->nprobes + 1) * sizeof(*grown));
	if (!grown) {
		free(key);
		return;
	}
	r->probes = grown;
	r->probes[r->nprobes++] = (struct config_probe){ key, id };
}

static void fail(struct daemon *d, const char *why)
{
	struct reload *r = d->reload;

	r->failures++;
	snprintf(r->error, sizeof(r->error), "%.500s", why);
	fprintf(stderr, "probed: reload of %s failed, the old config stays: %s\n", r->path, why);
}

static int find_output(struct sled_output *const *outs, unsigned n, const char *spec)
{
	for (unsigned i = 0; i < n; i++)
		if (outs[i] && !strcmp(sled_output_spec(outs[i]), spec))
			return (int)i;
	return -1;
}

static bool kept_line(const struct config *cfg, const char *key)
{
	for (unsigned i = 0; i < cfg->nenables; i++) {
		char *k = line_key(&cfg->enables[i]);
		bool same = k && !strcmp(k, key);

		free(k);
		if (same)
			return true;
	}
	return false;
}

static bool old_line(const struct reload *r, const struct config_line *l, uint32_t *id)
{
	char *k = line_key(l);
	bool found = false;

	for (unsigned i = 0; k && i < r->nprobes && !found; i++)
		if (!strcmp(r->probes[i].key, k)) {
			found = true;
			*id = r->probes[i].id;
		}
	free(k);
	return found;
}

/* One request through the socket's code path, as root (config.c's lines). */
static int local(struct daemon *d, const struct ctl_scope *s, const char *cmd, uint32_t id,
		 char *err, size_t errlen)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_unpacked req;
	int rc;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	if (s) {
		ctl_pack_scope(&pk, cmd, s);
	} else {
		ctl_pack_request(&pk, cmd, 1);
		ctl_pack_kv_u64(&pk, "id", id);
	}
	msgpack_unpacked_init(&req);
	rc = msgpack_unpack_next(&req, sb.data, sb.size, NULL) == MSGPACK_UNPACK_SUCCESS
		     ? server_local_request(d, &req.data, err, errlen)
		     : -1;
	msgpack_unpacked_destroy(&req);
	msgpack_sbuffer_destroy(&sb);
	return rc;
}

/* Can every new enable line of cfg stand?  Checked before anything changes. */
static int check_enables(struct daemon *d, const struct config *cfg, char *why, size_t len)
{
	for (unsigned i = 0; i < cfg->nenables; i++) {
		const struct config_line *l = &cfg->enables[i];
		char *argv[CONFIG_MAX_WORDS + 1], err[400], binary[4096] = "";
		struct ctl_scope s;
		uint32_t id;

		if (old_line(d->reload, l, &id))
			continue;
		memcpy(argv, l->argv, sizeof(argv));
		if (ctl_parse_scope(l->argc, argv, true, &s, err, sizeof(err)) ||
		    (s.binary && !realpath(s.binary, binary) &&
		     snprintf(err, sizeof(err), "%s: cannot resolve", s.binary) > 0) ||
		    (!s.pid && enable_check(d, s.pattern, s.filter, binary,
					    !s.mode || strcmp(s.mode, "sled"), s.pending, err,
					    sizeof(err)))) {
			snprintf(why, len, "%s:%u: %s", cfg->path, l->lineno, err);
			return -1;
		}
	}
	return 0;
}

static void swap_outputs(struct daemon *d, const struct config *cfg, struct sled_output **opened)
{
	struct reload *r = d->reload;
	struct sled_output *keep[MAX_OUTPUTS];
	unsigned n = 0;

	/* What the rings hold now was recorded while the old outputs stood: it goes to them. */
	daemon_drain(d);
	for (unsigned i = 0; i < d->noutputs; i++) {
		struct sled_output *o = d->outputs[i];
		bool mine = false, still = false;

		for (unsigned k = 0; k < r->nout; k++)
			mine |= r->out[k] == o;
		for (unsigned k = 0; mine && k < cfg->noutputs; k++)
			still |= !strcmp(cfg->outputs[k], sled_output_spec(o));
		if (!mine || still) {
			keep[n++] = o;
			continue;
		}
		log_info(d, "reload: output %s removed", sled_output_spec(o));
		sled_output_stop(o); /* sends what it queued */
		sled_output_close(o);
	}
	r->nout = 0;
	for (unsigned k = 0; k < cfg->noutputs; k++) {
		int j = find_output(keep, n, cfg->outputs[k]);

		if (j < 0 && opened[k]) {
			keep[n++] = opened[k];
			r->out[r->nout++] = opened[k];
			log_info(d, "reload: output %s added", cfg->outputs[k]);
		} else if (j >= 0) {
			r->out[r->nout++] = keep[j];
		}
	}
	memcpy(d->outputs, keep, n * sizeof(*keep));
	d->noutputs = n;
}

static void swap_enables(struct daemon *d, const struct config *cfg)
{
	struct reload *r = d->reload;
	char err[512];

	for (unsigned i = 0; i < r->nprobes;) {
		if (kept_line(cfg, r->probes[i].key)) {
			i++;
			continue;
		}
		if (local(d, NULL, "disable", r->probes[i].id, err, sizeof(err)))
			log_info(d, "reload: disable of probe %u: %s", r->probes[i].id, err);
		else
			log_info(d, "reload: probe %u disabled", r->probes[i].id);
		free(r->probes[i].key);
		r->probes[i] = r->probes[--r->nprobes];
	}
	for (unsigned i = 0; i < cfg->nenables; i++) {
		const struct config_line *l = &cfg->enables[i];
		char *argv[CONFIG_MAX_WORDS + 1];
		struct ctl_scope s;
		uint32_t id;

		if (old_line(r, l, &id))
			continue;
		memcpy(argv, l->argv, sizeof(argv));
		if (ctl_parse_scope(l->argc, argv, true, &s, err, sizeof(err)) ||
		    local(d, &s, "enable", 0, err, sizeof(err))) {
			/* Checked before: only what changed since (a process gone) lands here. */
			log_info(d, "reload: %s:%u: %s", cfg->path, l->lineno, err);
			continue;
		}
		reload_note_enable(d, l, d->probes.next_id);
		log_info(d, "reload: %s:%u: enabled %s as probe %u", cfg->path, l->lineno, s.pattern,
			 d->probes.next_id);
	}
}

void reload_config(struct daemon *d)
{
	struct reload *r = d->reload;
	struct sled_output *opened[MAX_OUTPUTS] = { 0 };
	struct config cfg;
	char why[1024];
	unsigned others;

	for (unsigned i = 0; i < d->noutputs; i++)
		sled_output_reopen(d->outputs[i]);
	log_info(d, "outputs reopened");
	if (!r)
		return;
	r->reloads++;
	if (config_load(r->path, &cfg, why, sizeof(why))) {
		fail(d, why);
		config_free(&cfg);
		return;
	}
	others = d->noutputs - r->nout;
	if (cfg.noutputs > MAX_OUTPUTS || others + cfg.noutputs > MAX_OUTPUTS) {
		snprintf(why, sizeof(why), "%s: at most %d outputs", r->path, MAX_OUTPUTS);
		fail(d, why);
		config_free(&cfg);
		return;
	}
	if (check_enables(d, &cfg, why, sizeof(why))) {
		fail(d, why);
		config_free(&cfg);
		return;
	}
	for (unsigned k = 0; k < cfg.noutputs; k++) {
		if (find_output(r->out, r->nout, cfg.outputs[k]) >= 0)
			continue;
		opened[k] = sled_output_open(cfg.outputs[k], why, sizeof(why));
		if (!opened[k]) {
			for (unsigned j = 0; j < k; j++)
				if (opened[j])
					sled_output_close(opened[j]);
			fail(d, why);
			config_free(&cfg);
			return;
		}
	}
	swap_outputs(d, &cfg, opened);
	swap_enables(d, &cfg);
	r->error[0] = 0;
	log_info(d, "reloaded %s: %u output(s), %u enable line(s)", r->path, cfg.noutputs,
		 cfg.nenables);
	config_free(&cfg);
}

void reload_pack_status(msgpack_packer *pk, const struct daemon *d)
{
	const struct reload *r = d->reload;

	ctl_pack_kv_u64(pk, "reloads", r ? r->reloads : 0);
	ctl_pack_kv_u64(pk, "reload_failures", r ? r->failures : 0);
	ctl_pack_kv_str(pk, "reload_error", r ? r->error : "");
}

void reload_free(struct daemon *d)
{
	struct reload *r = d->reload;

	if (!r)
		return;
	for (unsigned i = 0; i < r->nprobes; i++)
		free(r->probes[i].key);
	free(r->probes);
	free(r->path);
	free(r);
	d->reload = NULL;
}
