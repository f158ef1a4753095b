/* SPDX-License-Identifier: MIT */
/*
 * scope: the "pattern", "pid" and "binary" of enable and disable requests.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "cli/pattern.h"
#include "ctl/ctl.h"
#include "daemon/control/request.h"

int parse_scope(struct client *c, const msgpack_object *req, struct scope_args *a)
{
	char err[256], raw[CTL_PATH_MAX];
	int rc;

	memset(a, 0, sizeof(*a));
	/* Every field is checked: a wrong type or a string too long is an error, never the
	 * field's absence (which would mean "every process" or "every tracepoint"). */
	rc = ctl_field_str(req, "pattern", a->pattern, sizeof(a->pattern), err, sizeof(err));
	if (rc < 0) {
		reply_error(c, "%s", err);
		return -1;
	}
	if (rc == 0) {
		reply_error(c, "request without \"pattern\"");
		return -1;
	}
	a->has_pattern = true;
	if (sled_pattern_check(a->pattern, err, sizeof(err))) {
		reply_error(c, "%s", err);
		return -1;
	}
	if (ctl_field_i64(req, "pid", 1, INT_MAX, &a->pid, err, sizeof(err)) < 0) {
		reply_error(c, "%s", err);
		return -1;
	}
	rc = ctl_field_str(req, "binary", raw, sizeof(raw), err, sizeof(err));
	if (rc < 0) {
		reply_error(c, "%s", err);
		return -1;
	}
	if (rc == 1 && !raw[0]) {
		reply_error(c, "\"binary\" is empty");
		return -1;
	}
	if (rc == 1 && a->pid) {
		reply_error(c, "\"pid\" and \"binary\" are mutually exclusive");
		return -1;
	}
	if (rc == 1 && !realpath(raw, a->binary)) {
		reply_error(c, "%s: %s", raw, strerror(errno));
		return -1;
	}
	return 0;
}
