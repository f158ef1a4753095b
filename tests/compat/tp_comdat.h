// SPDX-License-Identifier: MIT
// tp_comdat.h - a C++ inline function with a tracepoint, defined in two translation
// units (tp_matrix.cpp with -DTP_MATRIX_COMDAT, and tp_comdat.cpp).  Each emits its own
// copy in a COMDAT group; the linker keeps one, and the notes of the discarded copy must
// go with it: exactly one matrix:comdat site, no note with pc 0.
#ifndef TP_COMDAT_H
#define TP_COMDAT_H
#include <sled/tracepoint.h>

// noinline: one out-of-line copy per translation unit at every optimization level.
__attribute__((noinline)) inline void tpc_shared(int x)
{
	TRACEPOINT(matrix, comdat, x);
}

int tpc_other_unit(int x);
#endif
