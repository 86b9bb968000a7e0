/*
 * pn_io — NDJSON in and out.
 *
 * pn_reader hands out one line at a time from a file or stdin with large
 * read(2)s into one reusable buffer: no allocation per line, lines of any
 * length (the buffer grows to the longest line seen), a last line without
 * '\n' accepted.  A line is returned without its '\n' and NUL-terminated in
 * place; it stays valid until the next call, and its bytes may be modified
 * by the caller (in-place unescaping).
 *
 * pn_out is stdout for records: callers append whole records to `buf` and
 * call pn_out_record(), which writes when the buffer passes its threshold,
 * so output goes out in large blocks; pn_out_flush() writes the rest when
 * the input is quiet.
 * EPIPE (the reader went away) is a normal, quiet stop: pn_out_gone() turns
 * true and later writes are dropped; any other write error is an output
 * error that pn_out_close() reports and turns into exit status 74.
 */
#ifndef PN_IO_H
#define PN_IO_H

#include <stddef.h>
#include <stdio.h>

#include "pn_buf.h"

struct pn_reader {
	int fd;
	char *name;		/* for messages: the path, or "<stdin>" */
	char *buf;
	size_t cap;
	size_t start;		/* first byte of the next line */
	size_t end;		/* end of valid data */
	size_t scanned;		/* bytes after start known to hold no '\n' */
	unsigned long long lineno; /* line number of the line last returned */
	int eof;
	int timeout_ms;		/* -1: wait for input as long as it takes */
	long long deadline_ms;	/* >= 0: wait until this pn_now_ms() instead;
				 * the clock is read only when input must be
				 * waited for, not per line */
};

/* pn_reader_next() returns this when no input came within timeout_ms (or
 * by deadline_ms). */
#define PN_READER_TIMEOUT (-2)

/* Opens path ("-" or NULL: stdin); returns 0, or -1 with errno set. */
int pn_reader_open(struct pn_reader *r, const char *path);
/* 1: a line in *line and *len; 0: end of input; -1: read error (errno), or
 * EINTR when a stop signal arrived while waiting for input;
 * PN_READER_TIMEOUT when timeout_ms passed without a whole line. */
int pn_reader_next(struct pn_reader *r, char **line, size_t *len);
void pn_reader_close(struct pn_reader *r);

struct pn_out {
	int fd;
	const char *name;	/* for messages: "standard output" */
	struct pn_buf buf;	/* records waiting to be written */
	size_t threshold;	/* write when buf.len reaches this */
	int gone;		/* EPIPE: the reader went away */
	int err;		/* errno of the first other write error */
};

void pn_out_init(struct pn_out *o, int fd, const char *name, size_t threshold);
/* Writes everything buffered; 0 when it all reached the fd. */
int pn_out_flush(struct pn_out *o);
/* Call after appending one whole record (ending in '\n') to o->buf:
 * 1 when the buffer was written, 0 when it waits for more, -1 on an error. */
static inline int pn_out_record(struct pn_out *o)
{
	if (o->buf.len < o->threshold)
		return 0;
	return pn_out_flush(o) == 0 ? 1 : -1;
}
/* Writes whole records (p ends in '\n') after what is buffered, without
 * copying them into the buffer: for a caller that has them in a large
 * block already.  0, or -1 as pn_out_flush(). */
int pn_out_write(struct pn_out *o, const void *p, size_t n);
static inline int pn_out_gone(const struct pn_out *o)
{
	return o->gone || o->err;
}
/* Flushes and closes; returns 0, or PN_EX_IOERR after reporting the error.
 * A reader that went away (EPIPE) is not an error. */
int pn_out_close(struct pn_out *o);

/*
 * The --reject file of a program: bad lines appended, so a rerun loses
 * none of an earlier run's.  A program without one stops at the first bad
 * line (exit 65).
 */
struct pn_reject {
	FILE *f;		/* NULL: no --reject given */
	const char *path;
	unsigned long long count;
};

/* Opens path for appending (NULL: none); dies with 74 when it cannot. */
void pn_reject_open(struct pn_reject *r, const char *path);
/* Appends one line; dies with 74 when it cannot. */
void pn_reject_write(struct pn_reject *r, const char *line, size_t len);
/* Reports a bad line with its position ("error (at NAME:LINE): why (byte
 * column)", the column left out when 0) and sets it aside: 0, or -1 when
 * there is no reject file and the input must stop. */
int pn_reject_bad_line(struct pn_reject *r, const struct pn_reader *in, const char *line,
		       size_t len, const char *why, size_t column);
/* Closes it; 0, or PN_EX_IOERR after reporting. */
int pn_reject_close(struct pn_reject *r);

/* write(2) all of it, retrying on EINTR; 0 or -1 with errno. */
int pn_write_all(int fd, const void *p, size_t n);

/*
 * Files that others read appear whole or not at all: written to a hidden
 * temp file beside them, ".<name>.tmp.<pid>", fsync'ed, renamed over the
 * name, and the directory fsync'ed so that the rename is durable too.
 */
void pn_temp_name(const char *path, struct pn_buf *out);
/* Ends a temp file written on fd: fsync, close, rename over path, fsync
 * of the directory.  0, or -1 with errno, the temp file removed. */
int pn_commit_temp(int fd, const char *tmp, const char *path);
/* All of it, through a temp file and pn_commit_temp; 0 or -1 with errno.
 * A file replaced keeps its owner, group and mode. */
int pn_write_file_atomic(const char *path, const void *p, size_t n);
/* The same without the fsyncs, for a file rewritten often whose loss in a
 * crash costs nothing (a metrics file): readers never see it half-written,
 * but after a crash it may be the previous version. */
int pn_write_file_replace(const char *path, const void *p, size_t n);
/* The whole file into out (replacing its content); 0 or -1 with errno. */
int pn_read_file(const char *path, struct pn_buf *out);

#endif
