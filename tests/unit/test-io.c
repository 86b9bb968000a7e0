/* Unit tests for common/pn_io.h: the line reader and the record writer. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pn_err.h"
#include "pn_io.h"
#include "unit.h"

#define MiB (1 << 20)

static char tmpdir[4096];

static void make_tmpdir(void)
{
	const char *t = getenv("TMPDIR");

	snprintf(tmpdir, sizeof(tmpdir), "%s/pn-test-io.XXXXXX", t && *t ? t : "/tmp");
	if (!mkdtemp(tmpdir)) {
		perror(tmpdir);
		exit(2);
	}
}

static char *tmpfile_with(const char *name, const void *data, size_t n)
{
	static char path[4200];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || pn_write_all(fd, data, n) < 0 || close(fd) < 0) {
		perror(path);
		exit(2);
	}
	return path;
}

/* Splits data at '\n' the way the reader should. */
struct lines {
	size_t n;
	const char **p;
	size_t *len;
};

static void split(const char *data, size_t n, struct lines *l)
{
	size_t start = 0;

	l->n = 0;
	l->p = malloc((n + 1) * sizeof(*l->p));
	l->len = malloc((n + 1) * sizeof(*l->len));
	for (size_t i = 0; i < n; i++) {
		if (data[i] == '\n') {
			l->p[l->n] = data + start;
			l->len[l->n++] = i - start;
			start = i + 1;
		}
	}
	if (start < n) {	/* a last line without '\n' */
		l->p[l->n] = data + start;
		l->len[l->n++] = n - start;
	}
}

/* Reads everything from r and compares it with the lines of data. */
static void check_reader(struct pn_reader *r, const char *data, size_t n, const char *what)
{
	struct lines want;
	char *line;
	size_t len, i;
	int rc;

	split(data, n, &want);
	for (i = 0; (rc = pn_reader_next(r, &line, &len)) == 1; i++) {
		if (!CHECK(i < want.n, "%s: extra line %zu: %s", what, i + 1, unit_show(line, len)))
			break;
		if (!CHECK(len == want.len[i] && !memcmp(line, want.p[i], len),
			   "%s: line %zu: %zu bytes %s, want %zu bytes %s", what, i + 1, len,
			   unit_show(line, len), want.len[i], unit_show(want.p[i], want.len[i])))
			break;
		CHECK(line[len] == '\0', "%s: line %zu is not NUL-terminated", what, i + 1);
		CHECK(r->lineno == i + 1, "%s: lineno %llu, want %zu", what, r->lineno, i + 1);
		if (len)
			line[len - 1] ^= 1;	/* the caller may modify a line */
	}
	CHECK(rc == 0, "%s: pn_reader_next returned %d (%s)", what, rc, strerror(errno));
	CHECK(i == want.n, "%s: %zu lines, want %zu", what, i, want.n);
	CHECK(pn_reader_next(r, &line, &len) == 0, "%s: a second end of input", what);
	CHECK(r->lineno == want.n, "%s: lineno %llu at the end", what, r->lineno);
	free(want.p);
	free(want.len);
}

static void check_file(const char *name, const char *data, size_t n)
{
	const char *path = tmpfile_with(name, data, n);
	struct pn_reader r;

	if (!CHECK(pn_reader_open(&r, path) == 0, "open %s: %s", path, strerror(errno)))
		return;
	CHECK(!strcmp(r.name, path), "name %s", r.name);
	check_reader(&r, data, n, name);
	pn_reader_close(&r);
	CHECK(r.fd == -1 && r.buf == NULL && r.name == NULL, "closed");
	unlink(path);
}

static void test_reader_small(void)
{
	static const struct { const char *name, *data; size_t n; } cases[] = {
#define F(name, data) { name, data, sizeof(data) - 1 }
		F("empty", ""),
		F("one-newline", "\n"),
		F("two-newlines", "\n\n"),
		F("one-line", "{\"a\":1}\n"),
		F("no-final-newline", "a\nbc"),
		F("only-no-newline", "abc"),
		F("single-char", "x"),
		F("empty-lines-between", "a\n\n\nb\n"),
		F("crlf", "a\r\nb\r\n\r\nc\r"),
		F("lone-cr", "a\rb\n"),
		F("nul-inside", "a\0b\n\0\n"),
		F("utf8", "\xc3\xa9\n\xf0\x9f\x98\x80\n"),
#undef F
	};

	for (size_t i = 0; i < NELEM(cases); i++)
		check_file(cases[i].name, cases[i].data, cases[i].n);
}

/* Fills data with lines of the given lengths; returns the total size. */
static size_t make_lines(char *data, const size_t *lens, size_t nlines, int final_newline)
{
	size_t o = 0;

	for (size_t i = 0; i < nlines; i++) {
		for (size_t k = 0; k < lens[i]; k++)
			data[o++] = 'A' + (i + k) % 26;
		if (i + 1 < nlines || final_newline)
			data[o++] = '\n';
	}
	return o;
}

static void test_reader_long_lines(void)
{
	/* longer than one read chunk, around the chunk size, at the end */
	static const size_t lens[][6] = {
		{ 5, 3 * MiB, 0, 7 },
		{ 3 * MiB },
		{ MiB - 1, MiB, MiB + 1, 1 },
		{ 10, MiB - 11, 10 },		/* the first '\n' is the chunk's last byte */
		{ 10, MiB - 10, 10 },		/* and the next chunk's first byte */
		{ 2 * MiB + 3, 3 * MiB, 0 },
	};
	static const size_t count[] = { 4, 1, 4, 3, 3, 3 };
	size_t max = 8 * MiB + 64;
	char *data = malloc(max);

	for (size_t t = 0; t < NELEM(lens); t++) {
		for (int nl = 0; nl < 2; nl++) {
			char name[64];
			size_t n = make_lines(data, lens[t], count[t], nl);

			snprintf(name, sizeof(name), "long-%zu-%s", t, nl ? "nl" : "no-nl");
			check_file(name, data, n);
		}
	}
	free(data);
}

/* Many lines of random lengths, so that lines straddle the read chunks. */
static void test_reader_random(void)
{
	size_t nlines = 4000, total = 0, *lens = malloc(nlines * sizeof(*lens));
	char *data;
	size_t n;

	for (size_t i = 0; i < nlines; i++) {
		size_t pick = unit_below(100);

		lens[i] = pick < 20 ? 0 : pick < 97 ? unit_below(2000) : unit_below(300000);
		total += lens[i] + 1;
	}
	data = malloc(total);
	n = make_lines(data, lens, nlines, 1);
	check_file("random", data, n);
	n = make_lines(data, lens, nlines, 0);
	check_file("random-no-nl", data, n);
	free(data);
	free(lens);
}

/* Reading standard input from a pipe whose writer sends small pieces:
 * reads return partial lines. */
static void test_reader_pipe(void)
{
	size_t nlines = 3000, total = 0, *lens = malloc(nlines * sizeof(*lens));
	int fds[2], saved, status;
	struct pn_reader r;
	char *data;
	size_t n;
	pid_t pid;

	for (size_t i = 0; i < nlines; i++) {
		lens[i] = unit_below(10) ? unit_below(300) : unit_below(3000);
		total += lens[i] + 1;
	}
	data = malloc(total + 3 * MiB + 1);
	n = make_lines(data, lens, nlines, 1);
	memset(data + n, 'P', 3 * MiB);		/* and a long last line */
	n += 3 * MiB;
	free(lens);

	if (pipe(fds) < 0 || (pid = fork()) < 0) {
		perror("pipe/fork");
		exit(2);
	}
	if (pid == 0) {
		close(fds[0]);
		for (size_t o = 0, k; o < n; o += k) {
			k = 1 + unit_below(o < n / 2 ? 700 : 70000);
			if (k > n - o)
				k = n - o;
			if (pn_write_all(fds[1], data + o, k) < 0)
				_exit(1);
		}
		_exit(0);
	}
	close(fds[1]);
	saved = dup(STDIN_FILENO);
	dup2(fds[0], STDIN_FILENO);
	close(fds[0]);

	CHECK(pn_reader_open(&r, "-") == 0, "open -");
	CHECK(r.fd == STDIN_FILENO && !strcmp(r.name, "<stdin>"), "stdin is %d %s", r.fd, r.name);
	check_reader(&r, data, n, "pipe");
	pn_reader_close(&r);
	CHECK(fcntl(STDIN_FILENO, F_GETFD) != -1, "closing the reader leaves stdin open");

	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "writer status %d", status);
	dup2(saved, STDIN_FILENO);
	close(saved);
	free(data);

	CHECK(pn_reader_open(&r, NULL) == 0 && r.fd == STDIN_FILENO, "NULL means stdin");
	pn_reader_close(&r);
}

static void test_reader_errors(void)
{
	struct pn_reader r;
	char path[4200];

	snprintf(path, sizeof(path), "%s/does-not-exist", tmpdir);
	errno = 0;
	CHECK(pn_reader_open(&r, path) == -1 && errno == ENOENT, "missing file: %s",
	      strerror(errno));

	/* a directory opens but cannot be read */
	if (CHECK(pn_reader_open(&r, tmpdir) == 0, "open a directory")) {
		char *line;
		size_t len;

		errno = 0;
		CHECK(pn_reader_next(&r, &line, &len) == -1 && errno == EISDIR,
		      "reading a directory: %s", strerror(errno));
		pn_reader_close(&r);
	}
}

/* ---- pn_out ----------------------------------------------------------- */

static size_t file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (size_t)st.st_size : (size_t)-1;
}

static void test_out_file(void)
{
	char path[4200], rec[64], *got;
	struct pn_buf want = PN_BUF_INIT;
	struct pn_out o;
	size_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/out", tmpdir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (!CHECK(fd >= 0, "create %s", path))
		return;
	pn_out_init(&o, fd, "test output", 100);
	CHECK(o.buf.len == 0 && o.buf.cap > 100 && !o.gone && !o.err, "init");

	/* records stay buffered until the threshold */
	pn_buf_adds(&o.buf, "{\"n\":0}\n");
	pn_out_record(&o);
	CHECK(file_size(path) == 0, "a small record is buffered");
	CHECK(o.buf.len == 8, "buffered %zu", o.buf.len);
	pn_buf_adds(&want, "{\"n\":0}\n");
	for (int i = 1; i < 1000; i++) {
		size_t before = file_size(path) + o.buf.len;

		n = snprintf(rec, sizeof(rec), "{\"n\":%d}\n", i);
		pn_buf_add(&o.buf, rec, n);
		pn_buf_add(&want, rec, n);
		pn_out_record(&o);
		if (!CHECK(o.buf.len < 100, "buffer holds %zu after a record", o.buf.len) ||
		    !CHECK(file_size(path) + o.buf.len == before + n, "bytes lost"))
			break;
	}
	CHECK(pn_out_flush(&o) == 0 && o.buf.len == 0, "flush");
	CHECK(file_size(path) == want.len, "after flush: %zu of %zu", file_size(path), want.len);
	CHECK(pn_out_flush(&o) == 0, "flushing nothing");
	pn_buf_adds(&o.buf, "{\"last\":true}\n");
	pn_buf_adds(&want, "{\"last\":true}\n");
	CHECK(!pn_out_gone(&o), "not gone");
	CHECK(pn_out_close(&o) == 0, "close");
	CHECK(fcntl(fd, F_GETFD) == -1, "the fd is closed");

	fd = open(path, O_RDONLY);
	got = malloc(want.len + 1);
	n = fd >= 0 ? (size_t)read(fd, got, want.len + 1) : 0;
	CHECK_MEM(got, n, want.data, want.len, "file content");
	close(fd);
	free(got);
	pn_buf_release(&want);
	unlink(path);
}

/* A child reads the pipe while we write 8 MB through pn_out. */
static void test_out_pipe(void)
{
	int fds[2], status;
	size_t total = 0;
	struct pn_out o;
	pid_t pid;

	if (pipe(fds) < 0 || (pid = fork()) < 0) {
		perror("pipe/fork");
		exit(2);
	}
	if (pid == 0) {		/* checks the stream: lines "<i> xxx...\n" */
		char buf[65536];
		unsigned long expect = 0, pos = 0, num = 0;
		ssize_t r;
		int in_num = 1;

		close(fds[1]);
		while ((r = read(fds[0], buf, sizeof(buf))) > 0) {
			for (ssize_t i = 0; i < r; i++, pos++) {
				char c = buf[i];

				if (c == '\n') {
					if (num != expect++)
						_exit(3);
					num = 0;
					in_num = 1;
				} else if (in_num && c >= '0' && c <= '9') {
					num = num * 10 + (c - '0');
				} else if (c == ' ') {
					in_num = 0;
				} else if (in_num || c != 'x') {
					_exit(4);
				}
			}
		}
		_exit(r < 0 ? 5 : expect == 20000 ? 0 : 6);
	}
	close(fds[0]);
	pn_out_init(&o, fds[1], "pipe", 64 * 1024);
	for (int i = 0; i < 20000; i++) {
		size_t before = o.buf.len;

		pn_buf_add_i64(&o.buf, i);
		pn_buf_addc(&o.buf, ' ');
		for (int k = 0; k < i % 800; k++)
			pn_buf_addc(&o.buf, 'x');
		pn_buf_addc(&o.buf, '\n');
		total += o.buf.len - before;
		pn_out_record(&o);
	}
	CHECK(total > 8 * 1000 * 1000 - 1, "wrote %zu bytes", total);
	CHECK(!pn_out_gone(&o), "not gone");
	CHECK(pn_out_close(&o) == 0, "close");
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "the reader saw a broken stream: status %d", status);
}

static void test_out_epipe(void)
{
	struct pn_out o;
	int fds[2];

	if (pipe(fds) < 0) {
		perror("pipe");
		exit(2);
	}
	close(fds[0]);			/* the reader went away */
	pn_out_init(&o, fds[1], "closed pipe", 10);
	pn_buf_adds(&o.buf, "{}\n");
	pn_out_record(&o);		/* below the threshold: nothing written yet */
	CHECK(!pn_out_gone(&o), "not gone before a write");
	pn_buf_adds(&o.buf, "{\"a\":1234}\n");
	pn_out_record(&o);
	CHECK(o.gone == 1 && o.err == 0, "EPIPE: gone %d, err %d", o.gone, o.err);
	CHECK(pn_out_gone(&o), "pn_out_gone");
	CHECK(o.buf.len == 0, "the buffer is dropped");

	/* later records are dropped quietly */
	pn_buf_adds(&o.buf, "{\"later\":true}\n");
	CHECK(pn_out_flush(&o) == -1 && o.buf.len == 0, "flush after gone");
	pn_buf_adds(&o.buf, "{\"at close\":true}\n");
	CHECK(pn_out_close(&o) == PN_EX_OK, "a reader going away is not an error");
}

static void test_out_dev_full(void)
{
	static const int thresholds[] = { 1, 1 << 20 };

	for (size_t i = 0; i < NELEM(thresholds); i++) {
		struct pn_out o;
		int fd = open("/dev/full", O_WRONLY);

		if (!CHECK(fd >= 0, "open /dev/full: %s", strerror(errno)))
			return;
		pn_out_init(&o, fd, "/dev/full", thresholds[i]);
		pn_buf_adds(&o.buf, "{\"a\":1}\n");
		pn_out_record(&o);
		if (thresholds[i] == 1) {
			CHECK(o.err == ENOSPC && !o.gone, "err %d (%s), gone %d", o.err,
			      strerror(o.err), o.gone);
			CHECK(pn_out_gone(&o), "an error also stops the output");
			pn_buf_adds(&o.buf, "{\"a\":2}\n");
			pn_out_record(&o);
			CHECK(o.buf.len == 0 && o.err == ENOSPC, "later records dropped");
		} else {
			CHECK(!o.err && o.buf.len == 8, "still buffered");
		}
		/* flushed at close: the error is reported (on stderr) */
		CHECK(pn_out_close(&o) == PN_EX_IOERR, "threshold %d: close does not give 74",
		      thresholds[i]);
	}
}

static void test_write_all(void)
{
	char path[4200], buf[16];
	int fd;

	snprintf(path, sizeof(path), "%s/write-all", tmpdir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(pn_write_all(fd, "hello", 5) == 0 && pn_write_all(fd, "", 0) == 0, "write");
	close(fd);
	fd = open(path, O_RDONLY);
	CHECK(read(fd, buf, sizeof(buf)) == 5 && !memcmp(buf, "hello", 5), "content");
	close(fd);
	unlink(path);

	errno = 0;
	CHECK(pn_write_all(-1, "x", 1) == -1 && errno == EBADF, "bad fd: %s", strerror(errno));
	fd = open("/dev/full", O_WRONLY);
	errno = 0;
	CHECK(pn_write_all(fd, "x", 1) == -1 && errno == ENOSPC, "/dev/full: %s",
	      strerror(errno));
	close(fd);
}

static void test_atomic_file(void)
{
	struct pn_buf path = PN_BUF_INIT, tmp = PN_BUF_INIT, back = PN_BUF_INIT;
	static const char first[] = "first\n", second[] = "second, longer\n";
	struct stat sb;

	pn_temp_name("dir/state", &tmp);
	CHECK(!strncmp(tmp.data, "dir/.state.tmp.", 15),
	      "temp name '%s'", tmp.data);
	pn_temp_name("state", &tmp);
	CHECK(!strncmp(tmp.data, ".state.tmp.", 11), "temp name '%s'", tmp.data);

	pn_buf_addf(&path, "%s/atomic", tmpdir);
	CHECK(pn_write_file_atomic(path.data, first, strlen(first)) == 0, "first write: %m");
	CHECK(pn_write_file_atomic(path.data, second, strlen(second)) == 0, "second write: %m");
	CHECK(pn_read_file(path.data, &back) == 0, "read back: %m");
	CHECK_MEM(back.data, back.len, second, strlen(second), "replaced whole");
	pn_temp_name(path.data, &tmp);
	CHECK(access(tmp.data, F_OK) < 0, "temp file '%s' left behind", tmp.data);

	/* the same without the fsyncs, keeping the file's mode */
	chmod(path.data, 0640);
	CHECK(pn_write_file_replace(path.data, first, strlen(first)) == 0, "replace: %m");
	CHECK(pn_read_file(path.data, &back) == 0, "read back: %m");
	CHECK_MEM(back.data, back.len, first, strlen(first), "replaced whole, no fsync");
	CHECK(access(tmp.data, F_OK) < 0, "temp file '%s' left behind", tmp.data);
	CHECK(stat(path.data, &sb) == 0 && (sb.st_mode & 0777) == 0640, "mode %o kept",
	      (unsigned)(sb.st_mode & 0777));
	unlink(path.data);

	pn_buf_reset(&path);
	pn_buf_addf(&path, "%s/no-such-dir/state", tmpdir);
	errno = 0;
	CHECK(pn_write_file_atomic(path.data, first, strlen(first)) < 0 && errno == ENOENT,
	      "write into a missing directory: %m");
	errno = 0;
	CHECK(pn_write_file_replace(path.data, first, strlen(first)) < 0 && errno == ENOENT,
	      "replace in a missing directory: %m");
	errno = 0;
	CHECK(pn_read_file(path.data, &back) < 0 && errno == ENOENT, "read of a missing file");
	pn_buf_release(&path);
	pn_buf_release(&tmp);
	pn_buf_release(&back);
}

int main(int argc, char **argv)
{
	unit_init(argc, argv);
	pn_set_progname(unit_name);
	signal(SIGPIPE, SIG_IGN);
	make_tmpdir();
	test_reader_small();
	test_reader_long_lines();
	test_reader_random();
	test_reader_pipe();
	test_reader_errors();
	test_out_file();
	test_out_pipe();
	test_out_epipe();
	test_out_dev_full();
	test_write_all();
	test_atomic_file();
	rmdir(tmpdir);
	return unit_done();
}
