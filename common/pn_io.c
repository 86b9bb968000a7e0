#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pn_clock.h"
#include "pn_err.h"
#include "pn_io.h"
#include "pn_signal.h"

enum { READ_CHUNK = 1 << 20 };

int pn_reader_open(struct pn_reader *r, const char *path)
{
	memset(r, 0, sizeof(*r));
	r->timeout_ms = -1;
	r->deadline_ms = -1;
	if (!path || !strcmp(path, "-")) {
		r->fd = STDIN_FILENO;
		r->name = pn_strdup("<stdin>");
	} else {
		r->fd = open(path, O_RDONLY | O_CLOEXEC);
		if (r->fd < 0)
			return -1;
		r->name = pn_strdup(path);
	}
	return 0;
}

void pn_reader_close(struct pn_reader *r)
{
	if (r->fd > STDIN_FILENO)
		close(r->fd);
	free(r->buf);
	free(r->name);
	memset(r, 0, sizeof(*r));
	r->fd = -1;
}

/* Makes room for another READ_CHUNK after end, moving the partial line to
 * the front first so the buffer only grows for lines longer than it. */
static void make_room(struct pn_reader *r)
{
	if (r->start > 0) {
		memmove(r->buf, r->buf + r->start, r->end - r->start);
		r->end -= r->start;
		r->start = 0;
	}
	if (r->cap - r->end < READ_CHUNK + 1) {
		size_t cap = r->cap ? r->cap : READ_CHUNK + 1;

		while (cap - r->end < READ_CHUNK + 1)
			cap *= 2;
		r->buf = pn_realloc(r->buf, cap);
		r->cap = cap;
	}
}

/* 1 when input is ready, 0 after timeout_ms (or at deadline_ms) without,
 * -1 on an error. */
static int wait_input(struct pn_reader *r)
{
	struct pollfd pfd = { .fd = r->fd, .events = POLLIN };
	int timeout = r->timeout_ms, n;

	if (r->deadline_ms >= 0) {
		long long left = r->deadline_ms - pn_now_ms();

		timeout = left > 0 ? (int)left : 0;
	}
	if (timeout < 0)
		return 1;
	n = poll(&pfd, 1, timeout);
	if (n < 0 && errno == EINTR && !pn_stop)
		return 0;
	return n;
}

static int fill(struct pn_reader *r)
{
	ssize_t n;
	int ready = wait_input(r);

	if (ready <= 0)
		return ready == 0 ? PN_READER_TIMEOUT : -1;
	make_room(r);
	for (;;) {
		n = read(r->fd, r->buf + r->end, READ_CHUNK);
		if (n >= 0)
			break;
		if (errno != EINTR || pn_stop)
			return -1;
	}
	if (n == 0)
		r->eof = 1;
	r->end += n;
	return 0;
}

static void take_line(struct pn_reader *r, size_t nl, char **line, size_t *len)
{
	*line = r->buf + r->start;
	*len = nl - r->start;
	r->buf[nl] = '\0';
	r->start = nl + 1;
	r->scanned = 0;
	r->lineno++;
}

int pn_reader_next(struct pn_reader *r, char **line, size_t *len)
{
	for (;;) {
		size_t from = r->start + r->scanned;
		char *nl = r->buf ? memchr(r->buf + from, '\n', r->end - from) : NULL;

		if (nl) {
			take_line(r, nl - r->buf, line, len);
			return 1;
		}
		r->scanned = r->end - r->start;
		if (r->eof) {
			if (r->end == r->start)
				return 0;
			/* A last line without '\n': make_room left a spare byte. */
			take_line(r, r->end, line, len);
			r->start = r->end;
			return 1;
		}
		int status = fill(r);

		if (status < 0)
			return status;
	}
}

int pn_write_all(int fd, const void *p, size_t n)
{
	const char *s = p;

	while (n > 0) {
		ssize_t w = write(fd, s, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		s += w;
		n -= w;
	}
	return 0;
}

void pn_temp_name(const char *path, struct pn_buf *out)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;

	pn_buf_reset(out);
	pn_buf_add(out, path, (size_t)(base - path));
	pn_buf_addf(out, ".%s.tmp.%ld", base, (long)getpid());
}

static int fsync_dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	struct pn_buf dir = PN_BUF_INIT;
	int fd, rc = 0;

	if (slash)
		pn_buf_add(&dir, path, slash == path ? 1 : (size_t)(slash - path));
	else
		pn_buf_addc(&dir, '.');
	fd = open(dir.data, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		/* some file systems cannot sync a directory: nothing to do there */
		if (fsync(fd) < 0 && errno != EINVAL)
			rc = -1;
		close(fd);
	}
	pn_buf_release(&dir);
	return rc;
}

int pn_commit_temp(int fd, const char *tmp, const char *path)
{
	int saved;

	if (fsync(fd) < 0) {
		saved = errno;
		close(fd);
		goto fail;
	}
	if (close(fd) < 0 || rename(tmp, path) < 0) {
		saved = errno;
		goto fail;
	}
	return fsync_dir_of(path);
fail:
	unlink(tmp);
	errno = saved;
	return -1;
}

/* Gives the temp file fd the owner, group and mode of the file it is to
 * replace, if there is one: an operator's chmod 600 or chgrp of a
 * checkpoint outlives its next rewrite.  An owner or group we may not set
 * (not root) is left as it comes, the mode is set all the same. */
static void keep_mode(int fd, const char *path)
{
	struct stat sb;

	if (stat(path, &sb) < 0)
		return;
	if (fchown(fd, sb.st_uid, sb.st_gid) < 0 && fchown(fd, (uid_t)-1, sb.st_gid) < 0)
		errno = 0;
	if (fchmod(fd, sb.st_mode & 07777) < 0)
		errno = 0;
}

/* Closes the temp file fd and renames it over path, without an fsync:
 * readers still see the old file or the new one whole, but a crash may
 * leave either. */
static int replace_temp(int fd, const char *tmp, const char *path)
{
	int saved;

	if (close(fd) < 0 || rename(tmp, path) < 0) {
		saved = errno;
		unlink(tmp);
		errno = saved;
		return -1;
	}
	return 0;
}

/* pn_write_file_atomic, durable, and pn_write_file_replace, not. */
static int write_file_whole(const char *path, const void *p, size_t n, int durable)
{
	struct pn_buf tmp = PN_BUF_INIT;
	int fd, rc = -1, saved;

	pn_temp_name(path, &tmp);
	fd = open(tmp.data, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	if (fd >= 0)
		keep_mode(fd, path);
	if (fd >= 0 && pn_write_all(fd, p, n) < 0) {
		saved = errno;
		close(fd);
		unlink(tmp.data);
		errno = saved;
	} else if (fd >= 0) {
		rc = durable ? pn_commit_temp(fd, tmp.data, path) : replace_temp(fd, tmp.data, path);
	}
	saved = errno;
	pn_buf_release(&tmp);
	errno = saved;
	return rc;
}

int pn_write_file_atomic(const char *path, const void *p, size_t n)
{
	return write_file_whole(path, p, n, 1);
}

int pn_write_file_replace(const char *path, const void *p, size_t n)
{
	return write_file_whole(path, p, n, 0);
}

int pn_read_file(const char *path, struct pn_buf *out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), saved;
	struct stat sb;
	ssize_t k;

	pn_buf_reset(out);
	if (fd < 0)
		return -1;
	if (fstat(fd, &sb) == 0 && sb.st_size > 0)
		pn_buf_grow(out, (size_t)sb.st_size);
	for (;;) {
		pn_buf_grow(out, 1 << 16);
		k = read(fd, out->data + out->len, out->cap - out->len - 1);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		out->len += (size_t)k;
	}
	saved = errno;
	out->data[out->len] = '\0';
	close(fd);
	errno = saved;
	return k < 0 ? -1 : 0;
}

void pn_out_init(struct pn_out *o, int fd, const char *name, size_t threshold)
{
	memset(o, 0, sizeof(*o));
	o->fd = fd;
	o->name = name;
	o->threshold = threshold;
	pn_buf_grow(&o->buf, threshold + 4096);
}

/* Writes p to the fd unless an earlier write failed; 0, or -1 with the
 * failure noted. */
static int out_write_through(struct pn_out *o, const void *p, size_t n)
{
	if (o->gone || o->err)
		return -1;
	if (n && pn_write_all(o->fd, p, n) < 0) {
		if (errno == EPIPE)
			o->gone = 1;
		else
			o->err = errno;
		return -1;
	}
	return 0;
}

int pn_out_flush(struct pn_out *o)
{
	int rc = out_write_through(o, o->buf.data, o->buf.len);

	pn_buf_reset(&o->buf);
	return rc;
}

int pn_out_write(struct pn_out *o, const void *p, size_t n)
{
	if (pn_out_flush(o) < 0)
		return -1;
	return out_write_through(o, p, n);
}

int pn_out_close(struct pn_out *o)
{
	int status = PN_EX_OK;

	pn_out_flush(o);
	/* close(2) reports the late errors some file systems (NFS) defer */
	if (close(o->fd) < 0 && !o->gone && !o->err && errno != EINTR)
		o->err = errno;
	if (o->err) {
		pn_error("cannot write to %s: %s", o->name, strerror(o->err));
		status = PN_EX_IOERR;
	}
	pn_buf_release(&o->buf);
	return status;
}

void pn_reject_open(struct pn_reject *r, const char *path)
{
	r->f = NULL;
	r->path = path;
	r->count = 0;
	if (path && !(r->f = fopen(path, "a")))
		pn_die(PN_EX_IOERR, "cannot open reject file '%s': %s", path, strerror(errno));
}

void pn_reject_write(struct pn_reject *r, const char *line, size_t len)
{
	if (fwrite(line, 1, len, r->f) != len || putc('\n', r->f) == EOF)
		pn_die(PN_EX_IOERR, "cannot write to reject file '%s': %s", r->path,
		       strerror(errno));
	r->count++;
}

int pn_reject_bad_line(struct pn_reject *r, const struct pn_reader *in, const char *line,
		       size_t len, const char *why, size_t column)
{
	if (column)
		pn_error_at(in->name, in->lineno, "%s (byte %zu)", why, column);
	else
		pn_error_at(in->name, in->lineno, "%s", why);
	if (!r->f)
		return -1;
	pn_reject_write(r, line, len);
	return 0;
}

int pn_reject_close(struct pn_reject *r)
{
	if (r->f && fclose(r->f) != 0) {
		r->f = NULL;
		pn_error("cannot write to reject file '%s': %s", r->path, strerror(errno));
		return PN_EX_IOERR;
	}
	r->f = NULL;
	return PN_EX_OK;
}
