/* SPDX-License-Identifier: MIT */
/* Render a msgpack object (a daemon reply) through the JSON writer. */
#ifndef SLED_MSGPACK_JSON_H
#define SLED_MSGPACK_JSON_H

#include <msgpack.h>

#include "json_writer.h"

void json_from_msgpack(struct json_writer *w, const msgpack_object *o);

#endif
