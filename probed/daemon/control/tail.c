/* SPDX-License-Identifier: MIT */
/*
 * tail: the tail request, and the events streamed to tail clients as they are drained.
 */
#include <stdio.h>
#include <string.h>

#include "cli/pattern.h"
#include "ctl/ctl.h"
#include "daemon/control/request.h"
#include "export/output.h"

void handle_tail(struct daemon *d, struct client *c, const msgpack_object *req)
{
	(void)d;
	char format[16] = "human", err[256];
	struct reply r;
	int rc;

	/* No pattern: every event the client may see; a bad one is an error, not that. */
	rc = ctl_field_str(req, "pattern", c->tail_pattern, sizeof(c->tail_pattern), err,
			   sizeof(err));
	if (rc <= 0)
		c->tail_pattern[0] = 0;
	if (rc < 0 || sled_pattern_check(c->tail_pattern, err, sizeof(err))) {
		reply_error(c, "%s", err);
		return;
	}
	if (ctl_field_str(req, "format", format, sizeof(format), err, sizeof(err)) < 0) {
		reply_error(c, "%s", err);
		return;
	}
	if (strcmp(format, "json") && strcmp(format, "human")) {
		reply_error(c, "unknown tail format '%s' (json or human)", format);
		return;
	}
	c->tail_json = !strcmp(format, "json");
	reply_begin(&r, 1, true);
	reply_send(c, &r);
	c->tail = true;
}

/* A tail client is told how many events it lost, once it has room again. */
static void tail_notice(struct client *c)
{
	char line[160];
	int n;

	if (c->tail_json)
		n = snprintf(line, sizeof(line), "{\"lost\":%llu,\"reason\":\"this tail client read "
			     "too slowly\"}\n", (unsigned long long)c->tail_dropped);
	else
		n = snprintf(line, sizeof(line), "-- lost %llu events: this tail client read too "
			     "slowly --\n", (unsigned long long)c->tail_dropped);
	if (sled_buf_append(&c->out, line, (size_t)n) == 0)
		c->tail_dropped = 0;
}

void server_tail_event(struct daemon *d, const struct sled_event *ev, uid_t owner)
{
	for (struct client *c = d->clients; c; c = c->next) {
		if (!c->tail || c->dead || (c->uid != 0 && c->uid != owner) ||
		    !sled_pattern_match(c->tail_pattern, ev->provider, ev->name))
			continue;
		/* A reader that falls behind loses events, counted; the daemon never waits. */
		if (c->out.len >= d->limits.client_buffer) {
			if (!c->tail_dropped)
				d->stats.tail_clients_lagging++;
			c->tail_dropped++;
			d->stats.tail_lost++;
			continue;
		}
		if (c->tail_dropped)
			tail_notice(c);
		if (c->tail_json)
			sled_encode_json(&c->out, ev);
		else
			sled_encode_human(&c->out, ev);
	}
}

void server_flush_tails(struct daemon *d)
{
	/* Marks the clients that went away; server_pass closes them. */
	for (struct client *c = d->clients; c; c = c->next) {
		if (!c->tail || c->dead)
			continue;
		if (c->tail_dropped && c->out.len < d->limits.client_buffer)
			tail_notice(c);
		if (c->out.len)
			client_flush(c);
	}
}
