/* SPDX-License-Identifier: MIT */
/*
 * The version of the control protocol (the msgpack maps on probed's socket, ctl.h).
 * Bump it when a request or a reply changes incompatibly: a key removed or retyped, a
 * meaning changed.  New optional keys do not need a bump (both sides ignore keys they do
 * not know).  probed --version and probectl --version print it.
 */
#ifndef SLED_CTL_VERSION_H
#define SLED_CTL_VERSION_H

#define SLED_CTL_PROTOCOL_VERSION 1

#endif /* SLED_CTL_VERSION_H */
