// SPDX-License-Identifier: MIT
/* output: specs, files, reopen, and what happens when the destination fails. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <msgpack.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "output.h"

#include <sled/tracepoint.h>

static char dir[] = "/tmp/sled-test-output-XXXXXX";

static const char *path_in_dir(const char *name)
{
	static char p[4][256];
	static int k;

	k = (k + 1) % 4;
	snprintf(p[k], sizeof(p[k]), "%s/%s", dir, name);
	return p[k];
}

static const char *spec_for(const char *kind, const char *name)
{
	static char s[300];

	snprintf(s, sizeof(s), "%s:%s", kind, path_in_dir(name));
	return s;
}

static struct sled_event event(int i)
{
	struct sled_event ev = {
		.provider = "app",
		.name = "tick",
		.ts_ns = 1700000000000000000ull + (uint64_t)i,
		.pid = i,
		.tid = i,
		.nfields = 1,
	};
	ev.fields[0].name = "payload";
	ev.fields[0].type = SLED_T_STRING;
	ev.fields[0].v.str.ptr = "0123456789012345678901234567890123456789";
	ev.fields[0].v.str.len = 40;
	return ev;
}

/* The whole file, NUL-terminated; *len its size.  Caller frees. */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *data = NULL;
	long n;

	*len = 0;
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	data = malloc((size_t)n + 1);
	if (data && fread(data, 1, (size_t)n, f) == (size_t)n) {
		data[n] = '\0';
		*len = (size_t)n;
	}
	fclose(f);
	return data;
}

static int count_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Decodes a msgpack stream: number of complete events, -1 on a parse error or a
 * trailing partial event; checks that pids count up from first_pid. */
static int count_msgpack(const char *data, size_t len, int first_pid)
{
	msgpack_unpacked u;
	size_t off = 0;
	int n = 0;

	msgpack_unpacked_init(&u);
	while (off < len) {
		int ret = msgpack_unpack_next(&u, data, len, &off);

		if (ret != MSGPACK_UNPACK_SUCCESS) {
			n = -1;
			break;
		}
		if (u.data.type != MSGPACK_OBJECT_MAP || u.data.via.map.size < 4 ||
		    u.data.via.map.ptr[3].val.via.i64 < first_pid) {
			n = -1;
			break;
		}
		first_pid = (int)u.data.via.map.ptr[3].val.via.i64 + 1;
		n++;
	}
	msgpack_unpacked_destroy(&u);
	return n;
}

TEST(open_rejects_unknown_kind_naming_the_valid_ones)
{
	char err[512] = "";
	static const char kinds[] = "(expected jsonl:PATH, msgpack:PATH, forward://HOST[:PORT], "
				    "forward+tls://HOST[:PORT], forward+unix:PATH, "
				    "syslog://HOST[:PORT], syslog+udp://HOST[:PORT], "
				    "syslog+tls://HOST[:PORT], "
				    "msgpack+tcp://HOST:PORT, msgpack+unix:PATH, "
				    "jsonl+tcp://HOST:PORT, jsonl+unix:PATH, "
				    "otlp://HOST[:PORT], otlp+tls://HOST[:PORT])";
	char want[600];

	CHECK(sled_output_open("x", err, sizeof(err)) == NULL);
	snprintf(want, sizeof(want), "unknown output 'x' %s", kinds);
	CHECK_EQ_STR(err, want);
	CHECK(sled_output_open("csv:/tmp/a", err, sizeof(err)) == NULL);
	snprintf(want, sizeof(want), "unknown output 'csv:/tmp/a' %s", kinds);
	CHECK_EQ_STR(err, want);
	CHECK(sled_output_open("json:/tmp/a", err, sizeof(err)) == NULL);
	CHECK(sled_output_open("", err, sizeof(err)) == NULL);
	CHECK(sled_output_open(NULL, NULL, 0) == NULL);
}

TEST(spec_hides_secrets)
{
	char err[256] = "";
	struct sled_output *o = sled_output_open(
		"forward://127.0.0.1:1?shared_key=topsecret&username=u&password=p&tag=t", err,
		sizeof(err));

	CHECK(o != NULL);
	if (!o)
		return;
	CHECK_EQ_STR(sled_output_spec(o),
		     "forward://127.0.0.1:1?shared_key=***&username=u&password=***&tag=t");
	sled_output_close(o);
}

TEST(open_rejects_missing_path)
{
	char err[256] = "";

	CHECK(sled_output_open("jsonl:", err, sizeof(err)) == NULL);
	CHECK_EQ_STR(err, "output 'jsonl:': missing destination, expected jsonl:PATH");
}

TEST(open_reports_unopenable_file)
{
	char err[256] = "";

	CHECK(sled_output_open("msgpack:/nonexistent-sled-dir/x", err, sizeof(err)) == NULL);
	CHECK_EQ_STR(err, "cannot open '/nonexistent-sled-dir/x': No such file or directory");
	CHECK_EQ_INT(errno, ENOENT);
}

TEST(file_created_mode_0640_and_spec_kept)
{
	char err[256] = "";
	const char *spec = spec_for("jsonl", "mode.jsonl");
	struct sled_output *o = sled_output_open(spec, err, sizeof(err));
	struct stat st;

	CHECK(o != NULL);
	if (!o)
		return;
	CHECK_EQ_STR(sled_output_spec(o), spec);
	CHECK(stat(path_in_dir("mode.jsonl"), &st) == 0 && (st.st_mode & 0777) == 0640);
	sled_output_close(o);
}

TEST(events_buffered_until_flush)
{
	struct sled_output *o = sled_output_open(spec_for("jsonl", "buffered.jsonl"), NULL, 0);
	struct sled_output_stats st;
	struct sled_event ev = event(0);
	struct stat sb;

	REQUIRE(o != NULL);
	sled_output_write(o, &ev);
	CHECK(stat(path_in_dir("buffered.jsonl"), &sb) == 0 && sb.st_size == 0);
	sled_output_stats(o, &st);
	CHECK_EQ_INT(st.written, 0);
	sled_output_flush(o);
	CHECK(stat(path_in_dir("buffered.jsonl"), &sb) == 0 && sb.st_size > 0);
	sled_output_stats(o, &st);
	CHECK_EQ_INT(st.written, 1);
	CHECK_EQ_INT(st.dropped, 0);
	CHECK_EQ_INT(st.last_error, 0);
	sled_output_close(o);
}

TEST(jsonl_appends_to_existing_file)
{
	const char *path = path_in_dir("append.jsonl");
	FILE *f = fopen(path, "w");
	struct sled_output *o;
	size_t len;
	char *data;

	fputs("old line\n", f);
	fclose(f);
	o = sled_output_open(spec_for("jsonl", "append.jsonl"), NULL, 0);
	REQUIRE(o != NULL);
	for (int i = 0; i < 3; i++) {
		struct sled_event ev = event(i);

		sled_output_write(o, &ev);
	}
	sled_output_close(o); /* flushes */
	data = slurp(path, &len);
	CHECK(data && strncmp(data, "old line\n{\"provider\":\"app\"", 26) == 0);
	CHECK(data && count_lines(data) == 4);
	free(data);
}

TEST(a_full_chunk_is_written_without_flush)
{
	struct sled_output *o = sled_output_open(spec_for("msgpack", "chunk.mp"), NULL, 0);
	struct sled_output_stats st;
	int n = 10000; /* about 1 MB */
	size_t len;
	char *data;

	REQUIRE(o != NULL);
	for (int i = 0; i < n; i++) {
		struct sled_event ev = event(i);

		sled_output_write(o, &ev);
	}
	sled_output_stats(o, &st);
	CHECK(st.written > 0 && st.written < (uint64_t)n);
	sled_output_close(o);
	data = slurp(path_in_dir("chunk.mp"), &len);
	CHECK(data && count_msgpack(data, len, 0) == n);
	free(data);
}

TEST(reopen_after_rename_writes_a_new_file)
{
	const char *path = path_in_dir("rotate.jsonl");
	char rotated[300];
	struct sled_output *o = sled_output_open(spec_for("jsonl", "rotate.jsonl"), NULL, 0);
	struct sled_event e0 = event(0), e1 = event(1), e2 = event(2);
	size_t len;
	char *data;

	REQUIRE(o != NULL);
	snprintf(rotated, sizeof(rotated), "%s.1", path);
	sled_output_write(o, &e0);
	sled_output_flush(o);
	CHECK(rename(path, rotated) == 0);
	sled_output_write(o, &e1); /* buffered: goes to the old file at reopen */
	CHECK_EQ_INT(sled_output_reopen(o), 0);
	sled_output_write(o, &e2);
	sled_output_close(o);
	data = slurp(rotated, &len);
	CHECK(data && count_lines(data) == 2);
	free(data);
	data = slurp(path, &len);
	CHECK(data && count_lines(data) == 1 && strstr(data, "\"pid\":2,") != NULL);
	free(data);
}

TEST(reopen_of_stdout_is_a_no_op)
{
	struct sled_output *o = sled_output_open("jsonl:-", NULL, 0);

	REQUIRE(o != NULL);
	CHECK_EQ_INT(sled_output_reopen(o), 0);
	sled_output_close(o);
}

TEST(fifo_without_reader_fails_to_open_instead_of_blocking)
{
	const char *path = path_in_dir("noreader.fifo");
	char err[256] = "";

	CHECK(mkfifo(path, 0600) == 0);
	CHECK(sled_output_open(spec_for("msgpack", "noreader.fifo"), err, sizeof(err)) == NULL);
	CHECK(strstr(err, "FIFO without a reader") != NULL);
}

TEST(reader_gone_counts_dropped_without_sigpipe)
{
	const char *path = path_in_dir("gone.fifo");
	struct sled_output_stats st;
	struct sled_output *o;
	int rd;

	CHECK(mkfifo(path, 0600) == 0);
	rd = open(path, O_RDONLY | O_NONBLOCK);
	o = sled_output_open(spec_for("msgpack", "gone.fifo"), NULL, 0);
	close(rd);
	REQUIRE(o != NULL);
	for (int i = 0; i < 10; i++) {
		struct sled_event ev = event(i);

		sled_output_write(o, &ev);
	}
	sled_output_flush(o); /* SIGPIPE's default action would end the test here */
	sled_output_stats(o, &st);
	CHECK_EQ_INT(st.written, 0);
	CHECK_EQ_INT(st.dropped, 10);
	CHECK_EQ_INT(st.last_error, EPIPE);
	sled_output_close(o);
}

TEST(full_pipe_bounded_wait_exact_counts_and_decodable_stream)
{
	const char *path = path_in_dir("full.fifo");
	struct sled_output_stats st;
	struct sled_output *o;
	int n = 500, rd; /* ~40 KB of events into a 4 KiB pipe */
	char *got = malloc(1 << 20);
	size_t got_len = 0;
	double t0, took;
	ssize_t r;

	CHECK(mkfifo(path, 0600) == 0);
	rd = open(path, O_RDONLY | O_NONBLOCK);
	CHECK(rd >= 0 && got);
	if (rd < 0 || !got) {
		free(got);
		return;
	}
	fcntl(rd, F_SETPIPE_SZ, 4096);
	o = sled_output_open(spec_for("msgpack", "full.fifo"), NULL, 0);
	if (!o) {
		close(rd);
		free(got);
		REQUIRE(o != NULL);
	}
	for (int i = 0; i < n; i++) {
		struct sled_event ev = event(i);

		sled_output_write(o, &ev);
	}
	t0 = now_s();
	sled_output_flush(o);
	took = now_s() - t0;
	CHECK(took >= 0.04 && took < 2.0); /* waited about SLED_OUTPUT_WAIT_MS, then gave up */
	sled_output_stats(o, &st);
	CHECK_EQ_INT(st.last_error, EAGAIN);
	CHECK(st.written > 0 && st.dropped > 0);
	/* At most one event, the one the pipe took part of, is still queued. */
	CHECK(st.written + st.dropped == (uint64_t)n || st.written + st.dropped == (uint64_t)n - 1);
	uint64_t queued = (uint64_t)n - st.written - st.dropped;

	/* Congested: the next flush does not wait again. */
	t0 = now_s();
	sled_output_flush(o);
	CHECK(now_s() - t0 < 0.04);

	while ((r = read(rd, got + got_len, (1 << 20) - got_len)) > 0)
		got_len += (size_t)r;
	sled_output_flush(o); /* the queued rest of a cut event completes the stream */
	while ((r = read(rd, got + got_len, (1 << 20) - got_len)) > 0)
		got_len += (size_t)r;
	sled_output_stats(o, &st);
	CHECK_EQ_INT(st.written + st.dropped, n);
	CHECK_EQ_INT(count_msgpack(got, got_len, 0), (int)st.written);
	CHECK(queued <= 1);
	sled_output_close(o);
	close(rd);
	free(got);
}

static void cleanup(void)
{
	static const char *names[] = { "mode.jsonl", "buffered.jsonl", "append.jsonl",
				       "chunk.mp", "rotate.jsonl", "rotate.jsonl.1",
				       "noreader.fifo", "gone.fifo", "full.fifo" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		unlink(path_in_dir(names[i]));
	rmdir(dir);
}

static const struct test_case tests[] = {
	TEST_ENTRY(open_rejects_unknown_kind_naming_the_valid_ones),
	TEST_ENTRY(open_rejects_missing_path),
	TEST_ENTRY(spec_hides_secrets),
	TEST_ENTRY(open_reports_unopenable_file),
	TEST_ENTRY(file_created_mode_0640_and_spec_kept),
	TEST_ENTRY(events_buffered_until_flush),
	TEST_ENTRY(jsonl_appends_to_existing_file),
	TEST_ENTRY(a_full_chunk_is_written_without_flush),
	TEST_ENTRY(reopen_after_rename_writes_a_new_file),
	TEST_ENTRY(reopen_of_stdout_is_a_no_op),
	TEST_ENTRY(fifo_without_reader_fails_to_open_instead_of_blocking),
	TEST_ENTRY(reader_gone_counts_dropped_without_sigpipe),
	TEST_ENTRY(full_pipe_bounded_wait_exact_counts_and_decodable_stream),
};

int main(void)
{
	int ret;

	umask(022);
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	ret = RUN_TESTS(tests);
	cleanup();
	return ret;
}
