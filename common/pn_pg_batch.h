/*
 * pn_pg_batch — a batch of rows on their way to the server: their COPY
 * text one after the other (a row is "\tvalue...\n"; its seq, its index in
 * the batch, goes before it when it is sent), each row's key (the COPY
 * text of its key values) and input line.  When rows are keyed, a row
 * whose key an earlier row of the batch has marks that one dead: the last
 * row per key wins.  Nothing is allocated per row once the buffers have
 * grown to a batch's size.  When dead rows outnumber the live ones they
 * are dropped and the live rows move down, so a batch's memory follows its
 * live rows (its distinct keys), not its input.
 *
 * A batch also keeps its Kafka offsets (pn_pg_batch_mark, pn_pg_offsets.h):
 * what its transaction stores, whatever the caller reads meanwhile.
 */
#ifndef PN_PG_BATCH_H
#define PN_PG_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "pn_buf.h"
#include "pn_offsets.h"

struct pn_pg_row {
	size_t copy_off, copy_len;	/* its COPY text after the seq: "\t...\n" */
	size_t key_off, key_len;	/* its key, in keys */
	size_t line_off, line_len;	/* its input line, in lines */
	unsigned long long lineno;
	unsigned input;			/* the caller's index of its input */
	unsigned dead : 1;		/* a later row has the same key, or fenced */
	unsigned tomb : 1;		/* deletes the row with its key */
	unsigned fenced : 1;		/* its owner epoch is older than the table's */
	uint32_t source;		/* its owner's entry in sources + 1, or 0 */
	uint64_t epoch;			/* and its owner epoch (_epoch) */
};

/* A source topic-partition whose rows carry owner epochs: the highest of
 * them in the batch, and what the fence table holds once it is raised. */
struct pn_pg_source {
	struct pn_part *part;		/* the caller's, for its topic and partition */
	uint64_t epoch;
	uint64_t stored;
	uint64_t fenced;		/* rows fenced by the last raise */
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
	struct pn_pg_source *sources;	/* the owners of its rows, if they say */
	int nsources, sourcecap;
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
/* The row just ended (pn_pg_batch_end) is of source part (a topic-
 * partition of the caller's) as written by its owner of epoch. */
void pn_pg_batch_epoch(struct pn_pg_batch *b, struct pn_part *part, uint64_t epoch);
/* PQputCopyData of the live rows, each after its seq, its index in rows;
 * 0, or -1 if the connection failed. */
int pn_pg_batch_put(PGconn *conn, const struct pn_pg_batch *b);

#endif
