/* SPDX-License-Identifier: MIT */
/*
 * log: probed's lines on stderr.  log_info only with -v (attaches, enables, disables);
 * refusals and failures are written whatever -v says, by their callers.
 */
#ifndef SLED_DAEMON_CORE_LOG_H
#define SLED_DAEMON_CORE_LOG_H

struct daemon;

void log_info(struct daemon *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif /* SLED_DAEMON_CORE_LOG_H */
