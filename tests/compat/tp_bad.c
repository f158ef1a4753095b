/* SPDX-License-Identifier: MIT */
/*
 * tp_bad.c - tracepoints that must NOT compile, one per TP_BAD value; built by
 * compile_matrix.sh as C and C++ (tp_bad.cpp).  Without TP_BAD it must compile, which
 * shows that the failures come from the bad tracepoint and nothing else.
 *
 *   TP_BAD=1  13 arguments (at most 12 are allowed)
 *   TP_BAD=2  a provider that is not an identifier (my-prov)
 *   TP_BAD=3  a name that is not an identifier (bad.name)
 *   TP_BAD=4  an argument of unsupported type (a struct by value)
 */
#include <sled/tracepoint.h>

struct tpb_pair {
	int a, b;
};

int tpb_site(int x);
int tpb_site(int x)
{
	struct tpb_pair pair = { x, x };

	(void)pair;
#if !defined(TP_BAD)
	TRACEPOINT(good, site, x, x, x, x, x, x, x, x, x, x, x, x);
	TRACEPOINT(good_prov, good_name, x);
#elif TP_BAD == 1
	TRACEPOINT(bad, too_many, x, x, x, x, x, x, x, x, x, x, x, x, x);
#elif TP_BAD == 2
	TRACEPOINT(my-prov, site, x);
#elif TP_BAD == 3
	TRACEPOINT(bad, bad.name, x);
#elif TP_BAD == 4
	TRACEPOINT(bad, by_value, pair);
#endif
	return x;
}
