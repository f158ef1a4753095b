/* SPDX-License-Identifier: MIT */
/* /proc/PID/maps line parsing, and reading the maps of this very process. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "proc_maps.h"

TEST(file_mapping_line)
{
	struct sled_map m;

	CHECK_EQ_INT(sled_map_parse_line("55d0c8a00000-55d0c8a02000 r-xp 00001000 fd:01 1234567"
					 "                   /usr/bin/my app\n", &m), 0);
	CHECK_EQ_INT(m.start, 0x55d0c8a00000);
	CHECK_EQ_INT(m.end, 0x55d0c8a02000);
	CHECK_EQ_INT(m.offset, 0x1000);
	CHECK(m.readable && !m.writable && m.executable);
	CHECK_EQ_INT(m.dev_major, 0xfd);
	CHECK_EQ_INT(m.dev_minor, 1);
	CHECK_EQ_INT(m.inode, 1234567);
	CHECK_EQ_STR(m.path, "/usr/bin/my app");
	CHECK(!m.deleted);
	CHECK(sled_map_is_file(&m));
}

TEST(deleted_file_suffix_is_stripped)
{
	struct sled_map m;

	CHECK_EQ_INT(sled_map_parse_line("7f0000000000-7f0000001000 r-xp 00000000 08:02 42 /tmp/x.so (deleted)", &m), 0);
	CHECK_EQ_STR(m.path, "/tmp/x.so");
	CHECK(m.deleted);
}

TEST(anonymous_and_special_mappings_are_not_files)
{
	struct sled_map m;

	CHECK_EQ_INT(sled_map_parse_line("7ffd1000-7ffd3000 rw-p 00000000 00:00 0", &m), 0);
	CHECK_EQ_STR(m.path, "");
	CHECK(!sled_map_is_file(&m));
	CHECK_EQ_INT(sled_map_parse_line("7ffd1000-7ffd3000 r-xp 00000000 00:00 0  [vdso]", &m), 0);
	CHECK(!sled_map_is_file(&m));
}

TEST(malformed_lines_are_rejected)
{
	static const char *const bad[] = {
		"", "garbage", "1000-", "2000-1000 r-xp 0 00:00 0", "1000-2000 r-xp",
		"1000-2000 rx 0 00:00 0", "zz-2000 r-xp 0 00:00 0 /x",
	};
	struct sled_map m;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_EQ_INT(sled_map_parse_line(bad[i], &m), -EINVAL);
}

TEST(own_maps_contain_own_executable)
{
	struct sled_map *maps;
	char err[256], exe[4096];
	size_t n;
	ssize_t l = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	int found = 0;

	CHECK(l > 0);
	exe[l > 0 ? l : 0] = 0;
	CHECK_EQ_INT(sled_maps_read(getpid(), &maps, &n, err, sizeof(err)), 0);
	for (size_t i = 0; i < n; i++)
		found += maps[i].executable && !strcmp(maps[i].path, exe);
	CHECK(found >= 1);
	free(maps);
}

TEST(missing_process_is_esrch)
{
	struct sled_map *maps;
	char err[256];
	size_t n;

	/* pid_max is at most 2^22 on x86-64, so this pid cannot exist. */
	CHECK_EQ_INT(sled_maps_read(0x3ffffff0, &maps, &n, err, sizeof(err)), -ESRCH);
	CHECK(strstr(err, "no such process") != NULL);
}

int main(void)
{
	static const struct test_case tests[] = {
		TEST_ENTRY(file_mapping_line),
		TEST_ENTRY(deleted_file_suffix_is_stripped),
		TEST_ENTRY(anonymous_and_special_mappings_are_not_files),
		TEST_ENTRY(malformed_lines_are_rejected),
		TEST_ENTRY(own_maps_contain_own_executable),
		TEST_ENTRY(missing_process_is_esrch),
	};

	return RUN_TESTS(tests);
}
