/* Unit tests for common/pn_input.h: the input loop and its bad-line contract. */
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pn_err.h"
#include "pn_input.h"
#include "unit.h"

/* What the callbacks saw, and how they answer. */
struct seen {
	struct pn_buf records;	/* "name:line:text\n" per record taken */
	int ticks, quiet_ticks, done;
	int bad_at;		/* record() calls the record of this line bad */
	int fail_at;		/* ... or ends the run with 75 there */
	int stop_after;		/* stop() is true once this many records came */
};

/* Forgets what the last run saw. */
static void reset(struct seen *s)
{
	pn_buf_release(&s->records);
	memset(s, 0, sizeof(*s));
}

static int on_record(void *arg, struct pn_input *in, char *line, size_t len, const char **why)
{
	struct seen *s = arg;

	if ((int)in->reader.lineno == s->bad_at) {
		*why = "no good";
		return PN_INPUT_BAD;
	}
	if ((int)in->reader.lineno == s->fail_at)
		return PN_EX_TEMPFAIL;
	pn_buf_addf(&s->records, "%s:%llu:%.*s\n", in->reader.name, in->reader.lineno, (int)len,
		    line);
	return 0;
}

static int on_tick(void *arg, struct pn_input *in, int quiet)
{
	struct seen *s = arg;

	(void)in;
	s->ticks++;
	s->quiet_ticks += quiet;
	return 0;
}

static int on_done(void *arg, struct pn_input *in)
{
	struct seen *s = arg;

	(void)in;
	s->done++;
	return 0;
}

static int on_stop(void *arg)
{
	struct seen *s = arg;

	return s->stop_after && (int)s->records.len && s->records.len >= (size_t)s->stop_after;
}

static char *file_with(const char *name, const char *text)
{
	struct pn_buf path = PN_BUF_INIT;
	int fd;

	pn_buf_addf(&path, "%s/%s", unit_tmpdir(), name);
	fd = open(path.data, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || pn_write_all(fd, text, strlen(text)) < 0 || close(fd) < 0) {
		perror(path.data);
		exit(2);
	}
	return pn_buf_detach(&path, NULL);
}

/* Runs the inputs with stderr caught into err; returns the status. */
static int run(struct pn_input *in, struct seen *s, char **paths, int n, struct pn_buf *err)
{
	char *errpath = file_with("stderr", "");
	int saved = dup(STDERR_FILENO), fd = open(errpath, O_WRONLY), rc;

	in->arg = s;
	in->record = on_record;
	in->tick = on_tick;
	in->input_done = on_done;
	in->stop = on_stop;
	fflush(stderr);
	dup2(fd, STDERR_FILENO);
	close(fd);
	rc = pn_input_run(in, paths, n);
	dup2(saved, STDERR_FILENO);
	close(saved);
	pn_read_file(errpath, err);
	free(errpath);
	return rc;
}

#define CHECK_STR(got, want, what) \
	CHECK_MEM((got)->data, (got)->len, want, strlen(want), "%s", what)

static void test_records_and_bad_lines(void)
{
	char *a = file_with("a", "{\"x\":1}\n[1]\n{\"x\":2}\n{\"x\":3}\n{\"x\":4}");
	char *b = file_with("b", "{\"y\":1\n{\"y\":2}\n");
	char *paths[] = { a, b };
	struct pn_buf err = PN_BUF_INIT, want = PN_BUF_INIT, rejects = PN_BUF_INIT;
	char *rej = file_with("rej", "");
	struct seen s = { .bad_at = 3 };
	struct pn_input in;
	int rc;

	/* without --reject: the first bad line ends the run with 65 */
	pn_input_init(&in, NULL);
	rc = run(&in, &s, paths, 2, &err);
	CHECK(rc == PN_EX_DATAERR, "no --reject: 65, got %d", rc);
	pn_buf_addf(&want, "%s:1:{\"x\":1}\n", a);
	CHECK_STR(&s.records, want.data, "the records before the bad line");
	pn_buf_reset(&want);
	pn_buf_addf(&want, "%s: error (at %s:2): not a JSON object\n", pn_progname(), a);
	CHECK_STR(&err, want.data, "the bad line named");
	CHECK(in.lines == 2 && in.records == 1, "lines %llu records %llu",
	      (unsigned long long)in.lines, (unsigned long long)in.records);
	CHECK(s.done == 1, "input_done once, got %d", s.done);
	CHECK(pn_input_release(&in) == 0, "release");

	/* with --reject: set aside, reported, and on to the end of both */
	reset(&s);
	s.bad_at = 3;
	pn_input_init(&in, rej);
	rc = run(&in, &s, paths, 2, &err);
	CHECK(rc == 0, "--reject: 0, got %d", rc);
	pn_buf_reset(&want);
	pn_buf_addf(&want, "%s:1:{\"x\":1}\n%s:4:{\"x\":3}\n%s:5:{\"x\":4}\n%s:2:{\"y\":2}\n", a, a,
		    a, b);
	CHECK_STR(&s.records, want.data, "the good records of both inputs");
	pn_buf_reset(&want);
	pn_buf_addf(&want, "%s: error (at %s:2): not a JSON object\n"
		    "%s: error (at %s:3): no good\n"
		    "%s: error (at %s:1): truncated JSON (byte 7)\n",
		    pn_progname(), a, pn_progname(), a, pn_progname(), b);
	CHECK_STR(&err, want.data, "each bad line named, the callback's why too");
	CHECK(in.lines == 7 && in.records == 4 && in.reject.count == 3,
	      "lines %llu records %llu rejected %llu", (unsigned long long)in.lines,
	      (unsigned long long)in.records, in.reject.count);
	CHECK(s.done == 2 && s.ticks == 0, "done %d ticks %d", s.done, s.ticks);
	CHECK(pn_input_release(&in) == 0, "release");
	pn_read_file(rej, &rejects);
	CHECK_STR(&rejects, "[1]\n{\"x\":2}\n{\"y\":1\n", "the reject file");

	/* a callback's exit status ends the run; the first input only */
	reset(&s);
	s.fail_at = 4;
	pn_input_init(&in, rej);
	rc = run(&in, &s, paths, 2, &err);
	CHECK(rc == PN_EX_TEMPFAIL && in.lines == 4 && s.done == 1,
	      "callback's 75 stops: rc %d lines %llu done %d", rc, (unsigned long long)in.lines,
	      s.done);
	pn_input_release(&in);

	/* stop() ends it quietly, before the next read */
	reset(&s);
	s.stop_after = 1;
	pn_input_init(&in, rej);
	rc = run(&in, &s, paths, 2, &err);
	CHECK(rc == 0 && in.lines == 1 && s.done == 1, "stop(): rc %d lines %llu", rc,
	      (unsigned long long)in.lines);
	pn_input_release(&in);

	CHECK(!strcmp(pn_input_name(&in, 1), b), "name of input 1: %s", pn_input_name(&in, 1));
	free(a);
	free(b);
	free(rej);
	pn_buf_release(&err);
	pn_buf_release(&want);
	pn_buf_release(&rejects);
	pn_buf_release(&s.records);
}

static void test_open_error_and_names(void)
{
	char *good = file_with("good", "{}\n");
	char *paths[] = { good, "/nonexistent/in", good };
	struct pn_buf err = PN_BUF_INIT, want = PN_BUF_INIT;
	struct seen s = { 0 };
	struct pn_input in;
	int rc;

	pn_input_init(&in, NULL);
	rc = run(&in, &s, paths, 3, &err);
	CHECK(rc == PN_EX_IOERR && in.lines == 1, "an input that cannot be opened: 74, got %d",
	      rc);
	pn_buf_addf(&want, "%s: cannot open '/nonexistent/in': No such file or directory\n",
		    pn_progname());
	CHECK_STR(&err, want.data, "the open error");
	CHECK(s.done == 1, "input_done for the input read only, got %d", s.done);
	pn_input_release(&in);

	in.npaths = 0;
	CHECK(!strcmp(pn_input_name(&in, 0), "<stdin>"), "no paths: <stdin>");
	paths[1] = "-";
	in.paths = paths;
	in.npaths = 3;
	CHECK(!strcmp(pn_input_name(&in, 1), "<stdin>"), "\"-\": <stdin>");
	free(good);
	pn_buf_release(&err);
	pn_buf_release(&want);
	pn_buf_release(&s.records);
}

/* Control records are left out and counted, or handed over with
 * pass_control; an object that only has a "_control" member further on
 * is a record like any other; a name spelt with an escape is the name. */
static void test_control_records(void)
{
	char *path = file_with("ctl", "{\"a\":1}\n"
				      "{\"_control\":\"assigned\",\"_topic\":\"t\",\"_partition\":3}\n"
				      "{\"a\":2,\"_control\":\"x\"}\n"
				      "{\"\\u005fcontrol\":\"lost\"}\n{\"\":1}\n");
	char *paths[] = { path };
	struct pn_buf err = PN_BUF_INIT, want = PN_BUF_INIT;
	struct seen s = { 0 };
	struct pn_input in;

	pn_input_init(&in, NULL);
	CHECK(run(&in, &s, paths, 1, &err) == 0, "control records");
	pn_buf_addf(&want, "%s:1:{\"a\":1}\n%s:3:{\"a\":2,\"_control\":\"x\"}\n%s:5:{\"\":1}\n",
		    path, path, path);
	CHECK_STR(&s.records, want.data, "the control record left out");
	CHECK(in.lines == 5 && in.records == 3 && in.controls == 2, "lines %llu records %llu "
	      "controls %llu", (unsigned long long)in.lines, (unsigned long long)in.records,
	      (unsigned long long)in.controls);
	pn_input_release(&in);

	pn_buf_reset(&s.records);
	pn_input_init(&in, NULL);
	in.pass_control = 1;
	CHECK(run(&in, &s, paths, 1, &err) == 0, "pass_control");
	CHECK(in.records == 5 && in.controls == 0, "pass_control: records %llu controls %llu",
	      (unsigned long long)in.records, (unsigned long long)in.controls);
	pn_input_release(&in);
	free(path);
	pn_buf_release(&err);
	pn_buf_release(&want);
	pn_buf_release(&s.records);
}

/* 2048 lines: two ticks; a pipe that stays quiet past timeout_ms: a quiet
 * tick each time, until the writer closes it. */
static void test_ticks(void)
{
	struct pn_buf text = PN_BUF_INIT, err = PN_BUF_INIT;
	struct seen s = { 0 };
	struct pn_input in;
	char *path;
	char *paths[1];
	int p[2], saved;
	pid_t pid;

	for (int i = 0; i < 2 * PN_INPUT_TICK_LINES; i++)
		pn_buf_adds(&text, "{}\n");
	path = file_with("many", text.data);
	paths[0] = path;
	pn_input_init(&in, NULL);
	CHECK(run(&in, &s, paths, 1, &err) == 0, "many lines");
	CHECK(s.ticks == 2 && s.quiet_ticks == 0, "ticks %d quiet %d", s.ticks, s.quiet_ticks);
	pn_input_release(&in);

	reset(&s);
	if (pipe(p) < 0)
		exit(2);
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		pn_write_all(p[1], "{}\n", 3);
		usleep(300 * 1000);
		pn_write_all(p[1], "{}\n", 3);
		_exit(0);
	}
	close(p[1]);
	saved = dup(STDIN_FILENO);
	dup2(p[0], STDIN_FILENO);
	close(p[0]);
	pn_input_init(&in, NULL);
	in.timeout_ms = 50;
	CHECK(run(&in, &s, NULL, 0, &err) == 0, "the pipe");
	CHECK(in.lines == 2 && s.quiet_ticks >= 2 && s.ticks == s.quiet_ticks,
	      "lines %llu, quiet ticks %d of %d", (unsigned long long)in.lines, s.quiet_ticks,
	      s.ticks);
	pn_input_release(&in);
	dup2(saved, STDIN_FILENO);
	close(saved);
	waitpid(pid, NULL, 0);
	free(path);
	pn_buf_release(&text);
	pn_buf_release(&err);
	pn_buf_release(&s.records);
}

/* The live counters' fill: how often it was asked. */
static void count_fill(void *arg, struct pn_stats *w, double seconds)
{
	int *fills = arg;

	(void)seconds;
	(*fills)++;
	pn_stats_u64(w, "fills", (uint64_t)*fills);
}

/* A child writing "{}\n", then another after ms milliseconds, on a pipe
 * made the standard input; returns its pid, *saved the old stdin. */
static pid_t quiet_writer(int ms, int *saved)
{
	int p[2];
	pid_t pid;

	if (pipe(p) < 0)
		exit(2);
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		pn_write_all(p[1], "{}\n", 3);
		usleep(ms * 1000);
		pn_write_all(p[1], "{}\n", 3);
		_exit(0);
	}
	close(p[1]);
	*saved = dup(STDIN_FILENO);
	dup2(p[0], STDIN_FILENO);
	close(p[0]);
	return pid;
}

static void end_writer(pid_t pid, int saved)
{
	dup2(saved, STDIN_FILENO);
	close(saved);
	waitpid(pid, NULL, 0);
}

/*
 * --stats-interval on a quiet pipe: the wait ends for the live counters
 * on time, and that wake is no quiet tick of the program's.  Live counters
 * that are not asked for leave the program's timeout and quiet ticks as
 * they were, and live counters more often than the timeout do not put
 * the quiet ticks off.
 */
/* pn_input on a pipe that stays quiet for quiet_ms after its first line,
 * with live counters every interval_ms (0: none asked) and the program's
 * timeout_ms (-1: none): its fills in *fills, its ticks in s, its
 * standard error in err. */
static void live_run(int quiet_ms, int interval_ms, int timeout_ms, struct seen *s,
		     int *fills, struct pn_buf *err)
{
	struct pn_stats_opts opts = { .interval_ms = interval_ms };
	struct pn_stats_live live;
	struct pn_input in;
	int saved;
	pid_t pid = quiet_writer(quiet_ms, &saved);

	reset(s);
	*fills = 0;
	pn_input_init(&in, NULL);
	pn_stats_live_init(&live, &opts, count_fill, fills);
	in.live = &live;
	in.timeout_ms = timeout_ms;
	CHECK(run(&in, s, NULL, 0, err) == 0, "the pipe, live every %d ms, timeout %d ms",
	      interval_ms, timeout_ms);
	end_writer(pid, saved);
	opts.interval_ms = 0;	/* no last line: stderr is not caught here */
	pn_stats_live_end(&live);
	pn_input_release(&in);
}

static void test_live(void)
{
	struct pn_buf err = PN_BUF_INIT;
	struct seen s = { 0 };
	int fills;

	live_run(450, 100, -1, &s, &fills, &err);
	CHECK(fills >= 3 && s.quiet_ticks == 0, "fills %d in 450 ms of 100, quiet ticks %d",
	      fills, s.quiet_ticks);
	CHECK(err.len > 0 && !strncmp(err.data, "{\"fills\":1}\n", err.len < 12 ? err.len : 12),
	      "the lines on stderr");

	live_run(300, 0, 50, &s, &fills, &err);
	CHECK(fills == 0 && s.quiet_ticks >= 2, "fills %d, quiet ticks %d", fills,
	      s.quiet_ticks);

	/* live counters more often than the timeout: the quiet ticks still
	 * come, counted from the last line or tick, not from each wake */
	live_run(450, 20, 100, &s, &fills, &err);
	CHECK(fills >= 5 && s.quiet_ticks >= 2, "fills %d, quiet ticks %d in 450 ms of 100",
	      fills, s.quiet_ticks);
	pn_buf_release(&err);
	pn_buf_release(&s.records);
}

int main(int argc, char **argv)
{
	unit_init(argc, argv);
	pn_set_progname("test-input");
	test_records_and_bad_lines();
	test_open_error_and_names();
	test_control_records();
	test_ticks();
	test_live();
	unit_tmpdir_remove();
	return unit_done();
}
