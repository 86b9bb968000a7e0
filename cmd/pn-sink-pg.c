/*
 * pn-sink-pg — write NDJSON records into a PostgreSQL table.
 *
 * Records are changelog rows: absolute values keyed by --pk.  They are
 * gathered into batches (--batch-rows, --batch-ms) in which the last row
 * per key wins; a batch is loaded with COPY into a temporary table and
 * merged into the target by one set-based statement (insert, upsert or
 * update), in one transaction (pn_sink).  Values travel as COPY data or
 * statement parameters, never in SQL text; identifiers are quoted by libpq.
 * Control records are left out, counted.  Rows that name their owner's
 * epoch (_epoch, from pn-aggregate --state DIR/) are fenced: those of an
 * owner older than one whose rows the table has are dropped, counted
 * (pn_pg_fences).
 *
 * Two batches take turns: while the server merges a full one, the next is
 * read and built; it is sent once the first is collected.  A row the
 * server refuses is reported (input, line, the server's message) and the
 * rest of its batch still written; a lost connection is retried with
 * backoff.  When the input is quiet or ends, and on SIGTERM, the batch in
 * hand is written before anything else is read.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pn_buf.h"
#include "pn_clock.h"
#include "pn_err.h"
#include "pn_input.h"
#include "pn_io.h"
#include "pn_json.h"
#include "pn_opt.h"
#include "pn_pg.h"
#include "pn_pg_batch.h"
#include "pn_pg_copy.h"
#include "pn_pg_offsets.h"
#include "pn_pg_sql.h"
#include "pn_pg_table.h"
#include "pn_pieces.h"
#include "pn_record.h"
#include "pn_signal.h"
#include "pn_sink.h"
#include "pn_stats.h"

static const char usage_text[] =
	"usage: pn-sink-pg [-d DSN] -t TABLE [-k FIELDS] [-m insert|upsert|update]\n"
	"                  [-f FIELDS] [--map FIELD:COLUMN] [--batch-rows N]\n"
	"                  [--batch-ms DURATION] [--retry-for DURATION] [--create]\n"
	"                  [--delete-on-tombstone] [--offsets-table TABLE] [--fence-table TABLE]\n"
	"                  [--ack-to STATE] [--reject FILE] [--stats] [--stats-interval D]\n"
	"                  [--metrics FILE] [-qv] [FILE ...]\n"
	"       pn-sink-pg [-d DSN] -t TABLE --offsets-table TABLE --print-offsets\n";

static const struct pn_opt_text help_text = {
	.usage = usage_text,
	.about = "Write NDJSON records from FILEs (or stdin) into a PostgreSQL table.\n",
	.epilog = "Exit status: 0 done, 1 some rows failed, 64 usage, 65 bad input,\n"
		  "69 PostgreSQL unavailable, 74 I/O error, 75 temporary failure,\n"
		  "78 bad configuration.\n",
};

struct opts {
	const char *dsn;
	const char *table;
	char **pk;			/* --pk fields */
	int npk;
	enum pn_pg_mode mode;
	char **fields;			/* --fields whitelist, or NULL */
	int nfields;
	char **maps;			/* --map FIELD:COLUMN */
	int nmaps;
	int64_t batch_rows;
	int64_t batch_ms;
	int64_t retry_ms;		/* give up reconnecting after this long */
	int delete_tombstone;
	int create;
	const char *offsets_table;
	const char *fence_table;
	int print_offsets;
	const char *ack_to;		/* --ack-to: a pn-aggregate state */
	const char *reject_path;
	struct pn_stats_opts stats;
	char **inputs;
	int ninputs;
};

struct counts {
	uint64_t rows, skipped;		/* the others are the input's and the sink's */
};

/* A save or revocation that pn-aggregate announced, acknowledged once the
 * batch sent as number after is written. */
struct pending_ack {
	char *topic;
	int32_t partition;
	int64_t next;
	int64_t epoch;		/* the saving owner's, -1 unknown */
	uint64_t after;
	int revocation;
};

struct run {
	const struct opts *o;
	struct pn_sink sink;		/* the connection and the batch in flight */
	struct pn_pg_table table;
	struct pn_pg_col *cols;
	int ncols;
	int planned;			/* cols set (from --fields or the first record) */
	/* the names looked up in each record: the columns' fields, then
	 * _topic, _partition, _offset and _epoch; and their value tokens */
	const char **names_wanted;
	size_t *lens_wanted;
	int *val;
	struct pn_json_memo val_memo;	/* the record shape val holds for */
	int missing;			/* --create: the table is made from the first record */
	struct pn_pg_sql sql;		/* the statements for these columns */
	struct pn_input in;		/* the inputs, the reject file, the progress line */
	struct pn_pg_batch batches[2];	/* the one in hand, the one in flight */
	struct pn_pg_batch *batch;	/* the rows in hand */
	struct pn_buf tmp, msg;
	long long batch_started_ms, sent_ms;
	struct pn_offsets offsets;
	struct pn_offsets sources;	/* the owners' topic-partitions, by _epoch */
	struct pn_pieces acks;		/* --ack-to */
	uint64_t acked;			/* revocations acknowledged */
	uint64_t saves_acked;		/* pn-aggregate's saves acknowledged */
	uint64_t acks_fenced;		/* not written: their owner had lost the partition */
	struct pending_ack *pending;	/* acknowledgements not written yet */
	int npending;
	uint64_t sent_seq;		/* batches sent so far */
	int ack_status;			/* a failed acknowledgement's exit status */
	uint64_t controls;		/* control records read, with --ack-to */
	struct counts counts;
	struct pn_stats_live live;	/* --stats-interval, --metrics */
	unsigned absent_reported;
	int refused_stop;		/* a refused row without --reject */
};

/* -k and -f: comma-separated field names; opt->value: 1 for -k. */
static void take_fields(const struct pn_opt *opt, const char *arg)
{
	struct opts *o = opt->dest;
	char ***list = opt->value ? &o->pk : &o->fields;
	int *n = opt->value ? &o->npk : &o->nfields;

	pn_free_list(*list, *n);
	if (!(*list = pn_split_list(arg, ',', n)))
		pn_usage_error(usage_text, "bad %s list '%s': empty name",
			       opt->value ? "key" : "field", arg);
}

static void take_mode(const struct pn_opt *opt, const char *arg)
{
	enum pn_pg_mode *mode = opt->dest;

	if (!strcmp(arg, "insert"))
		*mode = PN_PG_INSERT;
	else if (!strcmp(arg, "upsert"))
		*mode = PN_PG_UPSERT;
	else if (!strcmp(arg, "update"))
		*mode = PN_PG_UPDATE;
	else
		pn_usage_error(usage_text, "bad mode '%s': expected insert, upsert or update", arg);
}

static void take_map(const struct pn_opt *opt, const char *arg)
{
	struct opts *o = opt->dest;
	const char *colon = strchr(arg, ':');

	if (!colon || colon == arg || !colon[1])
		pn_usage_error(usage_text, "bad mapping '%s': expected FIELD:COLUMN", arg);
	o->maps = pn_realloc(o->maps, (o->nmaps + 1) * sizeof(*o->maps));
	o->maps[o->nmaps++] = (char *)arg;
}

static void parse_options(struct opts *o, int argc, char **argv)
{
	const struct pn_opt options[] = {
		PN_OPT_STRING('d', "dsn", "CONNINFO", "libpq conninfo or URI (default: PG* "
			      "environment)", &o->dsn),
		PN_OPT_STRING('t', "table", "TABLE", "target table, schema.table allowed",
			      &o->table),
		PN_OPT_CALLBACK('k', "pk", "FIELDS", "key fields, comma-separated", take_fields, o,
				1),
		PN_OPT_CALLBACK('m', "mode", "MODE", "insert, upsert (default) or update",
				take_mode, &o->mode, 0),
		PN_OPT_CALLBACK('f', "fields", "FIELDS", "write only these fields, comma-separated",
				take_fields, o, 0),
		PN_OPT_CALLBACK(0, "map", "FIELD:COLUMN", "write FIELD into COLUMN (repeatable)",
				take_map, o, 0),
		PN_OPT_INT(0, "batch-rows", "N", "most rows per batch, after the last row per key "
			   "won (default 50000)", &o->batch_rows, 1, 10000000,
			   .bad = "bad batch size '%s'"),
		PN_OPT_DURATION(0, "batch-ms", "DURATION", "longest wait before a batch is written "
				"(default 1s)", &o->batch_ms, 0),
		PN_OPT_DURATION(0, "retry-for", "DURATION", "keep reconnecting this long "
				"(default 5m)", &o->retry_ms, 0),
		PN_OPT_FLAG(0, "create", "create the table from the first record if missing",
			    &o->create),
		PN_OPT_FLAG(0, "delete-on-tombstone", "a record with only null non-key fields "
			    "deletes its row", &o->delete_tombstone),
		PN_OPT_STRING(0, "offsets-table", "TABLE", "store the Kafka offsets of the rows "
			      "written there", &o->offsets_table),
		PN_OPT_STRING(0, "fence-table", "TABLE", "keep the owner epochs of rows that "
			      "carry one (_epoch) there (default pn_fences)", &o->fence_table),
		PN_OPT_FLAG(0, "print-offsets", "print the stored offsets (pn-consume "
			    "--start-offsets)", &o->print_offsets),
		PN_OPT_STRING(0, "ack-to", "STATE", "when a revocation passes, write its rows and "
			      "tell the pn-aggregate state STATE (pn-consume --wait-for-sink)",
			      &o->ack_to),
		PN_OPT_READER_END(&o->reject_path, "bad lines and refused rows", &o->stats),
	};
	int first;

	memset(o, 0, sizeof(*o));
	o->mode = PN_PG_UPSERT;
	o->batch_rows = 50000;
	o->batch_ms = 1000;
	o->retry_ms = 5 * 60 * 1000;
	o->fence_table = "pn_fences";
	first = pn_opt_parse(argc, argv, options, &help_text);
	if (!o->table)
		pn_usage_error(usage_text, "no table given (-t)");
	if (o->delete_tombstone && !o->npk)
		pn_usage_error(usage_text, "--delete-on-tombstone needs the key fields (--pk)");
	if (o->print_offsets && !o->offsets_table)
		pn_usage_error(usage_text, "--print-offsets needs --offsets-table");
	if (o->mode != PN_PG_INSERT && !o->npk && !o->print_offsets)
		pn_usage_error(usage_text, "--mode %s needs the key fields (--pk)",
			       o->mode == PN_PG_UPSERT ? "upsert" : "update");
	o->inputs = argv + first;
	o->ninputs = argc - first;
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

/* The name of the member whose key is token k, decoded ("\u0041b" is
 * "Ab"); malloc'ed.  A name no column can have is the end. */
static char *member_name(const struct pn_json *j, int k)
{
	struct pn_buf b = PN_BUF_INIT;

	pn_json_unescape(j->text + j->tok[k].start, j->tok[k].end - j->tok[k].start, &b);
	if (!b.len)
		return pn_strdup("");
	if (memchr(b.data, '\0', b.len))
		pn_die(PN_EX_DATAERR, "the first record has a field name holding a NUL (\\u0000)");
	return pn_buf_detach(&b, NULL);
}

static void add_col(struct run *r, const char *field, size_t len)
{
	char *name = pn_strndup(field, len);
	const char *column = column_of(r->o, name);
	int tc = pn_pg_table_column(&r->table, column);
	struct pn_pg_col *c;

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

/* The batch's statements join it to the table by key: update's, and the
 * tombstones' delete (upsert's ON CONFLICT needs no join). */
static int joins_by_key(const struct run *r)
{
	return r->o->npk && (r->o->mode == PN_PG_UPDATE || r->o->delete_tombstone);
}

/* The --pk columns have a primary key or a unique index. */
static int key_is_unique(struct run *r)
{
	int *cols = pn_malloc(r->o->npk * sizeof(*cols)), found;

	for (int k = 0; k < r->o->npk; k++)
		cols[k] = pn_pg_table_column(&r->table, column_of(r->o, r->o->pk[k]));
	found = pn_pg_table_has_unique(r->sink.conn, &r->table, cols, r->o->npk);
	free(cols);
	return found;
}

/* --create: the table from the first record, keyed by --pk. */
static void create_table(struct run *r, const struct pn_json *j)
{
	const struct opts *o = r->o;
	struct pn_buf sql = PN_BUF_INIT, seen = PN_BUF_INIT;
	int n = 0, rc;

	pn_buf_addf(&sql, "CREATE TABLE IF NOT EXISTS %s (", r->table.quoted);
	pn_buf_addc(&seen, '\n');
	for (int pass = 0; pass < 3; pass++) {
		int count = pass == 0 ? o->npk : pass == 1 ? o->nfields : (o->nfields ? 0 : j->ntok);

		for (int k = pass == 2 ? 1 : 0; k < count;
		     k = pass == 2 ? pn_json_skip(j, k + 1) : k + 1) {
			const char *field;
			char *name;
			int v;

			if (pass == 2) {
				const struct pn_tok *t = &j->tok[k];

				if (pn_json_is_meta_name(j->text + t->start, t->end - t->start))
					continue;
				name = member_name(j, k);
			} else {
				name = pn_strdup(pass == 0 ? o->pk[k] : o->fields[k]);
			}
			field = column_of(o, name);
			pn_buf_reset(&r->tmp);
			pn_buf_addf(&r->tmp, "\n%s\n", field);
			if (!strstr(seen.data, r->tmp.data)) {
				pn_buf_adds(&seen, r->tmp.data + 1);
				v = pn_json_get(j, 0, name, strlen(name));
				if (n++)
					pn_buf_adds(&sql, ", ");
				pn_pg_add_ident(&sql, field, NULL);
				pn_buf_addf(&sql, " %s", pn_pg_type_for(j, v));
			}
			free(name);
		}
	}
	if (o->npk) {
		pn_buf_adds(&sql, ", PRIMARY KEY (");
		for (int k = 0; k < o->npk; k++) {
			if (k)
				pn_buf_adds(&sql, ", ");
			pn_pg_add_ident(&sql, column_of(o, o->pk[k]), NULL);
		}
		pn_buf_addc(&sql, ')');
	}
	pn_buf_addc(&sql, ')');
	if (pn_sink_exec(&r->sink, sql.data))
		pn_die(PN_EX_CONFIG, "cannot create table '%s': %s", o->table, r->sink.msg.data);
	pn_info("created table %s", r->table.quoted);
	pn_pg_table_release(&r->table);
	pn_buf_reset(&r->msg);
	rc = pn_pg_table_load(r->sink.conn, o->table, &r->table, &r->msg);
	if (rc)
		pn_die(PN_EX_CONFIG, "cannot read table '%s' back: %s", o->table, r->msg.data);
	r->missing = 0;
	pn_buf_release(&sql);
	pn_buf_release(&seen);
}

/* The metadata fields looked up after the columns' (see names_wanted). */
enum { NMETA = 4 };

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
			char *name;

			if (pn_json_is_meta_name(j->text + t->start, t->end - t->start))
				continue;
			name = member_name(j, k);
			add_col(r, name, strlen(name));
			free(name);
		}
	}
	/* with the seq and delete columns, a COPY row has at most 256 fields */
	if (r->ncols > 254)
		pn_die(PN_EX_CONFIG, "too many columns: %d, at most 254", r->ncols);
	r->planned = 1;
	r->names_wanted = pn_realloc(NULL, (r->ncols + NMETA) * sizeof(*r->names_wanted));
	r->lens_wanted = pn_realloc(NULL, (r->ncols + NMETA) * sizeof(*r->lens_wanted));
	r->val = pn_realloc(NULL, (r->ncols + NMETA) * sizeof(*r->val));
	r->val_memo.shape = 0;
	for (int i = 0; i < r->ncols + NMETA; i++) {
		static const char *const meta[NMETA] = { "_topic", "_partition", "_offset",
							 "_epoch" };

		r->names_wanted[i] = i < r->ncols ? r->cols[i].field : meta[i - r->ncols];
		r->lens_wanted[i] = strlen(r->names_wanted[i]);
	}
	if (pn_pg_sql_build(PQserverVersion(r->sink.conn), &r->table, r->cols, r->ncols,
			    r->o->mode, r->o->delete_tombstone,
			    joins_by_key(r) && key_is_unique(r), &r->sql))
		pn_die(PN_EX_CONFIG, "cannot quote the column names of '%s'", r->o->table);
	pn_sink_prepare(&r->sink, &r->sql);
}

/* add_line's answer when the batch is full and the record has a key it
 * does not hold: the record is not taken, and belongs to the next batch. */
enum { BATCH_FULL = -2 };

/* Adds one record to the batch: 0, PN_INPUT_BAD with *why, or BATCH_FULL. */
static int add_line(struct run *r, struct pn_input *in, char *line, size_t len,
		    const char **why)
{
	struct pn_json *j = &in->json;
	struct pn_pg_batch *b = r->batch;
	struct pn_part *part = NULL, *source = NULL;
	int64_t offset = -1;
	uint64_t epoch = 0;
	int values = 0;			/* non-key fields that are not null */
	int unknown;			/* a member that is no column */

	if (!r->planned) {
		if (r->missing)
			create_table(r, j);
		plan_columns(r, j);
	}
	unknown = pn_json_members_memo(j, r->names_wanted, r->lens_wanted, r->ncols + NMETA,
				       r->val, &r->val_memo);
	if (r->sink.offsets_quoted) {
		int32_t partition;
		int pos = pn_record_position(j, r->val[r->ncols], r->val[r->ncols + 1],
					     r->val[r->ncols + 2], &r->tmp, &partition, &offset,
					     why);

		if (pos < 0)
			return PN_INPUT_BAD;
		if (pos > 0)
			part = pn_offsets_get(&r->offsets, r->tmp.data, partition);
		if (pos > 0 && part->appended >= 0 && offset < part->appended) {
			r->counts.skipped++;	/* written before, by this run or an earlier one */
			return 0;
		}
	}
	if (r->val[r->ncols + 3] >= 0) {
		int32_t partition;

		if (pn_record_epoch(j, r->val[r->ncols], r->val[r->ncols + 1],
				    r->val[r->ncols + 3], &r->tmp, &partition, &epoch, why) < 0)
			return PN_INPUT_BAD;
		source = pn_offsets_get(&r->sources, r->tmp.data, partition);
	}
	if (!r->o->nfields && unknown) {
		/* the first record chose the columns: later ones may not add any */
		const struct pn_tok *t = &j->tok[unknown];

		pn_buf_reset(&r->msg);
		pn_buf_addf(&r->msg, "field '%.*s' is not among the columns the first record set (see --fields)",
			    t->end - t->start, j->text + t->start);
		*why = r->msg.data;
		return PN_INPUT_BAD;
	}
	pn_pg_batch_begin(b);
	for (int i = 0; i < r->ncols; i++) {
		const struct pn_pg_col *c = &r->cols[i];
		int v = r->val[i];

		pn_buf_addc(&b->copy, '\t');
		if (v < 0 && !c->is_key) {
			pn_buf_add(&b->copy, "\\N", 2);
			continue;
		}
		if (v < 0 || (c->is_key && j->tok[v].type == PN_JSON_PRIMITIVE &&
			       j->text[j->tok[v].start] == 'n')) {
			pn_buf_reset(&r->msg);
			pn_buf_addf(&r->msg, "key field '%s' is %s", c->field, v < 0 ? "missing" : "null");
			goto bad;
		}
		size_t at = b->copy.len;

		values += !c->is_key && !(j->tok[v].type == PN_JSON_PRIMITIVE &&
					  j->text[j->tok[v].start] == 'n');
		if (pn_pg_copy_value(&b->copy, j, v, c->kind, &r->tmp, why)) {
			pn_buf_reset(&r->msg);
			pn_buf_addf(&r->msg, "field '%s' %s, column '%s' is %s", c->field, *why,
				    r->table.cols[c->table_col].name, r->table.cols[c->table_col].type);
			goto bad;
		}
		if (c->is_key)
			pn_pg_batch_key(b, at);
	}
	if (r->o->delete_tombstone)
		pn_buf_add(&b->copy, values ? "\tf" : "\tt", 2);
	if (!b->nrows)
		r->batch_started_ms = pn_now_ms();
	if (pn_pg_batch_end(b, line, len, in->reader.lineno, in->index,
			    r->o->delete_tombstone && !values, r->o->npk > 0))
		return BATCH_FULL;
	r->counts.rows++;
	if (part)
		part->appended = offset + 1;
	if (source)
		pn_pg_batch_epoch(b, source, epoch);
	return 0;
bad:
	pn_pg_batch_abandon(b);
	*why = r->msg.data;
	return PN_INPUT_BAD;
}

/* A row the server refused: reported, set aside with --reject, else the
 * end of the input. */
static void refused(void *arg, const struct pn_pg_row *w, const char *line, const char *why)
{
	struct run *r = arg;

	pn_error_at(pn_input_name(&r->in, w->input), w->lineno, "%s", why);
	if (r->in.reject.f)
		pn_reject_write(&r->in.reject, line, w->line_len);
	else
		r->refused_stop = 1;
}

/* A row of --mode update whose key has no row: the first ones are named. */
static void absent(void *arg, const struct pn_pg_row *w)
{
	struct run *r = arg;

	if (r->absent_reported++ < 10 && pn_verbosity >= 1)
		fprintf(stderr, "%s: warning (at %s:%llu): no row in '%s' has this key\n",
			pn_progname(), pn_input_name(&r->in, w->input), w->lineno, r->o->table);
}

/* How many of the batches sent are written: all but the one in flight
 * (pn_sink_send waits for that one before it sends the next). */
static uint64_t written_seq(const struct run *r)
{
	return r->sent_seq - (r->sink.inflight != NULL);
}

/*
 * Tells the store that the rows of a partition up to a->next are written:
 * 0, 1 when not told, PN_PIECES_BUSY to ask again later, or an exit
 * status.  Only while the owner that sent them (epoch) still holds the
 * partition, checked under the owner's lock: a stopped owner's rows may
 * have been fenced out of the table by its successor's, and its word would
 * then vouch for rows that are not there.  The lock is not waited for:
 * our own pn-aggregate may hold it while it writes into our input, which
 * we would no longer read.
 */
static int ack_rows(struct run *r, const struct pending_ack *a)
{
	int lock = -1, status = 0;

	if (a->epoch >= 0) {
		status = pn_pieces_trylock(&r->acks, a->topic, a->partition, (uint64_t)a->epoch,
					   &lock);
		if (status == 1) {
			if (!r->acks_fenced++)
				pn_warn("partition %s/%d has a newer owner than the one whose rows "
					"were written: not acknowledged", a->topic, (int)a->partition);
			return 1;
		}
		if (status)
			return status;
	}
	status = pn_pieces_ack(&r->acks, a->topic, a->partition, a->next);
	pn_pieces_unlock(lock);
	return status;
}

/* Writes the acknowledgements whose rows are all written, in their order;
 * one whose owner file is locked now, and those after it, wait. */
static void ack_pending(struct run *r)
{
	uint64_t written = written_seq(r);
	int done = 0, status;

	for (; done < r->npending && !r->ack_status; done++) {
		struct pending_ack *a = &r->pending[done];

		if (a->after > written || (status = ack_rows(r, a)) == PN_PIECES_BUSY)
			break;
		if (status > 1)
			r->ack_status = status;
		else if (!status)
			(*(a->revocation ? &r->acked : &r->saves_acked))++;
		free(a->topic);
	}
	if (!done)
		return;
	r->npending -= done;
	memmove(r->pending, r->pending + done, r->npending * sizeof(*r->pending));
}

/* Sends the batch in hand, if it has rows; the acknowledgements that the
 * last batch written lets go are written. */
static void send_rows(struct run *r)
{
	if (r->batch->nrows)
		r->sent_seq++;
	pn_sink_send(&r->sink, r->batch);
	ack_pending(r);
}

/* Collects the batch in flight: every batch sent is written. */
static void wait_written(struct run *r)
{
	pn_sink_wait(&r->sink);
	ack_pending(r);
}

/* Sends the batch in hand, full, to be written while the next is read. */
static void send_batch(struct run *r)
{
	send_rows(r);
	r->sent_ms = pn_now_ms();
	r->batch = r->batch == &r->batches[0] ? &r->batches[1] : &r->batches[0];
}

/* Writes everything read: the batch in flight, then the one in hand. */
static void flush_all(struct run *r)
{
	send_rows(r);
	wait_written(r);
}

/* What a callback answers once the sink has had its say: a row refused
 * without --reject ends the input, and so does a store that took no
 * acknowledgement. */
static int refusals(const struct run *r)
{
	return r->refused_stop ? PN_EX_DATAERR : r->ack_status;
}

/* An acknowledgement of the partition in r->tmp, to be written once the
 * rows read so far are (after the batch in hand, if it has any). */
static int queue_ack(struct run *r, int32_t partition, int64_t next, int64_t epoch,
		     int revocation)
{
	r->pending = pn_realloc(r->pending, (r->npending + 1) * sizeof(*r->pending));
	r->pending[r->npending++] = (struct pending_ack){
		.topic = pn_strdup(r->tmp.data), .partition = partition, .next = next,
		.epoch = epoch, .after = r->sent_seq + (r->batch->nrows > 0),
		.revocation = revocation };
	ack_pending(r);
	return refusals(r);
}

/*
 * A control record, with --ack-to: a revocation that pn-aggregate passed
 * on after the partition's last rows, with the offset its state saved.
 * Every row read so far is written, then the state is told, so that the
 * partition's next owner starts only once these rows are in the table.
 * A save is told once its rows are written, in their time, without
 * hurrying the batches: a new owner of the partition then emits again
 * only the groups that changed after it.
 */
static int ack_control(struct run *r, const struct pn_json *j, int ctl, const char **why)
{
	int32_t partition;
	int64_t next, epoch;
	int status, saved = pn_json_tok_eq(j, ctl, "saved", 5);

	if (!saved && !pn_json_tok_eq(j, ctl, "revoked", 7) && !pn_json_tok_eq(j, ctl, "lost", 4))
		return 0;
	if (pn_record_control_target(j, &r->tmp, &partition, &next, why) < 0 ||
	    pn_record_control_epoch(j, &epoch, why) < 0)
		return PN_INPUT_BAD;
	if (next < 0)
		return 0; /* pn-consume's own: the rows before it are pn-aggregate's to tell */
	if (saved)
		return queue_ack(r, partition, next, epoch, 0);
	flush_all(r);
	if ((status = refusals(r)))
		return status;
	return queue_ack(r, partition, next, epoch, 1);
}

/* One record into the batch in hand (pn_input's callback); full batches
 * are sent as they fill. */
static int sink_record(void *arg, struct pn_input *in, char *line, size_t len,
		       const char **why)
{
	struct run *r = arg;
	int rc, ctl = pn_record_control(&in->json);

	if (ctl >= 0) {
		r->controls++;
		return ack_control(r, &in->json, ctl, why);
	}
	/* a full batch is sent and the line starts the next, unless
	 * collecting the batch before ended the input */
	while ((rc = add_line(r, in, line, len, why)) == BATCH_FULL) {
		send_batch(r);
		if (r->refused_stop)
			return PN_EX_DATAERR;
	}
	if (!rc && !r->o->npk && r->batch->live >= (size_t)r->o->batch_rows)
		send_batch(r);
	return rc ? rc : refusals(r);
}

/*
 * Quiet input: the batch in flight is collected, and the one in hand
 * written once it is --batch-ms old.  Every 1024 lines: a batch that old
 * is sent; a keyed batch that is full still takes the records whose key
 * it holds, and is sent when one with a new key comes, or after
 * --batch-ms, which input that never pauses must also keep.
 */
static int sink_tick(void *arg, struct pn_input *in, int quiet)
{
	struct run *r = arg;

	(void)in;
	if (quiet)
		wait_written(r);
	if (r->batch->nrows && pn_now_ms() >= r->batch_started_ms + r->o->batch_ms) {
		if (quiet)
			flush_all(r);
		else
			send_batch(r);
	}
	return refusals(r);
}

/* How soon an acknowledgement whose owner file was locked is tried again. */
enum { ACK_RETRY_MS = 20 };

/* The input waits for lines until a batch in flight or in hand is
 * --batch-ms old, or an acknowledgement is to be tried again. */
static long long sink_deadline(void *arg)
{
	const struct run *r = arg;
	long long since = r->sink.inflight ? r->sent_ms : r->batch_started_ms;

	if (r->sink.inflight || r->batch->nrows)
		return since + r->o->batch_ms;
	return r->npending ? pn_now_ms() + ACK_RETRY_MS : -1;
}

/* The end of an input, for whatever reason: everything read is written,
 * and acknowledged once no one holds the owner files. */
static int sink_input_done(void *arg, struct pn_input *in)
{
	struct run *r = arg;

	(void)in;
	flush_all(r);
	while (r->npending && !r->ack_status && !pn_stop) {
		pn_sleep_ms(ACK_RETRY_MS);
		ack_pending(r);
	}
	return refusals(r);
}

static void open_table(struct run *r)
{
	struct pn_buf fences = PN_BUF_INIT;
	int rc;

	if (pn_sink_connect(&r->sink))
		pn_die(r->sink.config ? PN_EX_CONFIG : PN_EX_UNAVAILABLE, "%s", r->sink.msg.data);
	pn_buf_reset(&r->msg);
	rc = pn_pg_table_load(r->sink.conn, r->o->table, &r->table, &r->msg);
	if (rc < 0)
		pn_die(PN_EX_CONFIG, "%s", r->msg.data);
	if (rc > 0 && !r->o->create)
		pn_die(PN_EX_CONFIG, "table '%s' does not exist", r->o->table);
	r->missing = rc > 0;
	for (int k = 0; k < r->o->npk && !r->missing; k++)
		if (pn_pg_table_column(&r->table, column_of(r->o, r->o->pk[k])) < 0)
			pn_die(PN_EX_CONFIG, "table '%s' has no column '%s'", r->o->table,
			       column_of(r->o, r->o->pk[k]));
	if (r->o->mode == PN_PG_UPSERT && !r->o->print_offsets && !r->missing &&
	    !key_is_unique(r))
		pn_die(PN_EX_CONFIG, "--mode upsert needs a primary key or unique index on the --pk columns of '%s'",
		       r->o->table);
	if (pn_pg_add_name(&fences, r->o->fence_table, NULL))
		pn_die(PN_EX_CONFIG, "bad fence table name '%s'", r->o->fence_table);
	r->sink.fences_quoted = pn_buf_detach(&fences, NULL);
	if (r->o->offsets_table) {
		struct pn_buf q = PN_BUF_INIT;

		if (pn_pg_add_name(&q, r->o->offsets_table, NULL))
			pn_die(PN_EX_CONFIG, "bad offsets table name '%s'", r->o->offsets_table);
		r->sink.offsets_quoted = pn_buf_detach(&q, NULL);
		pn_buf_reset(&r->msg);
		if (pn_pg_offsets_prepare(r->sink.conn, r->sink.offsets_quoted, &r->msg) ||
		    pn_pg_offsets_load(r->sink.conn, r->sink.offsets_quoted, r->o->table, &r->offsets,
				       &r->msg))
			pn_die(PN_EX_CONFIG, "%s", r->msg.data);
	}
	if (r->o->nfields && !r->missing)
		plan_columns(r, NULL);
}

/* --print-offsets: what a consumer should start from, on stdout. */
static int print_offsets(struct run *r)
{
	struct pn_buf b = PN_BUF_INIT;
	int rc = PN_EX_OK;

	pn_offsets_write_json(&r->offsets, &b);
	if (fwrite(b.data, 1, b.len, stdout) != b.len || fflush(stdout) || ferror(stdout)) {
		pn_error("cannot write to standard output: %m");
		rc = PN_EX_IOERR;
	}
	pn_buf_release(&b);
	return rc;
}

/* The counters of --stats, --stats-interval and --metrics. */
static void fill_stats(void *arg, struct pn_stats *w, double seconds)
{
	const struct run *r = arg;
	const struct counts *c = &r->counts;
	const struct pn_sink *s = &r->sink;

	pn_stats_label(w, "table", r->o->table);
	pn_stats_u64(w, "lines", r->in.lines);
	pn_stats_u64(w, "rows", c->rows);
	pn_stats_u64(w, "written", s->written);
	pn_stats_u64(w, "duplicates", r->batches[0].replaced + r->batches[1].replaced);
	pn_stats_u64(w, "absent", s->absent);
	pn_stats_u64(w, "failed", s->failed);
	pn_stats_u64(w, "rejected", r->in.reject.count);
	pn_stats_u64(w, "batches", s->batches);
	pn_stats_u64(w, "retries", s->retries);
	pn_stats_u64(w, "skipped", c->skipped);
	pn_stats_u64(w, "deleted", s->deleted);
	pn_stats_u64(w, "controls", r->in.controls + r->controls);
	if (r->o->ack_to) {
		pn_stats_u64(w, "acked", r->acked);
		pn_stats_u64(w, "saves_acked", r->saves_acked);
		pn_stats_u64(w, "acks_fenced", r->acks_fenced);
	}
	pn_stats_u64(w, "fenced_rows", s->fenced);
	pn_stats_double(w, "seconds", seconds);
}

int main(int argc, char **argv)
{
	struct opts o;
	struct run r;
	int status;

	pn_set_progname(argv[0]);
	parse_options(&o, argc, argv);
	memset(&r, 0, sizeof(r));
	r.o = &o;
	if (!o.print_offsets)
		pn_stats_live_init(&r.live, &o.stats, fill_stats, &r);
	pn_pg_batch_init(&r.batches[0], (size_t)o.batch_rows);
	pn_pg_batch_init(&r.batches[1], (size_t)o.batch_rows);
	r.batch = &r.batches[0];
	r.sink = (struct pn_sink){ .dsn = o.dsn, .table = o.table, .offsets = &r.offsets,
				   .mode = o.mode, .retry_ms = o.retry_ms, .on_refused = refused,
				   .on_absent = absent, .arg = &r };
	pn_signal_install();

	pn_offsets_init(&r.offsets);
	pn_offsets_init(&r.sources);
	open_table(&r);
	if (o.print_offsets) {
		status = print_offsets(&r);
		goto out;
	}
	pn_input_init(&r.in, o.reject_path);
	r.in.arg = &r;
	r.in.record = sink_record;
	r.in.tick = sink_tick;
	r.in.deadline = sink_deadline;
	r.in.input_done = sink_input_done;
	r.in.shown = &r.counts.rows;
	r.in.live = &r.live;
	if (o.ack_to) {
		r.in.pass_control = 1;
		if ((status = pn_pieces_open(&r.acks, o.ack_to, 1)))
			goto out;
	}

	status = pn_input_run(&r.in, o.inputs, o.ninputs);
	if (pn_stop)
		pn_info("stopped on signal %d after %llu rows", (int)pn_stop,
			(unsigned long long)r.sink.written);

	if (r.sink.fenced)
		pn_warn("%llu rows of stopped owners were dropped in all (fenced_rows)",
			(unsigned long long)r.sink.fenced);
	if (r.sink.absent)
		pn_warn("%llu records found no row with their key in '%s' (--mode update)",
			(unsigned long long)r.sink.absent, o.table);
	if (pn_input_release(&r.in) && !status)
		status = PN_EX_IOERR;
	pn_stats_live_end(&r.live);
out:
	for (int i = 0; i < r.npending; i++)
		free(r.pending[i].topic);
	free(r.pending);
	if (o.ack_to)
		pn_pieces_close(&r.acks);
	pn_sink_release(&r.sink);
	pn_offsets_release(&r.offsets);
	pn_offsets_release(&r.sources);
	pn_pg_table_release(&r.table);
	for (int i = 0; i < r.ncols; i++)
		free(r.cols[i].field);
	free(r.cols);
	free(r.names_wanted);
	free(r.lens_wanted);
	free(r.val);
	pn_pg_sql_release(&r.sql);
	pn_pg_batch_release(&r.batches[0]);
	pn_pg_batch_release(&r.batches[1]);
	pn_buf_release(&r.tmp);
	pn_buf_release(&r.msg);
	pn_free_list(o.pk, o.npk);
	pn_free_list(o.fields, o.nfields);
	free(o.maps);
	return status;
}
