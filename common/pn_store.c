#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pn_err.h"
#include "pn_io.h"
#include "pn_store.h"

enum { DIR_FLUSH_BYTES = 64 * 1024 };	/* what a directory file buffers: many may be open */

int pn_ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && !memcmp(s + n - k, suffix, k);
}

/* What S3 is told an object holds. */
static const char *content_type(const char *rel)
{
	return pn_ends_with(rel, ".json") ? "application/json" : "application/zstd";
}

const char *pn_base_name(const char *rel)
{
	const char *slash = strrchr(rel, '/');

	return slash ? slash + 1 : rel;
}

int pn_store_open(struct pn_store *st, const char *url, const struct pn_store_opts *o)
{
	int rc;

	memset(st, 0, sizeof(*st));
	st->url = pn_strdup(url);
	st->part_size = o->part_size;
	if (!strncmp(url, "s3://", 5)) {
		const char *bucket = url + 5, *slash = strchr(bucket, '/');
		char *name = slash ? pn_strndup(bucket, slash - bucket) : pn_strdup(bucket);
		struct pn_buf prefix = PN_BUF_INIT;

		st->is_s3 = 1;
		if (slash) {
			while (*slash == '/')
				slash++;
			pn_buf_adds(&prefix, slash);
			while (prefix.len && prefix.data[prefix.len - 1] == '/')
				prefix.data[--prefix.len] = '\0';
			if (prefix.len)
				pn_buf_addc(&prefix, '/');
		}
		st->prefix = pn_buf_detach(&prefix, NULL);
		if (!*name) {
			free(name);
			pn_error("bad archive '%s': no bucket name", url);
			return PN_EX_USAGE;
		}
		rc = pn_s3_init(&st->s3, name, o->endpoint, o->region, o->retries);
		free(name);
		if (rc)
			pn_error("%s", st->s3.err.data);
		return rc;
	}
	if (!strncmp(url, "file://", 7))
		url += 7;
	if (!*url) {
		pn_error("bad archive '%s': no directory", st->url);
		return PN_EX_USAGE;
	}
	st->dir = pn_strdup(url);
	return 0;
}

void pn_store_close(struct pn_store *st)
{
	if (st->is_s3)
		pn_s3_release(&st->s3);
	free(st->url);
	free(st->dir);
	free(st->prefix);
	pn_buf_release(&st->key);
	memset(st, 0, sizeof(*st));
}

int pn_store_check(struct pn_store *st)
{
	int rc = st->is_s3 ? pn_s3_probe(&st->s3, st->prefix) : 0;

	if (rc)
		pn_error("cannot use '%s': %s", st->url, st->s3.err.data);
	return rc;
}

const char *pn_store_path(struct pn_store *st, const char *rel)
{
	pn_buf_reset(&st->key);
	if (st->is_s3)
		pn_buf_addf(&st->key, "%s%s", st->prefix, rel);
	else
		pn_buf_addf(&st->key, "%s/%s", st->dir, rel);
	return st->key.data;
}

/* mkdir -p of the directory part of path. */
static int make_parents(const char *path)
{
	char *p = pn_strdup(path), *s;
	int rc = 0;

	for (s = strchr(p + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		if (mkdir(p, 0777) < 0 && errno != EEXIST) {
			pn_error("cannot create directory '%s': %m", p);
			rc = PN_EX_IOERR;
			break;
		}
		*s = '/';
	}
	free(p);
	return rc;
}

/* A temp file written on fd made the object, or reported and removed. */
static int commit_temp(int fd, const char *tmp, const char *path)
{
	if (pn_commit_temp(fd, tmp, path) < 0) {
		pn_error("cannot write '%s': %m", path);
		return PN_EX_IOERR;
	}
	return 0;
}

int pn_store_put(struct pn_store *st, const char *rel, const void *p, size_t n)
{
	struct pn_buf tmp = PN_BUF_INIT;
	const char *path = pn_store_path(st, rel);
	int fd, rc;

	if (st->is_s3) {
		rc = pn_s3_put(&st->s3, path, p, n, content_type(rel));
		if (rc)
			pn_error("cannot write '%s': %s", rel, st->s3.err.data);
		return rc;
	}
	if ((rc = make_parents(path)))
		return rc;
	pn_temp_name(path, &tmp);
	fd = open(tmp.data, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	if (fd < 0 || pn_write_all(fd, p, n) < 0) {
		pn_error("cannot write '%s': %m", tmp.data);
		if (fd >= 0) {
			close(fd);
			unlink(tmp.data);
		}
		pn_buf_release(&tmp);
		return PN_EX_IOERR;
	}
	rc = commit_temp(fd, tmp.data, path);
	pn_buf_release(&tmp);
	return rc;
}

int pn_store_get(struct pn_store *st, const char *rel, struct pn_buf *out)
{
	const char *path = pn_store_path(st, rel);
	int rc;

	if (st->is_s3) {
		rc = pn_s3_get(&st->s3, path, out);
		if (rc)
			pn_error("cannot read '%s': %s", rel, st->s3.err.data);
		return rc;
	}
	if (pn_read_file(path, out) < 0) {
		pn_error("cannot read '%s': %m", path);
		return errno == ENOENT ? PN_EX_DATAERR : PN_EX_IOERR;
	}
	return 0;
}

struct list_ctx {
	struct pn_store *st;
	int (*fn)(void *ctx, const char *rel, uint64_t size);
	void *ctx;
};

static int s3_list_one(void *ctx, const char *key, uint64_t size)
{
	struct list_ctx *l = ctx;
	size_t k = strlen(l->st->prefix);

	return strncmp(key, l->st->prefix, k) ? 0 : l->fn(l->ctx, key + k, size);
}

static int walk_dir(const char *root, struct pn_buf *rel,
		    int (*fn)(void *ctx, const char *rel, uint64_t size), void *ctx)
{
	struct pn_buf path = PN_BUF_INIT;
	struct dirent *e;
	size_t keep = rel->len;
	DIR *d;
	int rc = 0;

	pn_buf_addf(&path, "%s%s%s", root, rel->len ? "/" : "", rel->len ? rel->data : "");
	d = opendir(path.data);
	if (!d) {
		pn_error("cannot read directory '%s': %m", path.data);
		pn_buf_release(&path);
		return errno == ENOENT ? PN_EX_CONFIG : PN_EX_IOERR;
	}
	while (!rc && (e = readdir(d))) {
		struct stat sb;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		rel->len = keep;
		pn_buf_addf(rel, "%s%s", keep ? "/" : "", e->d_name);
		pn_buf_reset(&path);
		pn_buf_addf(&path, "%s/%s", root, rel->data);
		if (stat(path.data, &sb) < 0)
			continue;	/* gone meanwhile (a temp file renamed) */
		if (S_ISDIR(sb.st_mode))
			rc = walk_dir(root, rel, fn, ctx);
		else if (S_ISREG(sb.st_mode) && fn(ctx, rel->data, (uint64_t)sb.st_size))
			rc = -1;
	}
	closedir(d);
	rel->len = keep;
	rel->data[keep] = '\0';
	pn_buf_release(&path);
	return rc < 0 ? 0 : rc;
}

int pn_store_list(struct pn_store *st, int (*fn)(void *ctx, const char *rel, uint64_t size),
		  void *ctx)
{
	struct list_ctx l = { st, fn, ctx };
	struct pn_buf rel = PN_BUF_INIT;
	int rc;

	if (st->is_s3) {
		rc = pn_s3_list(&st->s3, st->prefix, s3_list_one, &l);
		if (rc)
			pn_error("cannot list '%s': %s", st->url, st->s3.err.data);
		return rc;
	}
	pn_buf_addc(&rel, '\0');
	rel.len = 0;
	rc = walk_dir(st->dir, &rel, fn, ctx);
	pn_buf_release(&rel);
	return rc;
}

/* ---- objects written a piece at a time ---- */

int pn_store_file_open(struct pn_store *st, struct pn_store_file *f, const char *rel)
{
	const char *path = pn_store_path(st, rel);
	int rc;

	memset(f, 0, sizeof(*f));
	f->fd = -1;
	f->rel = pn_strdup(rel);
	if (st->is_s3)
		return 0;	/* an upload starts once there is a part to send */
	if ((rc = make_parents(path)))
		return rc;
	pn_temp_name(path, &f->buf);
	f->tmp = pn_buf_detach(&f->buf, NULL);
	f->fd = open(f->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	if (f->fd < 0) {
		pn_error("cannot create '%s': %m", f->tmp);
		return PN_EX_IOERR;
	}
	return 0;
}

/* Writes out what f->buf holds: to the temp file, or as the next part of a
 * multipart upload (started with the first part). */
static int file_drain(struct pn_store *st, struct pn_store_file *f)
{
	int rc;

	if (!st->is_s3) {
		if (f->buf.len && pn_write_all(f->fd, f->buf.data, f->buf.len) < 0) {
			pn_error("cannot write '%s': %m", f->tmp);
			return PN_EX_IOERR;
		}
		pn_buf_reset(&f->buf);
		return 0;
	}
	if (!f->up.id && (rc = pn_s3_upload_start(&st->s3, &f->up, pn_store_path(st, f->rel),
						   content_type(f->rel)))) {
		pn_error("cannot write '%s': %s", f->rel, st->s3.err.data);
		return rc;
	}
	if ((rc = pn_s3_upload_part(&st->s3, &f->up, f->buf.data, f->buf.len))) {
		pn_error("cannot write '%s': %s", f->rel, st->s3.err.data);
		return rc;
	}
	pn_info("'%s': uploaded part %d (%zu bytes)", f->rel, f->up.parts, f->buf.len);
	pn_buf_reset(&f->buf);
	return 0;
}

int pn_store_file_flush(struct pn_store *st, struct pn_store_file *f)
{
	if (f->buf.len < (st->is_s3 ? st->part_size : DIR_FLUSH_BYTES))
		return 0;
	return file_drain(st, f);
}

int pn_store_file_commit(struct pn_store *st, struct pn_store_file *f)
{
	int rc;

	if (!st->is_s3) {
		if (!(rc = file_drain(st, f))) {
			rc = commit_temp(f->fd, f->tmp, pn_store_path(st, f->rel));
			f->fd = -1;
		}
	} else if (f->up.id) {
		/* the last part may be smaller than the others */
		if (!(rc = file_drain(st, f)) && (rc = pn_s3_upload_complete(&st->s3, &f->up)))
			pn_error("cannot write '%s': %s", f->rel, st->s3.err.data);
	} else {
		rc = pn_store_put(st, f->rel, f->buf.data ? f->buf.data : "", f->buf.len);
	}
	pn_store_file_abort(st, f);
	return rc;
}

void pn_store_file_abort(struct pn_store *st, struct pn_store_file *f)
{
	if (f->fd >= 0) {
		close(f->fd);
		unlink(f->tmp);
	}
	if (f->up.id)
		pn_s3_upload_abort(&st->s3, &f->up);
	free(f->rel);
	free(f->tmp);
	pn_buf_release(&f->buf);
	memset(f, 0, sizeof(*f));
	f->fd = -1;
}
