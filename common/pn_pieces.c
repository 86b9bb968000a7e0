#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pn_err.h"
#include "pn_io.h"
#include "pn_pieces.h"
#include "pn_store.h"

enum { S3_RETRIES = 5, S3_PART_SIZE = 16 << 20 };

int pn_pieces_is_store(const char *path)
{
	struct stat sb;
	size_t n = strlen(path);

	return !strncmp(path, "s3://", 5) || (n && path[n - 1] == '/') ||
	       (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode));
}

static int make_dir(const char *path)
{
	if (mkdir(path, 0777) == 0 || errno == EEXIST)
		return 0;
	pn_error("cannot create the state directory '%s': %s", path, strerror(errno));
	return PN_EX_IOERR;
}

int pn_pieces_open(struct pn_pieces *s, const char *dir, int create)
{
	struct pn_store_opts opts = { .retries = S3_RETRIES, .part_size = S3_PART_SIZE };
	size_t n = strlen(dir);
	int status;

	memset(s, 0, sizeof(*s));
	while (n > 1 && dir[n - 1] == '/')
		n--;
	s->dir = pn_strndup(dir, n);
	if (strncmp(dir, "s3://", 5))
		return create ? make_dir(s->dir) : 0;
	s->s3 = pn_malloc(sizeof(*s->s3));
	status = pn_store_open(s->s3, dir, &opts);
	return !status && create ? pn_store_check(s->s3) : status;
}

void pn_pieces_close(struct pn_pieces *s)
{
	if (s->s3) {
		pn_store_close(s->s3);
		free(s->s3);
	}
	free(s->dir);
	pn_buf_release(&s->path);
	memset(s, 0, sizeof(*s));
}

/* A topic becomes a directory name: only the characters Kafka allows in
 * one, so a record's _topic can never climb out of the directory. */
static int check_topic(const struct pn_pieces *s, const char *topic)
{
	int ok = *topic && strcmp(topic, ".") && strcmp(topic, "..") &&
		 !topic[strspn(topic, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				      "0123456789._-")];

	if (!ok)
		pn_error("topic '%s' cannot name a piece of state in '%s' (a Kafka topic name "
			 "is letters, digits, '.', '_' and '-')", topic, s->dir);
	return ok ? 0 : -1;
}

/* A partition's file: its path in the directory, or its name under the
 * S3 prefix; valid until the next call. */
static const char *file_path(struct pn_pieces *s, const char *topic, int32_t partition,
			     const char *suffix)
{
	pn_buf_reset(&s->path);
	if (!s->s3)
		pn_buf_addf(&s->path, "%s/", s->dir);
	pn_buf_addf(&s->path, "%s/%d%s", topic, (int)partition, suffix);
	return s->path.data;
}

/* A partition's file as messages name it: its path, or s3://bucket/... */
static const char *shown_path(struct pn_pieces *s, const char *topic, int32_t partition,
			      const char *suffix)
{
	if (s->s3) {
		pn_buf_reset(&s->path);
		pn_buf_addf(&s->path, "%s/%s/%d%s", s->dir, topic, (int)partition, suffix);
		return s->path.data;
	}
	return file_path(s, topic, partition, suffix);
}

const char *pn_pieces_path(struct pn_pieces *s, const char *topic, int32_t partition)
{
	return shown_path(s, topic, partition, ".ckpt");
}

/* ---- whole files, in either store ---- */

/* Reads a partition's file into out: 1, 0 when there is none, or minus an
 * exit status after reporting. */
static int read_file(struct pn_pieces *s, const char *topic, int32_t partition,
		     const char *suffix, struct pn_buf *out)
{
	const char *path = file_path(s, topic, partition, suffix);
	int rc;

	if (s->s3) {
		rc = pn_s3_get(&s->s3->s3, pn_store_path(s->s3, path), out);
		if (rc == PN_EX_DATAERR && s->s3->s3.status == 404)
			return 0;
		if (rc)
			pn_error("cannot read '%s': %s", shown_path(s, topic, partition, suffix),
				 s->s3->s3.err.data);
		return rc ? -rc : 1;
	}
	if (pn_read_file(path, out) == 0)
		return 1;
	if (errno == ENOENT)
		return 0;
	pn_error("cannot read '%s': %s", path, strerror(errno));
	return -PN_EX_IOERR;
}

/* Writes a partition's file whole: 0, or an exit status after reporting. */
static int write_file(struct pn_pieces *s, const char *topic, int32_t partition,
		      const char *suffix, const void *p, size_t n)
{
	const char *path;
	int status;

	if (check_topic(s, topic))
		return PN_EX_DATAERR;
	if (s->s3)
		return pn_store_put(s->s3, file_path(s, topic, partition, suffix), p, n);
	pn_buf_reset(&s->path);
	pn_buf_addf(&s->path, "%s/%s", s->dir, topic);
	if ((status = make_dir(s->path.data)))
		return status;
	path = file_path(s, topic, partition, suffix);
	if (pn_write_file_atomic(path, p, n) == 0)
		return 0;
	pn_error("cannot write '%s': %s", path, strerror(errno));
	return PN_EX_IOERR;
}

/* The number a partition's small text file begins with (an owner file
 * goes on with a space and its host), in *v: -1 when there is no file,
 * or, with a warning, when it holds no number, since a damaged .next read
 * as 0 would have the consumer start the partition over.  1 or 0 as
 * read_file, or minus an exit status. */
static int read_number(struct pn_pieces *s, const char *topic, int32_t partition,
		       const char *suffix, int64_t *v)
{
	struct pn_buf b = PN_BUF_INIT;
	int rc = read_file(s, topic, partition, suffix, &b);
	char *end = NULL;

	*v = -1;
	if (rc > 0) {
		errno = 0;
		*v = strtoll(b.data, &end, 10);
		if (end == b.data || (*end && *end != '\n' && *end != ' ') || *v < 0 || errno) {
			pn_warn("'%s' holds no offset: ignored",
				shown_path(s, topic, partition, suffix));
			*v = -1;
		}
	}
	pn_buf_release(&b);
	return rc;
}

static int write_number(struct pn_pieces *s, const char *topic, int32_t partition,
			const char *suffix, int64_t v)
{
	char text[32];

	snprintf(text, sizeof(text), "%lld\n", (long long)v);
	return write_file(s, topic, partition, suffix, text, strlen(text));
}

/* ---- ownership ---- */

/* What an owner file holds: "EPOCH HOST PID\n", for an operator too. */
static void owner_text(struct pn_buf *b, uint64_t epoch)
{
	char host[256] = "";

	gethostname(host, sizeof(host) - 1);
	pn_buf_reset(b);
	pn_buf_addf(b, "%llu %s %ld\n", (unsigned long long)epoch, host, (long)getpid());
}

/* Opens and locks (how: LOCK_EX, maybe | LOCK_NB) a partition's owner
 * file in the directory: the fd, or -1 with *status set: 2 when LOCK_NB
 * found another holding it, else an exit status after reporting. */
static int lock_owner(struct pn_pieces *s, const char *topic, int32_t partition, int how,
		      int *status)
{
	const char *path;
	int fd, err;

	if (check_topic(s, topic)) {
		*status = PN_EX_DATAERR;
		return -1;
	}
	pn_buf_reset(&s->path);
	pn_buf_addf(&s->path, "%s/%s", s->dir, topic);
	if ((*status = make_dir(s->path.data)))
		return -1;
	path = file_path(s, topic, partition, ".owner");
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
	if (fd >= 0 && flock(fd, how) == 0)
		return fd;
	err = errno;
	if (fd >= 0)
		close(fd);
	if (err == EWOULDBLOCK) {
		*status = PN_PIECES_BUSY;
		return -1;
	}
	pn_error("cannot lock '%s': %s", path, strerror(err));
	*status = PN_EX_IOERR;
	return -1;
}

/* The epoch in a locked owner file; 0 when it is new (empty). */
static uint64_t fd_epoch(int fd)
{
	char b[32];
	ssize_t n = pread(fd, b, sizeof(b) - 1, 0);

	b[n > 0 ? n : 0] = '\0';
	return strtoull(b, NULL, 10);
}

int pn_pieces_claim(struct pn_pieces *s, const char *topic, int32_t partition,
		    uint64_t *epoch)
{
	struct pn_buf text = PN_BUF_INIT;
	int64_t was;
	int status = 0, fd = -1;

	if (s->s3) {
		if (check_topic(s, topic))
			return PN_EX_DATAERR;
		if ((status = read_number(s, topic, partition, ".owner", &was)) < 0)
			return -status;
		*epoch = (uint64_t)(was < 0 ? 0 : was) + 1;
	} else {
		if ((fd = lock_owner(s, topic, partition, LOCK_EX, &status)) < 0)
			return status;
		*epoch = fd_epoch(fd) + 1;
	}
	owner_text(&text, *epoch);
	if (s->s3) {
		status = write_file(s, topic, partition, ".owner", text.data, text.len);
	} else if (pwrite(fd, text.data, text.len, 0) != (ssize_t)text.len ||
		   ftruncate(fd, (off_t)text.len) < 0 || fsync(fd) < 0) {
		pn_error("cannot write '%s': %s", file_path(s, topic, partition, ".owner"),
			 strerror(errno));
		status = PN_EX_IOERR;
	}
	if (fd >= 0)
		close(fd); /* and unlocked */
	pn_buf_release(&text);
	return status;
}

/*
 * In S3, is the partition still the epoch's: 0, 1 (fenced) or an exit
 * status.  The owner itself (mine) compares the whole text it wrote, not
 * only the epoch: two claims at once both read the old epoch and both
 * write the next one, and only the host and pid then tell which of the two
 * S3 kept.  Another process checking for the owner (pn-sink-pg) knows the
 * epoch alone.
 */
static int s3_still_owned(struct pn_pieces *s, const char *topic, int32_t partition,
			  uint64_t epoch, int mine)
{
	struct pn_buf now = PN_BUF_INIT, wrote = PN_BUF_INIT;
	int64_t now_epoch;
	int status;

	if (!mine) {
		status = read_number(s, topic, partition, ".owner", &now_epoch);
		return status < 0 ? -status : now_epoch != (int64_t)epoch;
	}
	status = read_file(s, topic, partition, ".owner", &now);
	if (status >= 0) {
		owner_text(&wrote, epoch);
		status = !(status == 1 && now.len == wrote.len &&
			   !memcmp(now.data, wrote.data, now.len));
	} else {
		status = -status;
	}
	pn_buf_release(&now);
	pn_buf_release(&wrote);
	return status;
}

/* pn_pieces_lock and pn_pieces_trylock, how the flock(2) of lock_owner;
 * mine as s3_still_owned's. */
static int lock_as(struct pn_pieces *s, const char *topic, int32_t partition, uint64_t epoch,
		   int *lock, int how, int mine)
{
	int status, fd;

	*lock = -1;
	if (s->s3)
		return s3_still_owned(s, topic, partition, epoch, mine);
	if ((fd = lock_owner(s, topic, partition, how, &status)) < 0)
		return status;
	if (fd_epoch(fd) != epoch) {
		close(fd);
		return 1;
	}
	*lock = fd;
	return 0;
}

int pn_pieces_lock(struct pn_pieces *s, const char *topic, int32_t partition, uint64_t epoch,
		   int *lock)
{
	return lock_as(s, topic, partition, epoch, lock, LOCK_EX, 1);
}

int pn_pieces_trylock(struct pn_pieces *s, const char *topic, int32_t partition,
		      uint64_t epoch, int *lock)
{
	return lock_as(s, topic, partition, epoch, lock, LOCK_EX | LOCK_NB, 0);
}

void pn_pieces_unlock(int lock)
{
	if (lock >= 0)
		close(lock);
}

/* ---- pieces and offsets ---- */

int pn_pieces_get(struct pn_pieces *s, const char *topic, int32_t partition,
		  struct pn_buf *out)
{
	return read_file(s, topic, partition, ".ckpt", out);
}

int pn_pieces_put(struct pn_pieces *s, const char *topic, int32_t partition,
		  const struct pn_buf *piece, int64_t next)
{
	int status = write_file(s, topic, partition, ".ckpt", piece->data, piece->len);

	/* after the piece: an older .next only makes a reader commit less */
	return status ? status : write_number(s, topic, partition, ".next", next);
}

int pn_pieces_ack(struct pn_pieces *s, const char *topic, int32_t partition, int64_t next)
{
	return write_number(s, topic, partition, ".sunk", next);
}

int64_t pn_pieces_acked(struct pn_pieces *s, const char *topic, int32_t partition)
{
	int64_t next;

	return read_number(s, topic, partition, ".sunk", &next) < 0 ? -2 : next;
}

/* One name of a listing, "TOPIC/PARTITION.next" relative to the store:
 * that partition's offset into t.  0 to go on, or an exit status. */
static int offset_of(struct pn_pieces *s, const char *rel, struct pn_offsets *t)
{
	const char *slash = strrchr(rel, '/');
	char *topic, *end;
	long partition;
	int64_t next = -1;
	int rc = 0;

	if (!slash || slash[1] < '0' || slash[1] > '9')
		return 0;
	partition = strtol(slash + 1, &end, 10);
	if (strcmp(end, ".next") || partition > PN_PARTITION_MAX)
		return 0;
	topic = pn_strndup(rel, (size_t)(slash - rel));
	if (!strchr(topic, '/'))
		rc = read_number(s, topic, (int32_t)partition, ".next", &next);
	if (next >= 0)
		pn_offsets_get(t, topic, (int32_t)partition)->flushed = next;
	free(topic);
	return rc < 0 ? -rc : 0;
}

struct listing {
	struct pn_pieces *s;
	struct pn_offsets *t;
};

static int s3_offset_of(void *ctx, const char *rel, uint64_t size)
{
	struct listing *l = ctx;

	(void)size;
	return offset_of(l->s, rel, l->t);
}

/* The .next files of one topic's directory. */
static int dir_offsets(struct pn_pieces *s, const char *topic, struct pn_offsets *t)
{
	struct pn_buf path = PN_BUF_INIT;
	struct dirent *de;
	DIR *d;
	int rc = 0;

	pn_buf_addf(&path, "%s/%s", s->dir, topic);
	if (!(d = opendir(path.data))) {
		if (errno != ENOTDIR) {
			pn_error("cannot read the state directory '%s': %s", path.data,
				 strerror(errno));
			rc = PN_EX_IOERR;
		}
	}
	while (d && !rc && (de = readdir(d))) {
		pn_buf_reset(&path);
		pn_buf_addf(&path, "%s/%s", topic, de->d_name);
		rc = offset_of(s, path.data, t);
	}
	if (d)
		closedir(d);
	pn_buf_release(&path);
	return rc;
}

int pn_pieces_offsets(struct pn_pieces *s, struct pn_offsets *t)
{
	struct listing l = { s, t };
	struct dirent *de;
	DIR *d;
	int rc = 0;

	if (s->s3)
		return pn_store_list(s->s3, s3_offset_of, &l) ? -1 : 0;
	if (!(d = opendir(s->dir))) {
		if (errno == ENOENT)
			return 0;
		pn_error("cannot read the state directory '%s': %s", s->dir, strerror(errno));
		return -1;
	}
	while (!rc && (de = readdir(d)))
		if (de->d_name[0] != '.')
			rc = dir_offsets(s, de->d_name, t);
	closedir(d);
	return rc ? -1 : 0;
}
