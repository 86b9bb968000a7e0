/*
 * pn-sink-pg — write NDJSON records into a PostgreSQL table.
 *
 * Records are changelog rows: absolute values keyed by --pk.  They are
 * gathered into batches (--batch-rows, --batch-ms) in which the last row
 * per key wins; a batch is loaded with COPY into a temporary table and
 * merged into the target by one set-based statement (insert, upsert or
 * update), in one transaction.  Values travel as COPY data or statement
 * parameters, never in SQL text; identifiers are quoted by libpq.
 *
 * A row the server refuses makes its batch run again row by row, each row
 * under a savepoint, so the refused row is reported (input, line, the
 * server's message) and the rest of the batch is still written.  A lost
 * connection is retried with backoff, the batch whole; since rows carry
 * absolute values, writing a batch again is harmless for upsert and
 * update.  SIGTERM finishes the batch in hand.
 */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pn_buf.h"
#include "pn_err.h"
#include "pn_io.h"
#include "pn_json.h"
#include "pn_num.h"
#include "pn_pg.h"
#include "pn_signal.h"
#include "pn_version.h"

static const char usage_text[] =
	"usage: pn-sink-pg [-d DSN] -t TABLE [-k FIELDS] [-m insert|upsert|update]\n"
	"                  [-f FIELDS] [--map FIELD:COLUMN] [--batch-rows N]\n"
	"                  [--batch-ms DURATION] [--reject FILE] [--stats] [-qv]\n"
	"                  [FILE ...]\n";

enum mode { MODE_INSERT, MODE_UPSERT, MODE_UPDATE };

struct opts {
	const char *dsn;
	const char *table;
	char **pk;			/* --pk fields */
	int npk;
	enum mode mode;
	char **fields;			/* --fields whitelist, or NULL */
	int nfields;
	char **maps;			/* --map FIELD:COLUMN */
	int nmaps;
	int64_t batch_rows;
	int64_t batch_ms;
	int64_t retry_ms;		/* give up reconnecting after this long */
	const char *reject_path;
	int stats;
	char **inputs;
	int ninputs;
};

/* One column written: the record field it comes from and its place. */
struct col {
	char *field;
	int table_col;			/* index in the table's columns */
	int is_key;
	enum pn_pg_kind kind;
};

/* One row of the batch in hand. */
struct row {
	size_t copy_off, copy_len;	/* its COPY text line (with '\n') */
	size_t key_off, key_len;	/* its key's COPY text, in keys */
	size_t line_off, line_len;	/* its input line, in lines */
	unsigned long long lineno;
	unsigned input;
	int dead;			/* a later row has the same key */
};

struct counts {
	uint64_t lines, rows, written, duplicates, absent, failed, rejected, batches, retries;
};

struct run {
	const struct opts *o;
	PGconn *conn;
	struct pn_pg_table table;
	struct col *cols;
	int ncols;
	int planned;			/* cols set (from --fields or the first record) */
	char *merge_sql;
	char *load_sql;			/* the row-by-row fallback's INSERT */
	struct pn_json json;
	struct pn_buf copy, keys, lines, tmp, msg;
	struct row *rows;
	size_t nrows, caprows;
	int32_t *hash;			/* open addressing: row index + 1, 0 empty */
	size_t hashcap;
	long long batch_started_ms;
	char **names;			/* input names by index */
	FILE *reject;
	struct pn_progress progress;
	struct counts counts;
	unsigned absent_reported;
	uint64_t batch_absent;		/* rows of this batch's attempt without a row */
	int status;
	int stop_input;			/* a bad line without --reject */
};

static void usage(void)
{
	printf("%s", usage_text);
	printf("\nWrite NDJSON records from FILEs (or stdin) into a PostgreSQL table.\n\n"
	       "  -d, --dsn CONNINFO       libpq conninfo or URI (default: PG* environment)\n"
	       "  -t, --table TABLE        target table, schema.table allowed\n"
	       "  -k, --pk FIELDS          key fields, comma-separated\n"
	       "  -m, --mode MODE          insert, upsert (default) or update\n"
	       "  -f, --fields FIELDS      write only these fields, comma-separated\n"
	       "      --map FIELD:COLUMN   write FIELD into COLUMN (repeatable)\n"
	       "      --batch-rows N       rows per batch (default 10000)\n"
	       "      --batch-ms DURATION  longest wait before a batch is written (default 1s)\n"
	       "      --retry-for DURATION keep reconnecting this long (default 5m)\n"
	       "      --reject FILE        append bad lines and refused rows to FILE and go on\n"
	       "      --stats              print counters as JSON on stderr at the end\n"
	       "  -q, --quiet              errors only\n"
	       "  -v, --verbose            more messages\n"
	       "  -h, --help               this help\n"
	       "  -V, --version            versions of pn and its libraries\n"
	       "\nExit status: 0 done, 1 some rows failed, 64 usage, 65 bad input,\n"
	       "69 PostgreSQL unavailable, 74 I/O error, 75 temporary failure,\n"
	       "78 bad configuration.\n");
}

/* Splits a comma-separated list into a new array; empty items are an error. */
static char **split_list(const char *arg, int *n, const char *what)
{
	char *copy = pn_strdup(arg), *p = copy, **v = NULL;

	*n = 0;
	for (;;) {
		char *comma = strchr(p, ',');

		if (comma)
			*comma = '\0';
		if (!*p)
			pn_usage_error(usage_text, "bad %s '%s': empty name", what, arg);
		v = pn_realloc(v, (*n + 1) * sizeof(*v));
		v[(*n)++] = pn_strdup(p);
		if (!comma)
			break;
		p = comma + 1;
	}
	free(copy);
	return v;
}

static void free_list(char **v, int n)
{
	for (int i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void parse_options(struct opts *o, int argc, char **argv)
{
	enum { OPT_MAP = 256, OPT_BATCH_ROWS, OPT_BATCH_MS, OPT_RETRY_FOR, OPT_REJECT,
	       OPT_STATS };
	static const char optstring[] = "d:f:hk:m:qt:Vv";
	static const struct option longopts[] = {
		{ "batch-ms", required_argument, NULL, OPT_BATCH_MS },
		{ "batch-rows", required_argument, NULL, OPT_BATCH_ROWS },
		{ "dsn", required_argument, NULL, 'd' },
		{ "fields", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ "map", required_argument, NULL, OPT_MAP },
		{ "mode", required_argument, NULL, 'm' },
		{ "pk", required_argument, NULL, 'k' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "reject", required_argument, NULL, OPT_REJECT },
		{ "retry-for", required_argument, NULL, OPT_RETRY_FOR },
		{ "stats", no_argument, NULL, OPT_STATS },
		{ "table", required_argument, NULL, 't' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->mode = MODE_UPSERT;
	o->batch_rows = 10000;
	o->batch_ms = 1000;
	o->retry_ms = 5 * 60 * 1000;
	while ((c = getopt_long(argc, argv, optstring, longopts, NULL)) != -1) {
		switch (c) {
		case 'd': o->dsn = optarg; break;
		case 'f':
			free_list(o->fields, o->nfields);
			o->fields = split_list(optarg, &o->nfields, "field list");
			break;
		case 'h': usage(); exit(PN_EX_OK);
		case 'k':
			free_list(o->pk, o->npk);
			o->pk = split_list(optarg, &o->npk, "key list");
			break;
		case 'm':
			if (!strcmp(optarg, "insert"))
				o->mode = MODE_INSERT;
			else if (!strcmp(optarg, "upsert"))
				o->mode = MODE_UPSERT;
			else if (!strcmp(optarg, "update"))
				o->mode = MODE_UPDATE;
			else
				pn_usage_error(usage_text, "bad mode '%s': expected insert, upsert or update",
					       optarg);
			break;
		case 'q': pn_verbosity = 0; break;
		case 't': o->table = optarg; break;
		case 'V':
			pn_print_version();
			printf("libpq %d.%d\n", PQlibVersion() / 10000, PQlibVersion() % 10000);
			exit(PN_EX_OK);
		case 'v': pn_verbosity++; break;
		case OPT_MAP: {
			const char *colon = strchr(optarg, ':');

			if (!colon || colon == optarg || !colon[1])
				pn_usage_error(usage_text, "bad mapping '%s': expected FIELD:COLUMN", optarg);
			o->maps = pn_realloc(o->maps, (o->nmaps + 1) * sizeof(*o->maps));
			o->maps[o->nmaps++] = optarg;
			break;
		}
		case OPT_BATCH_ROWS:
			if (pn_parse_int(optarg, 1, 10000000, &o->batch_rows))
				pn_usage_error(usage_text, "bad batch size '%s'", optarg);
			break;
		case OPT_BATCH_MS:
			if (pn_parse_duration(optarg, &o->batch_ms))
				pn_usage_error(usage_text, "bad duration '%s'", optarg);
			break;
		case OPT_RETRY_FOR:
			if (pn_parse_duration(optarg, &o->retry_ms))
				pn_usage_error(usage_text, "bad duration '%s'", optarg);
			break;
		case OPT_REJECT: o->reject_path = optarg; break;
		case OPT_STATS: o->stats = 1; break;
		default: pn_usage_error(usage_text, "unknown or incomplete option");
		}
	}
	if (!o->table)
		pn_usage_error(usage_text, "no table given (-t)");
	if (o->mode != MODE_INSERT && !o->npk)
		pn_usage_error(usage_text, "--mode %s needs the key fields (--pk)",
			       o->mode == MODE_UPSERT ? "upsert" : "update");
	o->inputs = argv + optind;
	o->ninputs = argc - optind;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* The column a field goes to: its --map, else its own name. */
static const char *column_of(const struct opts *o, const char *field)
{
	size_t n = strlen(field);

	for (int i = o->nmaps - 1; i >= 0; i--)
		if (!strncmp(o->maps[i], field, n) && o->maps[i][n] == ':')
			return o->maps[i] + n + 1;
	return field;
}

static void add_col(struct run *r, const char *field, size_t len)
{
	char *name = pn_strndup(field, len);
	const char *column = column_of(r->o, name);
	int tc = pn_pg_table_column(&r->table, column);
	struct col *c;

	for (int i = 0; i < r->ncols; i++)
		if (!strcmp(r->cols[i].field, name)) {
			free(name);
			return;
		}
	if (tc < 0)
		pn_die(PN_EX_CONFIG, "table '%s' has no column '%s'", r->o->table, column);
	r->cols = pn_realloc(r->cols, (r->ncols + 1) * sizeof(*r->cols));
	c = &r->cols[r->ncols++];
	c->field = name;
	c->table_col = tc;
	c->is_key = 0;
	c->kind = r->table.cols[tc].kind;
	for (int k = 0; k < r->o->npk; k++)
		if (!strcmp(r->o->pk[k], name))
			c->is_key = 1;
}

static void add_quoted_col(struct run *r, struct pn_buf *b, const char *prefix, int i)
{
	pn_buf_adds(b, prefix);
	if (pn_pg_add_ident(r->conn, b, r->table.cols[r->cols[i].table_col].name))
		pn_die(PN_EX_CONFIG, "bad column name '%s'", r->table.cols[r->cols[i].table_col].name);
}

#define SEQ_COL "\"pn-sink-pg seq\""

/* Builds the statements once the columns are known. */
static void build_sql(struct run *r)
{
	struct pn_buf b = PN_BUF_INIT, list = PN_BUF_INIT;
	const char *T = r->table.quoted;
	int nonkey = 0;

	for (int i = 0; i < r->ncols; i++) {
		add_quoted_col(r, &list, i ? ", " : "", i);
		nonkey += !r->cols[i].is_key;
	}
	switch (r->o->mode) {
	case MODE_INSERT:
		pn_buf_addf(&b, "INSERT INTO %s (%s) SELECT %s FROM pn_sink_batch", T, list.data,
			    list.data);
		break;
	case MODE_UPSERT:
		pn_buf_addf(&b, "INSERT INTO %s AS t (%s) SELECT %s FROM pn_sink_batch ON CONFLICT (",
			    T, list.data, list.data);
		for (int i = 0, n = 0; i < r->ncols; i++)
			if (r->cols[i].is_key)
				add_quoted_col(r, &b, n++ ? ", " : "", i);
		if (!nonkey) {
			pn_buf_adds(&b, ") DO NOTHING");
			break;
		}
		pn_buf_adds(&b, ") DO UPDATE SET ");
		for (int i = 0, n = 0; i < r->ncols; i++) {
			if (r->cols[i].is_key)
				continue;
			add_quoted_col(r, &b, n++ ? ", " : "", i);
			add_quoted_col(r, &b, " = EXCLUDED.", i);
		}
		break;
	case MODE_UPDATE:
		pn_buf_addf(&b, "WITH u AS (UPDATE %s AS t SET ", T);
		for (int i = 0, n = 0; i < r->ncols; i++) {
			if (r->cols[i].is_key && nonkey)
				continue;
			add_quoted_col(r, &b, n++ ? ", " : "", i);
			add_quoted_col(r, &b, " = s.", i);
		}
		pn_buf_adds(&b, " FROM pn_sink_batch AS s WHERE ");
		for (int i = 0, n = 0; i < r->ncols; i++) {
			if (!r->cols[i].is_key)
				continue;
			add_quoted_col(r, &b, n++ ? " AND t." : "t.", i);
			add_quoted_col(r, &b, " = s.", i);
		}
		pn_buf_adds(&b, " RETURNING s." SEQ_COL " AS seq) SELECT s." SEQ_COL
			    " FROM pn_sink_batch AS s WHERE NOT EXISTS"
			    " (SELECT 1 FROM u WHERE u.seq = s." SEQ_COL ")");
		break;
	}
	r->merge_sql = pn_buf_detach(&b, NULL);
	pn_buf_adds(&b, "INSERT INTO pn_sink_batch VALUES ($1");
	for (int i = 0; i < r->ncols; i++)
		pn_buf_addf(&b, ", $%d", i + 2);
	pn_buf_addc(&b, ')');
	r->load_sql = pn_buf_detach(&b, NULL);
	pn_buf_release(&list);
}

static int create_temp(struct run *r);

/* Decides the columns: --fields, else the first record's own fields. */
static void plan_columns(struct run *r, const struct pn_json *j)
{
	const struct opts *o = r->o;

	for (int k = 0; k < o->npk; k++)
		add_col(r, o->pk[k], strlen(o->pk[k]));
	if (o->nfields) {
		for (int i = 0; i < o->nfields; i++)
			add_col(r, o->fields[i], strlen(o->fields[i]));
	} else {
		for (int k = 1; k < j->ntok; k = pn_json_skip(j, k + 1)) {
			const struct pn_tok *t = &j->tok[k];

			if (j->text[t->start] != '_')
				add_col(r, j->text + t->start, t->end - t->start);
		}
	}
	if (r->ncols > 255)
		pn_die(PN_EX_CONFIG, "too many columns: %d, at most 255", r->ncols);
	r->planned = 1;
	build_sql(r);
	/* on failure the next batch reconnects, which makes the table again */
	if (r->conn && create_temp(r)) {
		PQfinish(r->conn);
		r->conn = NULL;
	}
}

static void write_reject(struct run *r, const char *line, size_t len)
{
	if (fwrite(line, 1, len, r->reject) != len || putc('\n', r->reject) == EOF)
		pn_die(PN_EX_IOERR, "cannot write to reject file '%s'", r->o->reject_path);
	r->counts.rejected++;
}

/* A bad input line: set aside with --reject, else the end of the input. */
static void bad_line(struct run *r, const struct pn_reader *in, const char *line, size_t len,
		     const char *why, size_t column)
{
	if (column)
		pn_error_at(in->name, in->lineno, "%s (byte %zu)", why, column);
	else
		pn_error_at(in->name, in->lineno, "%s", why);
	if (r->reject) {
		write_reject(r, line, len);
		return;
	}
	r->status = PN_EX_DATAERR;
	r->stop_input = 1;
}

static uint64_t hash_bytes(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
	return h;
}

/* Marks an earlier row with the same key as dead: the last row wins. */
static void dedupe(struct run *r, size_t idx)
{
	struct row *w = &r->rows[idx];
	const char *key = r->keys.data + w->key_off;
	size_t mask = r->hashcap - 1, h = hash_bytes(key, w->key_len) & mask;

	for (;; h = (h + 1) & mask) {
		int32_t slot = r->hash[h];
		struct row *x;

		if (!slot) {
			r->hash[h] = (int32_t)idx + 1;
			return;
		}
		x = &r->rows[slot - 1];
		if (x->key_len == w->key_len &&
		    !memcmp(r->keys.data + x->key_off, key, w->key_len)) {
			x->dead = 1;
			r->counts.duplicates++;
			r->hash[h] = (int32_t)idx + 1;
			return;
		}
	}
}

/* Adds one record to the batch, or reports it as bad input. */
static void add_line(struct run *r, const struct pn_reader *in, unsigned input, char *line,
		     size_t len)
{
	struct pn_json *j = &r->json;
	size_t copy_start = r->copy.len, key_start = r->keys.len;
	const char *why = NULL;
	struct row *w;

	if (pn_json_parse(j, line, len))
		return bad_line(r, in, line, len, j->why, j->at + 1);
	if (!pn_json_is_object(j, 0))
		return bad_line(r, in, line, len, "not a JSON object", 0);
	if (!r->planned)
		plan_columns(r, j);
	if (!r->o->nfields) {
		/* the first record chose the columns: later ones may not add any */
		for (int k = 1; k < j->ntok; k = pn_json_skip(j, k + 1)) {
			const struct pn_tok *t = &j->tok[k];
			int known = j->text[t->start] == '_';

			for (int i = 0; i < r->ncols && !known; i++)
				known = pn_json_tok_eq(j, k, r->cols[i].field, strlen(r->cols[i].field));
			if (!known) {
				pn_buf_reset(&r->msg);
				pn_buf_addf(&r->msg, "field '%.*s' is not among the columns the first record set (see --fields)",
					    t->end - t->start, j->text + t->start);
				return bad_line(r, in, line, len, r->msg.data, 0);
			}
		}
	}
	pn_buf_add_u64(&r->copy, r->nrows);
	for (int i = 0; i < r->ncols; i++) {
		const struct col *c = &r->cols[i];
		int v = pn_json_get(j, 0, c->field, strlen(c->field));

		pn_buf_addc(&r->copy, '\t');
		if (v < 0 && !c->is_key) {
			pn_buf_add(&r->copy, "\\N", 2);
			continue;
		}
		if (v < 0 || (c->is_key && j->tok[v].type == PN_JSON_PRIMITIVE &&
			       j->text[j->tok[v].start] == 'n')) {
			pn_buf_reset(&r->msg);
			pn_buf_addf(&r->msg, "key field '%s' is %s", c->field, v < 0 ? "missing" : "null");
			goto bad;
		}
		size_t at = r->copy.len;

		if (pn_pg_copy_value(&r->copy, j, v, c->kind, &r->tmp, &why)) {
			pn_buf_reset(&r->msg);
			pn_buf_addf(&r->msg, "field '%s' %s, column '%s' is %s", c->field, why,
				    r->table.cols[c->table_col].name, r->table.cols[c->table_col].type);
			goto bad;
		}
		if (c->is_key) {
			if (r->keys.len > key_start)
				pn_buf_addc(&r->keys, '\t');
			pn_buf_add(&r->keys, r->copy.data + at, r->copy.len - at);
		}
	}
	pn_buf_addc(&r->copy, '\n');

	if (r->nrows == r->caprows) {
		r->caprows = r->caprows ? r->caprows * 2 : 1024;
		r->rows = pn_realloc(r->rows, r->caprows * sizeof(*r->rows));
	}
	w = &r->rows[r->nrows];
	*w = (struct row){ .copy_off = copy_start, .copy_len = r->copy.len - copy_start,
			   .key_off = key_start, .key_len = r->keys.len - key_start,
			   .line_off = r->lines.len, .line_len = len,
			   .lineno = in->lineno, .input = input };
	pn_buf_add(&r->lines, line, len);
	if (r->o->npk)
		dedupe(r, r->nrows);
	if (!r->nrows)
		r->batch_started_ms = now_ms();
	r->nrows++;
	r->counts.rows++;
	return;
bad:
	r->copy.len = copy_start;
	r->keys.len = key_start;
	bad_line(r, in, line, len, r->msg.data, 0);
}

enum { TRY_OK, TRY_ROW_ERROR, TRY_CONN_LOST };

/* Whether a failed command lost the connection (or the server went away). */
static int conn_lost(PGconn *conn, const PGresult *res)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	if (PQstatus(conn) == CONNECTION_BAD)
		return 1;
	/* 08: connection exception; 57P: operator intervention (shutdown) */
	return state && (!strncmp(state, "08", 2) || !strncmp(state, "57P", 3));
}

/* Runs a command; TRY_OK, or TRY_ROW_ERROR with the message in r->msg. */
static int run_cmd(struct run *r, PGresult *res, ExecStatusType want)
{
	int rc = TRY_OK;

	if (PQresultStatus(res) != want) {
		rc = conn_lost(r->conn, res) ? TRY_CONN_LOST : TRY_ROW_ERROR;
		pn_buf_reset(&r->msg);
		if (res)
			pn_pg_result_error(res, &r->msg);
		else
			pn_pg_error(r->conn, &r->msg);
	}
	PQclear(res);
	return rc;
}

static int sql_exec(struct run *r, const char *sql)
{
	return run_cmd(r, PQexec(r->conn, sql), PGRES_COMMAND_OK);
}

/* The merge statement; an update reports the rows that found no row with
 * their key. */
static int merge(struct run *r)
{
	PGresult *res = PQexec(r->conn, r->merge_sql);
	ExecStatusType want = r->o->mode == MODE_UPDATE ? PGRES_TUPLES_OK : PGRES_COMMAND_OK;

	if (PQresultStatus(res) == want && r->o->mode == MODE_UPDATE) {
		for (int i = 0; i < PQntuples(res); i++) {
			const struct row *w = &r->rows[strtoull(PQgetvalue(res, i, 0), NULL, 10)];

			r->batch_absent++;
			if (r->absent_reported++ < 10 && pn_verbosity >= 1)
				fprintf(stderr, "%s: warning (at %s:%llu): no row in '%s' has this key\n",
					pn_progname(), r->names[w->input], w->lineno, r->o->table);
		}
	}
	return run_cmd(r, res, want);
}

/* The whole batch: COPY, one merge, commit. */
static int try_batch(struct run *r)
{
	int rc;

	if ((rc = sql_exec(r, "BEGIN")))
		return rc;
	rc = run_cmd(r, PQexec(r->conn, "COPY pn_sink_batch FROM STDIN"), PGRES_COPY_IN);
	if (rc)
		return rc;
	for (size_t i = 0; i < r->nrows; ) {
		size_t from = r->rows[i].copy_off, to;

		/* runs of live rows are contiguous in the COPY text */
		if (r->rows[i].dead) {
			i++;
			continue;
		}
		while (i < r->nrows && !r->rows[i].dead)
			i++;
		to = r->rows[i - 1].copy_off + r->rows[i - 1].copy_len;
		if (PQputCopyData(r->conn, r->copy.data + from, (int)(to - from)) != 1)
			break;
	}
	if (PQputCopyEnd(r->conn, NULL) != 1)
		return TRY_CONN_LOST;
	if ((rc = run_cmd(r, PQgetResult(r->conn), PGRES_COMMAND_OK))) {
		PQclear(PQgetResult(r->conn));
		return rc;
	}
	if ((rc = merge(r)))
		return rc;
	return sql_exec(r, "COMMIT");
}

/* Row by row under savepoints: the rows the server refuses are reported
 * and set aside, the others written, all in one transaction. */
static int try_rows(struct run *r)
{
	const char *vals[256];
	struct pn_buf split = PN_BUF_INIT;
	int rc = sql_exec(r, "BEGIN");

	for (size_t i = 0; i < r->nrows && !rc; i++) {
		struct row *w = &r->rows[i];
		int n;

		if (w->dead)
			continue;
		n = pn_pg_copy_split(r->copy.data + w->copy_off, w->copy_len - 1, &split, vals, 256);
		if ((rc = sql_exec(r, "SAVEPOINT pn_row")))
			break;
		rc = run_cmd(r, PQexecParams(r->conn, r->load_sql, n, NULL, vals, NULL, NULL, 0),
			     PGRES_COMMAND_OK);
		if (!rc)
			rc = merge(r);
		if (!rc)
			rc = sql_exec(r, "DELETE FROM pn_sink_batch");
		if (rc == TRY_ROW_ERROR) {
			pn_error_at(r->names[w->input], w->lineno, "%s", r->msg.data);
			r->counts.failed++;
			w->dead = 1;
			if (r->reject)
				write_reject(r, r->lines.data + w->line_off, w->line_len);
			else {
				r->status = PN_EX_DATAERR;
				r->stop_input = 1;
			}
			rc = sql_exec(r, "ROLLBACK TO SAVEPOINT pn_row");
		}
		if (!rc)
			rc = sql_exec(r, "RELEASE SAVEPOINT pn_row");
	}
	if (!rc)
		rc = sql_exec(r, "COMMIT");
	pn_buf_release(&split);
	return rc;
}

/* The session's batch table: the written columns, typed as the target's. */
static int create_temp(struct run *r)
{
	struct pn_buf sql = PN_BUF_INIT;
	int rc;

	pn_buf_adds(&sql, "CREATE TEMP TABLE pn_sink_batch ON COMMIT DELETE ROWS AS SELECT 0::int8 AS "
		    SEQ_COL);
	for (int i = 0; i < r->ncols; i++)
		add_quoted_col(r, &sql, ", ", i);
	pn_buf_addf(&sql, " FROM %s WITH NO DATA", r->table.quoted);
	rc = sql_exec(r, sql.data);
	pn_buf_release(&sql);
	return rc;
}

/* Connects and prepares the session; 0, or -1 with the reason in r->msg. */
static int connect_db(struct run *r)
{
	char *why;

	r->conn = pn_pg_connect(r->o->dsn, &why);
	if (!r->conn) {
		pn_buf_reset(&r->msg);
		pn_buf_adds(&r->msg, why);
		free(why);
		return -1;
	}
	if (r->planned && create_temp(r)) {
		PQfinish(r->conn);
		r->conn = NULL;
		return -1;
	}
	return 0;
}

static void disconnect(struct run *r)
{
	if (r->conn)
		PQfinish(r->conn);
	r->conn = NULL;
}

/* Writes the batch in hand, reconnecting as long as --retry-for allows. */
static void flush_batch(struct run *r)
{
	long long deadline = now_ms() + r->o->retry_ms, wait = 100;
	size_t live = 0;
	int rc, row_by_row = 0;

	if (!r->nrows)
		return;
	for (;;) {
		r->batch_absent = 0;
		if (!r->conn && connect_db(r))
			rc = TRY_CONN_LOST;
		else
			rc = row_by_row ? try_rows(r) : try_batch(r);
		if (rc == TRY_OK)
			break;
		if (rc == TRY_ROW_ERROR && !row_by_row) {
			pn_info("batch refused (%s); writing it row by row", r->msg.data);
			sql_exec(r, "ROLLBACK");
			row_by_row = 1;
			continue;
		}
		if (rc == TRY_ROW_ERROR)
			pn_die(PN_EX_FAILED, "cannot write to '%s': %s", r->o->table, r->msg.data);
		/* the connection is gone: the transaction with it */
		disconnect(r);
		if (now_ms() >= deadline)
			pn_die(PN_EX_TEMPFAIL, "giving up on PostgreSQL after %llds: %s",
			       (long long)(r->o->retry_ms / 1000), r->msg.data);
		pn_warn("lost the connection (%s); retrying in %lldms", r->msg.data, wait);
		r->counts.retries++;
		usleep(wait * 1000);
		wait = wait * 2 > 5000 ? 5000 : wait * 2;
	}
	for (size_t i = 0; i < r->nrows; i++)
		live += !r->rows[i].dead;
	r->counts.written += live - r->batch_absent;
	r->counts.absent += r->batch_absent;
	r->counts.batches++;
	r->nrows = 0;
	pn_buf_reset(&r->copy);
	pn_buf_reset(&r->keys);
	pn_buf_reset(&r->lines);
	if (r->hash)
		memset(r->hash, 0, r->hashcap * sizeof(*r->hash));
}

/* Reads one input to its end, writing full batches as they fill. */
static int sink_input(struct run *r, const char *path, unsigned input)
{
	struct pn_reader in;
	char *line;
	size_t len;
	int got = 0;

	if (pn_reader_open(&in, path) < 0) {
		pn_error("cannot open '%s': %m", path);
		r->status = PN_EX_IOERR;
		return -1;
	}
	r->names[input] = in.name;
	while (!pn_stop && !r->stop_input) {
		in.timeout_ms = -1;
		if (r->nrows) {
			long long left = r->batch_started_ms + r->o->batch_ms - now_ms();

			in.timeout_ms = left > 0 ? (int)left : 0;
		}
		got = pn_reader_next(&in, &line, &len);
		if (got == PN_READER_TIMEOUT) {
			if (r->nrows && now_ms() >= r->batch_started_ms + r->o->batch_ms)
				flush_batch(r);
			continue;
		}
		if (got <= 0)
			break;
		r->counts.lines++;
		add_line(r, &in, input, line, len);
		pn_progress_tick(&r->progress, r->counts.rows);
		if (r->nrows >= (size_t)r->o->batch_rows)
			flush_batch(r);
	}
	if (!pn_stop && got < 0) {
		pn_error("cannot read '%s': %m", in.name);
		r->status = PN_EX_IOERR;
	}
	/* the batch may still name this input */
	flush_batch(r);
	r->names[input] = NULL;
	pn_reader_close(&in);
	return got < 0 || r->stop_input ? -1 : 0;
}

static void open_table(struct run *r)
{
	int rc;

	if (connect_db(r))
		pn_die(PN_EX_UNAVAILABLE, "%s", r->msg.data);
	pn_buf_reset(&r->msg);
	rc = pn_pg_table_load(r->conn, r->o->table, &r->table, &r->msg);
	if (rc < 0)
		pn_die(PN_EX_CONFIG, "%s", r->msg.data);
	if (rc > 0)
		pn_die(PN_EX_CONFIG, "table '%s' does not exist", r->o->table);
	for (int k = 0; k < r->o->npk; k++)
		if (pn_pg_table_column(&r->table, column_of(r->o, r->o->pk[k])) < 0)
			pn_die(PN_EX_CONFIG, "table '%s' has no column '%s'", r->o->table,
			       column_of(r->o, r->o->pk[k]));
	if (r->o->mode == MODE_UPSERT) {
		int *cols = pn_malloc(r->o->npk * sizeof(*cols));

		for (int k = 0; k < r->o->npk; k++)
			cols[k] = pn_pg_table_column(&r->table, column_of(r->o, r->o->pk[k]));
		if (!pn_pg_table_has_unique(r->conn, &r->table, cols, r->o->npk))
			pn_die(PN_EX_CONFIG, "--mode upsert needs a primary key or unique index on the --pk columns of '%s'",
			       r->o->table);
		free(cols);
	}
	if (r->o->nfields)
		plan_columns(r, NULL);
}

static void print_stats(const struct counts *c, double seconds)
{
	fprintf(stderr,
		"{\"lines\":%llu,\"rows\":%llu,\"written\":%llu,\"duplicates\":%llu,"
		"\"absent\":%llu,\"failed\":%llu,\"rejected\":%llu,\"batches\":%llu,"
		"\"retries\":%llu,\"seconds\":%.3f}\n",
		(unsigned long long)c->lines, (unsigned long long)c->rows,
		(unsigned long long)c->written, (unsigned long long)c->duplicates,
		(unsigned long long)c->absent, (unsigned long long)c->failed,
		(unsigned long long)c->rejected, (unsigned long long)c->batches,
		(unsigned long long)c->retries, seconds);
}

int main(int argc, char **argv)
{
	struct opts o;
	struct run r;
	long long started = now_ms();

	pn_set_progname(argv[0]);
	parse_options(&o, argc, argv);
	memset(&r, 0, sizeof(r));
	r.o = &o;
	pn_json_init(&r.json);
	r.names = pn_malloc((o.ninputs ? o.ninputs : 1) * sizeof(*r.names));
	for (r.hashcap = 16; r.hashcap < (size_t)o.batch_rows * 2; r.hashcap *= 2)
		;
	r.hash = pn_malloc(r.hashcap * sizeof(*r.hash));
	memset(r.hash, 0, r.hashcap * sizeof(*r.hash));
	pn_signal_install();
	pn_progress_init(&r.progress);

	open_table(&r);
	if (o.reject_path && !(r.reject = fopen(o.reject_path, "a")))
		pn_die(PN_EX_IOERR, "cannot open reject file '%s': %m", o.reject_path);

	if (!o.ninputs)
		sink_input(&r, "-", 0);
	for (int i = 0; i < o.ninputs && !pn_stop; i++)
		if (sink_input(&r, o.inputs[i], i) < 0)
			break;
	if (pn_stop)
		pn_info("stopped on signal %d after %llu rows", (int)pn_stop,
			(unsigned long long)r.counts.written);

	pn_progress_done(&r.progress);
	if (r.counts.absent)
		pn_warn("%llu records found no row with their key in '%s' (--mode update)",
			(unsigned long long)r.counts.absent, o.table);
	if (r.reject && fclose(r.reject) != 0)
		pn_die(PN_EX_IOERR, "cannot write to reject file '%s': %m", o.reject_path);
	if (o.stats)
		print_stats(&r.counts, (now_ms() - started) / 1000.0);

	disconnect(&r);
	pn_pg_table_release(&r.table);
	for (int i = 0; i < r.ncols; i++)
		free(r.cols[i].field);
	free(r.cols);
	free(r.merge_sql);
	free(r.load_sql);
	free(r.rows);
	free(r.hash);
	free(r.names);
	pn_buf_release(&r.copy);
	pn_buf_release(&r.keys);
	pn_buf_release(&r.lines);
	pn_buf_release(&r.tmp);
	pn_buf_release(&r.msg);
	pn_json_release(&r.json);
	free_list(o.pk, o.npk);
	free_list(o.fields, o.nfields);
	free(o.maps);
	return r.status;
}
