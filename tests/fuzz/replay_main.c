// SPDX-License-Identifier: MIT
/*
 * replay_main: a main() for any libFuzzer target, for builds without libFuzzer.  Feeds
 * each file named on the command line, or every regular file in a named directory, to
 * LLVMFuzzerTestOneInput once, so a seed corpus runs as a plain test with any compiler.
 * Exits non-zero when an input cannot be read or when no input was found at all (a
 * mistyped corpus path must not pass as an empty success).
 */
#define _DEFAULT_SOURCE /* scandir, alphasort under -std=c11 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Optional in a target, as in libFuzzer. */
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static int replay_file(const char *path, size_t *count)
{
	FILE *f = fopen(path, "rb");
	uint8_t *data = NULL;
	long len;

	if (!f || fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0)
		goto err;
	/* Exactly len bytes, so an overread is caught by a sanitizer as it would be in
	 * libFuzzer. */
	data = malloc(len ? (size_t)len : 1);
	if (!data || fread(data, 1, (size_t)len, f) != (size_t)len)
		goto err;
	fclose(f);
	LLVMFuzzerTestOneInput(data, (size_t)len);
	free(data);
	(*count)++;
	return 0;
err:
	fprintf(stderr, "replay: cannot read %s\n", path);
	free(data);
	if (f)
		fclose(f);
	return -1;
}

static int skip_entry(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

/* Directory entries in name order, so a failure reproduces in the same order. */
static int replay_dir(const char *dir, size_t *count)
{
	struct dirent **names;
	int n = scandir(dir, &names, skip_entry, alphasort);
	int ret = 0;

	if (n < 0) {
		fprintf(stderr, "replay: cannot list %s\n", dir);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		char path[4096];
		struct stat st;

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && replay_file(path, count))
			ret = -1;
		free(names[i]);
	}
	free(names);
	return ret;
}

int main(int argc, char **argv)
{
	size_t count = 0;
	int ret = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
		return 2;
	}
	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++) {
		struct stat st;

		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "replay: no such file or directory: %s\n", argv[i]);
			ret = 1;
		} else if (S_ISDIR(st.st_mode)) {
			ret |= replay_dir(argv[i], &count) ? 1 : 0;
		} else {
			ret |= replay_file(argv[i], &count) ? 1 : 0;
		}
	}
	printf("replayed %zu inputs\n", count);
	return ret || count == 0 ? 1 : 0;
}
