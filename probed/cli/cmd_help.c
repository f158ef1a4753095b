/* SPDX-License-Identifier: MIT */
/*
 * probectl help [CMD] and probectl CMD --help: one page per command, with the pattern
 * and filter syntax where a command takes them.  The man page probectl(1) says the same
 * at more length; keep the two in step.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cmd_help.h"

#define PATTERN_HELP                                                                     \
	"PATTERN is provider:name with * and ? wildcards on either side; without ':' it\n"  \
	"matches the provider or the name (web matches web:* and *:web).\n"

#define FILTER_HELP                                                                       \
	"Filter syntax (--filter EXPR), checked against each tracepoint's fields at enable:\n" \
	"  operators    == != < <= > >= && || ! and parentheses\n"                            \
	"  literals     integers (decimal, 0x hex), floats, \"strings\", true, false\n"       \
	"  fields       by name as 'probectl list' shows them, or arg0, arg1, ...\n"          \
	"  prefix       a final * in a string makes == a prefix match: name == \"req-*\"\n"   \
	"  example      --filter 'latency > 2.5 && (status >= 500 || path == \"/api/*\")'\n"

struct cmd_help {
	const char *name;
	const char *synopsis;
	const char *body;
};

static const struct cmd_help pages[] = {
	{ "list", "list [PATTERN] [-b PATH | -p PID] [-v] [--json]",
	  "List tracepoints: of one binary or library (-b), of every ELF object a process\n"
	  "maps (-p), or of every process you may read (neither).  Works without a daemon;\n"
	  "when one answers, a STATE column shows on, off or on N/M.\n"
	  "\n"
	  "  -b, --binary PATH   read this binary's or library's notes\n"
	  "  -p, --pid PID       read the objects mapped by this process\n"
	  "  -v, --verbose       each site's address and arg spec\n"
	  "  -j, --json          an array of objects instead of the table\n"
	  "\n" PATTERN_HELP },
	{ "enable", "enable PATTERN [-p PID | -b PATH] [--mode sled|uprobe|auto] [--filter EXPR]\n"
		    "                [--sample N] [--rate N/s] [--count-only] [--pending]\n"
		    "                [-a|--aggregate EXPR ...] [--max-keys N]",
	  "Attach a probe to the matching tracepoints and print its ID.  With -p it covers one\n"
	  "process; with -b every process of that binary or library; with neither every\n"
	  "process.  Except with -p the probe also covers processes started later.\n"
	  "\n"
	  "  -p, --pid PID       one process\n"
	  "  -b, --binary PATH   every process mapping this binary or library\n"
	  "      --mode MODE     sled (patch the NOP, needs libsled), uprobe (kernel uprobe\n"
	  "                      with eBPF) or auto (default: sled where libsled is linked)\n"
	  "      --filter EXPR   record only the hits where EXPR is true (below)\n"
	  "      --sample N      record one hit in N per thread\n"
	  "      --rate N/s      record at most N events per second per process\n"
	  "      --count-only    count hits, record nothing\n"
	  "      --pending       no scope: the tracepoints come later (a program not started\n"
	  "                      yet); without it a pattern or filter that fits no tracepoint\n"
	  "                      the daemon knows is refused.  With -b the binary's notes\n"
	  "                      decide: a pattern or filter that fits none is refused.\n"
	  "  -a, --aggregate EXPR  aggregate where the hit happens instead of recording\n"
	  "                      (sled mode: in the traced process; uprobe mode: in BPF\n"
	  "                      maps, per attach) (up to 4): count(), sum(F), min(F),\n"
	  "                      max(F), avg(F), stats(F), hist(F), lhist(F, MIN, MAX,\n"
	  "                      STEP), each with an optional 'by (F1[, F2 ...])' of 1 to 4\n"
	  "                      key fields\n"
	  "      --max-keys N    keys kept per aggregation (default 10000; uprobe mode: per\n"
	  "                      map, and in the merged table); more: overflow\n"
	  "\n" PATTERN_HELP "\n" FILTER_HELP },
	{ "disable", "disable ID | PATTERN [-p PID | -b PATH]",
	  "Remove one probe by its ID, or every probe enabled as that pattern and scope.\n"
	  "Answers once the sites are off and drained, with each probe's final figures.\n"
	  "\n"
	  "  -p, --pid PID       the scope the probe was enabled with\n"
	  "  -b, --binary PATH   the scope the probe was enabled with\n" },
	{ "status", "status [--json]",
	  "Per probe: hits, filtered, sampled_out, rate_limited, emitted, exported, dropped\n"
	  "(hits = filtered + sampled_out + rate_limited + emitted; emitted = exported +\n"
	  "dropped once the rings are drained).  Per process: mode, sites, rings, lost events.\n"
	  "Per output: state, sent, acknowledged, queued, dropped and the last error.\n" },
	{ "show", "show ID [--json] [--clear] [--interval SECONDS]",
	  "Print a probe's aggregations, merged over its processes, sorted by value;\n"
	  "histograms with their bucket ranges, counts and @ bars, as bpftrace prints them.\n"
	  "\n"
	  "      --clear         start the aggregations from nothing after this reading\n"
	  "      --interval N    print again every N seconds until interrupted\n"
	  "  -j, --json          {\"id\": N, \"aggregations\": [{\"expr\", \"rows\", \"overflow\"}]}\n" },
	{ "tail", "tail [PATTERN] [--json]",
	  "Print events as the daemon drains them, one per line, until interrupted.\n"
	  "--json prints JSON lines (the event schema of docs/event-schema.md).\n"
	  "\n" PATTERN_HELP },
	{ "top", "top [--interval SECONDS] [--once] [--json]",
	  "Per probe, hits, emitted, dropped and held back (filter, sample, rate) per second\n"
	  "and in total, busiest first, from two status replies SECONDS apart; refreshes in\n"
	  "place until interrupted.\n"
	  "\n"
	  "  -i, --interval S    seconds between samples (default 1; fractions allowed)\n"
	  "      --once          print one screen (after one interval) and exit\n"
	  "  -j, --json          one JSON object per screen: totals and *_per_s rates\n" },
	{ "help", "help [COMMAND]", "Print the commands, or one command's options.\n" },
};

static const struct cmd_help *find_page(const char *name)
{
	for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++)
		if (!strcmp(pages[i].name, name))
			return &pages[i];
	return NULL;
}

int cmd_help_print(const char *name)
{
	const struct cmd_help *h = find_page(name);

	if (!h) {
		p_err("no help for '%s' (commands: list, enable, disable, status, show, tail, top)", name);
		return EXIT_USAGE;
	}
	printf("Usage: probectl %s\n\n%s", h->synopsis, h->body);
	printf("\nGlobal options: -S, --socket PATH (else $PROBED_SOCKET); -j, --json.\n");
	return 0;
}

bool cmd_help_wanted(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			return false;
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return true;
	}
	return false;
}
