/*
 * pn_pg — PostgreSQL for pn: connecting through libpq, reading a table's
 * columns, quoting identifiers, turning JSON values into COPY text, the
 * batch of rows a sink holds, the statements that merge it into a table,
 * and a table of Kafka offsets kept in the same transactions.
 *
 * Identifiers reach SQL text only through PQescapeIdentifier; values never
 * do: they travel as COPY data or as statement parameters.  COPY text
 * format escapes backslash, tab, newline and carriage return and writes
 * NULL as \N, so any byte string round-trips.
 *
 * A table name may be schema-qualified ("schema.table"): it is split at the
 * first dot and each part quoted on its own, so "a.b" is table b in schema
 * a; a name with a dot in it cannot be given.
 */
#ifndef PN_PG_H
#define PN_PG_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "pn_buf.h"
#include "pn_json.h"
#include "pn_offsets.h"

/* How a JSON value is turned into a column's text. */
enum pn_pg_kind {
	PN_PG_TEXT,		/* strings as they are, other values as JSON text */
	PN_PG_NUMBER,		/* integer, numeric, real: numbers as written */
	PN_PG_BOOL,
	PN_PG_JSON,		/* json, jsonb: any value as JSON text */
	PN_PG_TIME,		/* timestamp, timestamptz, date: ISO 8601 text or epoch ms */
};

struct pn_pg_column {
	char *name;		/* as in the catalog */
	char *type;		/* format_type(), e.g. "numeric(10,2)" */
	enum pn_pg_kind kind;
	int notnull;
};

struct pn_pg_table {
	char *schema;		/* NULL when not qualified */
	char *name;
	char *quoted;		/* "schema"."name", ready for SQL text */
	struct pn_pg_column *cols;
	int ncols;
};

/*
 * Connects with a conninfo string or URI (NULL or "": the PG* environment
 * and ~/.pgpass), sets client_encoding UTF8 and TimeZone UTC.  Returns the
 * connection, or NULL after putting a one-line reason in *why (malloc'ed),
 * naming the server without any password.  *config is set when retrying
 * cannot help: options libpq refuses, a failed login, no such database.
 */
PGconn *pn_pg_connect(const char *dsn, char **why, int *config);

/* What a failed command means for the one that sent it. */
enum pn_pg_failure {
	PN_PG_OK,
	PN_PG_ROW_ERROR,	/* the data: a row the server refuses */
	PN_PG_CONN_LOST,	/* the connection or the server: retry elsewhen */
	PN_PG_FATAL,		/* anything else: retrying will not help */
};
/* The kind of failure of res (NULL when there is no result at all). */
enum pn_pg_failure pn_pg_classify(PGconn *conn, const PGresult *res);

/* The first line of the connection's last error, without the "ERROR:" tail. */
const char *pn_pg_error(PGconn *conn, struct pn_buf *tmp);
/* The first line of a result's error message. */
const char *pn_pg_result_error(const PGresult *res, struct pn_buf *tmp);

/* Appends PQescapeIdentifier(s) to b; -1 if libpq refuses (bad encoding). */
int pn_pg_add_ident(PGconn *conn, struct pn_buf *b, const char *s);
/* Appends a possibly schema-qualified name, each part quoted; -1 if bad. */
int pn_pg_add_name(PGconn *conn, struct pn_buf *b, const char *name);

/*
 * Reads the columns of table `name` (possibly schema-qualified).  Returns 0,
 * 1 if the table does not exist, or -1 with *why set (a static or
 * PQerrorMessage-derived string valid until the next call).
 */
int pn_pg_table_load(PGconn *conn, const char *name, struct pn_pg_table *t, struct pn_buf *why);
void pn_pg_table_release(struct pn_pg_table *t);
/* The index of column `name`, or -1. */
int pn_pg_table_column(const struct pn_pg_table *t, const char *name);
/* 1 if the columns (indexes) form a primary key or a unique index. */
int pn_pg_table_has_unique(PGconn *conn, const struct pn_pg_table *t, const int *cols, int n);

/*
 * The column type --create gives a JSON value: an integer bigint, another
 * number numeric, a string text, true/false boolean, an object or a list
 * jsonb, null (or no value, i < 0) text.
 */
const char *pn_pg_type_for(const struct pn_json *j, int i);

/*
 * The statements of a sink, built once its columns are known: `temp`
 * creates the session's batch table pn_sink_batch (a seq column, the
 * columns written, typed as the target's, and with tombstones a delete
 * flag), `merge` moves the batch into the table in one statement (for
 * update it returns the seq of the rows that found no row), and `load`
 * inserts one row into the batch table from parameters, for writing a
 * batch row by row.  Names are quoted; -1 if libpq refused one.  With
 * key_unique (the key columns have a unique index) update and the
 * tombstones' delete find each batch row's row through that index, as
 * upsert's ON CONFLICT does.
 */
enum pn_pg_mode { PN_PG_INSERT, PN_PG_UPSERT, PN_PG_UPDATE };

struct pn_pg_col {
	char *field;		/* the record field */
	int table_col;		/* index in the table's columns */
	int is_key;
	enum pn_pg_kind kind;
};

struct pn_pg_sql {
	char *temp, *merge, *load;
};

int pn_pg_sql_build(PGconn *conn, const struct pn_pg_table *t, const struct pn_pg_col *cols,
		    int ncols, enum pn_pg_mode mode, int tombstones, int key_unique,
		    struct pn_pg_sql *out);
void pn_pg_sql_release(struct pn_pg_sql *s);

/* COPY text of raw bytes: escapes \\, \t, \n, \r. */
void pn_pg_copy_add(struct pn_buf *b, const char *s, size_t n);

/*
 * Appends token i of j as COPY text for a column of kind `kind`: null as \N,
 * strings unescaped (for json columns: as JSON strings), numbers as written
 * (for time columns: epoch milliseconds), nested values as JSON text.
 * Returns 0, or -1 with *why set when the value cannot go into such a
 * column (a nested value into a number column, a bad epoch time, a string
 * holding a NUL, which PostgreSQL text cannot hold).
 */
int pn_pg_copy_value(struct pn_buf *b, const struct pn_json *j, int i, enum pn_pg_kind kind,
		     struct pn_buf *tmp, const char **why);

/*
 * Splits one COPY text row (without its '\n') into fields, unescaping into
 * out; vals[k] points into out's data or is NULL for \N.  Returns the
 * number of fields (at most max).  out must not be touched while vals are
 * used.
 */
int pn_pg_copy_split(const char *row, size_t len, struct pn_buf *out, const char **vals, int max);

/*
 * A batch of rows on their way to the server: their COPY text one after the
 * other (a row is "\tvalue...\n"; its seq, its index in the batch, goes
 * before it when it is sent), each
 * row's key (the COPY text of its key values) and input line.  When rows
 * are keyed, a row whose key an earlier row of the batch has marks that
 * one dead: the last row per key wins.  Nothing is allocated per row once
 * the buffers have grown to a batch's size.  When dead rows outnumber the
 * live ones they are dropped and the live rows move down, so a batch's
 * memory follows its live rows (its distinct keys), not its input.
 * A batch also keeps its Kafka offsets (pn_pg_batch_mark): what its
 * transaction stores, whatever the caller reads meanwhile.
 */
struct pn_pg_row {
	size_t copy_off, copy_len;	/* its COPY text after the seq: "\t...\n" */
	size_t key_off, key_len;	/* its key, in keys */
	size_t line_off, line_len;	/* its input line, in lines */
	unsigned long long lineno;
	unsigned input;			/* the caller's index of its input */
	unsigned dead : 1;		/* a later row has the same key */
	unsigned tomb : 1;		/* deletes the row with its key */
};

/* A topic-partition's next offset once the batch is written. */
struct pn_pg_mark {
	struct pn_part *part;
	int64_t next;
};

struct pn_pg_batch {
	struct pn_buf copy, keys, lines;
	struct pn_pg_row *rows;
	size_t nrows, cap;		/* rows, dead ones included */
	size_t live;			/* rows not dead */
	size_t max_rows;		/* live rows it takes */
	struct pn_pg_slot {		/* open addressing */
		uint32_t row;		/* row index + 1, 0 empty */
		uint32_t tag;		/* high bits of the key's hash */
		uint64_t key;		/* the row's key_off << 16 | key_len,
					 * 0xffff if longer */
	} *hash;
	size_t hashcap;
	size_t copy_start, key_start;	/* of the row being built */
	uint64_t key_hash;		/* of its key, as far as it is built */
	unsigned long long replaced;	/* rows made dead, ever */
	struct pn_pg_mark *marks;	/* its offsets */
	int nmarks, markcap;
};

/* max_rows: the most live rows the batch takes (pn_pg_batch_end refuses
 * one more) and what sizes its key table. */
void pn_pg_batch_init(struct pn_pg_batch *b, size_t max_rows);
void pn_pg_batch_release(struct pn_pg_batch *b);
void pn_pg_batch_reset(struct pn_pg_batch *b);
/* Starts a row; the caller appends "\t" and each value.  Its seq, the
 * temporary table's first column, is written by pn_pg_batch_put. */
void pn_pg_batch_begin(struct pn_pg_batch *b);
/* The COPY text from `at` to the end is (the next part of) the row's key. */
void pn_pg_batch_key(struct pn_pg_batch *b, size_t at);
/* Drops the row being built. */
void pn_pg_batch_abandon(struct pn_pg_batch *b);
/* Ends the row ("\n"), keeps its line, and with `keyed` lets it replace
 * the live row with its key: 0.  When the batch holds max_rows live rows
 * and none with the row's key, drops the row and returns -1. */
int pn_pg_batch_end(struct pn_pg_batch *b, const char *line, size_t len,
		    unsigned long long lineno, unsigned input, int tomb, int keyed);
/* PQputCopyData of the live rows, each after its seq, its index in rows;
 * 0, or -1 if the connection failed. */
int pn_pg_batch_put(PGconn *conn, const struct pn_pg_batch *b);

/*
 * The offsets table: for each sink (its --table) and Kafka topic-partition,
 * the next offset to read, stored in the same transaction as the rows so
 * that the table and the offsets never disagree.  In the pn_offsets
 * entries, `start` is what the table held when the program started,
 * `appended` one past the last record taken into a batch, `flushed`
 * what is committed.  A batch is marked when it is complete, with the
 * entries whose appended passed flushed, and stores those marks however
 * often it is written, while the next batch advances appended.
 */
/* Marks b with t's entries whose appended passed flushed. */
void pn_pg_batch_mark(struct pn_pg_batch *b, struct pn_offsets *t);
/* Creates the table if missing; 0, or -1 with the reason in why. */
int pn_pg_offsets_prepare(PGconn *conn, const char *quoted, struct pn_buf *why);
/* Reads the sink's offsets into the entries' start (and flushed). */
int pn_pg_offsets_load(PGconn *conn, const char *quoted, const char *sink,
		       struct pn_offsets *t, struct pn_buf *why);
/* Stores b's marks; NULL, or the failed result for the caller to examine
 * and PQclear. */
PGresult *pn_pg_offsets_store(PGconn *conn, const char *quoted, const char *sink,
			      const struct pn_pg_batch *b);
/* After the commit: flushed = b's marks. */
void pn_pg_offsets_committed(const struct pn_pg_batch *b);

#endif
