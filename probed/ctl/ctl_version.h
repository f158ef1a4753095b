/* SPDX-License-Identifier: MIT */
/*
 * The version of the control protocol (the msgpack maps on probed's socket, ctl.h).
 * Bump it when a request or a reply changes: probed refuses request keys it does not
 * know, and a client of another version is answered with one line naming both versions
 * (ctl.h).  probed --version and probectl --version print it.
 */
#ifndef SLED_CTL_VERSION_H
#define SLED_CTL_VERSION_H

#define SLED_CTL_PROTOCOL_VERSION 2

#endif /* SLED_CTL_VERSION_H */
