#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "pn_clock.h"
#include "pn_err.h"
#include "pn_io.h"
#include "pn_stats.h"

static void add(struct pn_stats *w, const char *key, enum pn_stats_kind kind, uint64_t n,
		double v)
{
	assert(w->n < PN_STATS_MAX);
	w->items[w->n++] = (struct pn_stats_item){ .key = key, .kind = kind, .n = n, .v = v };
}

void pn_stats_u64(struct pn_stats *w, const char *key, uint64_t n)
{
	add(w, key, PN_STATS_COUNTER, n, 0);
}

void pn_stats_gauge(struct pn_stats *w, const char *key, uint64_t n)
{
	add(w, key, PN_STATS_GAUGE, n, 0);
}

void pn_stats_double(struct pn_stats *w, const char *key, double v)
{
	add(w, key, PN_STATS_SECONDS, 0, v);
}

void pn_stats_label(struct pn_stats *w, const char *name, const char *value)
{
	if (!value)
		return;
	assert(w->nlabels < PN_STATS_MAX_LABELS);
	w->labels[w->nlabels][0] = name;
	w->labels[w->nlabels][1] = value;
	w->nlabels++;
}

static void add_value(struct pn_buf *out, const struct pn_stats_item *it)
{
	if (it->kind == PN_STATS_SECONDS)
		pn_buf_addf(out, "%.3f", it->v);
	else
		pn_buf_add_u64(out, it->n);
}

void pn_stats_json(const struct pn_stats *w, struct pn_buf *out)
{
	pn_buf_addc(out, '{');
	for (int i = 0; i < w->n; i++) {
		if (i)
			pn_buf_addc(out, ',');
		pn_buf_addc(out, '"');
		pn_buf_adds(out, w->items[i].key);
		pn_buf_add(out, "\":", 2);
		add_value(out, &w->items[i]);
	}
	pn_buf_add(out, "}\n", 2);
}

/* A label value as the exposition format quotes it: \\, \" and \n. */
static void add_label_value(struct pn_buf *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			pn_buf_addc(out, '\\');
		if (*s == '\n')
			pn_buf_add(out, "\\n", 2);
		else
			pn_buf_addc(out, *s);
	}
}

/* {name="value",...}, or nothing without labels: the same on every line. */
static void add_labels(const struct pn_stats *w, struct pn_buf *out)
{
	if (!w->nlabels)
		return;
	for (int i = 0; i < w->nlabels; i++) {
		pn_buf_add(out, i ? "," : "{", 1);
		pn_buf_adds(out, w->labels[i][0]);
		pn_buf_add(out, "=\"", 2);
		add_label_value(out, w->labels[i][1]);
		pn_buf_addc(out, '"');
	}
	pn_buf_addc(out, '}');
}

/* pn_consume_records_total: the program's name, '-' made '_', the key,
 * and _total for a counter (the Prometheus naming rules). */
static void add_name(struct pn_buf *out, const char *program, const struct pn_stats_item *it)
{
	for (const char *p = program; *p; p++)
		pn_buf_addc(out, *p == '-' ? '_' : *p);
	pn_buf_addc(out, '_');
	pn_buf_adds(out, it->key);
	if (it->kind == PN_STATS_COUNTER)
		pn_buf_add(out, "_total", 6);
}

void pn_stats_prometheus(const struct pn_stats *w, const char *program, struct pn_buf *out)
{
	for (int i = 0; i < w->n; i++) {
		const struct pn_stats_item *it = &w->items[i];

		pn_buf_add(out, "# HELP ", 7);
		add_name(out, program, it);
		pn_buf_addf(out, " %s, as in %s --stats\n# TYPE ", it->key, program);
		add_name(out, program, it);
		pn_buf_adds(out, it->kind == PN_STATS_COUNTER ? " counter\n" : " gauge\n");
		add_name(out, program, it);
		add_labels(w, out);
		pn_buf_addc(out, ' ');
		add_value(out, it);
		pn_buf_addc(out, '\n');
	}
}

void pn_stats_end(struct pn_stats *w)
{
	struct pn_buf line = PN_BUF_INIT;

	pn_stats_json(w, &line);
	fwrite(line.data, 1, line.len, stderr);
	fflush(stderr);
	pn_buf_release(&line);
	w->n = w->nlabels = 0;
}

/* The interval of the periodic output, 0 for none. */
static int64_t interval_of(const struct pn_stats_opts *o)
{
	if (o->interval_ms)
		return o->interval_ms;
	return o->metrics_path ? PN_STATS_METRICS_INTERVAL_MS : 0;
}

/* Fails now rather than at the first output: a temp file in FILE's
 * directory, made and removed. */
static void check_metrics_path(const char *path)
{
	struct pn_buf tmp = PN_BUF_INIT;
	int fd;

	pn_temp_name(path, &tmp);
	fd = open(tmp.data, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
	if (fd < 0)
		pn_die(PN_EX_IOERR, "cannot write the metrics file '%s': %s", path,
		       strerror(errno));
	close(fd);
	unlink(tmp.data);
	pn_buf_release(&tmp);
}

void pn_stats_live_init(struct pn_stats_live *l, const struct pn_stats_opts *o,
			pn_stats_fill_fn *fill, void *arg)
{
	memset(l, 0, sizeof(*l));
	l->o = o;
	l->fill = fill;
	l->arg = arg;
	l->started_ms = pn_now_ms();
	l->every_ms = interval_of(o);
	l->next_ms = l->every_ms ? l->started_ms + l->every_ms : -1;
	if (o->metrics_path)
		check_metrics_path(o->metrics_path);
}

/* Rewritten whole, so that a reader (node_exporter's textfile collector)
 * never sees half a file; no fsync: the next one comes soon.  A failure is
 * told once until a write succeeds again, and does not stop the program. */
static void write_metrics(struct pn_stats_live *l, const struct pn_stats *w)
{
	const char *path = l->o->metrics_path;

	pn_buf_reset(&l->buf);
	pn_stats_prometheus(w, pn_progname(), &l->buf);
	if (pn_write_file_replace(path, l->buf.data, l->buf.len) == 0) {
		l->failing = 0;
	} else if (!l->failing) {
		pn_warn("cannot write the metrics file '%s': %s", path, strerror(errno));
		l->failing = 1;
	}
}

static void output(struct pn_stats_live *l, long long now, int line)
{
	struct pn_stats w = PN_STATS_INIT;

	l->fill(l->arg, &w, (now - l->started_ms) / 1000.0);
	/* the file first: whoever reads a line can read the file of that time */
	if (l->o->metrics_path)
		write_metrics(l, &w);
	if (line) {
		pn_buf_reset(&l->buf);
		pn_stats_json(&w, &l->buf);
		fwrite(l->buf.data, 1, l->buf.len, stderr);
		fflush(stderr);
	}
}

void pn_stats_live_emit(struct pn_stats_live *l, long long now)
{
	output(l, now, l->o->interval_ms > 0);
	/* the next one on the interval's grid: a late call does not shift it */
	while (l->next_ms <= now)
		l->next_ms += l->every_ms;
}

void pn_stats_live_check(struct pn_stats_live *l)
{
	pn_stats_live_at(l, pn_now_ms());
}

void pn_stats_live_end(struct pn_stats_live *l)
{
	if (l->o->at_end || l->o->interval_ms || l->o->metrics_path)
		output(l, pn_now_ms(), l->o->at_end || l->o->interval_ms);
	pn_buf_release(&l->buf);
}
