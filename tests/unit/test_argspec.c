// SPDX-License-Identifier: MIT
/* argspec: what the parser accepts, what it decodes it to, what it refuses and why. */
#include <errno.h>
#include <stdlib.h>

#include "argspec.h"
#include "check.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static bool spec_equal(const struct sled_arg_spec *a, const struct sled_arg_spec *b)
{
	return a->kind == b->kind && a->size == b->size && a->is_signed == b->is_signed &&
	       a->is_float == b->is_float && a->reg == b->reg && a->shift == b->shift &&
	       a->index == b->index && a->scale == b->scale && a->imm == b->imm;
}

/* Parses one argument that must be valid; a failure is reported with the message. */
static struct sled_arg_spec parse_ok(const char *text)
{
	struct sled_arg_spec a;
	char err[128] = "";
	int ret;

	memset(&a, 0, sizeof(a));
	ret = sled_argspec_parse_one(text, &a, err, sizeof(err));
	if (ret != 0)
		fprintf(stderr, "  parse of \"%s\" failed: %s\n", text, err);
	CHECK_EQ_INT(ret, 0);
	return a;
}

/* The canonical text of one argument, in a static buffer. */
static const char *fmt(const struct sled_arg_spec *a)
{
	static char buf[96];
	int n = sled_argspec_format(a, buf, sizeof(buf));

	CHECK(n > 0 && (size_t)n < sizeof(buf));
	return buf;
}

TEST(register_operand_signed_32bit)
{
	struct sled_arg_spec a = parse_ok("-4@%eax");

	CHECK_EQ_INT(a.kind, SLED_ARG_REG);
	CHECK_EQ_INT(a.size, 4);
	CHECK(a.is_signed);
	CHECK(!a.is_float);
	CHECK_EQ_INT(a.reg, SLED_REG_RAX);
	CHECK_EQ_INT(a.shift, 0);
	CHECK_EQ_INT(a.index, SLED_REG_NONE);
}

TEST(unsigned_without_minus)
{
	struct sled_arg_spec a = parse_ok("4@%eax");

	CHECK(!a.is_signed);
	CHECK_EQ_INT(a.size, 4);
}

TEST(every_size_is_accepted)
{
	static const struct { const char *text; int size; } cases[] = {
		{ "1@%al", 1 }, { "2@%ax", 2 }, { "4@%eax", 4 }, { "8@%rax", 8 },
		{ "-1@%al", 1 }, { "-2@%ax", 2 }, { "-4@%eax", 4 }, { "-8@%rax", 8 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct sled_arg_spec a = parse_ok(cases[i].text);

		CHECK_EQ_INT(a.size, cases[i].size);
		CHECK_EQ_INT(a.is_signed, cases[i].text[0] == '-');
	}
}

/* Every register name of every width, written out here rather than taken from the
 * implementation's table, so a typo there is caught. */
static const struct {
	const char *name;
	enum sled_reg reg;
	int width; /* bytes of the name; 0 for a high byte */
} all_regs[] = {
	{ "rax", SLED_REG_RAX, 8 }, { "eax", SLED_REG_RAX, 4 }, { "ax", SLED_REG_RAX, 2 },
	{ "al", SLED_REG_RAX, 1 },  { "ah", SLED_REG_RAX, 0 },
	{ "rbx", SLED_REG_RBX, 8 }, { "ebx", SLED_REG_RBX, 4 }, { "bx", SLED_REG_RBX, 2 },
	{ "bl", SLED_REG_RBX, 1 },  { "bh", SLED_REG_RBX, 0 },
	{ "rcx", SLED_REG_RCX, 8 }, { "ecx", SLED_REG_RCX, 4 }, { "cx", SLED_REG_RCX, 2 },
	{ "cl", SLED_REG_RCX, 1 },  { "ch", SLED_REG_RCX, 0 },
	{ "rdx", SLED_REG_RDX, 8 }, { "edx", SLED_REG_RDX, 4 }, { "dx", SLED_REG_RDX, 2 },
	{ "dl", SLED_REG_RDX, 1 },  { "dh", SLED_REG_RDX, 0 },
	{ "rsi", SLED_REG_RSI, 8 }, { "esi", SLED_REG_RSI, 4 }, { "si", SLED_REG_RSI, 2 },
	{ "sil", SLED_REG_RSI, 1 },
	{ "rdi", SLED_REG_RDI, 8 }, { "edi", SLED_REG_RDI, 4 }, { "di", SLED_REG_RDI, 2 },
	{ "dil", SLED_REG_RDI, 1 },
	{ "rbp", SLED_REG_RBP, 8 }, { "ebp", SLED_REG_RBP, 4 }, { "bp", SLED_REG_RBP, 2 },
	{ "bpl", SLED_REG_RBP, 1 },
	{ "rsp", SLED_REG_RSP, 8 }, { "esp", SLED_REG_RSP, 4 }, { "sp", SLED_REG_RSP, 2 },
	{ "spl", SLED_REG_RSP, 1 },
	{ "r8", SLED_REG_R8, 8 },   { "r8d", SLED_REG_R8, 4 },  { "r8w", SLED_REG_R8, 2 },
	{ "r8b", SLED_REG_R8, 1 },
	{ "r9", SLED_REG_R9, 8 },   { "r9d", SLED_REG_R9, 4 },  { "r9w", SLED_REG_R9, 2 },
	{ "r9b", SLED_REG_R9, 1 },
	{ "r10", SLED_REG_R10, 8 }, { "r10d", SLED_REG_R10, 4 }, { "r10w", SLED_REG_R10, 2 },
	{ "r10b", SLED_REG_R10, 1 },
	{ "r11", SLED_REG_R11, 8 }, { "r11d", SLED_REG_R11, 4 }, { "r11w", SLED_REG_R11, 2 },
	{ "r11b", SLED_REG_R11, 1 },
	{ "r12", SLED_REG_R12, 8 }, { "r12d", SLED_REG_R12, 4 }, { "r12w", SLED_REG_R12, 2 },
	{ "r12b", SLED_REG_R12, 1 },
	{ "r13", SLED_REG_R13, 8 }, { "r13d", SLED_REG_R13, 4 }, { "r13w", SLED_REG_R13, 2 },
	{ "r13b", SLED_REG_R13, 1 },
	{ "r14", SLED_REG_R14, 8 }, { "r14d", SLED_REG_R14, 4 }, { "r14w", SLED_REG_R14, 2 },
	{ "r14b", SLED_REG_R14, 1 },
	{ "r15", SLED_REG_R15, 8 }, { "r15d", SLED_REG_R15, 4 }, { "r15w", SLED_REG_R15, 2 },
	{ "r15b", SLED_REG_R15, 1 },
	{ "rip", SLED_REG_RIP, 8 },
};

TEST(every_register_name_of_every_width)
{
	for (size_t i = 0; i < ARRAY_SIZE(all_regs); i++) {
		int size = all_regs[i].width ? all_regs[i].width : 1;
		char text[32];
		struct sled_arg_spec a;

		snprintf(text, sizeof(text), "%d@%%%s", size, all_regs[i].name);
		a = parse_ok(text);
		CHECK_EQ_INT(a.kind, SLED_ARG_REG);
		CHECK_EQ_INT(a.reg, all_regs[i].reg);
		CHECK_EQ_INT(a.shift, all_regs[i].width ? 0 : 8);
		CHECK_EQ_INT(a.size, size);
		/* The name printed for the operand's own width is the name it was written as. */
		CHECK_EQ_STR(fmt(&a), text);
	}
}

TEST(high_byte_registers_shift_by_eight)
{
	struct sled_arg_spec a = parse_ok("1@%ah");

	CHECK_EQ_INT(a.reg, SLED_REG_RAX);
	CHECK_EQ_INT(a.shift, 8);
	a = parse_ok("-1@%dh");
	CHECK_EQ_INT(a.reg, SLED_REG_RDX);
	CHECK_EQ_INT(a.shift, 8);
	CHECK(a.is_signed);
}

TEST(high_byte_register_needs_size_one)
{
	struct sled_arg_spec a;
	char err[128] = "";

	CHECK_EQ_INT(sled_argspec_parse_one("2@%ah", &a, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "%ah") != NULL);
	CHECK_EQ_INT(sled_argspec_parse_one("8@%bh", &a, NULL, 0), -EINVAL);
}

TEST(register_width_may_differ_from_size)
{
	/* The value is the register truncated to the size; the name's width is not kept. */
	struct sled_arg_spec a = parse_ok("8@%eax");

	CHECK_EQ_INT(a.reg, SLED_REG_RAX);
	CHECK_EQ_INT(a.size, 8);
	CHECK_EQ_STR(fmt(&a), "8@%rax");
	a = parse_ok("1@%r9");
	CHECK_EQ_INT(a.reg, SLED_REG_R9);
	CHECK_EQ_STR(fmt(&a), "1@%r9b");
}

TEST(rip_register)
{
	struct sled_arg_spec a = parse_ok("8@%rip");

	CHECK_EQ_INT(a.kind, SLED_ARG_REG);
	CHECK_EQ_INT(a.reg, SLED_REG_RIP);
	CHECK_EQ_STR(fmt(&a), "8@%rip");
}

TEST(constant_operands)
{
	static const struct { const char *text; int64_t imm; } cases[] = {
		{ "8@$-5", -5 },
		{ "4@$0", 0 },
		{ "4@$42", 42 },
		{ "8@$0x10", 16 },
		{ "8@$0XfF", 255 },
		{ "8@$-0x10", -16 },
		{ "8@$9223372036854775807", INT64_MAX },
		{ "-8@$-9223372036854775808", INT64_MIN },
		/* An unsigned 64-bit immediate is kept as its bit pattern. */
		{ "8@$18446744073709551615", -1 },
		{ "8@$0xffffffffffffffff", -1 },
		{ "8@$9223372036854775808", INT64_MIN },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct sled_arg_spec a = parse_ok(cases[i].text);

		CHECK_EQ_INT(a.kind, SLED_ARG_CONST);
		CHECK(a.imm == cases[i].imm);
		CHECK_EQ_INT(a.reg, SLED_REG_NONE);
	}
}

TEST(constant_out_of_range_is_rejected)
{
	struct sled_arg_spec a;

	CHECK_EQ_INT(sled_argspec_parse_one("8@$18446744073709551616", &a, NULL, 0), -EINVAL);
	CHECK_EQ_INT(sled_argspec_parse_one("8@$-9223372036854775809", &a, NULL, 0), -EINVAL);
	CHECK_EQ_INT(sled_argspec_parse_one("8@$0x10000000000000000", &a, NULL, 0), -EINVAL);
}

TEST(memory_base_and_displacement)
{
	struct sled_arg_spec a = parse_ok("8@-16(%rbp)");

	CHECK_EQ_INT(a.kind, SLED_ARG_MEM);
	CHECK_EQ_INT(a.size, 8);
	CHECK_EQ_INT(a.reg, SLED_REG_RBP);
	CHECK_EQ_INT(a.index, SLED_REG_NONE);
	CHECK_EQ_INT(a.imm, -16);
	CHECK_EQ_INT(a.shift, 0);
}

TEST(memory_signed_short_displacement)
{
	struct sled_arg_spec a = parse_ok("-2@-378(%rbp)");

	CHECK(a.is_signed);
	CHECK_EQ_INT(a.size, 2);
	CHECK_EQ_INT(a.imm, -378);
	CHECK_EQ_INT(a.reg, SLED_REG_RBP);
}

TEST(memory_without_displacement)
{
	struct sled_arg_spec a = parse_ok("4@(%rsp)");

	CHECK_EQ_INT(a.kind, SLED_ARG_MEM);
	CHECK_EQ_INT(a.reg, SLED_REG_RSP);
	CHECK_EQ_INT(a.imm, 0);
}

TEST(memory_hex_displacement)
{
	CHECK_EQ_INT(parse_ok("8@0x10(%rax)").imm, 16);
	CHECK_EQ_INT(parse_ok("8@-0x10(%rax)").imm, -16);
}

TEST(memory_sib_with_base)
{
	struct sled_arg_spec a = parse_ok("8@0x10(%rax,%rcx,8)");

	CHECK_EQ_INT(a.kind, SLED_ARG_MEM);
	CHECK_EQ_INT(a.reg, SLED_REG_RAX);
	CHECK_EQ_INT(a.index, SLED_REG_RCX);
	CHECK_EQ_INT(a.scale, 8);
	CHECK_EQ_INT(a.imm, 16);
}

TEST(memory_sib_scale_defaults_to_one)
{
	struct sled_arg_spec a = parse_ok("4@(%rbp,%r12)");

	CHECK_EQ_INT(a.index, SLED_REG_R12);
	CHECK_EQ_INT(a.scale, 1);
}

TEST(memory_sib_without_base)
{
	struct sled_arg_spec a = parse_ok("8@(,%rdx,4)");

	CHECK_EQ_INT(a.kind, SLED_ARG_MEM);
	CHECK_EQ_INT(a.reg, SLED_REG_NONE);
	CHECK_EQ_INT(a.index, SLED_REG_RDX);
	CHECK_EQ_INT(a.scale, 4);
	CHECK_EQ_INT(a.imm, 0);
	CHECK_EQ_INT(parse_ok("8@-8(,%r15,2)").imm, -8);
}

TEST(memory_every_scale)
{
	static const char *const texts[] = { "4@(%rax,%rbx,1)", "4@(%rax,%rbx,2)",
					     "4@(%rax,%rbx,4)", "4@(%rax,%rbx,8)" };

	for (size_t i = 0; i < ARRAY_SIZE(texts); i++)
		CHECK_EQ_INT(parse_ok(texts[i]).scale, 1 << i);
}

TEST(memory_rip_relative_numeric)
{
	struct sled_arg_spec a = parse_ok("4@16(%rip)");

	CHECK_EQ_INT(a.kind, SLED_ARG_MEM);
	CHECK_EQ_INT(a.reg, SLED_REG_RIP);
	CHECK_EQ_INT(a.imm, 16);
}

TEST(float_suffix)
{
	struct sled_arg_spec a = parse_ok("8f@%rax");

	CHECK(a.is_float);
	CHECK(!a.is_signed);
	CHECK_EQ_INT(a.size, 8);
	a = parse_ok("-4f@-8(%rbp)");
	CHECK(a.is_float);
	CHECK(a.is_signed);
	CHECK_EQ_INT(a.kind, SLED_ARG_MEM);
	CHECK_EQ_STR(fmt(&a), "-4f@-8(%rbp)");
	CHECK(!parse_ok("4@%eax").is_float);
}

TEST(empty_spec_has_no_arguments)
{
	struct sled_arg_spec args[SLED_MAX_ARGS];

	CHECK_EQ_INT(sled_argspec_parse("", args, SLED_MAX_ARGS, NULL, 0), 0);
	CHECK_EQ_INT(sled_argspec_parse("   ", args, SLED_MAX_ARGS, NULL, 0), 0);
	CHECK_EQ_INT(sled_argspec_parse("", NULL, 0, NULL, 0), 0);
}

TEST(whole_spec_in_order)
{
	struct sled_arg_spec args[SLED_MAX_ARGS];
	char err[128] = "";
	int n = sled_argspec_parse("-4@%eax 8@%rdx 8@$-5 -2@-378(%rbp) 8@(,%rdx,4)", args,
				   SLED_MAX_ARGS, err, sizeof(err));

	CHECK_EQ_INT(n, 5);
	CHECK_EQ_STR(err, "");
	CHECK_EQ_INT(args[0].kind, SLED_ARG_REG);
	CHECK_EQ_INT(args[1].reg, SLED_REG_RDX);
	CHECK_EQ_INT(args[2].imm, -5);
	CHECK_EQ_INT(args[3].imm, -378);
	CHECK_EQ_INT(args[4].index, SLED_REG_RDX);
}

TEST(spaces_between_and_around_arguments)
{
	struct sled_arg_spec args[SLED_MAX_ARGS];

	CHECK_EQ_INT(sled_argspec_parse("  -4@%eax    8@%rdx  ", args, SLED_MAX_ARGS, NULL, 0), 2);
	CHECK_EQ_INT(args[0].reg, SLED_REG_RAX);
	CHECK_EQ_INT(args[1].reg, SLED_REG_RDX);
}

TEST(only_spaces_separate_arguments)
{
	struct sled_arg_spec args[SLED_MAX_ARGS];
	char err[128] = "";

	CHECK_EQ_INT(sled_argspec_parse("-4@%eax\t8@%rdx", args, SLED_MAX_ARGS, err, sizeof(err)),
		     -EINVAL);
	CHECK(err[0] != '\0');
	/* The tab is shown as '?' so the message stays one printable line. */
	CHECK(strchr(err, '\t') == NULL);
}

static const char twelve[] = "1@%al 2@%bx 4@%ecx 8@%rdx -4@%esi -8@%rdi 8@-8(%rbp) "
			     "8@(%rsp) 4@%r8d 2@%r9w 1@%r10b 8@$12";

TEST(twelve_arguments_fit)
{
	struct sled_arg_spec args[SLED_MAX_ARGS];

	CHECK_EQ_INT(sled_argspec_parse(twelve, args, SLED_MAX_ARGS, NULL, 0), 12);
	CHECK_EQ_INT(args[11].kind, SLED_ARG_CONST);
	CHECK_EQ_INT(args[11].imm, 12);
}

TEST(thirteen_arguments_are_rejected)
{
	struct sled_arg_spec args[SLED_MAX_ARGS + 1];
	char text[256], err[128] = "";

	snprintf(text, sizeof(text), "%s 8@%%r11", twelve);
	CHECK_EQ_INT(sled_argspec_parse(text, args, SLED_MAX_ARGS, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "12") != NULL);
	CHECK(strstr(err, "8@%r11") != NULL);
}

TEST(max_limits_the_count)
{
	struct sled_arg_spec args[2];
	char err[128] = "";

	CHECK_EQ_INT(sled_argspec_parse("4@%eax 4@%ebx", args, 2, NULL, 0), 2);
	CHECK_EQ_INT(sled_argspec_parse("4@%eax 4@%ebx 4@%ecx", args, 2, err, sizeof(err)),
		     -EINVAL);
	CHECK(err[0] != '\0');
	CHECK_EQ_INT(sled_argspec_parse("4@%eax", args, 0, NULL, 0), -EINVAL);
	CHECK_EQ_INT(sled_argspec_parse("4@%eax", args, -1, NULL, 0), -EINVAL);
}

TEST(bad_argument_in_spec_is_named)
{
	struct sled_arg_spec args[SLED_MAX_ARGS];
	char err[128] = "";

	CHECK_EQ_INT(sled_argspec_parse("4@%eax 4@%xyz 4@%ebx", args, SLED_MAX_ARGS, err,
					sizeof(err)),
		     -EINVAL);
	CHECK(strstr(err, "%xyz") != NULL);
}

/* Each of these must be refused with -EINVAL and a reason. */
static const char *const malformed[] = {
	"",
	"4",
	"4@",
	"@%eax",
	"3@%eax",
	"0@%eax",
	"16@%eax",
	"04@%eax",
	"-@%eax",
	"--4@%eax",
	"+4@%eax",
	"4#%eax",
	"4 @%eax",
	"1f@%al",
	"4ff@%eax",
	"4@%xyz",
	"4@%",
	"4@%%eax",
	"4@%EAX",
	"4@%eip",
	"4@%eax,",
	"4@$",
	"4@$-",
	"4@$abc",
	"8@$sym+8",
	"4@$0x",
	"4@$010",
	"4@$1.5",
	"4@$5x",
	"4@-16(%rbp",
	"4@-16(%rbp,",
	"4@-16%rbp)",
	"4@-16",
	"4@()",
	"4@(",
	"4@(,)",
	"4@(%rbp,%rcx,3)",
	"4@(%rbp,%rcx,0)",
	"4@(%rbp,%rcx,16)",
	"4@(%rbp,%rcx,)",
	"4@(%rbp,%rcx,8,)",
	"4@(,%rdx)",
	"4@(%ebp)",
	"4@(%rbp,%ecx,2)",
	"4@(%rbp,%rsp,2)",
	"4@(%rbp,%rip,2)",
	"4@(%rip,%rax,1)",
	"4@(%ah)",
	"4@-(%rbp)",
	"4@0x(%rbp)",
	"4@99999999999999999999(%rbp)",
	"4@9223372036854775808(%rbp)",
	"4@(%rbp)x",
	"99999999999999999999@%eax",
	"4@%eax junk(",
	"8@.LC0(%rip)",
	"8@symbol(%rip)",
	"8@sym+8(%rip)",
	"8@_start",
	"8@16+sym(%rip)",
	"4@!",
	"4@%eax\n",
};

TEST(malformed_arguments_are_rejected_with_a_reason)
{
	for (size_t i = 0; i < ARRAY_SIZE(malformed); i++) {
		struct sled_arg_spec a;
		char err[160] = "";
		int ret = sled_argspec_parse_one(malformed[i], &a, err, sizeof(err));

		if (ret != -EINVAL || err[0] == '\0')
			fprintf(stderr, "  \"%s\" -> %d \"%s\"\n", malformed[i], ret, err);
		CHECK_EQ_INT(ret, -EINVAL);
		CHECK(err[0] != '\0');
		CHECK(strchr(err, '\n') == NULL);
	}
}

TEST(malformed_arguments_are_rejected_in_a_spec)
{
	/* "" is an empty spec, not a bad one; "4 @%eax" splits into two bad arguments. */
	for (size_t i = 1; i < ARRAY_SIZE(malformed); i++) {
		struct sled_arg_spec args[SLED_MAX_ARGS];
		char text[160], err[160] = "";

		snprintf(text, sizeof(text), "8@%%rax %s", malformed[i]);
		CHECK_EQ_INT(sled_argspec_parse(text, args, SLED_MAX_ARGS, err, sizeof(err)),
			     -EINVAL);
		CHECK(err[0] != '\0');
	}
}

TEST(symbolic_displacement_says_why)
{
	struct sled_arg_spec a;
	char err[160] = "";

	CHECK_EQ_INT(sled_argspec_parse_one("8@.LC0(%rip)", &a, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "symbolic") != NULL);
	CHECK(strstr(err, ".LC0") != NULL);
	CHECK_EQ_INT(sled_argspec_parse_one("8@$abc", &a, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "symbolic") != NULL);
	CHECK(strstr(err, "$abc") != NULL);
}

TEST(message_names_the_offending_text)
{
	static const struct { const char *text, *piece; } cases[] = {
		{ "4@%xyz", "%xyz" },
		{ "3@%eax", "3" },
		{ "4@(%rbp,%rcx,3)", "3" },
		{ "4@%eax junk(", "junk(" },
		{ "99999999999999999999@%eax", "99999999999999999999" },
		{ "4@(%ebp)", "%ebp" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct sled_arg_spec a;
		char err[160] = "";

		CHECK_EQ_INT(sled_argspec_parse_one(cases[i].text, &a, err, sizeof(err)), -EINVAL);
		if (!strstr(err, cases[i].piece))
			fprintf(stderr, "  \"%s\": \"%s\" lacks \"%s\"\n", cases[i].text, err,
				cases[i].piece);
		CHECK(strstr(err, cases[i].piece) != NULL);
	}
}

TEST(message_respects_errlen)
{
	struct sled_arg_spec a;
	char err[16];

	memset(err, 'x', sizeof(err));
	CHECK_EQ_INT(sled_argspec_parse_one("4@%xyz", &a, err, 8), -EINVAL);
	CHECK_EQ_INT(strlen(err), 7);
	CHECK_EQ_INT(err[8], 'x');
	memset(err, 'x', sizeof(err));
	CHECK_EQ_INT(sled_argspec_parse_one("4@%xyz", &a, err, 0), -EINVAL);
	CHECK_EQ_INT(err[0], 'x');
	CHECK_EQ_INT(sled_argspec_parse_one("4@%xyz", &a, NULL, 100), -EINVAL);
}

TEST(message_of_huge_garbage_is_bounded)
{
	size_t n = 100000;
	char *text = malloc(n + 1);
	struct sled_arg_spec a;
	char err[512] = "";

	CHECK(text != NULL);
	if (!text)
		return;
	memset(text, 'z', n);
	memcpy(text, "4@", 2);
	text[n] = '\0';
	CHECK_EQ_INT(sled_argspec_parse_one(text, &a, err, sizeof(err)), -EINVAL);
	CHECK(strlen(err) < 200);
	free(text);
}

TEST(output_untouched_on_error)
{
	struct sled_arg_spec a, before;

	memset(&a, 0x5a, sizeof(a));
	before = a;
	CHECK_EQ_INT(sled_argspec_parse_one("8@-16(%rbp", &a, NULL, 0), -EINVAL);
	CHECK(memcmp(&a, &before, sizeof(a)) == 0);
}

TEST(null_text_is_rejected)
{
	struct sled_arg_spec a;
	char err[64] = "";

	CHECK_EQ_INT(sled_argspec_parse_one(NULL, &a, err, sizeof(err)), -EINVAL);
	CHECK(err[0] != '\0');
	CHECK_EQ_INT(sled_argspec_parse(NULL, &a, 1, NULL, 0), -EINVAL);
}

TEST(format_uses_the_subregister_of_the_size)
{
	struct sled_arg_spec a = { .kind = SLED_ARG_REG, .size = 4, .reg = SLED_REG_RAX };

	CHECK_EQ_STR(fmt(&a), "4@%eax");
	a.size = 1;
	a.shift = 8;
	CHECK_EQ_STR(fmt(&a), "1@%ah");
	a.shift = 0;
	CHECK_EQ_STR(fmt(&a), "1@%al");
	a.reg = SLED_REG_R9;
	a.size = 2;
	CHECK_EQ_STR(fmt(&a), "2@%r9w");
	a.reg = SLED_REG_RSI;
	a.size = 1;
	a.is_signed = true;
	CHECK_EQ_STR(fmt(&a), "-1@%sil");
	a.reg = SLED_REG_RIP;
	a.size = 8;
	a.is_signed = false;
	CHECK_EQ_STR(fmt(&a), "8@%rip");
}

TEST(format_memory_and_constants)
{
	struct sled_arg_spec m = { .kind = SLED_ARG_MEM, .size = 8, .reg = SLED_REG_RBP,
				   .imm = -16 };
	struct sled_arg_spec c = { .kind = SLED_ARG_CONST, .size = 8, .is_signed = true,
				   .imm = -5 };

	CHECK_EQ_STR(fmt(&m), "8@-16(%rbp)");
	m.index = SLED_REG_RCX;
	m.scale = 8;
	CHECK_EQ_STR(fmt(&m), "8@-16(%rbp,%rcx,8)");
	m.reg = SLED_REG_NONE;
	m.imm = 0;
	CHECK_EQ_STR(fmt(&m), "8@(,%rcx,8)");
	CHECK_EQ_STR(fmt(&c), "-8@$-5");
}

TEST(format_normalizes_equivalent_spellings)
{
	static const struct { const char *in, *out; } cases[] = {
		{ "8@%eax", "8@%rax" },
		{ "4@0(%rax)", "4@(%rax)" },
		{ "4@-0(%rax)", "4@(%rax)" },
		{ "8@$0x10", "8@$16" },
		{ "8@$18446744073709551615", "8@$-1" },
		{ "4@0x10(%rax,%rbx)", "4@16(%rax,%rbx,1)" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct sled_arg_spec a = parse_ok(cases[i].in);

		CHECK_EQ_STR(fmt(&a), cases[i].out);
	}
}

TEST(format_returns_the_full_length)
{
	struct sled_arg_spec a = parse_ok("-8@-378(%rbp,%r10,4)");
	char small[4];

	CHECK_EQ_INT(sled_argspec_format(&a, small, sizeof(small)), strlen("-8@-378(%rbp,%r10,4)"));
	CHECK_EQ_STR(small, "-8@");
	CHECK_EQ_INT(sled_argspec_format(&a, NULL, 0), strlen("-8@-378(%rbp,%r10,4)"));
}

TEST(canonical_texts_round_trip)
{
	static const char *const texts[] = {
		"-4@%eax", "8@$-5", "8@-16(%rbp)", "8@16(%rax,%rcx,8)", "8@(,%rdx,4)",
		"4@%r9d", "1@%ah", "8@%rip", "-2@-378(%rbp)", "8f@%rax", "-4f@(%rsp)",
		"8@$-9223372036854775808", "8@$9223372036854775807", "8@4096(%rip)",
		"1@%bpl", "2@%r15w", "-8@-9223372036854775808(%r13)", "4@(%rbp,%rbp,1)",
	};

	for (size_t i = 0; i < ARRAY_SIZE(texts); i++) {
		struct sled_arg_spec a = parse_ok(texts[i]);
		struct sled_arg_spec b = parse_ok(fmt(&a));

		CHECK_EQ_STR(fmt(&a), texts[i]);
		CHECK(spec_equal(&a, &b));
	}
}

TEST(parse_format_parse_gives_the_same_spec)
{
	struct sled_arg_spec args[SLED_MAX_ARGS];
	int n = sled_argspec_parse(twelve, args, SLED_MAX_ARGS, NULL, 0);

	CHECK_EQ_INT(n, 12);
	for (int i = 0; i < n; i++) {
		struct sled_arg_spec b = parse_ok(fmt(&args[i]));

		CHECK(spec_equal(&args[i], &b));
	}
	for (size_t i = 0; i < ARRAY_SIZE(all_regs); i++) {
		for (int size = 1; size <= 8; size *= 2) {
			char text[32];
			struct sled_arg_spec a, b;

			if (!all_regs[i].width && size != 1)
				continue;
			snprintf(text, sizeof(text), "-%d@%%%s", size, all_regs[i].name);
			a = parse_ok(text);
			b = parse_ok(fmt(&a));
			CHECK(spec_equal(&a, &b));
		}
	}
}

TEST(reg_names)
{
	CHECK_EQ_STR(sled_reg_name(SLED_REG_RAX), "rax");
	CHECK_EQ_STR(sled_reg_name(SLED_REG_RSP), "rsp");
	CHECK_EQ_STR(sled_reg_name(SLED_REG_R8), "r8");
	CHECK_EQ_STR(sled_reg_name(SLED_REG_R15), "r15");
	CHECK_EQ_STR(sled_reg_name(SLED_REG_RIP), "rip");
	CHECK(sled_reg_name(SLED_REG_NONE) == NULL);
	CHECK(sled_reg_name(SLED_REG_COUNT) == NULL);
	CHECK(sled_reg_name((enum sled_reg)-1) == NULL);
	for (int r = SLED_REG_RAX; r < SLED_REG_COUNT; r++)
		CHECK(sled_reg_name((enum sled_reg)r) != NULL);
}

/* --- Symbolic operands, with a symbol table of three entries ------------------------- */

static int fake_lookup(void *ctx, const char *name, size_t len, bool tpoff, uint64_t *value,
		       char *err, size_t errlen)
{
	static const struct { const char *name; uint64_t value; bool tls; } syms[] = {
		{ "g_counter", 0x4010, false },
		{ "g_conf", 0x4020, false },
		{ "local_counter.3", 0x4040, false },
		{ "g_arr", 0x4060, false },
		{ "tls_count", (uint64_t)-8, true },
	};

	(void)ctx;
	for (size_t i = 0; i < ARRAY_SIZE(syms); i++) {
		if (strlen(syms[i].name) != len || memcmp(syms[i].name, name, len))
			continue;
		if (syms[i].tls != tpoff) {
			snprintf(err, errlen, "symbol '%.*s' of the wrong kind", (int)len, name);
			return -ENOENT;
		}
		*value = syms[i].value;
		return 0;
	}
	snprintf(err, errlen, "symbol '%.*s' is not in the object's symbol tables", (int)len, name);
	return -ENOENT;
}

static const struct sled_symbols fake_syms = { fake_lookup, NULL };

static struct sled_arg_spec parse_sym_ok(const char *text)
{
	struct sled_arg_spec a[1];
	char err[200] = "";
	int n;

	memset(a, 0, sizeof(a));
	n = sled_argspec_parse_syms(text, a, 1, &fake_syms, err, sizeof(err));
	if (n != 1 || err[0])
		fprintf(stderr, "  parse of \"%s\": %d \"%s\"\n", text, n, err);
	CHECK_EQ_INT(n, 1);
	CHECK_EQ_STR(err, "");
	return a[0];
}

TEST(global_rip_relative_is_its_link_time_address)
{
	struct sled_arg_spec a = parse_sym_ok("8@g_counter(%rip)");

	CHECK_EQ_INT(a.kind, SLED_ARG_MEM);
	CHECK_EQ_INT(a.addr, SLED_ADDR_OBJECT);
	CHECK_EQ_INT(a.reg, SLED_REG_NONE);
	CHECK_EQ_INT(a.index, SLED_REG_NONE);
	CHECK_EQ_INT(a.imm, 0x4010);
	CHECK_EQ_STR(fmt(&a), "8@0x4010");
}

TEST(struct_field_of_a_global_either_spelling)
{
	struct sled_arg_spec gcc = parse_sym_ok("-8@8+g_conf(%rip)");
	struct sled_arg_spec clang = parse_sym_ok("-8@g_conf+8(%rip)");

	CHECK_EQ_INT(gcc.imm, 0x4028);
	CHECK(gcc.is_signed);
	CHECK(spec_equal(&gcc, &clang) && gcc.addr == clang.addr);
	CHECK_EQ_INT(parse_sym_ok("4@g_conf-4+12(%rip)").imm, 0x4028);
}

TEST(static_local_with_a_dotted_name)
{
	struct sled_arg_spec a = parse_sym_ok("-8@local_counter.3(%rip)");

	CHECK_EQ_INT(a.imm, 0x4040);
	CHECK_EQ_INT(a.addr, SLED_ADDR_OBJECT);
}

TEST(thread_local_is_an_offset_from_fs)
{
	struct sled_arg_spec a = parse_sym_ok("-8@%fs:tls_count@tpoff");
	struct sled_arg_spec b = parse_sym_ok("4@%fs:tls_count@tpoff+4");

	CHECK_EQ_INT(a.kind, SLED_ARG_MEM);
	CHECK_EQ_INT(a.addr, SLED_ADDR_TLS);
	CHECK_EQ_INT(a.imm, -8);
	CHECK_EQ_STR(fmt(&a), "-8@%fs:-8");
	CHECK_EQ_INT(b.imm, -4);
}

TEST(array_elements_absolute_and_indexed)
{
	struct sled_arg_spec c = parse_sym_ok("8@g_arr+16(%rip)");
	struct sled_arg_spec abs = parse_sym_ok("8@g_arr+16");
	struct sled_arg_spec idx = parse_sym_ok("-8@g_arr(,%rax,8)");
	struct sled_arg_spec tls = parse_sym_ok("4@%fs:tls_count@tpoff(,%rcx,4)");

	CHECK_EQ_INT(c.imm, 0x4070);
	CHECK(spec_equal(&c, &abs) && c.addr == abs.addr);
	CHECK_EQ_INT(idx.index, SLED_REG_RAX);
	CHECK_EQ_INT(idx.scale, 8);
	CHECK_EQ_INT(idx.imm, 0x4060);
	CHECK_EQ_INT(idx.addr, SLED_ADDR_OBJECT);
	CHECK_EQ_INT(tls.addr, SLED_ADDR_TLS);
	CHECK_EQ_INT(tls.index, SLED_REG_RCX);
}

TEST(address_of_a_global_as_a_constant)
{
	struct sled_arg_spec a = parse_sym_ok("8@$g_arr");

	CHECK_EQ_INT(a.kind, SLED_ARG_CONST);
	CHECK_EQ_INT(a.addr, SLED_ADDR_OBJECT);
	CHECK_EQ_INT(a.imm, 0x4060);
}

TEST(unknown_symbol_keeps_the_site_and_names_the_argument)
{
	struct sled_arg_spec a[3];
	char err[200] = "";
	int n = sled_argspec_parse_syms("8@%rax -4@stripped(%rip) 8@g_counter(%rip)", a, 3,
					&fake_syms, err, sizeof(err));

	CHECK_EQ_INT(n, 3);
	CHECK_EQ_INT(a[0].kind, SLED_ARG_REG);
	CHECK_EQ_INT(a[1].kind, SLED_ARG_UNRESOLVED);
	CHECK_EQ_INT(a[1].size, 4);
	CHECK(a[1].is_signed);
	CHECK_EQ_INT(a[2].kind, SLED_ARG_MEM);
	CHECK(strstr(err, "argument 1") != NULL);
	CHECK(strstr(err, "stripped") != NULL);
}

TEST(symbolic_forms_no_compiler_writes_are_refused)
{
	static const char *const bad[] = {
		"8@tls_count@tpoff(%rip)",     /* @tpoff without %fs: */
		"8@%fs:g_counter",             /* %fs: without @tpoff */
		"8@g_counter@GOTPCREL(%rip)",  /* a relocation we cannot evaluate */
		"8@g_counter+g_conf(%rip)",    /* two symbols */
		"8@-g_counter(%rip)",          /* a negated symbol */
		"8@16-g_counter(%rip)",
		"8@g_counter+(%rip)",          /* a sign with nothing after it */
		"8@%fs:tls_count@tpoff(%rip)", /* %fs: relative to %rip */
	};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct sled_arg_spec a;
		char err[200] = "";
		int n = sled_argspec_parse_syms(bad[i], &a, 1, &fake_syms, err, sizeof(err));

		if (n != -EINVAL || !err[0])
			fprintf(stderr, "  \"%s\" -> %d \"%s\"\n", bad[i], n, err);
		CHECK_EQ_INT(n, -EINVAL);
		CHECK(err[0] != '\0');
	}
}

static const struct test_case table[] = {
	TEST_ENTRY(register_operand_signed_32bit),
	TEST_ENTRY(unsigned_without_minus),
	TEST_ENTRY(every_size_is_accepted),
	TEST_ENTRY(every_register_name_of_every_width),
	TEST_ENTRY(high_byte_registers_shift_by_eight),
	TEST_ENTRY(high_byte_register_needs_size_one),
	TEST_ENTRY(register_width_may_differ_from_size),
	TEST_ENTRY(rip_register),
	TEST_ENTRY(constant_operands),
	TEST_ENTRY(constant_out_of_range_is_rejected),
	TEST_ENTRY(memory_base_and_displacement),
	TEST_ENTRY(memory_signed_short_displacement),
	TEST_ENTRY(memory_without_displacement),
	TEST_ENTRY(memory_hex_displacement),
	TEST_ENTRY(memory_sib_with_base),
	TEST_ENTRY(memory_sib_scale_defaults_to_one),
	TEST_ENTRY(memory_sib_without_base),
	TEST_ENTRY(memory_every_scale),
	TEST_ENTRY(memory_rip_relative_numeric),
	TEST_ENTRY(float_suffix),
	TEST_ENTRY(empty_spec_has_no_arguments),
	TEST_ENTRY(whole_spec_in_order),
	TEST_ENTRY(spaces_between_and_around_arguments),
	TEST_ENTRY(only_spaces_separate_arguments),
	TEST_ENTRY(twelve_arguments_fit),
	TEST_ENTRY(thirteen_arguments_are_rejected),
	TEST_ENTRY(max_limits_the_count),
	TEST_ENTRY(bad_argument_in_spec_is_named),
	TEST_ENTRY(malformed_arguments_are_rejected_with_a_reason),
	TEST_ENTRY(malformed_arguments_are_rejected_in_a_spec),
	TEST_ENTRY(symbolic_displacement_says_why),
	TEST_ENTRY(message_names_the_offending_text),
	TEST_ENTRY(message_respects_errlen),
	TEST_ENTRY(message_of_huge_garbage_is_bounded),
	TEST_ENTRY(output_untouched_on_error),
	TEST_ENTRY(null_text_is_rejected),
	TEST_ENTRY(format_uses_the_subregister_of_the_size),
	TEST_ENTRY(format_memory_and_constants),
	TEST_ENTRY(format_normalizes_equivalent_spellings),
	TEST_ENTRY(format_returns_the_full_length),
	TEST_ENTRY(canonical_texts_round_trip),
	TEST_ENTRY(parse_format_parse_gives_the_same_spec),
	TEST_ENTRY(reg_names),
	TEST_ENTRY(global_rip_relative_is_its_link_time_address),
	TEST_ENTRY(struct_field_of_a_global_either_spelling),
	TEST_ENTRY(static_local_with_a_dotted_name),
	TEST_ENTRY(thread_local_is_an_offset_from_fs),
	TEST_ENTRY(array_elements_absolute_and_indexed),
	TEST_ENTRY(address_of_a_global_as_a_constant),
	TEST_ENTRY(unknown_symbol_keeps_the_site_and_names_the_argument),
	TEST_ENTRY(symbolic_forms_no_compiler_writes_are_refused),
};

int main(void)
{
	return RUN_TESTS(table);
}
