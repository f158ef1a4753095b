/* SPDX-License-Identifier: MIT */
/*
 * sample_dlopen - a program whose tracepoints live in a library it dlopen()s.
 *
 * It is not linked against libsample_plugin.so: it loads it at run time with dlopen()
 * and calls plugin_handle(1), plugin_handle(2), ... with a pause between calls, so
 * that a running process has the library mapped and its plugin:handle tracepoint can
 * be probed by PID (bpftrace -p, probectl enable -p) as well as by library path.
 *
 * Usage: sample_dlopen [-v] [-l PLUGIN_PATH] [-d DELAY_MS] [N [SLEEP_MS]]
 *   -l PATH   the plugin to load (default: libsample_plugin.so next to this program)
 *   -d MS     wait this long before dlopen() (a probe standing before the library
 *             exists must catch it when it appears)
 *   N         calls to make (default 10; 0 = run until killed)
 *   SLEEP_MS  pause between calls in milliseconds (default 200)
 *   -v        print each call's value and result
 */
#define _POSIX_C_SOURCE 200809L

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef int (*plugin_handle_fn)(int);

static void sleep_ms(unsigned long ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* The default plugin path: "libsample_plugin.so" in the directory of this executable. */
static int default_plugin_path(char *buf, size_t size)
{
	char exe[PATH_MAX];
	ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	if (len < 0)
		return -1;
	exe[len] = '\0';
	slash = strrchr(exe, '/');
	if (!slash)
		return -1;
	*slash = '\0';
	if ((size_t)snprintf(buf, size, "%s/libsample_plugin.so", exe) >= size)
		return -1;
	return 0;
}

static int parse_ulong(const char *s, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 10);
	return errno || end == s || *end || s[0] == '-' ? -1 : 0;
}

int main(int argc, char **argv)
{
	char path[PATH_MAX];
	const char *plugin = NULL;
	unsigned long n = 10, sleep_msec = 200, delay_msec = 0, pos[2], i;
	int npos = 0, verbose = 0, a;
	plugin_handle_fn handle;
	void *lib, *sym;

	for (a = 1; a < argc; a++) {
		if (strcmp(argv[a], "-v") == 0) {
			verbose = 1;
		} else if (strcmp(argv[a], "-l") == 0 && a + 1 < argc) {
			plugin = argv[++a];
		} else if (strcmp(argv[a], "-d") == 0 && a + 1 < argc &&
			   parse_ulong(argv[a + 1], &delay_msec) == 0) {
			a++;
		} else if (npos < 2 && parse_ulong(argv[a], &pos[npos]) == 0) {
			npos++;
		} else {
			fprintf(stderr, "usage: %s [-v] [-l PLUGIN_PATH] [-d DELAY_MS] [N [SLEEP_MS]]\n",
				argv[0]);
			return 2;
		}
	}
	if (npos > 0)
		n = pos[0];
	if (npos > 1)
		sleep_msec = pos[1];
	if (!plugin) {
		if (default_plugin_path(path, sizeof(path)) < 0) {
			fprintf(stderr, "%s: cannot locate libsample_plugin.so; use -l\n", argv[0]);
			return 1;
		}
		plugin = path;
	}

	if (delay_msec)
		sleep_ms(delay_msec);
	lib = dlopen(plugin, RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		fprintf(stderr, "%s: dlopen: %s\n", argv[0], dlerror());
		return 1;
	}
	sym = dlsym(lib, "plugin_handle");
	if (!sym) {
		fprintf(stderr, "%s: dlsym: %s\n", argv[0], dlerror());
		return 1;
	}
	/* POSIX guarantees a data pointer from dlsym converts to a function pointer;
	 * ISO C does not, hence the memcpy to stay -pedantic clean. */
	memcpy(&handle, &sym, sizeof(handle));

	if (verbose) {
		printf("loaded %s\n", plugin);
		fflush(stdout);
	}
	for (i = 1; n == 0 || i <= n; i++) {
		int result = handle((int)i);

		if (verbose) {
			printf("handle value=%lu result=%d\n", i, result);
			fflush(stdout);
		}
		if ((n == 0 || i < n) && sleep_msec)
			sleep_ms(sleep_msec);
	}
	dlclose(lib);
	return 0;
}
