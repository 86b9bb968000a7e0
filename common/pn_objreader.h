/*
 * pn_objreader — reading one data object of an archive back, line by line
 * or a run of lines at a time, checked against its manifest: its size and
 * hash when it is fetched, the zstd frames' own checksums as they are
 * decompressed, and at the end that the last frame is whole, the last
 * record has its newline and the record count is the manifest's.
 *
 * A reader is reused from object to object (pn_objreader_open again),
 * keeping its buffers and zstd context.  On a damaged object the reader
 * has said why on stderr, naming the object, keeps the reason in why, and
 * returns PN_EX_DATAERR; a store that fails returns its own exit status.
 */
#ifndef PN_OBJREADER_H
#define PN_OBJREADER_H

#include <stddef.h>
#include <stdint.h>

#include "pn_buf.h"
#include "pn_manifest.h"
#include "pn_store.h"

struct pn_objreader {
	const struct pn_manifest *m;
	struct pn_buf comp;	/* the compressed object */
	size_t comp_pos;
	void *dctx;		/* ZSTD_DCtx * */
	struct pn_buf out;	/* decompressed, lines from `pos` */
	size_t pos;
	int frame_done;
	size_t step;		/* bytes decompressed at a time; 0: 1 MB.  Smaller
				 * for a reader among many open at once */
	uint64_t lines;
	char why[512];		/* what was wrong with it, after an error */
};

void pn_objreader_init(struct pn_objreader *r);
void pn_objreader_release(struct pn_objreader *r);
/* Fetches the object and checks its size and hash. */
int pn_objreader_open(struct pn_objreader *r, struct pn_store *st, const struct pn_manifest *m);
/* 1: a line (without '\n') in *line and *len, valid until the next call;
 * 0: the end, with the record count checked; else an exit status. */
int pn_objreader_next(struct pn_objreader *r, const char **line, size_t *len);
/* As pn_objreader_next(), for a run of whole lines at once (each with its
 * '\n') in *p and *len: for a reader that needs no look at each record. */
int pn_objreader_chunk(struct pn_objreader *r, const char **p, size_t *len);

#endif
