/* SPDX-License-Identifier: MIT */
/*
 * libsample_plugin.so - tracepoints in a shared library that is dlopen()ed.
 *
 * A tracepoint's note records a link-time address; a probe tool relocates it by where
 * the library is mapped in each process.  sample_dlopen loads this library at run time,
 * so the sites appear in the process only after dlopen(): a probe attached by library
 * path (usdt:/path/to/libsample_plugin.so:plugin:handle) works for every process that
 * maps it, loaded before or after the probe.
 *
 *   TRACEPOINT(plugin, handle, value, label)  on every call of plugin_handle();
 *                                             label is "<even|odd>:<value>"
 *   TRACEPOINT(plugin, loaded)                once, from the library's constructor
 *
 * The label is formatted into a stack buffer, as a real handler would build a message.
 * Note for uprobe tools: had it been a string literal the program never reads, its
 * page might not be mapped in yet, and a BPF probe (which cannot take a page fault)
 * would read it as an empty string.
 */
#include <sled/tracepoint.h>

#include <stdio.h>

#define PLUGIN_API __attribute__((visibility("default")))

PLUGIN_API int plugin_handle(int value);

__attribute__((constructor)) static void plugin_init(void)
{
	TRACEPOINT(plugin, loaded);
}

/* Handles one value; returns it doubled.  The label is a string argument: probes read
 * it as text ("even:2", "odd:3"). */
PLUGIN_API int plugin_handle(int value)
{
	char label[32];

	snprintf(label, sizeof(label), "%s:%d", value % 2 == 0 ? "even" : "odd", value);
	TRACEPOINT(plugin, handle, value, label);
	return value * 2;
}
