/* SPDX-License-Identifier: MIT */
/* A recursive-descent compiler from filter text to postfix sled_filter_prog. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sled/tracepoint.h>

#include "filter.h"

enum tok_kind { T_END, T_IDENT, T_INT, T_FLOAT, T_STRING, T_TRUE, T_FALSE, T_OP, T_LPAREN, T_RPAREN, T_NOT, T_AND, T_OR, T_MINUS };

struct tok {
	enum tok_kind kind;
	int col;          /* 1-based */
	const char *start;
	size_t len;
	int cmp;          /* T_OP */
	uint64_t u;       /* T_INT magnitude */
	double d;         /* T_FLOAT */
	char str[SLED_FILTER_MAX_POOL + 1]; /* T_STRING, unescaped */
	size_t slen;
	int prefix;       /* T_STRING ended in an unescaped '*' */
};

struct parser {
	const char *text, *p;
	struct tok t;
	const struct sled_field *fields;
	unsigned nfields;
	struct sled_filter_prog *prog;
	char *err;
	size_t errlen;
	int failed;
};

static void fail(struct parser *ps, int col, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fail(struct parser *ps, int col, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (ps->failed)
		return;
	ps->failed = 1;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* Echoed input must not break the one-line error. */
	for (char *c = msg; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	snprintf(ps->err, ps->errlen, "filter: %s at column %d", msg, col);
}

static void lex_string(struct parser *ps)
{
	const char *p = ps->p + 1;
	size_t n = 0;

	ps->t.kind = T_STRING;
	ps->t.prefix = 0;
	while (*p && *p != '"') {
		char c = *p++;

		if (c == '\\') {
			switch (*p) {
			case 'n': c = '\n'; break;
			case 't': c = '\t'; break;
			case '"': case '\\': case '*': c = *p; break;
			default:
				fail(ps, (int)(p - ps->text), "unknown escape '\\%c'", *p ? *p : ' ');
				return;
			}
			p++;
		} else if (c == '*' && *p == '"') {
			ps->t.prefix = 1; /* a final unescaped '*': prefix match */
			continue;
		} else if (c == '*') {
			fail(ps, (int)(p - ps->text), "'*' is only allowed at the end of a string (\\* for a star)");
			return;
		}
		if (n >= SLED_FILTER_MAX_POOL) {
			fail(ps, ps->t.col, "string literal longer than %d bytes", SLED_FILTER_MAX_POOL);
			return;
		}
		ps->t.str[n++] = c;
	}
	if (*p != '"') {
		fail(ps, ps->t.col, "unterminated string");
		return;
	}
	ps->t.str[n] = 0;
	ps->t.slen = n;
	ps->p = p + 1;
}

static void lex_number(struct parser *ps)
{
	const char *s = ps->p;
	char *end;

	ps->t.kind = T_INT;
	errno = 0;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		ps->t.u = strtoull(s, &end, 16);
	else
		ps->t.u = strtoull(s, &end, 10);
	if (*end == '.' || *end == 'e' || *end == 'E') {
		ps->t.kind = T_FLOAT;
		ps->t.d = strtod(s, &end);
	} else if (errno) {
		fail(ps, ps->t.col, "integer out of range");
	}
	if (isalnum((unsigned char)*end) || *end == '_') {
		fail(ps, ps->t.col, "bad number '%.*s'", (int)(strcspn(s, " ()=!<>&|") ), s);
		return;
	}
	ps->p = end;
}

static void next(struct parser *ps)
{
	const char *p = ps->p;

	while (isspace((unsigned char)*p))
		p++;
	ps->p = p;
	memset(&ps->t, 0, offsetof(struct tok, str));
	ps->t.col = (int)(p - ps->text) + 1;
	ps->t.start = p;
	if (!*p) {
		ps->t.kind = T_END;
		return;
	}
	if (isalpha((unsigned char)*p) || *p == '_') {
		while (isalnum((unsigned char)*p) || *p == '_')
			p++;
		ps->t.len = (size_t)(p - ps->p);
		ps->t.kind = T_IDENT;
		if (ps->t.len == 4 && !memcmp(ps->p, "true", 4))
			ps->t.kind = T_TRUE;
		else if (ps->t.len == 5 && !memcmp(ps->p, "false", 5))
			ps->t.kind = T_FALSE;
		ps->p = p;
		return;
	}
	if (isdigit((unsigned char)*p) || (*p == '.' && isdigit((unsigned char)p[1]))) {
		lex_number(ps);
		return;
	}
	if (*p == '"') {
		lex_string(ps);
		return;
	}
	static const struct { const char *s; enum tok_kind k; int cmp; } ops[] = {
		{ "==", T_OP, SLED_FCMP_EQ }, { "!=", T_OP, SLED_FCMP_NE }, { "<=", T_OP, SLED_FCMP_LE },
		{ ">=", T_OP, SLED_FCMP_GE }, { "&&", T_AND, 0 }, { "||", T_OR, 0 },
		{ "<", T_OP, SLED_FCMP_LT }, { ">", T_OP, SLED_FCMP_GT }, { "!", T_NOT, 0 },
		{ "(", T_LPAREN, 0 }, { ")", T_RPAREN, 0 }, { "-", T_MINUS, 0 },
	};
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		size_t l = strlen(ops[i].s);

		if (!strncmp(p, ops[i].s, l)) {
			ps->t.kind = ops[i].k;
			ps->t.cmp = ops[i].cmp;
			ps->t.len = l;
			ps->p = p + l;
			return;
		}
	}
	fail(ps, ps->t.col, "unexpected character '%c'", *p);
	ps->t.kind = T_END;
}

static struct sled_filter_insn *emit(struct parser *ps, int col)
{
	struct sled_filter_prog *pr = ps->prog;

	if (pr->ninsns >= SLED_FILTER_MAX_INSNS) {
		fail(ps, col, "expression too long (at most %d operations)", SLED_FILTER_MAX_INSNS);
		return NULL;
	}
	memset(&pr->insns[pr->ninsns], 0, sizeof(pr->insns[0]));
	return &pr->insns[pr->ninsns++];
}

/* An operand: a field, or a literal of some kind. */
enum opd_kind { O_FIELD, O_INT, O_FLOAT, O_STRING, O_BOOL };
struct operand {
	enum opd_kind kind;
	int col;
	int field;
	int negative;
	uint64_t u;
	double d;
	char str[SLED_FILTER_MAX_POOL + 1];
	size_t slen;
	int prefix;
};

static int field_class(uint8_t type)
{
	switch (type) {
	case SLED_T_I8: case SLED_T_I16: case SLED_T_I32: case SLED_T_I64: return SLED_FCLASS_SIGNED;
	case SLED_T_FLOAT: return SLED_FCLASS_FLOAT32;
	case SLED_T_DOUBLE: return SLED_FCLASS_FLOAT64;
	case SLED_T_STRING: return SLED_FCLASS_STRING;
	default: return SLED_FCLASS_UNSIGNED;
	}
}

static int find_field(struct parser *ps, const char *name, size_t len)
{
	for (unsigned i = 0; i < ps->nfields; i++)
		if (strlen(ps->fields[i].name) == len && !memcmp(ps->fields[i].name, name, len))
			return (int)i;
	if (len > 3 && !memcmp(name, "arg", 3)) {
		char *end;
		long v = strtol(name + 3, &end, 10);

		if (end == name + len && v >= 0 && v < (long)ps->nfields)
			return (int)v;
	}
	return -1;
}

static void field_list(struct parser *ps, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = 0;
	for (unsigned i = 0; i < ps->nfields && o < len; i++)
		o += (size_t)snprintf(buf + o, len - o, "%s%s", i ? ", " : "", ps->fields[i].name);
	if (!ps->nfields)
		snprintf(buf, len, "none");
}

static int parse_operand(struct parser *ps, struct operand *o)
{
	memset(o, 0, offsetof(struct operand, str));
	o->col = ps->t.col;
	if (ps->t.kind == T_MINUS) {
		next(ps);
		if (ps->t.kind != T_INT && ps->t.kind != T_FLOAT) {
			fail(ps, o->col, "'-' must be followed by a number");
			return -1;
		}
		o->negative = 1;
	}
	switch (ps->t.kind) {
	case T_IDENT: {
		char list[256];

		o->kind = O_FIELD;
		o->field = find_field(ps, ps->t.start, ps->t.len);
		if (o->field < 0) {
			field_list(ps, list, sizeof(list));
			fail(ps, o->col, "unknown field '%.*s' (fields: %s)", (int)ps->t.len, ps->t.start, list);
			return -1;
		}
		break;
	}
	case T_INT: o->kind = O_INT; o->u = ps->t.u; break;
	case T_FLOAT: o->kind = O_FLOAT; o->d = o->negative ? -ps->t.d : ps->t.d; break;
	case T_STRING:
		o->kind = O_STRING;
		memcpy(o->str, ps->t.str, ps->t.slen + 1);
		o->slen = ps->t.slen;
		o->prefix = ps->t.prefix;
		break;
	case T_TRUE: case T_FALSE: o->kind = O_BOOL; o->u = ps->t.kind == T_TRUE; break;
	default:
		fail(ps, o->col, "expected a field or a literal");
		return -1;
	}
	next(ps);
	return ps->failed ? -1 : 0;
}

static int mirror(int cmp)
{
	switch (cmp) {
	case SLED_FCMP_LT: return SLED_FCMP_GT;
	case SLED_FCMP_LE: return SLED_FCMP_GE;
	case SLED_FCMP_GT: return SLED_FCMP_LT;
	case SLED_FCMP_GE: return SLED_FCMP_LE;
	default: return cmp;
	}
}

static const char *type_word(uint8_t type)
{
	switch (field_class(type)) {
	case SLED_FCLASS_STRING: return "a string";
	case SLED_FCLASS_FLOAT32: case SLED_FCLASS_FLOAT64: return "a floating-point number";
	default: return type == SLED_T_BOOL ? "a bool" : type == SLED_T_POINTER ? "a pointer" : "an integer";
	}
}

static const char *literal_word(const struct operand *o)
{
	switch (o->kind) {
	case O_INT: return "an integer";
	case O_FLOAT: return "a number";
	case O_STRING: return "a string";
	default: return "a bool";
	}
}

/* field <cmp> literal: type-check and emit one instruction. */
static void emit_field_literal(struct parser *ps, const struct operand *f, int cmp,
			       const struct operand *lit, int col)
{
	const struct sled_field *fd = &ps->fields[f->field];
	int cls = field_class(fd->type);
	struct sled_filter_insn *in;
	bool ordering = cmp != SLED_FCMP_EQ && cmp != SLED_FCMP_NE;

	if (cls == SLED_FCLASS_STRING) {
		if (lit->kind != O_STRING)
			goto mismatch;
		if (ordering) {
			fail(ps, col, "string field '%s' takes only == and !=", fd->name);
			return;
		}
		if (ps->prog->reserved[0] + lit->slen > SLED_FILTER_MAX_POOL) {
			fail(ps, lit->col, "string literals longer than %d bytes in all", SLED_FILTER_MAX_POOL);
			return;
		}
		in = emit(ps, col);
		if (!in)
			return;
		in->op = lit->prefix ? SLED_FOP_STR_PREFIX : SLED_FOP_STR_EQ;
		in->field = (uint8_t)f->field;
		in->cmp = (uint8_t)cmp;
		in->cls = SLED_FCLASS_STRING;
		in->str_off = (uint8_t)ps->prog->reserved[0];
		in->str_len = (uint8_t)lit->slen;
		memcpy(ps->prog->pool + ps->prog->reserved[0], lit->str, lit->slen);
		ps->prog->reserved[0] += (uint16_t)lit->slen;
		return;
	}
	if (fd->type == SLED_T_BOOL) {
		if (lit->kind != O_BOOL && !(lit->kind == O_INT && lit->u <= 1 && !lit->negative))
			goto mismatch;
		if (ordering) {
			fail(ps, col, "bool field '%s' takes only == and !=", fd->name);
			return;
		}
	} else if (lit->kind == O_STRING || lit->kind == O_BOOL) {
		goto mismatch;
	}
	in = emit(ps, col);
	if (!in)
		return;
	in->op = SLED_FOP_CMP_IMM;
	in->field = (uint8_t)f->field;
	in->cmp = (uint8_t)cmp;
	in->cls = (uint8_t)cls;
	if (cls == SLED_FCLASS_FLOAT32 || cls == SLED_FCLASS_FLOAT64) {
		double d = lit->kind == O_FLOAT ? lit->d : (lit->negative ? -(double)lit->u : (double)lit->u);
		uint64_t bits = 0;

		if (cls == SLED_FCLASS_FLOAT32) {
			float fl = (float)d;
			uint32_t b32;

			memcpy(&b32, &fl, sizeof(b32));
			bits = b32;
		} else {
			memcpy(&bits, &d, sizeof(bits));
		}
		in->imm = (int64_t)sled_float_key(bits, cls == SLED_FCLASS_FLOAT32);
		return;
	}
	if (lit->kind == O_FLOAT) {
		fail(ps, lit->col, "field '%s' is %s: use an integer literal", fd->name, type_word(fd->type));
		return;
	}
	if (cls == SLED_FCLASS_UNSIGNED && lit->negative) {
		fail(ps, lit->col, "field '%s' is unsigned: a negative literal never matches", fd->name);
		return;
	}
	if (cls == SLED_FCLASS_SIGNED && lit->u > (lit->negative ? 1ull << 63 : (uint64_t)INT64_MAX)) {
		fail(ps, lit->col, "integer out of range for signed field '%s'", fd->name);
		return;
	}
	in->imm = lit->negative ? (int64_t)(0 - lit->u) : (int64_t)lit->u;
	return;
mismatch:
	fail(ps, lit->col, "field '%s' is %s, cannot compare it with %s", fd->name, type_word(fd->type),
	     literal_word(lit));
}

static void parse_or(struct parser *ps);

static void parse_cmp(struct parser *ps)
{
	struct operand a, b;
	int cmp, col;

	if (parse_operand(ps, &a))
		return;
	if (ps->t.kind != T_OP) {
		/* A bool field on its own is a predicate. */
		if (a.kind == O_FIELD && ps->fields[a.field].type == SLED_T_BOOL) {
			struct operand t = { .kind = O_BOOL, .u = 1, .col = a.col };

			emit_field_literal(ps, &a, SLED_FCMP_EQ, &t, a.col);
			return;
		}
		if (a.kind == O_BOOL) {
			struct sled_filter_insn *in = emit(ps, a.col);

			if (in) {
				in->op = SLED_FOP_CONST;
				in->imm = (int64_t)a.u;
			}
			return;
		}
		fail(ps, ps->t.col, "expected a comparison operator (== != < <= > >=)");
		return;
	}
	cmp = ps->t.cmp;
	col = ps->t.col;
	next(ps);
	if (parse_operand(ps, &b))
		return;
	if (a.kind == O_FIELD && b.kind == O_FIELD) {
		const struct sled_field *fa = &ps->fields[a.field], *fb = &ps->fields[b.field];
		int ca = field_class(fa->type), cb = field_class(fb->type);
		struct sled_filter_insn *in;

		if (ca != cb || ca == SLED_FCLASS_STRING) {
			fail(ps, col, "cannot compare field '%s' (%s) with field '%s' (%s)", fa->name,
			     type_word(fa->type), fb->name, type_word(fb->type));
			return;
		}
		in = emit(ps, col);
		if (!in)
			return;
		in->op = SLED_FOP_CMP_FIELD;
		in->field = (uint8_t)a.field;
		in->imm = b.field;
		in->cmp = (uint8_t)cmp;
		in->cls = (uint8_t)ca;
		return;
	}
	if (a.kind == O_FIELD) {
		emit_field_literal(ps, &a, cmp, &b, col);
		return;
	}
	if (b.kind == O_FIELD) {
		emit_field_literal(ps, &b, mirror(cmp), &a, col);
		return;
	}
	fail(ps, a.col, "a comparison needs at least one field");
}

static void parse_unary(struct parser *ps)
{
	int col = ps->t.col;

	if (ps->t.kind == T_NOT) {
		next(ps);
		parse_unary(ps);
		struct sled_filter_insn *in = ps->failed ? NULL : emit(ps, col);

		if (in)
			in->op = SLED_FOP_NOT;
		return;
	}
	if (ps->t.kind == T_LPAREN) {
		next(ps);
		parse_or(ps);
		if (ps->failed)
			return;
		if (ps->t.kind != T_RPAREN) {
			fail(ps, ps->t.col, "expected ')' (opened at column %d)", col);
			return;
		}
		next(ps);
		return;
	}
	parse_cmp(ps);
}

static void parse_and(struct parser *ps)
{
	parse_unary(ps);
	while (!ps->failed && ps->t.kind == T_AND) {
		int col = ps->t.col;
		struct sled_filter_insn *in;

		next(ps);
		parse_unary(ps);
		in = ps->failed ? NULL : emit(ps, col);
		if (in)
			in->op = SLED_FOP_AND;
	}
}

static void parse_or(struct parser *ps)
{
	parse_and(ps);
	while (!ps->failed && ps->t.kind == T_OR) {
		int col = ps->t.col;
		struct sled_filter_insn *in;

		next(ps);
		parse_and(ps);
		in = ps->failed ? NULL : emit(ps, col);
		if (in)
			in->op = SLED_FOP_OR;
	}
}

int sled_filter_compile(const char *text, const struct sled_field *fields, unsigned nfields,
			struct sled_filter_prog *out, char *err, size_t errlen)
{
	struct parser ps = { .text = text, .p = text, .fields = fields, .nfields = nfields,
			     .prog = out, .err = err, .errlen = errlen };

	memset(out, 0, sizeof(*out));
	if (!text) {
		snprintf(err, errlen, "filter: empty expression");
		return -EINVAL;
	}
	next(&ps);
	if (ps.t.kind == T_END && !ps.failed) {
		snprintf(err, errlen, "filter: empty expression");
		return -EINVAL;
	}
	parse_or(&ps);
	if (!ps.failed && ps.t.kind != T_END)
		fail(&ps, ps.t.col, "unexpected '%.*s'", (int)(ps.t.len ? ps.t.len : 1), ps.t.start);
	/* reserved[0] held the pool fill level while compiling. */
	out->reserved[0] = 0;
	if (ps.failed) {
		memset(out, 0, sizeof(*out));
		return -EINVAL;
	}
	return 0;
}
