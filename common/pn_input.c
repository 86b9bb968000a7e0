#include <string.h>

#include "pn_clock.h"
#include "pn_err.h"
#include "pn_input.h"
#include "pn_record.h"
#include "pn_signal.h"

void pn_input_init(struct pn_input *in, const char *reject_path)
{
	memset(in, 0, sizeof(*in));
	in->timeout_ms = -1;
	in->reader.fd = -1;
	pn_json_init(&in->json);
	pn_reject_open(&in->reject, reject_path);
	pn_progress_init(&in->progress);
}

int pn_input_release(struct pn_input *in)
{
	pn_json_release(&in->json);
	return pn_reject_close(&in->reject);
}

const char *pn_input_name(const struct pn_input *in, unsigned index)
{
	if (!in->npaths || !strcmp(in->paths[index], "-"))
		return "<stdin>";
	return in->paths[index];
}

int pn_input_bad_line(struct pn_input *in, const char *line, size_t len, const char *why,
		      size_t column)
{
	if (pn_reject_bad_line(&in->reject, &in->reader, line, len, why, column) == 0)
		return 0;
	return PN_EX_DATAERR;
}

/* Keeps the first exit status: the first reason to stop is the one told. */
static void end_with(struct pn_input *in, int status)
{
	if (status && !in->status)
		in->status = status;
}

static int stopped(const struct pn_input *in)
{
	return in->status || pn_stop || (in->stop && in->stop(in->arg));
}

static void handle_line(struct pn_input *in, char *line, size_t len)
{
	const char *why = NULL;
	int rc;

	in->lines++;
	if (pn_json_parse(&in->json, line, len)) {
		rc = pn_input_bad_line(in, line, len, in->json.why, in->json.at + 1);
	} else if (!pn_json_is_object(&in->json, 0)) {
		rc = pn_input_bad_line(in, line, len, "not a JSON object", 0);
	} else if (!in->pass_control && pn_record_control(&in->json) >= 0) {
		in->controls++;
		rc = 0;
	} else {
		rc = in->record(in->arg, in, line, len, &why);
		if (rc == 0)
			in->records++;
		else if (rc == PN_INPUT_BAD)
			rc = pn_input_bad_line(in, line, len, why, 0);
	}
	end_with(in, rc);
	pn_progress_tick(&in->progress, *in->shown);
	if (in->lines % PN_INPUT_TICK_LINES)
		return;
	if (in->tick && !in->status)
		end_with(in, in->tick(in->arg, in, 0));
	if (in->live)
		pn_stats_live_check(in->live);
}

/*
 * The wait for the next line: until the program's deadline (or its
 * timeout, when it has no deadline), or until the live counters are due,
 * whichever is first.  Returns the program's own end of the wait, -1 for
 * none, which the timeout checks before calling tick().
 */
/* The live counters' next time, -1 when they have none (not asked for,
 * or only at the end). */
static long long live_deadline(const struct pn_input *in)
{
	return in->live ? pn_stats_live_deadline(in->live) : -1;
}

/* *quiet_from is when the quiet wait began, -1 until a wait after a line
 * or a quiet tick sets it. */
static long long set_wait(struct pn_input *in, struct pn_reader *rd, long long *quiet_from)
{
	long long own = in->deadline ? in->deadline(in->arg) : -1;
	long long live = live_deadline(in);

	rd->deadline_ms = own;
	if (live < 0)
		return own;
	/* the reader's timeout gives way to any deadline: make it one, from
	 * the start of the quiet wait, which the live counters' wakes (more
	 * often than the timeout, maybe) do not restart */
	if (own < 0 && in->timeout_ms >= 0) {
		if (*quiet_from < 0)
			*quiet_from = pn_now_ms();
		own = *quiet_from + in->timeout_ms;
	}
	rd->deadline_ms = own >= 0 && own < live ? own : live;
	return own;
}

/* No line by the end of the wait: the program's quiet tick if its own
 * wait is over, the live counters if they are due.  Returns 1 after a
 * quiet tick. */
static int waited(struct pn_input *in, long long own)
{
	long long now = pn_now_ms();
	int ticked = 0;

	if (in->tick && (live_deadline(in) < 0 || (own >= 0 && now >= own))) {
		end_with(in, in->tick(in->arg, in, 1));
		ticked = 1;
	}
	if (in->live)
		pn_stats_live_at(in->live, now);
	return ticked;
}

/* One input, to its end or until the run stops. */
static void read_input(struct pn_input *in, const char *path, unsigned index)
{
	struct pn_reader *rd = &in->reader;
	char *line;
	size_t len;
	int got;
	long long quiet_from = -1;

	if (pn_reader_open(rd, path) < 0) {
		pn_error("cannot open '%s': %m", path);
		end_with(in, PN_EX_IOERR);
		return;
	}
	in->index = index;
	rd->timeout_ms = in->timeout_ms;
	while (!stopped(in)) {
		long long own = set_wait(in, rd, &quiet_from);

		got = pn_reader_next(rd, &line, &len);
		if (got == 1) {
			quiet_from = -1;
			handle_line(in, line, len);
		} else if (got == PN_READER_TIMEOUT) {
			if (waited(in, own))
				quiet_from = -1;
		} else if (got == 0) {
			break;
		} else {
			if (!pn_stop) {
				pn_error("cannot read '%s': %m", rd->name);
				end_with(in, PN_EX_IOERR);
			}
			break;
		}
	}
	if (in->input_done)
		end_with(in, in->input_done(in->arg, in));
	pn_reader_close(rd);
}

int pn_input_run(struct pn_input *in, char *const *paths, int npaths)
{
	in->paths = paths;
	in->npaths = npaths;
	if (!in->shown)
		in->shown = &in->records;
	for (int i = 0; i < (npaths ? npaths : 1) && !stopped(in); i++)
		read_input(in, npaths ? paths[i] : "-", (unsigned)i);
	pn_progress_done(&in->progress);
	return in->status;
}
