/* SPDX-License-Identifier: MIT */
/* --version of probed and probectl: the release and the two interface versions. */
#ifndef SLED_PROBED_VERSION_H
#define SLED_PROBED_VERSION_H

/* "PROG 0.1.0 (shm layout N, control protocol M)" on stdout. */
void print_version(const char *prog);

#endif /* SLED_PROBED_VERSION_H */
