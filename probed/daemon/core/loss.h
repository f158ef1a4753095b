/* SPDX-License-Identifier: MIT */
/*
 * loss: nothing is lost silently downstream either.  Once a second, for each probe whose
 * drop count moved, an event sled:lost goes through every output and to tail clients
 * (fields probe, pattern, provider, name, count, interval_ns), and the probe's rate of
 * drops is kept for status.
 */
#ifndef SLED_LOSS_H
#define SLED_LOSS_H

#include <stdint.h>

struct daemon;
struct probe;

/* Once a second: every standing probe's drops since the last look. */
void loss_tick(struct daemon *d, uint64_t now_ns);
/* A probe going away (disable): its last drops, after its final drain. */
void loss_final(struct daemon *d, struct probe *pb);

#endif /* SLED_LOSS_H */
