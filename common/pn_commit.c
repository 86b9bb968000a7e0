#include <string.h>
#include <time.h>

#include "pn_checkpoint.h"
#include "pn_clock.h"
#include "pn_commit.h"
#include "pn_err.h"

static void init_part(struct pn_part *p)
{
	pn_commit_part_of(p)->committed = -1;
	pn_commit_part_of(p)->confirmed = -1;
}

int pn_commit_init(struct pn_commit *c, struct pn_out *out, const char *group, const char *from)
{
	memset(c, 0, sizeof(*c));
	pn_offsets_init_entries(&c->parts, sizeof(struct pn_commit_part), init_part);
	c->out = out;
	c->group = group;
	c->from = from;
	c->last_flush_ms = c->last_commit_ms = pn_now_ms();
	c->by_pieces = from && pn_pieces_is_store(from);
	return c->by_pieces ? pn_pieces_open(&c->pieces, from, 0) : 0;
}

void pn_commit_release(struct pn_commit *c)
{
	pn_offsets_release(&c->parts);
	if (c->by_pieces)
		pn_pieces_close(&c->pieces);
}

struct pn_commit_part *pn_commit_get(struct pn_commit *c, const char *topic, int32_t partition)
{
	return pn_commit_part_of(pn_offsets_get(&c->parts, topic, partition));
}

struct pn_commit_part *pn_commit_find(const struct pn_commit *c, const char *topic,
				      int32_t partition)
{
	return pn_commit_part_of(pn_offsets_find(&c->parts, topic, partition));
}

static void promote_flushed(struct pn_part *p, void *arg)
{
	(void)arg;
	p->flushed = p->appended;
}

void pn_commit_written(struct pn_commit *c)
{
	pn_offsets_each(&c->parts, promote_flushed, NULL);
	c->dirty = 0;
}

void pn_commit_flush(struct pn_commit *c)
{
	c->last_flush_ms = pn_now_ms();
	if (c->dirty && pn_out_flush(c->out) == 0)
		pn_commit_written(c);
	c->dirty = 0;
}

struct listing {
	const struct pn_commit *c;
	rd_kafka_topic_partition_list_t *list;
	int sync;
};

/* What the group has of a partition: what was sent, or, for a commit
 * that waits, what it confirmed. */
static int64_t has_of(const struct listing *l, const struct pn_commit_part *p)
{
	return l->sync ? p->confirmed : p->committed;
}

static void add_committable(struct pn_part *p, void *arg)
{
	struct listing *l = arg;
	struct pn_commit_part *cp = pn_commit_part_of(p);

	/* a partition given up is its new owner's: sending it again could
	 * take the group back */
	int64_t has = cp->assigned || !l->c->subscribed ? has_of(l, cp) : cp->committed;

	if (p->flushed > has)
		rd_kafka_topic_partition_list_add(l->list, p->topic, p->partition)->offset =
			p->flushed;
}

static void add_applied(struct pn_part *p, void *arg)
{
	struct listing *l = arg;
	struct pn_commit_part *mine = pn_commit_find(l->c, p->topic, p->partition);

	/* only partitions this member holds: the others are another's to commit */
	if (mine && mine->assigned && p->flushed > has_of(l, mine))
		rd_kafka_topic_partition_list_add(l->list, p->topic, p->partition)->offset =
			p->flushed;
}

/* With --commit-from: the offsets the downstream checkpoint has applied. */
static void add_checkpointed(struct pn_commit *c, struct listing *l)
{
	struct pn_offsets applied;

	pn_offsets_init(&applied);
	if (c->by_pieces ? pn_pieces_offsets(&c->pieces, &applied) == 0
			 : pn_checkpoint_load_offsets(c->from, &applied) > 0)
		pn_offsets_each(&applied, add_applied, l);
	pn_offsets_release(&applied);
}

void pn_commit_list(struct pn_commit *c, rd_kafka_topic_partition_list_t *list, int sync)
{
	struct listing l = { c, list, sync };

	if (c->from)
		add_checkpointed(c, &l);
	else
		pn_offsets_each(&c->parts, add_committable, &l);
}

/* The list was sent (and, when confirmed, the group has it). */
static void mark_committed(struct pn_commit *c, const rd_kafka_topic_partition_list_t *list,
			   int confirmed)
{
	for (int i = 0; i < list->cnt; i++) {
		struct pn_commit_part *p = pn_commit_find(c, list->elems[i].topic,
							  list->elems[i].partition);

		if (p && list->elems[i].offset > p->committed)
			p->committed = list->elems[i].offset;
		if (p && confirmed && list->elems[i].offset > p->confirmed)
			p->confirmed = list->elems[i].offset;
	}
}

/* A commit that failed only for now: the group's coordinator moving to
 * another broker (one just lost), or not answering in time. */
static int commit_retriable(rd_kafka_resp_err_t err)
{
	return err == RD_KAFKA_RESP_ERR__WAIT_COORD ||
	       err == RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE ||
	       err == RD_KAFKA_RESP_ERR_NOT_COORDINATOR ||
	       err == RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS ||
	       err == RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT || err == RD_KAFKA_RESP_ERR__TIMED_OUT ||
	       err == RD_KAFKA_RESP_ERR__TRANSPORT;
}

enum { SYNC_COMMIT_TRIES = 20, SYNC_COMMIT_PAUSE_MS = 500 };

void pn_commit_send(struct pn_commit *c, int sync)
{
	rd_kafka_topic_partition_list_t *list;
	rd_kafka_resp_err_t err;

	c->last_commit_ms = pn_now_ms();
	if (!c->group || pn_out_gone(c->out))
		return;
	list = rd_kafka_topic_partition_list_new(16);
	pn_commit_list(c, list, sync);
	if (list->cnt) {
		/* a commit that waits (a revocation, the exit) is the last word:
		 * it is asked again while the coordinator moves, ~10 s */
		for (int tries = 1;; tries++) {
			err = rd_kafka_commit(c->rk, list, !sync);
			c->commits++;
			if (!sync || !commit_retriable(err) || tries == SYNC_COMMIT_TRIES)
				break;
			pn_sleep_ms(SYNC_COMMIT_PAUSE_MS);
		}
		if (err)
			pn_warn("cannot commit offsets: %s", rd_kafka_err2str(err));
		else
			mark_committed(c, list, sync);
	}
	rd_kafka_topic_partition_list_destroy(list);
}

/*
 * An asynchronous commit returns at once, and one that then fails (its
 * group coordinator on a broker just lost, moving to another) was marked
 * committed all the same.  Its partitions are marked uncommitted again, so
 * the next commit, or the last one at exit, sends them once more; else a
 * partition that got no newer record stayed uncommitted for good and a
 * restarted member read it again (6,459 records after a broker was
 * killed, in t2100).
 */
void pn_commit_result(struct pn_commit *c, rd_kafka_resp_err_t err,
		      const rd_kafka_topic_partition_list_t *offsets)
{
	for (int i = 0; offsets && i < offsets->cnt; i++) {
		const rd_kafka_topic_partition_t *tp = &offsets->elems[i];
		struct pn_commit_part *p;

		p = pn_commit_find(c, tp->topic, tp->partition);
		if (!err && !tp->err) {
			if (p && tp->offset > p->confirmed)
				p->confirmed = tp->offset;
			continue;
		}
		/* a partition given up since is its new owner's to commit */
		if (p && p->assigned && p->committed == tp->offset)
			p->committed = -1;
	}
	if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET)
		pn_warn("a commit failed, to be sent again: %s", rd_kafka_err2str(err));
}

int pn_commit_start_at_saved(struct pn_commit *c, rd_kafka_topic_partition_list_t *list)
{
	struct pn_offsets saved;
	int status = 0;

	pn_offsets_init(&saved);
	if (pn_pieces_offsets(&c->pieces, &saved) < 0)
		status = PN_EX_IOERR;
	for (int i = 0; i < list->cnt && !status; i++) {
		rd_kafka_topic_partition_t *tp = &list->elems[i];
		const struct pn_part *p = pn_offsets_find(&saved, tp->topic, tp->partition);

		if (p && p->flushed >= 0)
			tp->offset = p->flushed;
	}
	pn_offsets_release(&saved);
	return status;
}

int pn_commit_saved(struct pn_commit *c, const rd_kafka_topic_partition_list_t *list)
{
	struct pn_offsets applied;
	int done = 1;

	pn_offsets_init(&applied);
	if (pn_pieces_offsets(&c->pieces, &applied) < 0)
		done = -1;
	for (int i = 0; i < list->cnt && done == 1; i++) {
		const rd_kafka_topic_partition_t *tp = &list->elems[i];
		struct pn_part *mine = pn_offsets_find(&c->parts, tp->topic, tp->partition);
		struct pn_part *saved = pn_offsets_find(&applied, tp->topic, tp->partition);

		if (mine && mine->flushed > 0 && (!saved || saved->flushed < mine->flushed))
			done = 0;
		else if (done == 1 && c->wait_sink && mine && mine->flushed > 0) {
			int64_t acked = pn_pieces_acked(&c->pieces, tp->topic, tp->partition);

			done = acked == -2 ? -1 : acked >= mine->flushed;
		}
	}
	pn_offsets_release(&applied);
	return done;
}

enum { REVOKE_POLL_MS = 10 };

int pn_commit_wait_saved(struct pn_commit *c, const rd_kafka_topic_partition_list_t *list,
			 int timeout_ms)
{
	int64_t deadline = pn_now_ms() + timeout_ms;
	int done;

	while (!(done = pn_commit_saved(c, list)) && pn_now_ms() < deadline &&
	       !pn_out_gone(c->out))
		pn_sleep_ms(REVOKE_POLL_MS);
	if (done < 0)
		pn_warn("the state in '%s' cannot be read: the %d revoked partition(s) are "
			"committed as far as it was last seen to save them", c->from, list->cnt);
	else if (!done)
		pn_warn("the state in '%s' did not save%s the %d revoked partition(s) within "
			"%d s: committing what it saved", c->from,
			c->wait_sink ? " (or the sink did not write)" : "", list->cnt,
			timeout_ms / 1000);
	return done;
}
