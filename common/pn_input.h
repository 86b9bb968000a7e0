/*
 * pn_input — the input loop of a program that reads NDJSON records.
 *
 * pn_input_run() reads each input in turn (the FILE arguments, or the
 * standard input when there are none; "-" is the standard input too),
 * parses each line as a JSON object and hands it to the program's record
 * callback.  It owns what every such loop shares, so that every program
 * keeps the same contract:
 *
 *   - an input that cannot be opened or read is an I/O error, "cannot
 *     open 'x': why" or "cannot read 'x': why", exit status 74 (a read cut
 *     short by a stop signal is no error);
 *   - a bad line, one that is not a JSON object or that the callback calls
 *     bad, is reported with its input and line, "error (at NAME:LINE):
 *     why"; with --reject it is set aside and the input goes on, else the
 *     run stops with 65 (pn_reject_bad_line in pn_io.h);
 *   - control records, pn-consume's word on partitions (pn_record.h), are
 *     left out and counted, unless the program acts on them (pass_control);
 *   - the tick: periodic work every PN_INPUT_TICK_LINES lines, and also
 *     when no input came within timeout_ms or by the program's deadline,
 *     so that a quiet pipe still closes objects, emits, writes a batch;
 *   - the stops: a stop signal (pn_stop), the program's stop(), an exit
 *     status returned by a callback;
 *   - the progress line (pn_progress.h);
 *   - the live counters (pn_stats.h): looked at with the tick's lines, and
 *     the wait for input ends when they are due, so that a program blocked
 *     on a quiet pipe still writes them on time.  That wake is not a quiet
 *     tick: the program's tick() sees only its own deadline and timeout.
 *
 * The line handed over is NUL-terminated in the reader's buffer and in->json
 * holds its tokens: both are valid until the callback returns.  Nothing is
 * allocated per line.  Callbacks return 0 to go on, or an exit status
 * (pn_err.h) to end the run with it; the run also ends at the first
 * exit status, so the first reason to stop is the one reported.
 */
#ifndef PN_INPUT_H
#define PN_INPUT_H

#include <stddef.h>
#include <stdint.h>

#include "pn_io.h"
#include "pn_json.h"
#include "pn_progress.h"
#include "pn_stats.h"

enum { PN_INPUT_TICK_LINES = 1024 };

/* What the record callback returns for a bad record, with *why set. */
#define PN_INPUT_BAD (-1)

struct pn_input {
	/* The program's part, set after pn_input_init(). */
	void *arg;		/* handed to every callback */
	/*
	 * One record: line (len bytes, without its '\n'), parsed into
	 * in->json, an object.  0 taken; PN_INPUT_BAD a bad record, *why
	 * saying why (the bad-line contract follows); else an exit status.
	 */
	int (*record)(void *arg, struct pn_input *in, char *line, size_t len, const char **why);
	/* Periodic work, or NULL: quiet is 1 when no input came in time, 0
	 * every PN_INPUT_TICK_LINES lines.  0, or an exit status. */
	int (*tick)(void *arg, struct pn_input *in, int quiet);
	/* The latest time (pn_now_ms) for the next tick while waiting for
	 * input, -1 for none; asked before each read.  NULL: none. */
	long long (*deadline)(void *arg);
	/* An input ended (its end, a stop, a bad line or a read error),
	 * before it is closed.  NULL, or 0 or an exit status. */
	int (*input_done)(void *arg, struct pn_input *in);
	/* Non-zero ends the run quietly (Kafka failed, stdout went away);
	 * asked before each read.  NULL: only pn_stop does. */
	int (*stop)(void *arg);
	int timeout_ms;		/* a quiet tick after this long without input;
				 * -1 (the default): none */
	int pass_control;	/* hand control records to record() too */
	const uint64_t *shown;	/* what the progress line counts (default:
				 * &records) */
	struct pn_stats_live *live;	/* --stats-interval, --metrics, or NULL */

	/* The driver's part: read it, do not change it. */
	struct pn_reader reader;	/* the input being read: name, lineno */
	unsigned index;			/* its index among the inputs */
	struct pn_json json;		/* the line handed to record() */
	struct pn_reject reject;	/* --reject; record() may add to it */
	struct pn_progress progress;
	uint64_t lines;			/* lines read */
	uint64_t records;		/* lines record() took (returned 0) */
	uint64_t controls;		/* control records left out */
	int status;			/* the exit status that ended the run */
	char *const *paths;		/* the inputs: FILE arguments */
	int npaths;
};

/* Opens the reject file (NULL: none; dies with 74 when it cannot) and
 * starts the progress line. */
void pn_input_init(struct pn_input *in, const char *reject_path);
/* Reads the inputs (npaths 0: the standard input) until they end or the
 * run stops; returns in->status.  The progress line is erased at the end. */
int pn_input_run(struct pn_input *in, char *const *paths, int npaths);
/* The name of input `index` in messages ("<stdin>" for the standard
 * input), valid until the paths are freed: for reports that come after
 * the input was closed (a delivery, a row the server refused). */
const char *pn_input_name(const struct pn_input *in, unsigned index);
/*
 * The bad-line contract, for a record callback that must act after a bad
 * record is set aside: reports the current line and sets it aside; 0, or
 * PN_EX_DATAERR when there is no reject file (return it: the run stops).
 */
int pn_input_bad_line(struct pn_input *in, const char *line, size_t len, const char *why,
		      size_t column);
/* Closes the reject file: 0, or PN_EX_IOERR after reporting.  The
 * counters stay readable. */
int pn_input_release(struct pn_input *in);

#endif
