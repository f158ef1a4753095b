/* SPDX-License-Identifier: MIT */
/*
 * tp_matrix.c - every tracepoint shape the compile matrix (compile_matrix.sh) checks.
 * Built as C, as C++ (through tp_matrix.cpp), as an executable, and with
 * -DTP_MATRIX_SHARED as a shared library.  The sites it must produce, per object:
 *
 *   matrix:zero      1   no arguments
 *   matrix:twelve    1   12 arguments, the most allowed
 *   matrix:ints      1   int8_t .. uint64_t
 *   matrix:others    1   bool, float, double, char *, const char *, char[], void *,
 *                        struct pointer, enum
 *   matrix:inlined   3   one tracepoint in an always_inline function, three call sites
 *   matrix:guarded   1   inside if (TRACEPOINT_ENABLED(matrix, guarded)): plus 1 guard
 *   matrix:unused    1   in a function nothing calls: 0 once --gc-sections drops it
 *   matrix:comdat    1   (C++, -DTP_MATRIX_COMDAT, linked with tp_comdat.cpp) in an
 *                        inline function emitted by two translation units
 *
 * Values come from argc so that no call has constant arguments the optimizer could
 * specialize a function for (a clone would be one more site); gcc's noipa forbids that.
 */
#include <sled/tracepoint.h>

#include <stdint.h>
#ifndef __cplusplus
#include <stdbool.h>
#endif

#if defined(__clang__)
#define TPM_API __attribute__((visibility("default"), noinline))
#else
#define TPM_API __attribute__((visibility("default"), noipa))
#endif

enum tpm_color { TPM_RED, TPM_GREEN = 7 };
struct tpm_point {
	int x, y;
};

#ifdef __cplusplus
extern "C" {
#endif
TPM_API void tpm_zero(void);
TPM_API void tpm_twelve(long a, int b);
TPM_API void tpm_ints(int8_t i8, int16_t i16, int32_t i32, int64_t i64, uint8_t u8,
		      uint16_t u16, uint32_t u32, uint64_t u64);
TPM_API void tpm_others(bool b, float f, double d, char *s, const char *cs, void *p,
			struct tpm_point *pt, enum tpm_color c);
TPM_API void tpm_three_inlined(int x);
TPM_API int tpm_guarded(int x);
TPM_API void tpm_unused(int x);
#ifdef __cplusplus
}
#endif

static inline __attribute__((always_inline)) void tpm_inlined(int where)
{
	TRACEPOINT(matrix, inlined, where);
}

TPM_API void tpm_zero(void)
{
	TRACEPOINT(matrix, zero);
}

TPM_API void tpm_twelve(long a, int b)
{
	short s = (short)b;
	unsigned char uc = (unsigned char)a;

	TRACEPOINT(matrix, twelve, a, b, s, uc, a + 1, b + 2, TP_FIELD(prod, a * b), a - b,
		   b != 0, (unsigned long long)a << 3, &a, TP_FIELD(last, a + 11));
}

TPM_API void tpm_ints(int8_t i8, int16_t i16, int32_t i32, int64_t i64, uint8_t u8,
		      uint16_t u16, uint32_t u32, uint64_t u64)
{
	TRACEPOINT(matrix, ints, i8, i16, i32, i64, u8, u16, u32, u64);
}

TPM_API void tpm_others(bool b, float f, double d, char *s, const char *cs, void *p,
			struct tpm_point *pt, enum tpm_color c)
{
	char arr[8] = "array";

	arr[0] = s[0];
	TRACEPOINT(matrix, others, b, f, d, s, cs, arr, p, pt, c);
}

TPM_API void tpm_three_inlined(int x)
{
	tpm_inlined(x);
	tpm_inlined(x + 1);
	tpm_inlined(x + 2);
}

TPM_API int tpm_guarded(int x)
{
	if (TRACEPOINT_ENABLED(matrix, guarded)) {
		int costly = x * x + 1; /* stands for an expensive argument */

		TRACEPOINT(matrix, guarded, costly);
		return 1;
	}
	return 0;
}

/* Called by nobody: in the --gc-sections variant the linker drops it, notes and all. */
TPM_API void tpm_unused(int x)
{
	TRACEPOINT(matrix, unused, x);
}

#ifdef TP_MATRIX_COMDAT
#include "tp_comdat.h" /* C++ only: matrix:comdat, one site after COMDAT folding */
#endif

#ifndef TP_MATRIX_SHARED
int main(int argc, char **argv)
{
	char buf[] = "buffer";
	struct tpm_point pt = { argc, -argc };

	(void)argv;
	tpm_zero();
	tpm_twelve(argc, -argc);
	tpm_ints((int8_t)-argc, (int16_t)-argc, -argc, -(int64_t)argc, (uint8_t)argc,
		 (uint16_t)argc, (uint32_t)argc, (uint64_t)argc);
	tpm_others(argc > 1, (float)argc * 0.5f, argc * 0.25, buf, buf + 1, &pt, &pt,
		   (enum tpm_color)(argc & 1));
	tpm_three_inlined(argc);
#ifdef TP_MATRIX_COMDAT
	tpc_shared(argc);
	if (tpc_other_unit(argc) != argc)
		return 1;
#endif
	/* Disabled (nothing patched the guard), so this must return 0. */
	return tpm_guarded(argc);
}
#endif
