#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pn_aggparts.h"
#include "pn_checkpoint.h"
#include "pn_err.h"
#include "pn_record.h"

enum { EMIT_BYTES = 256 * 1024 };

int pn_aggparts_open(struct pn_aggparts *s, const struct pn_query *q, const char *dir)
{
	memset(s, 0, sizeof(*s));
	s->q = q;
	s->last = -1;
	return pn_pieces_open(&s->store, dir, 1);
}

static void add_counts(struct pn_agg_counts *sum, const struct pn_agg_counts *c)
{
	sum->records += c->records;
	sum->applied += c->applied;
	sum->filtered += c->filtered;
	sum->null_key += c->null_key;
	sum->skipped += c->skipped;
	sum->late += c->late;
	sum->future_times += c->future_times;
	sum->expired += c->expired;
	sum->emitted += c->emitted;
	sum->checkpoints += c->checkpoints;
}
/* a counter added to struct pn_agg_counts must be summed above too */
_Static_assert(sizeof(struct pn_agg_counts) == 10 * sizeof(uint64_t),
	       "add_counts sums every member of struct pn_agg_counts");

/* Where partition is in the list of those let go, or -1. */
static int let_go_at(const struct pn_aggparts *s, const char *topic, int32_t partition)
{
	for (int i = 0; i < s->nlet_go; i++)
		if (s->let_go[i].partition == partition && !strcmp(s->let_go[i].topic, topic))
			return i;
	return -1;
}

static void forget_let_go(struct pn_aggparts *s, const char *topic, int32_t partition)
{
	int i = let_go_at(s, topic, partition);

	if (i < 0)
		return;
	free(s->let_go[i].topic);
	s->let_go[i] = s->let_go[--s->nlet_go];
}

static void drop_part(struct pn_aggparts *s, int i)
{
	struct pn_aggpart *p = s->parts[i];

	if (let_go_at(s, p->topic, p->partition) < 0) {
		s->let_go = pn_realloc(s->let_go, (s->nlet_go + 1) * sizeof(*s->let_go));
		s->let_go[s->nlet_go].topic = pn_strdup(p->topic);
		s->let_go[s->nlet_go++].partition = p->partition;
	}

	add_counts(&s->gone, &p->agg.counts);
	pn_agg_release(&p->agg);
	free(p->topic);
	free(p);
	s->parts[i] = s->parts[--s->nparts];
	s->last = -1;
}

void pn_aggparts_close(struct pn_aggparts *s)
{
	while (s->nparts)
		drop_part(s, s->nparts - 1);
	while (s->nlet_go)
		forget_let_go(s, s->let_go[0].topic, s->let_go[0].partition);
	free(s->let_go);
	free(s->parts);
	pn_pieces_close(&s->store);
	pn_buf_release(&s->topic);
}

size_t pn_aggparts_sum(const struct pn_aggparts *s, struct pn_agg_counts *c)
{
	size_t groups = 0;

	*c = s->gone;
	for (int i = 0; i < s->nparts; i++) {
		add_counts(c, &s->parts[i]->agg.counts);
		groups += s->parts[i]->agg.nentries;
	}
	return groups;
}

static int find_part(const struct pn_aggparts *s, const char *topic, int32_t partition)
{
	const struct pn_aggpart *p;

	if (s->last >= 0) {
		p = s->parts[s->last];
		if (p->partition == partition && !strcmp(p->topic, topic))
			return s->last;
	}
	for (int i = 0; i < s->nparts; i++) {
		p = s->parts[i];
		if (p->partition == partition && !strcmp(p->topic, topic))
			return i;
	}
	return -1;
}

/* The next offset a partition's state applies, -1 when none yet. */
static int64_t part_next(const struct pn_aggpart *p)
{
	const struct pn_part *at = pn_offsets_find(&p->agg.offsets, p->topic, p->partition);

	return at ? at->flushed : -1;
}

/*
 * A control record of kind after the partition's rows, with the next
 * offset its piece saved and its owner's epoch: pn-sink-pg --ack-to tells
 * the store once those rows are written, so that the partition's next
 * owner emits again only the groups changed since.
 */
static void tell(const struct pn_aggpart *p, const char *kind, struct pn_out *out)
{
	pn_record_add_control(&out->buf, kind, p->topic, p->partition, part_next(p),
			      (int64_t)p->epoch);
	pn_out_flush(out);
}

/* Every row of a partition names it and its owner's epoch, so that
 * pn-sink-pg can refuse the rows of an owner that lost it (a zombie's,
 * written into its pipe before it stopped) once a newer owner wrote. */
static void set_row_meta(struct pn_aggpart *p)
{
	struct pn_buf *m = &p->agg.row_meta;

	pn_buf_reset(m);
	pn_buf_add(m, "\"_topic\":", 9);
	pn_json_add_string(m, p->topic, strlen(p->topic));
	pn_buf_addf(m, ",\"_partition\":%d,\"_epoch\":%llu", (int)p->partition,
		    (unsigned long long)p->epoch);
}

/*
 * A loaded piece: marks for the next emission the groups whose rows the
 * sink may lack, since rows of the last owner may have died in a pipe or
 * in a sink's batch.  The sink says (pn-sink-pg --ack-to, in
 * TOPIC/PARTITION.sunk) up to which offset it has every row: the groups
 * that a record from there on changed, or whose offset is unknown (a
 * format 3 piece), are emitted again; none when it has the whole piece (a
 * clean revocation); all when it said nothing.
 */
static void mark_unsunk(struct pn_aggparts *s, struct pn_aggpart *p)
{
	int64_t next = part_next(p), sunk = pn_pieces_acked(&s->store, p->topic, p->partition);

	if (next >= 0 && sunk == next) {
		s->counts.loaded_sunk++;
		return;
	}
	if (sunk < 0 || sunk > next) {
		pn_agg_mark_all(&p->agg);
		s->counts.reemitted += p->agg.nentries;
		return;
	}
	s->counts.reemitted += pn_agg_mark_since(&p->agg, sunk);
}

/*
 * Takes a partition: claims it (fencing whoever held it) and loads its
 * piece, marking the groups the sink may lack.  The index, or -1 with
 * *status set.
 */
static int take_part(struct pn_aggparts *s, const char *topic, int32_t partition, int *status)
{
	struct pn_aggpart *p = pn_malloc(sizeof(*p));
	struct pn_buf piece = PN_BUF_INIT;
	int loaded;

	memset(p, 0, sizeof(*p));
	p->topic = pn_strdup(topic);
	p->partition = partition;
	pn_agg_init(&p->agg, s->q);
	*status = pn_pieces_claim(&s->store, topic, partition, &p->epoch);
	if (!*status) {
		loaded = pn_pieces_get(&s->store, topic, partition, &piece);
		if (loaded > 0 && pn_checkpoint_decode(&p->agg, pn_pieces_path(&s->store, topic,
								partition), &piece) < 0)
			loaded = -PN_EX_CONFIG;
		if (loaded >= 0 && pn_agg_share_key_types(&p->agg, s->key_types)) {
			pn_error("state of partition %s/%d ('%s') does not fit the other "
				 "partitions': %s; rebuild it by replaying the input with --key-type "
				 "string or number", topic, (int)partition,
				 pn_pieces_path(&s->store, topic, partition), p->agg.why);
			loaded = -PN_EX_CONFIG;
		}
		if (loaded < 0)
			*status = -loaded;
		else if (loaded > 0)
			mark_unsunk(s, p);
		s->counts.loaded += loaded > 0;
	}
	pn_buf_release(&piece);
	if (*status) {
		pn_agg_release(&p->agg);
		free(p->topic);
		free(p);
		return -1;
	}
	set_row_meta(p);
	s->parts = pn_realloc(s->parts, (s->nparts + 1) * sizeof(*s->parts));
	s->parts[s->nparts] = p;
	pn_info("partition %s/%d: state loaded (%zu groups, claim %llu)", topic, (int)partition,
		p->agg.nentries, (unsigned long long)p->epoch);
	return s->last = s->nparts++;
}

int pn_agg_write_changes(struct pn_agg *a, struct pn_out *out, int emit_final, int final)
{
	size_t expired;

	if (final && emit_final)
		pn_agg_mark_all(a); /* --emit final: every group, once */
	if (!emit_final || final) {
		while (pn_agg_dirty(a) && !pn_out_gone(out)) {
			pn_agg_emit(a, &out->buf, EMIT_BYTES);
			pn_out_flush(out);
		}
	}
	/* closed windows and --ttl: those not emitted yet are written now */
	expired = pn_out_gone(out) ? 0 : pn_agg_expire(a, &out->buf);
	pn_out_flush(out);
	return expired > 0;
}

/* Writes a partition's piece: 0 or an exit status. */
static int save_part(struct pn_aggparts *s, struct pn_aggpart *p)
{
	struct pn_buf piece = PN_BUF_INIT;
	int status;

	pn_checkpoint_encode(&p->agg, &piece);
	status = pn_pieces_put(&s->store, p->topic, p->partition, &piece, part_next(p));
	if (!status)
		p->agg.counts.checkpoints++;
	pn_buf_release(&piece);
	return status;
}

/*
 * Emits a partition's changed groups and saves its piece, both under its
 * lock and only while it is still ours, and says so after the rows
 * ("saved"; not while --emit final holds the rows back).  1 when the
 * partition was fenced and dropped, 0, or an exit status.
 */
static int emit_part(struct pn_aggparts *s, int i, struct pn_out *out, int final)
{
	struct pn_aggpart *p = s->parts[i];
	int lock, status = pn_pieces_lock(&s->store, p->topic, p->partition, p->epoch, &lock);

	if (status == 1) {
		pn_warn("partition %s/%d was taken over by another owner while this one held "
			"it: its state here is dropped, not written", p->topic, (int)p->partition);
		s->counts.fenced++;
		drop_part(s, i);
		return 1;
	}
	if (status)
		return status;
	if (pn_agg_write_changes(&p->agg, out, s->emit_final, final))
		p->unsaved = 1;
	if (p->unsaved && !pn_out_gone(out)) {
		status = save_part(s, p);
		p->unsaved = status != 0;
		if (!status && (!s->emit_final || final))
			tell(p, "saved", out);
	}
	pn_pieces_unlock(lock);
	return status;
}

int pn_aggparts_emit(struct pn_aggparts *s, struct pn_out *out, int final)
{
	int status = 0;

	for (int i = s->nparts - 1; i >= 0 && !status; i--) {
		status = emit_part(s, i, out, final);
		if (status == 1)
			status = 0;
	}
	return status;
}

/*
 * "assigned" takes the partition now, so whoever held it is fenced before
 * its first record; "revoked" and "lost" write its last changes, save it
 * and let it go (a lost one that another has claimed is only dropped).
 * The revocation then goes on after the partition's last rows (tell):
 * pn-sink-pg --ack-to writes those rows and says so to the store, and
 * pn-consume --wait-for-sink lets the partition go only then.  Other kinds
 * are for other stages.
 */
static int control(struct pn_aggparts *s, const struct pn_json *j, int ctl, struct pn_out *out,
		   const char **why)
{
	int32_t partition;
	int64_t next;
	int i, status = 0;

	s->counts.controls++;
	if (pn_record_control_target(j, &s->topic, &partition, &next, why) < 0)
		return -1;
	i = find_part(s, s->topic.data, partition);
	if (pn_json_tok_eq(j, ctl, "assigned", 8)) {
		forget_let_go(s, s->topic.data, partition);
		if (i < 0)
			take_part(s, s->topic.data, partition, &status);
	} else if ((pn_json_tok_eq(j, ctl, "revoked", 7) || pn_json_tok_eq(j, ctl, "lost", 4)) &&
		   i >= 0) {
		status = emit_part(s, i, out, 0);
		if (status == 0) {
			tell(s->parts[i], pn_json_tok_eq(j, ctl, "lost", 4) ? "lost" : "revoked",
			     out);
			pn_info("partition %s/%d: state saved and let go", s->parts[i]->topic,
				(int)partition);
			s->counts.dropped++;
			drop_part(s, i);
		} else if (status == 1) {
			status = 0;
		}
	}
	return status;
}

/* Is the record of the last record's partition?  Most are, in the
 * runs a consumer fetches: no topic to decode then. */
static int same_as_last(const struct pn_aggparts *s, const struct pn_json *j)
{
	const struct pn_aggpart *p = s->last >= 0 ? s->parts[s->last] : NULL;
	const char *raw;
	size_t len;
	int64_t partition;

	if (!p || s->coord[0] < 0 || s->coord[1] < 0 || s->coord[2] < 0)
		return 0;
	raw = pn_json_raw(j, s->coord[1], &len);
	return !pn_json_int64(raw, len, &partition) && partition == p->partition &&
	       pn_json_tok_eq(j, s->coord[0], p->topic, strlen(p->topic));
}

/* The partition of a record, taken when new: its index, -1 with *why for
 * a record without coordinates, -2 with *status set, or -3 for a partition
 * let go. */
static int record_part(struct pn_aggparts *s, const struct pn_json *j, const char **why,
		       int *status)
{
	static const char *const names[] = { "_topic", "_partition", "_offset" };
	static const size_t lens[] = { 6, 10, 7 };
	const int *tok = s->coord;
	int i;
	int32_t partition;
	int64_t offset;

	/* records of one shape in a row: the fields are where they were */
	pn_json_members_memo(j, names, lens, 3, s->coord, &s->coord_memo);
	if (same_as_last(s, j))
		return s->last; /* pn_agg_apply checks the coordinates */
	if (pn_record_position(j, tok[0], tok[1], tok[2], &s->topic, &partition, &offset,
			       why) <= 0) {
		if (!*why)
			*why = "no _topic, _partition and _offset: state kept per partition "
			       "(--state DIR/) needs them (pn-consume --meta writes them)";
		return -1;
	}
	s->partition = partition;
	i = find_part(s, s->topic.data, partition);
	if (i < 0 && let_go_at(s, s->topic.data, partition) >= 0)
		return -3;
	if (i < 0 && (i = take_part(s, s->topic.data, partition, status)) < 0)
		return -2;
	return s->last = i;
}

/* A new group whose key another partition holds: the topic is not keyed
 * by the group key, and each partition counts its part of the group. */
static void check_split_key(struct pn_aggparts *s, int i)
{
	const struct pn_buf *key = &s->parts[i]->agg.key;

	for (int k = 0; k < s->nparts; k++) {
		if (k == i || !pn_agg_has_key(&s->parts[k]->agg, key->data, key->len))
			continue;
		if (!s->counts.split_keys++)
			pn_warn("a group key is in partitions %s/%d and %s/%d: the topic is not "
				"keyed by the --group-by fields, so each partition reports its own "
				"part of such groups (see pn(7), Scaling out)",
				s->parts[k]->topic, (int)s->parts[k]->partition,
				s->parts[i]->topic, (int)s->parts[i]->partition);
		return;
	}
}

int pn_aggparts_handle(struct pn_aggparts *s, const struct pn_json *j, struct pn_out *out,
		       const char **why)
{
	int ctl = pn_record_control(j), status = 0, i;
	struct pn_agg *a;
	size_t groups;

	*why = NULL;
	if (ctl >= 0)
		return control(s, j, ctl, out, why);
	i = record_part(s, j, why, &status);
	if (i == -3) {
		/* its new owner applies it: a consumer that lost the partition
		 * while it was stopped still had it on its way */
		if (!s->counts.not_owned++)
			pn_warn("records of partition %s/%d, which this process let go, are "
				"left to its new owner", s->topic.data, (int)s->partition);
		return 0;
	}
	if (i < 0)
		return i == -1 ? -1 : status;
	a = &s->parts[i]->agg;
	groups = a->nentries;
	if (pn_agg_apply(a, j, why))
		return -1;
	s->parts[i]->unsaved = 1;
	if (a->nentries > groups && s->nparts > 1)
		check_split_key(s, i);
	return 0;
}

void pn_aggparts_pass(struct pn_aggparts *s, const struct pn_json *j)
{
	const char *why = NULL;
	int status = 0, i = record_part(s, j, &why, &status);

	if (i >= 0) {
		pn_agg_pass(&s->parts[i]->agg, j);
		s->parts[i]->unsaved = 1;
	}
}
