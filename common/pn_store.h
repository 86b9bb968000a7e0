/*
 * pn_store — where an archive lives: a directory or an S3 bucket and
 * prefix, behind one set of calls on names relative to its root.
 *
 * Whatever is written appears whole or not at all.  On a directory an
 * object goes to a hidden temp file in its own directory (".NAME.tmp.PID",
 * created with its parents), is fsync'ed and renamed over NAME, and the
 * directory is fsync'ed; on S3 it is one PUT, or, once it passes the part
 * size, a multipart upload that S3 shows only when completed.
 *
 * Every function that fails has said why on stderr, naming the object, and
 * returns the exit status of pn_err.h.
 */
#ifndef PN_STORE_H
#define PN_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "pn_buf.h"
#include "pn_s3.h"

struct pn_store {
	char *url;		/* as given, for messages */
	char *dir;		/* a directory: its path */
	char *prefix;		/* S3: the key prefix, "" or ending in '/' */
	int is_s3;
	uint64_t part_size;	/* S3: multipart upload in parts of this size */
	struct pn_s3 s3;
	struct pn_buf key;	/* scratch: a full path or key */
};

struct pn_store_opts {
	const char *endpoint;	/* S3 endpoint override, or NULL */
	const char *region;
	int retries;
	uint64_t part_size;
};

/* URL is a directory path, file://PATH or s3://BUCKET[/PREFIX]. */
int pn_store_open(struct pn_store *st, const char *url, const struct pn_store_opts *o);
void pn_store_close(struct pn_store *st);
/* Can the archive be written?  S3: the bucket answers to the credentials
 * (a listing of one key), so a write fails at once, not at its first
 * object.  A directory is created as objects need it. */
int pn_store_check(struct pn_store *st);
/* The full path or key of rel, valid until the next call. */
const char *pn_store_path(struct pn_store *st, const char *rel);
/* Writes a whole object. */
int pn_store_put(struct pn_store *st, const char *rel, const void *p, size_t n);
int pn_store_get(struct pn_store *st, const char *rel, struct pn_buf *out);
/* Every object under the root, in no particular order; fn returns
 * non-zero to stop. */
int pn_store_list(struct pn_store *st, int (*fn)(void *ctx, const char *rel, uint64_t size),
		  void *ctx);

/*
 * An object written a piece at a time: append to f->buf, then call
 * pn_store_file_flush(), which writes the buffer out once it is large
 * enough (1 MB to a directory, a part to S3).  Commit makes the object
 * visible; abort (or a crash) leaves nothing visible.
 */
struct pn_store_file {
	char *rel;
	struct pn_buf buf;	/* bytes not yet written */
	int fd;			/* directory: the temp file, or -1 */
	char *tmp;
	struct pn_s3_upload up;	/* S3: the multipart upload, once started */
};

int pn_store_file_open(struct pn_store *st, struct pn_store_file *f, const char *rel);
int pn_store_file_flush(struct pn_store *st, struct pn_store_file *f);
/* Both release f, whatever the outcome. */
int pn_store_file_commit(struct pn_store *st, struct pn_store_file *f);
void pn_store_file_abort(struct pn_store *st, struct pn_store_file *f);

/* The last part of a path. */
const char *pn_base_name(const char *rel);
/* 1 if s ends with suffix. */
int pn_ends_with(const char *s, const char *suffix);

#endif
