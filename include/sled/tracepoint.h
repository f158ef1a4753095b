/* SPDX-License-Identifier: MIT */
/*
 * sled/tracepoint.h - static tracepoints that cost one NOP until a probe is attached.
 *
 *   TRACEPOINT(provider, name, args...)      0 to 12 scalar arguments
 *   TP_FIELD(field_name, expr)               name an argument explicitly
 *   if (TRACEPOINT_ENABLED(provider, name))  zero-cost guard for expensive arguments
 *   if (TRACEPOINT_ENABLED_SEM(provider, name))  the same, also seen by uprobe-based
 *                                            tools (a stapsdt semaphore: load + branch)
 *
 * Every TRACEPOINT expands to one asm statement that emits, at the call site,
 *
 *     90                  1-byte NOP: the .note.stapsdt pc; standard uprobes land here
 *     0f 1f 44 00 00      5-byte NOP: the sled that libsled patches into a jmp
 *
 * plus a standard .note.stapsdt entry (so bpftrace, perf, gdb and libbpf see it) and a
 * .note.sled entry with what stapsdt lacks: each argument's type and its field name.
 * Arguments are asm operands ("nor"), exactly as in systemtap's <sys/sdt.h>, so the
 * optimizer leaves them where they already are.  Disabled, nothing but the NOPs runs.
 *
 * The .note.sled layout (owner "sled", little-endian) is documented in README.md.
 * Both note sections carry SHF_LINK_ORDER to the site's code ("o" flag) and join its
 * section group ("?" flag), so --gc-sections or COMDAT folding that drops the code drops
 * the note with it instead of leaving an entry with pc 0.
 */
#ifndef SLED_TRACEPOINT_H
#define SLED_TRACEPOINT_H

#if !defined(__x86_64__)
#error "sled/tracepoint.h: only x86-64 is supported"
#endif

#define SLED_TRACEPOINT_VERSION 1

/* .note.sled entry types */
#define SLED_NOTE_SITE  1 /* a TRACEPOINT: pc is the 1-byte NOP, the sled is at pc+1 */
#define SLED_NOTE_GUARD 2 /* a TRACEPOINT_ENABLED: pc is the 5-byte NOP, target the jmp target */

/* Field type codes, one byte each in .note.sled (stable ABI: append only). */
#define SLED_T_UNSUPPORTED 0
#define SLED_T_I8      1
#define SLED_T_I16     2
#define SLED_T_I32     3
#define SLED_T_I64     4
#define SLED_T_U8      5
#define SLED_T_U16     6
#define SLED_T_U32     7
#define SLED_T_U64     8
#define SLED_T_BOOL    9
#define SLED_T_FLOAT   10
#define SLED_T_DOUBLE  11
#define SLED_T_STRING  12 /* char * / const char * / char[]: captured as text */
#define SLED_T_POINTER 13

/* Name an argument: TRACEPOINT(http, req, TP_FIELD(latency_ns, t1 - t0)).  The value is
 * the expression; the name is read back from the tracepoint's source text. */
#define TP_FIELD(field_name, expr) (expr)

#define SLED__INT_CODE(size, is_signed)                                                 \
	((is_signed) ? ((size) == 1 ? SLED_T_I8 : (size) == 2 ? SLED_T_I16                 \
			: (size) == 4 ? SLED_T_I32 : (size) == 8 ? SLED_T_I64 : SLED_T_UNSUPPORTED) \
		     : ((size) == 1 ? SLED_T_U8 : (size) == 2 ? SLED_T_U16                 \
			: (size) == 4 ? SLED_T_U32 : (size) == 8 ? SLED_T_U64 : SLED_T_UNSUPPORTED))

/*
 * Type classification at compile time.  SLED__VAL(x) is the operand actually handed to
 * the asm (arrays decayed; in C, small integers promoted), SLED__TYPE(x) the declared
 * type's code, SLED__SIGNED(x) whether the operand is a signed integer.
 */
#ifdef __cplusplus
#include <type_traits>
namespace sled_detail {
template <typename T, bool E = std::is_enum<T>::value> struct integer_of { typedef T type; };
template <typename T> struct integer_of<T, true> {
	typedef typename std::underlying_type<T>::type type;
};
template <typename X> struct type_of {
	typedef typename std::decay<X>::type D;
	typedef typename std::remove_cv<typename std::remove_pointer<D>::type>::type P;
	typedef typename integer_of<D>::type I;
	static constexpr bool is_int = std::is_integral<I>::value && !std::is_same<I, bool>::value;
	static constexpr bool is_signed = is_int && std::is_signed<I>::value;
	static constexpr int code =
		std::is_same<D, bool>::value ? SLED_T_BOOL
		: std::is_same<D, float>::value ? SLED_T_FLOAT
		: std::is_same<D, double>::value ? SLED_T_DOUBLE
		: std::is_pointer<D>::value ? (std::is_same<P, char>::value ? SLED_T_STRING : SLED_T_POINTER)
		: is_int ? SLED__INT_CODE(sizeof(D), is_signed)
		: SLED_T_UNSUPPORTED;
};
/* Floats travel as their bit pattern in an integer operand: a floating constant would
 * otherwise become a constant-pool operand ".LC0(%rip)" that no stapsdt consumer can read. */
template <typename T> struct operand_of { typedef T type; };
template <> struct operand_of<float> { typedef unsigned int type; };
template <> struct operand_of<double> { typedef unsigned long long type; };
/* The string a string argument points to (for the fence below); nullptr otherwise. */
template <typename T> inline const char *str_ptr(T) { return nullptr; }
inline const char *str_ptr(char *v) { return v; }
inline const char *str_ptr(const char *v) { return v; }
template <typename T>
__attribute__((always_inline)) inline typename operand_of<T>::type operand(T v)
{
	typename operand_of<T>::type u;
	__builtin_memcpy(&u, &v, sizeof(u));
	return u;
}
} /* namespace sled_detail */
#define SLED__TYPE(x)   (::sled_detail::type_of<decltype(x)>::code)
#define SLED__VAL(x)    (::sled_detail::operand(x))
#define SLED__SIGNED(x) (::sled_detail::type_of<decltype(x)>::is_signed)
#define SLED__CHECK(x)                                                                  \
	static_assert(SLED__TYPE(x) != SLED_T_UNSUPPORTED,                               \
		      "TRACEPOINT argument must be an integer, bool, float, double or pointer"); \
	SLED__STR_FENCE(SLED__TYPE(x) == SLED_T_STRING, ::sled_detail::str_ptr(x))
#else
/* gcc's type classes (__builtin_classify_type): 1 integer, 2 char, 3 enum, 4 bool, 5 pointer */
#define SLED__CLASS(x)  __builtin_classify_type(x)
#define SLED__IS_INT(x) (((SLED__CLASS(x) + 3) & -4) == 4)
#define SLED__IS(x, T)  __builtin_types_compatible_p(__typeof__(x), T)
#define SLED__ITYPE(x)  __typeof__(__builtin_choose_expr(SLED__IS_INT(x), (x), 0U))
#define SLED__DECAY(x)  (1 ? (x) : (x)) /* decays arrays without arithmetic on void * */
/* Floats travel as their bit pattern in an integer operand: a floating constant would
 * otherwise become a constant-pool operand ".LC0(%rip)" that no stapsdt consumer can read.
 * The union is valid for every scalar type, so the branch not chosen still compiles. */
#define SLED__PUN(x, U) ((union { __typeof__(SLED__DECAY(x)) v; U u; }){ SLED__DECAY(x) }).u
#define SLED__VAL(x)                                                                    \
	__builtin_choose_expr(SLED__IS(x, double), SLED__PUN(x, unsigned long long),     \
	__builtin_choose_expr(SLED__IS(x, float), SLED__PUN(x, unsigned int), SLED__DECAY(x)))
#define SLED__SIGNED(x) (SLED__IS_INT(SLED__DECAY(x)) && (SLED__ITYPE(SLED__DECAY(x)))-1 < (SLED__ITYPE(SLED__DECAY(x)))1)
#define SLED__IS_STR(x)                                                                 \
	(SLED__IS(x, char *) || SLED__IS(x, const char *) || SLED__IS(x, char[]) ||     \
	 SLED__IS(x, const char[]))
#define SLED__TYPE(x)                                                                   \
	(SLED__IS(x, _Bool) ? SLED_T_BOOL                                              \
	 : SLED__IS(x, float) ? SLED_T_FLOAT                                           \
	 : SLED__IS(x, double) ? SLED_T_DOUBLE                                         \
	 : SLED__IS_STR(x) ? SLED_T_STRING                                             \
	 : SLED__CLASS(x) == 5 ? SLED_T_POINTER                                        \
	 : SLED__IS_INT(x) ? SLED__INT_CODE(sizeof(x), (SLED__ITYPE(x))-1 < (SLED__ITYPE(x))1) \
	 : SLED_T_UNSUPPORTED)
/* A negative array size is the portable (C99) compile-time assertion. */
#define SLED__CHECK(x)                                                                  \
	(void)sizeof(char[SLED__TYPE(x) == SLED_T_UNSUPPORTED ? -1 : 1]);                  \
	SLED__STR_FENCE(SLED__IS_STR(x),                                                 \
			(const char *)__builtin_choose_expr(SLED__IS_STR(x), SLED__DECAY(x), \
							    (const char *)0))
#endif

/*
 * A probe copies the text a string argument points to, but the site's asm receives only
 * the pointer: without this fence the compiler may sink stores that fill the buffer below
 * the site.  An empty asm that reads the whole object through the pointer keeps them
 * above; it emits no instruction.  "m" of an array of unknown size is gcc's documented
 * way to say "reads an unknown amount of memory at ptr"; clang gets a large object.  Only string arguments get it
 * (a constant condition, folded away for the others).
 */
#ifdef __clang__ /* clang rejects the incomplete array; a large object says the same */
struct sled__str_object {
	char text[4096];
};
#define SLED__STR_OBJECT(ptr) (*(const struct sled__str_object *)(ptr))
#else
#define SLED__STR_OBJECT(ptr) (*(const char(*)[])(ptr))
#endif
#define SLED__STR_FENCE(is_string, ptr)                                                 \
	if (is_string)                                                                  \
		__asm__ __volatile__("" : : "m"(SLED__STR_OBJECT(ptr)));

/* The asm pieces.  Operand names: s<i> the stapsdt size, signed for signed integers
 * (printed negated by %n, as <sys/sdt.h> does), a<i> the argument itself. */
#define SLED__STR(x)  #x
#define SLED__XSTR(x) SLED__STR(x)

/* "nor" as in <sys/sdt.h>: the argument stays wherever it is.  clang resolves "nor" to
 * memory and would store every argument at every site, disabled or not; "nr" keeps its
 * sites as bare as gcc's. */
#ifdef __clang__
#define SLED__CONSTRAINT "nr"
#else
#define SLED__CONSTRAINT "nor"
#endif
#define SLED__OP(i, x)                                                                  \
	[s##i] "n"(SLED__SIGNED(x) ? (int)sizeof(SLED__VAL(x)) : -(int)sizeof(SLED__VAL(x))), \
	[a##i] SLED__CONSTRAINT(SLED__VAL(x))
#define SLED__SPEC(i) "%n[s" #i "]@%[a" #i "]"

/* One note header: 4-byte aligned namesz, descsz, type, owner name, 4-byte aligned desc. */
#define SLED__NOTE_BEGIN(section, owner, type)                                          \
	".pushsection " section ",\"?o\",@note,.Lsled_pc%=\n"                               \
	"  .balign 4\n"                                                                     \
	"  .4byte 2f-1f, 4f-3f, " SLED__XSTR(type) "\n"                                     \
	"1: .asciz \"" owner "\"\n"                                                         \
	"2: .balign 4\n"                                                                    \
	"3:\n"
#define SLED__NOTE_END "4: .balign 4\n.popsection\n"

/* _.stapsdt.base: the anchor consumers use to detect prelink; "R" (SHF_GNU_RETAIN) keeps
 * it through --gc-sections, which would otherwise leave the notes' base dangling. */
#define SLED__BASE_ASM                                                                  \
	".ifndef _.stapsdt.base\n"                                                          \
	".pushsection .stapsdt.base,\"aGR\",@progbits,.stapsdt.base,comdat\n"               \
	".weak _.stapsdt.base\n"                                                            \
	".hidden _.stapsdt.base\n"                                                          \
	"_.stapsdt.base: .space 1\n"                                                        \
	".size _.stapsdt.base, 1\n"                                                         \
	".popsection\n"                                                                     \
	".endif\n"

/* The stapsdt semaphore of provider:name, sled_sem_<provider>__<name>: defined (in
 * .probes) only by a TRACEPOINT_ENABLED_SEM guard somewhere in the same binary.  Each
 * tracepoint's note refers to it weakly and hidden: without such a guard it resolves to
 * 0 at link time (the note says "no semaphore", as before), and each executable or shared
 * library keeps its own, as with <sys/sdt.h>. */
#define SLED__SEM(provider, name) "sled_sem_" #provider "__" #name
#define SLED__SEM_REF_ASM(provider, name)                                              \
	".weak " SLED__SEM(provider, name) "\n"                                             \
	".hidden " SLED__SEM(provider, name) "\n"

/* libsled patches a sled by first writing a 2-byte self-jump over its first two bytes,
 * which is one atomic store only when the two bytes share a cache line: the sled (and a
 * guard's NOP) therefore starts at an even address, at the cost of one or two padding
 * NOPs before the site, which tools never see (the notes point past them). */
#define SLED__SITE_ASM(provider, name, specs)                                          \
	"  .balign 2, 0x90\n"                                                               \
	"  .byte 0x90\n"                                                                    \
	".Lsled_pc%=: .byte 0x90\n"                                                         \
	"  .byte 0x0f, 0x1f, 0x44, 0x00, 0x00\n"                                            \
	SLED__SEM_REF_ASM(provider, name)                                                   \
	SLED__NOTE_BEGIN(".note.stapsdt", "stapsdt", 3)                                     \
	"  .8byte .Lsled_pc%=, _.stapsdt.base, " SLED__SEM(provider, name) "\n"            \
	"  .asciz \"" #provider "\"\n"                                                      \
	"  .asciz \"" #name "\"\n"                                                          \
	"  .asciz \"" specs "\"\n"                                                          \
	SLED__NOTE_END                                                                      \
	SLED__NOTE_BEGIN(".note.sled", "sled", SLED_NOTE_SITE)                              \
	"  .8byte .Lsled_pc%=, 0, %c[meta]\n"                                               \
	"  .asciz \"" #provider "\"\n"                                                      \
	"  .asciz \"" #name "\"\n"                                                          \
	SLED__NOTE_END                                                                      \
	SLED__BASE_ASM

/*
 * Per-tracepoint metadata in C data: the field types and the source text of the whole
 * argument list ("provider, name, arg1, ..."), from which field names are read (split at
 * top-level commas; TP_FIELD(x, ...) is named x).  It is read-only data that no code
 * reads, so it costs file bytes, not cycles; and keeping user source text out of the asm
 * template means no character of it ('%', '"') can break the assembler.  "retain" keeps
 * it through --gc-sections (the note refers to it, but ld does not follow references from
 * non-allocated sections).  No named section: in C++ inline functions the object is
 * COMDAT, and gcc refuses COMDAT and non-COMDAT objects in one named section.  Types are not asm operands because
 * gcc allows at most 30 operands per asm and 12 arguments already take 25.
 */
#if defined(__has_attribute)
#if __has_attribute(retain)
#define SLED__RETAIN __attribute__((retain))
#endif
#endif
#ifndef SLED__RETAIN
#define SLED__RETAIN
#endif
#define SLED__UNPAREN(...) __VA_ARGS__
#define SLED__META(text_, nargs_, types_)                                               \
	static const struct {                                                           \
		unsigned char version, nargs, types[12];                                \
		char text[sizeof(text_)];                                               \
	} sled__meta __attribute__((used)) SLED__RETAIN =                               \
		{ SLED_TRACEPOINT_VERSION, nargs_, { SLED__UNPAREN types_ }, text_ };

/* Rejects a provider or name that is not an identifier, at compile time. */
#define SLED__IDENT_CHECK(provider, name) enum { sled__ident_##provider##__##name };

#define SLED__EMIT(text, provider, name, nargs, specs, types, ...)                    \
	do {                                                                            \
		SLED__IDENT_CHECK(provider, name)                                       \
		SLED__META(text, nargs, types)                                          \
		__asm__ __volatile__(SLED__SITE_ASM(provider, name, specs)              \
				     : : [meta] "i"(&sled__meta) __VA_ARGS__);          \
	} while (0)

#define SLED__TP0(text, p, n) SLED__EMIT(text, p, n, 0, "", (0), )
#define SLED__TP1(text, p, n, a1) \
	do { SLED__C1(a1) \
	     SLED__EMIT(text, p, n, 1, SLED__S1, (SLED__Y1(a1)), , SLED__O1(a1)); } while (0)
#define SLED__TP2(text, p, n, a1, a2) \
	do { SLED__C2(a1, a2) \
	     SLED__EMIT(text, p, n, 2, SLED__S2, (SLED__Y2(a1, a2)), , SLED__O2(a1, a2)); } while (0)
#define SLED__TP3(text, p, n, a1, a2, a3) \
	do { SLED__C3(a1, a2, a3) \
	     SLED__EMIT(text, p, n, 3, SLED__S3, (SLED__Y3(a1, a2, a3)), , SLED__O3(a1, a2, a3)); } while (0)
#define SLED__TP4(text, p, n, a1, a2, a3, a4) \
	do { SLED__C4(a1, a2, a3, a4) \
	     SLED__EMIT(text, p, n, 4, SLED__S4, (SLED__Y4(a1, a2, a3, a4)), , SLED__O4(a1, a2, a3, a4)); } while (0)
#define SLED__TP5(text, p, n, a1, a2, a3, a4, a5) \
	do { SLED__C5(a1, a2, a3, a4, a5) \
	     SLED__EMIT(text, p, n, 5, SLED__S5, (SLED__Y5(a1, a2, a3, a4, a5)), , SLED__O5(a1, a2, a3, a4, a5)); } while (0)
#define SLED__TP6(text, p, n, a1, a2, a3, a4, a5, a6) \
	do { SLED__C6(a1, a2, a3, a4, a5, a6) \
	     SLED__EMIT(text, p, n, 6, SLED__S6, (SLED__Y6(a1, a2, a3, a4, a5, a6)), , SLED__O6(a1, a2, a3, a4, a5, a6)); } while (0)
#define SLED__TP7(text, p, n, a1, a2, a3, a4, a5, a6, a7) \
	do { SLED__C7(a1, a2, a3, a4, a5, a6, a7) \
	     SLED__EMIT(text, p, n, 7, SLED__S7, (SLED__Y7(a1, a2, a3, a4, a5, a6, a7)), , SLED__O7(a1, a2, a3, a4, a5, a6, a7)); } while (0)
#define SLED__TP8(text, p, n, a1, a2, a3, a4, a5, a6, a7, a8) \
	do { SLED__C8(a1, a2, a3, a4, a5, a6, a7, a8) \
	     SLED__EMIT(text, p, n, 8, SLED__S8, (SLED__Y8(a1, a2, a3, a4, a5, a6, a7, a8)), , SLED__O8(a1, a2, a3, a4, a5, a6, a7, a8)); } while (0)
#define SLED__TP9(text, p, n, a1, a2, a3, a4, a5, a6, a7, a8, a9) \
	do { SLED__C9(a1, a2, a3, a4, a5, a6, a7, a8, a9) \
	     SLED__EMIT(text, p, n, 9, SLED__S9, (SLED__Y9(a1, a2, a3, a4, a5, a6, a7, a8, a9)), , SLED__O9(a1, a2, a3, a4, a5, a6, a7, a8, a9)); } while (0)
#define SLED__TP10(text, p, n, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10) \
	do { SLED__C10(a1, a2, a3, a4, a5, a6, a7, a8, a9, a10) \
	     SLED__EMIT(text, p, n, 10, SLED__S10, (SLED__Y10(a1, a2, a3, a4, a5, a6, a7, a8, a9, a10)), , SLED__O10(a1, a2, a3, a4, a5, a6, a7, a8, a9, a10)); } while (0)
#define SLED__TP11(text, p, n, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11) \
	do { SLED__C11(a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11) \
	     SLED__EMIT(text, p, n, 11, SLED__S11, (SLED__Y11(a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11)), , SLED__O11(a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11)); } while (0)
#define SLED__TP12(text, p, n, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12) \
	do { SLED__C12(a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12) \
	     SLED__EMIT(text, p, n, 12, SLED__S12, (SLED__Y12(a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12)), , SLED__O12(a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12)); } while (0)

/* Per-count lists: spec strings, type codes, asm operands, type checks. */
#define SLED__S1 SLED__SPEC(1)
#define SLED__S2 SLED__S1 " " SLED__SPEC(2)
#define SLED__S3 SLED__S2 " " SLED__SPEC(3)
#define SLED__S4 SLED__S3 " " SLED__SPEC(4)
#define SLED__S5 SLED__S4 " " SLED__SPEC(5)
#define SLED__S6 SLED__S5 " " SLED__SPEC(6)
#define SLED__S7 SLED__S6 " " SLED__SPEC(7)
#define SLED__S8 SLED__S7 " " SLED__SPEC(8)
#define SLED__S9 SLED__S8 " " SLED__SPEC(9)
#define SLED__S10 SLED__S9 " " SLED__SPEC(10)
#define SLED__S11 SLED__S10 " " SLED__SPEC(11)
#define SLED__S12 SLED__S11 " " SLED__SPEC(12)
#define SLED__Y1(a1) SLED__TYPE(a1)
#define SLED__Y2(a1, a2) SLED__Y1(a1), SLED__TYPE(a2)
#define SLED__Y3(a1, a2, a3) SLED__Y2(a1, a2), SLED__TYPE(a3)
#define SLED__Y4(a1, a2, a3, a4) SLED__Y3(a1, a2, a3), SLED__TYPE(a4)
#define SLED__Y5(a1, a2, a3, a4, a5) SLED__Y4(a1, a2, a3, a4), SLED__TYPE(a5)
#define SLED__Y6(a1, a2, a3, a4, a5, a6) SLED__Y5(a1, a2, a3, a4, a5), SLED__TYPE(a6)
#define SLED__Y7(a1, a2, a3, a4, a5, a6, a7) SLED__Y6(a1, a2, a3, a4, a5, a6), SLED__TYPE(a7)
#define SLED__Y8(a1, a2, a3, a4, a5, a6, a7, a8) SLED__Y7(a1, a2, a3, a4, a5, a6, a7), SLED__TYPE(a8)
#define SLED__Y9(a1, a2, a3, a4, a5, a6, a7, a8, a9) SLED__Y8(a1, a2, a3, a4, a5, a6, a7, a8), SLED__TYPE(a9)
#define SLED__Y10(a1, a2, a3, a4, a5, a6, a7, a8, a9, a10) SLED__Y9(a1, a2, a3, a4, a5, a6, a7, a8, a9), SLED__TYPE(a10)
#define SLED__Y11(a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11) SLED__Y10(a1, a2, a3, a4, a5, a6, a7, a8, a9, a10), SLED__TYPE(a11)
#define SLED__Y12(a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12) SLED__Y11(a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11), SLED__TYPE(a12)
#define SLED__O1(a1) SLED__OP(1, a1)
#define SLED__O2(a1, a2) SLED__O1(a1), SLED__OP(2, a2)
#define SLED__O3(a1, a2, a3) SLED__O2(a1, a2), SLED__OP(3, a3)
#define SLED__O4(a1, a2, a3, a4) SLED__O3(a1, a2, a3), SLED__OP(4, a4)
#define SLED__O5(a1, a2, a3, a4, a5) SLED__O4(a1, a2, a3, a4), SLED__OP(5, a5)
#define SLED__O6(a1, a2, a3, a4, a5, a6) SLED__O5(a1, a2, a3, a4, a5), SLED__OP(6, a6)
#define SLED__O7(a1, a2, a3, a4, a5, a6, a7) SLED__O6(a1, a2, a3, a4, a5, a6), SLED__OP(7, a7)
#define SLED__O8(a1, a2, a3, a4, a5, a6, a7, a8) SLED__O7(a1, a2, a3, a4, a5, a6, a7), SLED__OP(8, a8)
#define SLED__O9(a1, a2, a3, a4, a5, a6, a7, a8, a9) SLED__O8(a1, a2, a3, a4, a5, a6, a7, a8), SLED__OP(9, a9)
#define SLED__O10(a1, a2, a3, a4, a5, a6, a7, a8, a9, a10) SLED__O9(a1, a2, a3, a4, a5, a6, a7, a8, a9), SLED__OP(10, a10)
#define SLED__O11(a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11) SLED__O10(a1, a2, a3, a4, a5, a6, a7, a8, a9, a10), SLED__OP(11, a11)
#define SLED__O12(a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12) SLED__O11(a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11), SLED__OP(12, a12)
#define SLED__C1(a1) SLED__CHECK(a1)
#define SLED__C2(a1, a2) SLED__C1(a1) SLED__CHECK(a2)
#define SLED__C3(a1, a2, a3) SLED__C2(a1, a2) SLED__CHECK(a3)
#define SLED__C4(a1, a2, a3, a4) SLED__C3(a1, a2, a3) SLED__CHECK(a4)
#define SLED__C5(a1, a2, a3, a4, a5) SLED__C4(a1, a2, a3, a4) SLED__CHECK(a5)
#define SLED__C6(a1, a2, a3, a4, a5, a6) SLED__C5(a1, a2, a3, a4, a5) SLED__CHECK(a6)
#define SLED__C7(a1, a2, a3, a4, a5, a6, a7) SLED__C6(a1, a2, a3, a4, a5, a6) SLED__CHECK(a7)
#define SLED__C8(a1, a2, a3, a4, a5, a6, a7, a8) SLED__C7(a1, a2, a3, a4, a5, a6, a7) SLED__CHECK(a8)
#define SLED__C9(a1, a2, a3, a4, a5, a6, a7, a8, a9) SLED__C8(a1, a2, a3, a4, a5, a6, a7, a8) SLED__CHECK(a9)
#define SLED__C10(a1, a2, a3, a4, a5, a6, a7, a8, a9, a10) SLED__C9(a1, a2, a3, a4, a5, a6, a7, a8, a9) SLED__CHECK(a10)
#define SLED__C11(a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11) SLED__C10(a1, a2, a3, a4, a5, a6, a7, a8, a9, a10) SLED__CHECK(a11)
#define SLED__C12(a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12) SLED__C11(a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11) SLED__CHECK(a12)

/* Argument counting: provider and name are part of __VA_ARGS__ so that a tracepoint with
 * no arguments is still valid ISO C99/C++11 (no empty variadic list). */
#define SLED__NTH(_1, _2, _3, _4, _5, _6, _7, _8, _9, _10, _11, _12, _13, _14, _15, N, ...) N
#define SLED__NARGS(...)                                                                \
	SLED__NTH(__VA_ARGS__, TOO_MANY, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0,        \
		  NEED_PROVIDER_AND_NAME, )
#define SLED__CAT(a, b)  SLED__CAT_(a, b)
#define SLED__CAT_(a, b) a##b
#define SLED__TPTOO_MANY(...) sled_error_TRACEPOINT_takes_at_most_12_arguments
#define SLED__TPNEED_PROVIDER_AND_NAME(...) sled_error_TRACEPOINT_needs_provider_and_name

#define TRACEPOINT(...) SLED__CAT(SLED__TP, SLED__NARGS(__VA_ARGS__))(#__VA_ARGS__, __VA_ARGS__)

/*
 * if (TRACEPOINT_ENABLED(provider, name)) { ...compute expensive args...; TRACEPOINT(...); }
 *
 * A 5-byte NOP that falls through (false) until libsled patches it into a jmp to the
 * "true" label, like the kernel's static_branch_unlikely(): no load, no compare.  Only
 * sled mode patches it: under uprobe-based tools (bpftrace, perf, sled's uprobe mode) it
 * stays false.  TRACEPOINT_ENABLED_SEM below is seen by both, for a load and a branch.
 */
#define SLED__GUARD_NOTE_ASM(provider, name)                                           \
	SLED__NOTE_BEGIN(".note.sled", "sled", SLED_NOTE_GUARD)                            \
	"  .8byte .Lsled_pc%=, %l[sled__on], 0\n"                                          \
	"  .asciz \"" #provider "\"\n"                                                     \
	"  .asciz \"" #name "\"\n"                                                         \
	SLED__NOTE_END
#define SLED__GUARD_ASM(provider, name)                                                \
	"  .balign 2, 0x90\n"                                                               \
	".Lsled_pc%=: .byte 0x0f, 0x1f, 0x44, 0x00, 0x00\n"                                \
	SLED__GUARD_NOTE_ASM(provider, name)

/* "cc": the semaphore guard compares; on x86 every asm clobbers the flags anyway. */
#define SLED__GUARD(guard_asm, provider, name)                                         \
	__extension__({                                                                   \
		__label__ sled__on;                                                       \
		/* No initializer: clang 14 in C++ takes any asm goto to reach every label  \
		 * of the function and rejects jumping past an initialization. */         \
		int sled__r;                                                              \
		SLED__IDENT_CHECK(provider, name)                                         \
		sled__r = 0;                                                              \
		__asm__ goto(guard_asm(provider, name) : : : "cc" : sled__on);           \
		if (0) {                                                                  \
		sled__on:                                                                 \
			sled__r = 1;                                                      \
		}                                                                         \
		__builtin_expect(sled__r, 0);                                             \
	})

#define TRACEPOINT_ENABLED(provider, name) SLED__GUARD(SLED__GUARD_ASM, provider, name)

/*
 * if (TRACEPOINT_ENABLED_SEM(provider, name)) { ... }
 *
 * The same guard, also visible to uprobe-based tools: it defines provider:name's stapsdt
 * semaphore (an unsigned short in .probes, like <sys/sdt.h>), which the notes of
 * provider:name's tracepoints in the same binary then point to.  bpftrace, perf, libbpf's
 * USDT attach and sled's uprobe mode increment it while they are attached (the kernel's
 * uprobe reference counter).  Sled mode patches its NOP into a jmp, as for the plain guard.
 * Disabled, it costs the NOP plus a compare with memory and a branch not taken.
 */
#define SLED__SEM_DEF_ASM(provider, name)                                              \
	".ifndef " SLED__SEM(provider, name) "\n"                                           \
	".pushsection .probes,\"awG\",@progbits," SLED__SEM(provider, name) ",comdat\n"     \
	".weak " SLED__SEM(provider, name) "\n"                                             \
	".hidden " SLED__SEM(provider, name) "\n"                                           \
	".type " SLED__SEM(provider, name) ", @object\n"                                    \
	".balign 2\n"                                                                      \
	SLED__SEM(provider, name) ": .2byte 0\n"                                            \
	".size " SLED__SEM(provider, name) ", 2\n"                                          \
	".popsection\n"                                                                    \
	".endif\n"
#define SLED__GUARD_SEM_ASM(provider, name)                                            \
	SLED__SEM_DEF_ASM(provider, name)                                                   \
	"  .balign 2, 0x90\n"                                                               \
	".Lsled_pc%=: .byte 0x0f, 0x1f, 0x44, 0x00, 0x00\n"                                \
	"  cmpw $0, " SLED__SEM(provider, name) "(%%rip)\n"                                 \
	"  jne %l[sled__on]\n"                                                             \
	SLED__GUARD_NOTE_ASM(provider, name)

#define TRACEPOINT_ENABLED_SEM(provider, name)                                          \
	SLED__GUARD(SLED__GUARD_SEM_ASM, provider, name)

#endif /* SLED_TRACEPOINT_H */
