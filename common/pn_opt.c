#include <assert.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pn_err.h"
#include "pn_num.h"
#include "pn_opt.h"
#include "pn_version.h"

/*
 * --help columns, the same in every program: the names from column 2, the
 * help from HELP_COLUMN, wrapped before HELP_WIDTH; names too long for
 * the gap put their help on the next line.
 */
enum { HELP_COLUMN = 30, HELP_WIDTH = 80, HELP_GAP = 2 };

/* getopt_long's value for an entry without a short name: past every char. */
enum { LONG_ONLY_BASE = 256 };

/* More options than any program has; the tables live on the stack. */
enum { MAX_OPTIONS = 64 };

struct getopt_tables {
	char optstring[3 * MAX_OPTIONS + 1];
	struct option longopts[MAX_OPTIONS + 1];
};

static void build_getopt_tables(const struct pn_opt *options, struct getopt_tables *t)
{
	char *s = t->optstring;
	int i;

	for (i = 0; options[i].kind != PN_OPT_KIND_END; i++) {
		const struct pn_opt *e = &options[i];
		int has_arg = e->arg_name ? required_argument : no_argument;

		assert(i < MAX_OPTIONS && e->long_name);
		assert(e->kind != PN_OPT_KIND_INT || e->dest_size == 4 || e->dest_size == 8);
		if (e->short_name) {
			*s++ = e->short_name;
			if (has_arg)
				*s++ = ':';
		}
		t->longopts[i] = (struct option){ e->long_name, has_arg, NULL,
						  e->short_name ? e->short_name
								: LONG_ONLY_BASE + i };
	}
	*s = '\0';
	t->longopts[i] = (struct option){ NULL, 0, NULL, 0 };
}

/* The entry getopt_long returned c for, or NULL ('?': unknown, or no argument). */
static const struct pn_opt *entry_of(const struct pn_opt *options, int c)
{
	if (c >= LONG_ONLY_BASE)
		return &options[c - LONG_ONLY_BASE];
	for (const struct pn_opt *e = options; e->kind != PN_OPT_KIND_END; e++)
		if (e->short_name && e->short_name == c)
			return e;
	return NULL;
}

static void bad_value(const struct pn_opt *e, const char *arg, const struct pn_opt_text *text)
{
	if (e->bad)
		pn_usage_error(text->usage, e->bad, arg);
	switch (e->kind) {
	case PN_OPT_KIND_STRING: pn_usage_error(text->usage, "empty --%s", e->long_name);
	case PN_OPT_KIND_SIZE: pn_usage_error(text->usage, "bad size '%s'", arg);
	case PN_OPT_KIND_DURATION: pn_usage_error(text->usage, "bad duration '%s'", arg);
	case PN_OPT_KIND_TIME: pn_usage_error(text->usage, "bad time '%s'", arg);
	default: pn_usage_error(text->usage, "bad --%s '%s'", e->long_name, arg);
	}
}

static void store_int(const struct pn_opt *e, int64_t v)
{
	if (e->dest_size == 4) {
		int32_t v32 = (int32_t)v;

		memcpy(e->dest, &v32, sizeof(v32));
	} else {
		memcpy(e->dest, &v, sizeof(v));
	}
}

/* Parses arg as e's kind into its destination; -1 when it is no such value. */
static int take_value(const struct pn_opt *e, const char *arg)
{
	int64_t v;
	uint64_t size;

	switch (e->kind) {
	case PN_OPT_KIND_STRING:
		if (strlen(arg) < (size_t)e->min)
			return -1;
		*(const char **)e->dest = arg;
		return 0;
	case PN_OPT_KIND_INT:
		if (pn_parse_int(arg, e->min, e->max, &v))
			return -1;
		store_int(e, v);
		return 0;
	case PN_OPT_KIND_SIZE:
		if (pn_parse_size(arg, &size) || size < (uint64_t)e->min || size > (uint64_t)e->max)
			return -1;
		*(uint64_t *)e->dest = size;
		return 0;
	case PN_OPT_KIND_DURATION:
		if (pn_parse_duration(arg, &v) || v < e->min || v > e->max)
			return -1;
		*(int64_t *)e->dest = v;
		return 0;
	case PN_OPT_KIND_TIME:
		return pn_parse_time(arg, e->dest);
	default:
		return -1;
	}
}

static void append(const struct pn_opt *e, const char *arg)
{
	char ***list = e->dest;

	*list = pn_realloc(*list, (*e->count + 1) * sizeof(**list));
	(*list)[(*e->count)++] = (char *)arg;
}

/* One occurrence of option e. */
static void take(const struct pn_opt *e, const char *arg, const struct pn_opt *options,
		 const struct pn_opt_text *text)
{
	if (e->seen)
		*e->seen = e;
	switch (e->kind) {
	case PN_OPT_KIND_FLAG:
		*(int *)e->dest = e->value;
		break;
	case PN_OPT_KIND_LIST:
		append(e, arg);
		break;
	case PN_OPT_KIND_CALLBACK:
		e->fn(e, arg);
		break;
	case PN_OPT_KIND_HELP:
		pn_opt_help(options, text);
		exit(PN_EX_OK);
	case PN_OPT_KIND_END:
		break;
	default:
		if (take_value(e, arg))
			bad_value(e, arg, text);
	}
}

int pn_opt_parse(int argc, char **argv, const struct pn_opt *options,
		 const struct pn_opt_text *text)
{
	struct getopt_tables t;
	int c;

	build_getopt_tables(options, &t);
	while ((c = getopt_long(argc, argv, t.optstring, t.longopts, NULL)) != -1) {
		const struct pn_opt *e = entry_of(options, c);

		if (!e)
			pn_usage_error(text->usage, "unknown or incomplete option");
		take(e, optarg, options, text);
	}
	return optind;
}

/* Prints "  -b, --brokers LIST"; returns its width. */
static int print_names(const struct pn_opt *e)
{
	int width;

	if (e->short_name)
		width = printf("  -%c, --%s", e->short_name, e->long_name);
	else
		width = printf("      --%s", e->long_name);
	if (e->arg_name)
		width += printf(" %s", e->arg_name);
	return width;
}

/* Prints text from HELP_COLUMN on, wrapped at spaces; the cursor is at column col. */
static void print_wrapped(const char *text, int col)
{
	const char *p = text + strspn(text, " ");

	if (col > HELP_COLUMN - HELP_GAP) {
		putchar('\n');
		col = 0;
	}
	printf("%*s", HELP_COLUMN - col, "");
	col = HELP_COLUMN;
	while (*p) {
		int word = (int)strcspn(p, " ");

		if (col > HELP_COLUMN && col + 1 + word >= HELP_WIDTH) {
			printf("\n%*s", HELP_COLUMN, "");
			col = HELP_COLUMN;
		} else if (col > HELP_COLUMN) {
			putchar(' ');
			col++;
		}
		printf("%.*s", word, p);
		col += word;
		p += word;
		p += strspn(p, " ");
	}
	putchar('\n');
}

void pn_opt_help(const struct pn_opt *options, const struct pn_opt_text *text)
{
	printf("%s\n%s\n", text->usage, text->about);
	for (const struct pn_opt *e = options; e->kind != PN_OPT_KIND_END; e++)
		print_wrapped(e->help, print_names(e));
	if (text->epilog)
		printf("\n%s", text->epilog);
}

void pn_opt_verbose(const struct pn_opt *opt, const char *arg)
{
	(void)opt;
	(void)arg;
	pn_verbosity++;
}

void pn_opt_version(const struct pn_opt *opt, const char *arg)
{
	(void)opt;
	(void)arg;
	pn_print_version();
	exit(PN_EX_OK);
}
