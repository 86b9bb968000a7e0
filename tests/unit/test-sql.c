/* Unit tests for common/pn_pg_sql.h: identifiers quoted as libpq's
 * PQescapeIdentifier quotes them, the refusal of names that are not UTF-8,
 * and the exact text of the statements pn-sink-pg sends in each --mode,
 * all built without a server. */
#include "pn_pg_sql.h"
#include "unit.h"

/* pn_pg_add_ident or pn_pg_add_name */
typedef int add_fn(struct pn_buf *b, const char *name, const char **why);

/* add appends `want` after what b holds, and gives no reason. */
static void check_taken(add_fn *add, const char *what, const char *name, const char *want)
{
	struct pn_buf b = PN_BUF_INIT;
	const char *why = NULL;

	pn_buf_adds(&b, "x ");
	CHECK(add(&b, name, &why) == 0, "%s %s", what, unit_show(name, strlen(name)));
	CHECK(!why, "%s: no reason when it is taken", what);
	CHECK_MEM(b.data + 2, b.len - 2, want, strlen(want), "%s", what);
	pn_buf_release(&b);
}

/* add refuses name with reason `want_why` and leaves b as it was. */
static void check_refused(add_fn *add, const char *what, const char *name, const char *want_why)
{
	struct pn_buf b = PN_BUF_INIT;
	const char *why = NULL;

	pn_buf_adds(&b, "x ");
	CHECK(add(&b, name, &why) == -1, "%s %s", what, unit_show(name, strlen(name)));
	CHECK(why && !strcmp(why, want_why), "%s %s: %s", what, unit_show(name, strlen(name)),
	      why ? why : "no reason");
	CHECK_MEM(b.data, b.len, "x ", 2, "%s: nothing appended", what);
	CHECK(add(&b, name, NULL) == -1, "%s: why may be NULL", what);
	pn_buf_release(&b);
}

static void test_ident(void)
{
	static const struct { const char *name, *want; } cases[] = {
		{ "id", "\"id\"" },
		{ "Clicks", "\"Clicks\"" },		/* case kept: no folding */
		{ "a\"b", "\"a\"\"b\"" },
		{ "\"", "\"\"\"\"" },
		{ "\"\"x\"", "\"\"\"\"\"x\"\"\"" },
		{ "with space", "\"with space\"" },
		{ "back\\slash", "\"back\\slash\"" },	/* no escape in identifiers */
		{ "it's", "\"it's\"" },
		{ "s.t", "\"s.t\"" },			/* one identifier: the dot kept */
		{ "caf\xc3\xa9", "\"caf\xc3\xa9\"" },
		{ "\xf0\x9f\x93\x88", "\"\xf0\x9f\x93\x88\"" },
		{ "", "\"\"" },				/* libpq takes it; the server does not */
	};
	static const struct { const char *name, *why; } bad[] = {
		{ "\xff", "invalid multibyte character" },
		{ "a\x80", "invalid multibyte character" },
		{ "\xc3(", "invalid multibyte character" },
		{ "\xc0\x80", "invalid multibyte character" },		/* overlong */
		{ "\xed\xa0\x80", "invalid multibyte character" },	/* surrogate */
		{ "\xf4\x90\x80\x80", "invalid multibyte character" },	/* past U+10FFFF */
		{ "\xf8\x88\x80\x80\x80", "invalid multibyte character" },
		{ "a\xc3", "incomplete multibyte character" },
		{ "\xe2\x82", "incomplete multibyte character" },
		{ "ok\xf0\x9f\x93", "incomplete multibyte character" },
	};

	for (size_t i = 0; i < NELEM(cases); i++)
		check_taken(pn_pg_add_ident, "ident", cases[i].name, cases[i].want);
	for (size_t i = 0; i < NELEM(bad); i++)
		check_refused(pn_pg_add_ident, "ident", bad[i].name, bad[i].why);
}

static void test_name(void)
{
	static const struct { const char *name, *want; } cases[] = {
		{ "t", "\"t\"" },
		{ "Campaign", "\"Campaign\"" },
		{ "s.t", "\"s\".\"t\"" },
		{ "My Schema.My\"Table", "\"My Schema\".\"My\"\"Table\"" },
		{ "a.b.c", "\"a\".\"b.c\"" },		/* split at the first dot */
		{ "\xc3\xa9.\xc3\xa9", "\"\xc3\xa9\".\"\xc3\xa9\"" },
	};
	static const struct { const char *name, *why; } bad[] = {
		{ "", "an empty name" },
		{ ".", "an empty name" },
		{ ".t", "an empty name" },
		{ "s.", "an empty name" },
		{ "\xff", "invalid multibyte character" },
		{ "\xff.t", "invalid multibyte character" },
		{ "s.\xff", "invalid multibyte character" },
		{ "a\xc3.t", "incomplete multibyte character" },	/* each part on its own */
		{ "s.t\xc3", "incomplete multibyte character" },
	};

	for (size_t i = 0; i < NELEM(cases); i++)
		check_taken(pn_pg_add_name, "name", cases[i].name, cases[i].want);
	for (size_t i = 0; i < NELEM(bad); i++)
		check_refused(pn_pg_add_name, "name", bad[i].name, bad[i].why);
}

/* The statements' fixed names, spelled as the builder spells them. */
#define SEQ "\"pn-sink-pg seq\""
#define DEL "\"pn-sink-pg delete\""
#define TEMP_HEAD "CREATE TEMP TABLE pn_sink_batch ON COMMIT DELETE ROWS AS SELECT 0::int8 AS " SEQ
#define NO_HASH "SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off; "

/*
 * A schema-qualified table with odd names, "Sales"."Camp""aign": the key
 * id, and Clicks (mixed case) and a"b (a quote), written from fields of
 * other names.  The statements name columns only, never fields.
 */
static struct pn_pg_column odd_cols[] = {
	{ "id", "bigint", PN_PG_NUMBER, 1 },
	{ "unused", "text", PN_PG_TEXT, 0 },
	{ "Clicks", "bigint", PN_PG_NUMBER, 0 },
	{ "a\"b", "text", PN_PG_TEXT, 0 },
};
static const struct pn_pg_table odd = { "Sales", "Camp\"aign", "\"Sales\".\"Camp\"\"aign\"",
					odd_cols, NELEM(odd_cols) };
static const struct pn_pg_col odd_written[] = {
	{ "key", 0, 1, PN_PG_NUMBER },
	{ "clicks", 2, 0, PN_PG_NUMBER },
	{ "ab", 3, 0, PN_PG_TEXT },
};
#define T "\"Sales\".\"Camp\"\"aign\""
#define COLS "\"id\", \"Clicks\", \"a\"\"b\""
#define SET_S " SET \"Clicks\" = s.\"Clicks\", \"a\"\"b\" = s.\"a\"\"b\""
#define JOIN "t.\"id\" = s.\"id\""

/* A table t whose key is two columns, and one whose columns are all key. */
static struct pn_pg_column pair_cols[] = {
	{ "k1", "text", PN_PG_TEXT, 1 },
	{ "k2", "int", PN_PG_NUMBER, 1 },
	{ "v", "jsonb", PN_PG_JSON, 0 },
};
static const struct pn_pg_table pair = { NULL, "t", "\"t\"", pair_cols, NELEM(pair_cols) };
static const struct pn_pg_col pair_written[] = {
	{ "k1", 0, 1, PN_PG_TEXT },
	{ "k2", 1, 1, PN_PG_NUMBER },
	{ "v", 2, 0, PN_PG_JSON },
};
static const struct pn_pg_col pair_keys[] = {
	{ "k1", 0, 1, PN_PG_TEXT },
	{ "k2", 1, 1, PN_PG_NUMBER },
};

static const struct sql_case {
	const char *what;
	const struct pn_pg_table *table;
	const struct pn_pg_col *cols;
	int ncols;
	int version;
	enum pn_pg_mode mode;
	int tombstones, key_unique;
	const char *temp, *merge, *load;
} sql_cases[] = {
	{ "insert", &odd, odd_written, 3, 150000, PN_PG_INSERT, 0, 0,
	  TEMP_HEAD ", " COLS " FROM " T " WITH NO DATA",
	  "INSERT INTO " T " (" COLS ") SELECT " COLS " FROM pn_sink_batch",
	  "INSERT INTO pn_sink_batch VALUES ($1, $2, $3, $4)" },
	{ "insert, key unique: nothing joins, the planner is left alone",
	  &odd, odd_written, 3, 150000, PN_PG_INSERT, 0, 1,
	  TEMP_HEAD ", " COLS " FROM " T " WITH NO DATA",
	  "INSERT INTO " T " (" COLS ") SELECT " COLS " FROM pn_sink_batch",
	  "INSERT INTO pn_sink_batch VALUES ($1, $2, $3, $4)" },
	{ "insert with tombstones", &odd, odd_written, 3, 150000, PN_PG_INSERT, 1, 0,
	  TEMP_HEAD ", " COLS ", false AS " DEL " FROM " T " WITH NO DATA",
	  "DELETE FROM " T " AS t USING pn_sink_batch AS s WHERE s." DEL " AND " JOIN "; "
	  "INSERT INTO " T " (" COLS ") SELECT " COLS " FROM pn_sink_batch WHERE NOT " DEL,
	  "INSERT INTO pn_sink_batch VALUES ($1, $2, $3, $4, $5)" },
	{ "upsert", &odd, odd_written, 3, 150000, PN_PG_UPSERT, 0, 1,
	  TEMP_HEAD ", " COLS " FROM " T " WITH NO DATA",
	  "INSERT INTO " T " AS t (" COLS ") SELECT " COLS " FROM pn_sink_batch"
	  " ON CONFLICT (\"id\") DO UPDATE"
	  " SET \"Clicks\" = EXCLUDED.\"Clicks\", \"a\"\"b\" = EXCLUDED.\"a\"\"b\"",
	  "INSERT INTO pn_sink_batch VALUES ($1, $2, $3, $4)" },
	{ "upsert with tombstones, key unique", &odd, odd_written, 3, 150000, PN_PG_UPSERT, 1, 1,
	  TEMP_HEAD ", " COLS ", false AS " DEL " FROM " T " WITH NO DATA",
	  NO_HASH "DELETE FROM " T " AS t USING pn_sink_batch AS s WHERE s." DEL " AND " JOIN "; "
	  "INSERT INTO " T " AS t (" COLS ") SELECT " COLS " FROM pn_sink_batch WHERE NOT " DEL
	  " ON CONFLICT (\"id\") DO UPDATE"
	  " SET \"Clicks\" = EXCLUDED.\"Clicks\", \"a\"\"b\" = EXCLUDED.\"a\"\"b\"",
	  "INSERT INTO pn_sink_batch VALUES ($1, $2, $3, $4, $5)" },
	{ "upsert, a key of two columns", &pair, pair_written, 3, 150000, PN_PG_UPSERT, 0, 0,
	  TEMP_HEAD ", \"k1\", \"k2\", \"v\" FROM \"t\" WITH NO DATA",
	  "INSERT INTO \"t\" AS t (\"k1\", \"k2\", \"v\") SELECT \"k1\", \"k2\", \"v\""
	  " FROM pn_sink_batch ON CONFLICT (\"k1\", \"k2\") DO UPDATE SET \"v\" = EXCLUDED.\"v\"",
	  "INSERT INTO pn_sink_batch VALUES ($1, $2, $3, $4)" },
	{ "upsert, every column a key: nothing to update", &pair, pair_keys, 2, 150000,
	  PN_PG_UPSERT, 0, 0,
	  TEMP_HEAD ", \"k1\", \"k2\" FROM \"t\" WITH NO DATA",
	  "INSERT INTO \"t\" AS t (\"k1\", \"k2\") SELECT \"k1\", \"k2\" FROM pn_sink_batch"
	  " ON CONFLICT (\"k1\", \"k2\") DO NOTHING",
	  "INSERT INTO pn_sink_batch VALUES ($1, $2, $3)" },
	{ "update by MERGE (PostgreSQL 15)", &odd, odd_written, 3, 150000, PN_PG_UPDATE, 0, 0,
	  TEMP_HEAD ", " COLS " FROM " T " WITH NO DATA",
	  "MERGE INTO " T " AS t USING pn_sink_batch AS s ON " JOIN
	  " WHEN MATCHED THEN UPDATE" SET_S "; "
	  "SELECT s." SEQ " FROM pn_sink_batch AS s WHERE NOT EXISTS"
	  " (SELECT 1 FROM " T " AS t WHERE " JOIN ")",
	  "INSERT INTO pn_sink_batch VALUES ($1, $2, $3, $4)" },
	{ "update by MERGE, key unique, tombstones", &odd, odd_written, 3, 160004,
	  PN_PG_UPDATE, 1, 1,
	  TEMP_HEAD ", " COLS ", false AS " DEL " FROM " T " WITH NO DATA",
	  NO_HASH "DELETE FROM " T " AS t USING pn_sink_batch AS s WHERE s." DEL " AND " JOIN "; "
	  "MERGE INTO " T " AS t USING pn_sink_batch AS s ON " JOIN " AND NOT s." DEL
	  " WHEN MATCHED THEN UPDATE" SET_S "; "
	  "SELECT s." SEQ " FROM pn_sink_batch AS s WHERE NOT s." DEL " AND NOT EXISTS"
	  " (SELECT 1 FROM " T " AS t WHERE " JOIN ")",
	  "INSERT INTO pn_sink_batch VALUES ($1, $2, $3, $4, $5)" },
	{ "update before MERGE (PostgreSQL 14)", &odd, odd_written, 3, 140011, PN_PG_UPDATE, 0, 1,
	  TEMP_HEAD ", " COLS " FROM " T " WITH NO DATA",
	  NO_HASH "WITH u AS (UPDATE " T " AS t" SET_S " FROM pn_sink_batch AS s WHERE " JOIN
	  " RETURNING s." SEQ " AS seq) SELECT s." SEQ " FROM pn_sink_batch AS s"
	  " WHERE NOT EXISTS (SELECT 1 FROM u WHERE u.seq = s." SEQ ")",
	  "INSERT INTO pn_sink_batch VALUES ($1, $2, $3, $4)" },
	{ "update before MERGE, tombstones", &odd, odd_written, 3, 140011, PN_PG_UPDATE, 1, 0,
	  TEMP_HEAD ", " COLS ", false AS " DEL " FROM " T " WITH NO DATA",
	  "DELETE FROM " T " AS t USING pn_sink_batch AS s WHERE s." DEL " AND " JOIN "; "
	  "WITH u AS (UPDATE " T " AS t" SET_S " FROM pn_sink_batch AS s WHERE " JOIN
	  " AND NOT s." DEL " RETURNING s." SEQ " AS seq) SELECT s." SEQ
	  " FROM pn_sink_batch AS s WHERE NOT s." DEL " AND NOT EXISTS"
	  " (SELECT 1 FROM u WHERE u.seq = s." SEQ ")",
	  "INSERT INTO pn_sink_batch VALUES ($1, $2, $3, $4, $5)" },
	{ "update, every column a key: no MERGE, the keys set to themselves", &pair, pair_keys, 2,
	  150000, PN_PG_UPDATE, 0, 0,
	  TEMP_HEAD ", \"k1\", \"k2\" FROM \"t\" WITH NO DATA",
	  "WITH u AS (UPDATE \"t\" AS t SET \"k1\" = s.\"k1\", \"k2\" = s.\"k2\""
	  " FROM pn_sink_batch AS s WHERE t.\"k1\" = s.\"k1\" AND t.\"k2\" = s.\"k2\""
	  " RETURNING s." SEQ " AS seq) SELECT s." SEQ " FROM pn_sink_batch AS s"
	  " WHERE NOT EXISTS (SELECT 1 FROM u WHERE u.seq = s." SEQ ")",
	  "INSERT INTO pn_sink_batch VALUES ($1, $2, $3)" },
};

static void test_build(void)
{
	for (size_t i = 0; i < NELEM(sql_cases); i++) {
		const struct sql_case *c = &sql_cases[i];
		struct pn_pg_sql s;

		CHECK(pn_pg_sql_build(c->version, c->table, c->cols, c->ncols, c->mode,
				      c->tombstones, c->key_unique, &s) == 0, "%s", c->what);
		CHECK_MEM(s.temp, strlen(s.temp), c->temp, strlen(c->temp), "%s: temp", c->what);
		CHECK_MEM(s.merge, strlen(s.merge), c->merge, strlen(c->merge), "%s: merge",
			  c->what);
		CHECK_MEM(s.load, strlen(s.load), c->load, strlen(c->load), "%s: load", c->what);
		pn_pg_sql_release(&s);
		CHECK(!s.temp && !s.merge && !s.load, "%s: released", c->what);
	}
}

/* A column whose name is not UTF-8 (a catalog in another encoding): every
 * mode refuses to build, and what it built is still released whole. */
static void test_build_refused(void)
{
	static struct pn_pg_column cols[] = {
		{ "id", "bigint", PN_PG_NUMBER, 1 },
		{ "caf\xe9", "text", PN_PG_TEXT, 0 },
	};
	static const struct pn_pg_table t = { NULL, "t", "\"t\"", cols, NELEM(cols) };
	static const struct pn_pg_col written[] = {
		{ "id", 0, 1, PN_PG_NUMBER },
		{ "cafe", 1, 0, PN_PG_TEXT },
	};
	static const struct pn_pg_col bad_key[] = {
		{ "cafe", 1, 1, PN_PG_TEXT },
	};

	for (int mode = PN_PG_INSERT; mode <= PN_PG_UPDATE; mode++) {
		for (int tomb = 0; tomb < 2; tomb++) {
			struct pn_pg_sql s;

			CHECK(pn_pg_sql_build(150000, &t, written, 2, mode, tomb, 0, &s) == -1,
			      "mode %d, tombstones %d", mode, tomb);
			pn_pg_sql_release(&s);
			CHECK(pn_pg_sql_build(150000, &t, bad_key, 1, mode, tomb, 1, &s) == -1,
			      "the key: mode %d, tombstones %d", mode, tomb);
			pn_pg_sql_release(&s);
		}
	}
}

int main(int argc, char **argv)
{
	unit_init(argc, argv);
	test_ident();
	test_name();
	test_build();
	test_build_refused();
	return unit_done();
}
