/* SPDX-License-Identifier: MIT */
/*
 * otlp_proto: OpenTelemetry logs (OTLP) messages for the otlp output (output_otlp.c):
 * the protobuf wire format written by hand (otlp_proto.c) and the OTLP JSON encoding
 * (otlp_json.c).  Private to probed/export.
 *
 * Field numbers are those of opentelemetry-proto (collector/logs/v1/logs_service.proto,
 * logs/v1/logs.proto, common/v1/common.proto, resource/v1/resource.proto):
 *
 *   ExportLogsServiceRequest  resource_logs 1
 *   ResourceLogs              resource 1, scope_logs 2
 *   Resource                  attributes 1
 *   ScopeLogs                 scope 1, log_records 2
 *   InstrumentationScope      name 1
 *   LogRecord                 time_unix_nano 1 (fixed64), body 5, attributes 6,
 *                             observed_time_unix_nano 11 (fixed64)
 *   KeyValue                  key 1, value 2
 *   AnyValue                  string_value 1, bool_value 2, int_value 3, double_value 4,
 *                             array_value 5
 *   ArrayValue                values 1
 *
 * One event is one LogRecord: time_unix_nano the event's time, observed_time_unix_nano
 * when probed encoded it, no severity (SEVERITY_NUMBER_UNSPECIFIED), body the string
 * "provider:name", attributes: each argument field by its name (integers as int_value,
 * unsigned ones above INT64_MAX as their decimal string_value, pointers as int_value,
 * float and double as double_value, bool as bool_value, strings as valid UTF-8
 * string_value, a NULL char * as an empty AnyValue), then sled.provider, sled.name,
 * thread.id, sled.mode (when the event has one) and sled.truncated (an array of the
 * names of truncated string fields, only when there are some).
 *
 * Every function appends to b and returns 0 or -ENOMEM (b may then hold a partial
 * message: the caller resets b->len).
 */
#ifndef SLED_EXPORT_OTLP_PROTO_H
#define SLED_EXPORT_OTLP_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "event.h"
#include "output.h"

/* Protobuf wire types. */
#define SLED_PB_VARINT 0
#define SLED_PB_I64    1
#define SLED_PB_LEN    2

int sled_pb_varint(struct sled_buf *b, uint64_t v);
int sled_pb_tag(struct sled_buf *b, unsigned field, unsigned wire);
int sled_pb_uint(struct sled_buf *b, unsigned field, uint64_t v);  /* varint field */
int sled_pb_fixed64(struct sled_buf *b, unsigned field, uint64_t v);
int sled_pb_double(struct sled_buf *b, unsigned field, double v);
int sled_pb_bytes(struct sled_buf *b, unsigned field, const void *p, size_t len);
/* A string field of valid UTF-8: ill-formed bytes become U+FFFD (utf8.h). */
int sled_pb_string(struct sled_buf *b, unsigned field, const char *s, size_t len);
/* A nested message: its tag and room for its length; *start marks where its content
 * begins.  sled_pb_close writes the length (shortest varint) once the content is in. */
int sled_pb_open(struct sled_buf *b, unsigned field, size_t *start);
int sled_pb_close(struct sled_buf *b, size_t start);

/* The resource of a group of events: one traced process. */
struct sled_otlp_resource {
	const char *service;   /* service.name */
	const char *exe_name;  /* process.executable.name; "" when unknown: left out */
	int64_t pid;           /* process.pid */
	const char *host;      /* host.name */
};

/* Protobuf.  The content of one LogRecord message (without its tag and length). */
int sled_otlp_log_record(struct sled_buf *b, const struct sled_event *ev,
			 uint64_t observed_ns);
/* Open ResourceLogs (field 1 of the request) with its Resource and the ScopeLogs of
 * scope "sled"; then add each record's content (sled_otlp_log_record) with
 * sled_otlp_add_record, and close both with sled_otlp_resource_end. */
int sled_otlp_resource_begin(struct sled_buf *b, const struct sled_otlp_resource *r,
			     size_t marks[2]);
int sled_otlp_add_record(struct sled_buf *b, const void *rec, size_t len);
int sled_otlp_resource_end(struct sled_buf *b, const size_t marks[2]);

/* JSON (otlp_json.c), the same messages with OTLP's JSON mapping: lowerCamelCase keys,
 * 64-bit integers as decimal strings, NaN and infinities as "NaN", "Infinity",
 * "-Infinity".  A LogRecord object; then the request is
 * sled_otlp_json_begin, per resource sled_otlp_json_resource_begin, records separated
 * by ",", sled_otlp_json_resource_end, and sled_otlp_json_end. */
int sled_otlp_json_log_record(struct sled_buf *b, const struct sled_event *ev,
			      uint64_t observed_ns);
int sled_otlp_json_begin(struct sled_buf *b);
int sled_otlp_json_resource_begin(struct sled_buf *b, const struct sled_otlp_resource *r,
				  bool first);
int sled_otlp_json_resource_end(struct sled_buf *b);
int sled_otlp_json_end(struct sled_buf *b);

#endif /* SLED_EXPORT_OTLP_PROTO_H */
