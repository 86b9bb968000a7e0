#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pn_checkpoint.h"
#include "pn_err.h"
#include "pn_io.h"
#include "pn_pieces.h"
#include "pn_store.h"

int pn_pieces_is_dir(const char *path)
{
	struct stat sb;
	size_t n = strlen(path);

	return !strncmp(path, "s3://", 5) || (n && path[n - 1] == '/') ||
	       (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode));
}

enum { S3_RETRIES = 5, S3_PART_SIZE = 16 << 20 };

static int open_s3(struct pn_pieces *s, const char *url, int check)
{
	struct pn_store_opts opts = { .retries = S3_RETRIES, .part_size = S3_PART_SIZE };
	int status;

	s->s3 = pn_malloc(sizeof(*s->s3));
	status = pn_store_open(s->s3, url, &opts);
	if (!status && check)
		status = pn_store_check(s->s3);
	return status;
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
	size_t n = strlen(dir);

	memset(s, 0, sizeof(*s));
	while (n > 1 && dir[n - 1] == '/')
		n--;
	s->dir = pn_strndup(dir, n);
	if (!strncmp(dir, "s3://", 5))
		return open_s3(s, dir, create);
	return create ? make_dir(s->dir) : 0;
}

void pn_pieces_close(struct pn_pieces *s)
{
	for (int i = 0; i < s->nseen; i++)
		free(s->seen[i].topic);
	free(s->seen);
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
static int topic_is_name(const char *topic)
{
	if (!*topic || !strcmp(topic, ".") || !strcmp(topic, ".."))
		return 0;
	for (const char *c = topic; *c; c++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-", *c))
			return 0;
	return 1;
}

/* A file's path in the directory, or its name relative to the S3 prefix. */
static const char *file_path(struct pn_pieces *s, const char *topic, int32_t partition,
			     const char *suffix)
{
	pn_buf_reset(&s->path);
	if (!s->s3)
		pn_buf_addf(&s->path, "%s/", s->dir);
	pn_buf_addf(&s->path, "%s/%d%s", topic, (int)partition, suffix);
	return s->path.data;
}

/* A topic that cannot name a directory (or a prefix): -1 after reporting. */
static int check_topic(struct pn_pieces *s, const char *topic);

/* ---- S3: the same names under the prefix, no lock ---- */

/* Reads an object that may not exist: 1, 0 when it does not, or minus an
 * exit status after reporting. */
static int s3_get(struct pn_pieces *s, const char *rel, struct pn_buf *out)
{
	int rc = pn_s3_get(&s->s3->s3, pn_store_path(s->s3, rel), out);

	if (rc == PN_EX_DATAERR && s->s3->s3.status == 404)
		return 0;
	if (rc) {
		pn_error("cannot read '%s/%s': %s", s->dir, rel, s->s3->s3.err.data);
		return -rc;
	}
	return 1;
}

/* The epoch in an owner object; 0 when there is none, or minus a status. */
static int64_t s3_epoch(struct pn_pieces *s, const char *topic, int32_t partition)
{
	struct pn_buf b = PN_BUF_INIT;
	int rc = s3_get(s, file_path(s, topic, partition, ".owner"), &b);
	int64_t epoch = rc < 0 ? rc : 0;

	if (rc > 0)
		epoch = strtoll(b.data, NULL, 10);
	pn_buf_release(&b);
	return epoch;
}

static int s3_claim(struct pn_pieces *s, const char *topic, int32_t partition, uint64_t *epoch)
{
	int64_t was = s3_epoch(s, topic, partition);
	struct pn_buf b = PN_BUF_INIT;
	char host[256] = "";
	int status;

	if (was < 0)
		return (int)-was;
	*epoch = (uint64_t)was + 1;
	gethostname(host, sizeof(host) - 1);
	pn_buf_addf(&b, "%llu %s %ld\n", (unsigned long long)*epoch, host, (long)getpid());
	status = pn_store_put(s->s3, file_path(s, topic, partition, ".owner"), b.data, b.len);
	pn_buf_release(&b);
	return status;
}

/* The next offsets of every piece, from the .next objects. */
struct s3_offsets {
	struct pn_pieces *s;
	struct pn_offsets *t;
	int status;
};

static int s3_offset_one(void *ctx, const char *rel, uint64_t size)
{
	struct s3_offsets *o = ctx;
	const char *slash = strrchr(rel, '/');
	struct pn_buf b = PN_BUF_INIT;
	char *topic, *end;
	long partition;
	int rc;

	(void)size;
	if (!slash || !pn_ends_with(rel, ".next"))
		return 0;
	partition = strtol(slash + 1, &end, 10);
	if (end == slash + 1 || strcmp(end, ".next") || partition < 0 ||
	    partition > PN_PARTITION_MAX)
		return 0;
	topic = pn_strndup(rel, (size_t)(slash - rel));
	if (check_topic(o->s, topic) == 0) {
		rc = s3_get(o->s, rel, &b);
		if (rc > 0)
			pn_offsets_get(o->t, topic, (int32_t)partition)->flushed =
				strtoll(b.data, NULL, 10);
		if (rc < 0)
			o->status = -rc;
	}
	free(topic);
	pn_buf_release(&b);
	return o->status != 0;
}

/* ---- a directory ---- */

const char *pn_pieces_path(struct pn_pieces *s, const char *topic, int32_t partition)
{
	const char *rel = file_path(s, topic, partition, ".ckpt");

	if (s->s3) {
		char *copy = pn_strdup(rel);

		pn_buf_reset(&s->path);
		pn_buf_addf(&s->path, "%s/%s", s->dir, copy);
		free(copy);
	}
	return s->path.data;
}

/* Opens and locks the owner file of a partition: the fd, or -1 after
 * reporting (*status set). */
static int check_topic(struct pn_pieces *s, const char *topic)
{
	if (topic_is_name(topic))
		return 0;
	pn_error("topic '%s' cannot name a piece of state in '%s' (a Kafka topic name "
		 "is letters, digits, '.', '_' and '-')", topic, s->dir);
	return -1;
}

/* The directory of a topic's pieces, made when new: 0 or an exit status. */
static int make_topic_dir(struct pn_pieces *s, const char *topic)
{
	pn_buf_reset(&s->path);
	pn_buf_addf(&s->path, "%s/%s", s->dir, topic);
	return make_dir(s->path.data);
}

static int lock_owner(struct pn_pieces *s, const char *topic, int32_t partition, int *status)
{
	const char *path;
	int fd;

	if (check_topic(s, topic)) {
		*status = PN_EX_DATAERR;
		return -1;
	}
	if ((*status = make_topic_dir(s, topic)))
		return -1;
	path = file_path(s, topic, partition, ".owner");
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
	if (fd < 0 || flock(fd, LOCK_EX) < 0) {
		pn_error("cannot lock '%s': %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		*status = PN_EX_IOERR;
		return -1;
	}
	return fd;
}

/* The epoch in an owner file; 0 when it is new (empty). */
static uint64_t read_epoch(int fd)
{
	unsigned char b[8];
	uint64_t epoch = 0;

	if (pread(fd, b, sizeof(b), 0) != (ssize_t)sizeof(b))
		return 0;
	for (int i = 7; i >= 0; i--)
		epoch = epoch << 8 | b[i];
	return epoch;
}

/* The owner file holds the epoch, little-endian, then who took it, for
 * an operator reading it: "host pid". */
static int write_epoch(int fd, uint64_t epoch)
{
	char who[300] = "";
	unsigned char b[sizeof(who) + 8];
	size_t n;

	gethostname(who, 256);
	who[256] = '\0';
	n = strlen(who);
	snprintf(who + n, sizeof(who) - n, " %ld\n", (long)getpid());
	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(epoch >> (8 * i));
	n = strlen(who);
	memcpy(b + 8, who, n);
	if (pwrite(fd, b, 8 + n, 0) != (ssize_t)(8 + n) || ftruncate(fd, 8 + n) < 0 ||
	    fsync(fd) < 0)
		return -1;
	return 0;
}

int pn_pieces_claim(struct pn_pieces *s, const char *topic, int32_t partition,
		    uint64_t *epoch)
{
	int status, fd;

	if (s->s3)
		return check_topic(s, topic) ? PN_EX_DATAERR : s3_claim(s, topic, partition, epoch);
	fd = lock_owner(s, topic, partition, &status);

	if (fd < 0)
		return status;
	*epoch = read_epoch(fd) + 1;
	if (write_epoch(fd, *epoch) < 0) {
		pn_error("cannot write '%s': %s", file_path(s, topic, partition, ".owner"),
			 strerror(errno));
		status = PN_EX_IOERR;
	}
	close(fd); /* and unlocked */
	return status;
}

int pn_pieces_lock(struct pn_pieces *s, const char *topic, int32_t partition, uint64_t epoch,
		   int *lock)
{
	int status, fd;

	if (s->s3) {
		int64_t now = s3_epoch(s, topic, partition);

		*lock = -1;
		return now < 0 ? (int)-now : (uint64_t)now != epoch;
	}
	fd = lock_owner(s, topic, partition, &status);

	if (fd < 0)
		return status;
	if (read_epoch(fd) != epoch) {
		close(fd);
		return 1;
	}
	*lock = fd;
	return 0;
}

void pn_pieces_unlock(int lock)
{
	if (lock >= 0)
		close(lock);
}

int pn_pieces_get(struct pn_pieces *s, const char *topic, int32_t partition,
		  struct pn_buf *out)
{
	const char *path = file_path(s, topic, partition, ".ckpt");

	if (s->s3)
		return s3_get(s, path, out);
	if (pn_read_file(path, out) == 0)
		return 1;
	if (errno == ENOENT)
		return 0;
	pn_error("cannot read '%s': %s", path, strerror(errno));
	return -PN_EX_IOERR;
}

int pn_pieces_put(struct pn_pieces *s, const char *topic, int32_t partition,
		  const struct pn_buf *piece, int64_t next)
{
	const char *path = file_path(s, topic, partition, ".ckpt");
	char text[32];
	int status;

	if (!s->s3) {
		if (pn_write_file_atomic(path, piece->data, piece->len) == 0)
			return 0;
		pn_error("cannot write '%s': %s", path, strerror(errno));
		return PN_EX_IOERR;
	}
	status = pn_store_put(s->s3, path, piece->data, piece->len);
	/* after the piece: an older .next only makes a reader commit less */
	snprintf(text, sizeof(text), "%lld\n", (long long)next);
	if (!status)
		status = pn_store_put(s->s3, file_path(s, topic, partition, ".next"), text,
				      strlen(text));
	return status;
}

/* What was seen of a piece last time, made when new. */
static struct pn_piece_seen *seen_piece(struct pn_pieces *s, const char *topic,
					int32_t partition)
{
	struct pn_piece_seen *p;

	for (int i = 0; i < s->nseen; i++)
		if (s->seen[i].partition == partition && !strcmp(s->seen[i].topic, topic))
			return &s->seen[i];
	s->seen = pn_realloc(s->seen, (s->nseen + 1) * sizeof(*s->seen));
	p = &s->seen[s->nseen++];
	memset(p, 0, sizeof(*p));
	p->topic = pn_strdup(topic);
	p->partition = partition;
	p->next = -1;
	return p;
}

/* The next offset of the piece at path into t, read again only when the
 * file was replaced: 0, or -1 after reporting. */
static int piece_offset(struct pn_pieces *s, const char *path, const char *topic,
			int32_t partition, struct pn_offsets *t)
{
	struct pn_piece_seen *seen = seen_piece(s, topic, partition);
	struct stat sb;
	uint64_t mtime_ns;

	if (stat(path, &sb) < 0)
		return errno == ENOENT ? 0 : -1;
	mtime_ns = (uint64_t)sb.st_mtim.tv_sec * 1000000000u + (uint64_t)sb.st_mtim.tv_nsec;
	if (sb.st_ino != seen->ino || mtime_ns != seen->mtime_ns ||
	    (uint64_t)sb.st_size != seen->size) {
		struct pn_offsets one;
		struct pn_part *p;

		pn_offsets_init(&one);
		if (pn_checkpoint_load_offsets(path, &one) < 0) {
			pn_offsets_release(&one);
			return -1;
		}
		p = pn_offsets_find(&one, topic, partition);
		seen->next = p ? p->flushed : -1;
		seen->ino = sb.st_ino;
		seen->mtime_ns = mtime_ns;
		seen->size = (uint64_t)sb.st_size;
		pn_offsets_release(&one);
	}
	if (seen->next >= 0)
		pn_offsets_get(t, topic, partition)->flushed = seen->next;
	return 0;
}

/* The partition a piece's file name gives ("12.ckpt"), or -1. */
static int32_t piece_partition(const char *name)
{
	char *end;
	long n;

	if (name[0] < '0' || name[0] > '9')
		return -1;
	n = strtol(name, &end, 10);
	return strcmp(end, ".ckpt") || n > PN_PARTITION_MAX ? -1 : (int32_t)n;
}

/* Reads the pieces of one topic's directory: 0, or -1 after reporting. */
static int topic_offsets(struct pn_pieces *s, const char *topic, struct pn_offsets *t)
{
	struct pn_buf dir = PN_BUF_INIT, piece = PN_BUF_INIT;
	struct dirent *de;
	DIR *d;
	int rc = 0;

	pn_buf_addf(&dir, "%s/%s", s->dir, topic);
	d = opendir(dir.data);
	if (!d) {
		rc = errno == ENOTDIR ? 0 : -1;
		if (rc)
			pn_error("cannot read the state directory '%s': %s", dir.data,
				 strerror(errno));
		pn_buf_release(&dir);
		return rc;
	}
	while (!rc && (de = readdir(d))) {
		int32_t partition = piece_partition(de->d_name);

		if (partition < 0)
			continue;
		pn_buf_reset(&piece);
		pn_buf_addf(&piece, "%s/%s", dir.data, de->d_name);
		rc = piece_offset(s, piece.data, topic, partition, t);
	}
	closedir(d);
	pn_buf_release(&dir);
	pn_buf_release(&piece);
	return rc;
}

int pn_pieces_ack(struct pn_pieces *s, const char *topic, int32_t partition, int64_t next)
{
	char text[32];
	const char *path;

	if (check_topic(s, topic))
		return PN_EX_DATAERR;
	snprintf(text, sizeof(text), "%lld\n", (long long)next);
	path = file_path(s, topic, partition, ".sunk");
	if (s->s3)
		return pn_store_put(s->s3, path, text, strlen(text));
	if (make_topic_dir(s, topic))
		return PN_EX_IOERR;
	path = file_path(s, topic, partition, ".sunk");
	if (pn_write_file_atomic(path, text, strlen(text)) == 0)
		return 0;
	pn_error("cannot write '%s': %s", path, strerror(errno));
	return PN_EX_IOERR;
}

int64_t pn_pieces_acked(struct pn_pieces *s, const char *topic, int32_t partition)
{
	struct pn_buf b = PN_BUF_INIT;
	const char *path = file_path(s, topic, partition, ".sunk");
	int64_t next = -1;
	int rc;

	if (s->s3) {
		rc = s3_get(s, path, &b);
	} else if (pn_read_file(path, &b) == 0) {
		rc = 1;
	} else {
		rc = errno == ENOENT ? 0 : -1;
		if (rc)
			pn_error("cannot read '%s': %s", path, strerror(errno));
	}
	if (rc > 0)
		next = strtoll(b.data, NULL, 10);
	pn_buf_release(&b);
	return rc < 0 ? -2 : next;
}

int pn_pieces_offsets(struct pn_pieces *s, struct pn_offsets *t)
{
	DIR *d;
	struct dirent *de;
	int rc = 0;

	if (s->s3) {
		struct s3_offsets o = { s, t, 0 };

		rc = pn_store_list(s->s3, s3_offset_one, &o);
		return rc || o.status ? -1 : 0;
	}
	d = opendir(s->dir);
	if (!d) {
		if (errno == ENOENT)
			return 0;
		pn_error("cannot read the state directory '%s': %s", s->dir, strerror(errno));
		return -1;
	}
	while (!rc && (de = readdir(d)))
		if (topic_is_name(de->d_name))
			rc = topic_offsets(s, de->d_name, t);
	closedir(d);
	return rc;
}
