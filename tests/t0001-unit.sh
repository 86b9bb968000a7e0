#!/bin/bash
# t0001-unit: run the C unit tests of libpn (tests/unit/test-*.c).
#
# The binaries come from `make unit` (build/unit), or from
# `make BUILD=build/asan SAN=1 unit` with PN_UNIT=$PWD/build/asan/unit.
# Each prints "FAIL file:line: ..." for a failed check; with --todo it
# fails while one of its known breakages (TODO checks) is still broken.

# Before lib.sh moves into the trash directory.
unit_dir=${PN_UNIT:-}
case $unit_dir in ''|/*) ;; *) unit_dir=$(pwd -P)/$unit_dir ;; esac

. "$(dirname "$0")/lib.sh"

PN_UNIT=${unit_dir:-$PN_SRC/build/unit}
test -d "$PN_UNIT" ||
	test_skip_all "no unit tests in $PN_UNIT: run 'make unit' first"

test_expect_success 'pn_json: parser, token helpers, escaping, UTF-8' '
	"$PN_UNIT/test-json"
'

test_expect_success 'pn_num: integers, sizes, durations, times' '
	"$PN_UNIT/test-num"
'

test_expect_success 'pn_opt: option tables, their kinds and --help columns' '
	"$PN_UNIT/test-opt"
'

test_expect_success 'pn_buf: buffer, integers, base64' '
	"$PN_UNIT/test-buf"
'

test_expect_success 'pn_window: window specs and starts, event times' '
	"$PN_UNIT/test-window"
'

test_expect_success 'pn_io: line reader and record writer' '
	TMPDIR=$TRASH_DIRECTORY "$PN_UNIT/test-io"
'

test_expect_success 'pn_input: the input loop, its bad-line contract, the live counters' '
	TMPDIR=$TRASH_DIRECTORY "$PN_UNIT/test-input"
'

test_expect_success 'pn_stats: the --stats line and the --metrics file' '
	TMPDIR=$TRASH_DIRECTORY "$PN_UNIT/test-stats"
'

test_expect_success 'pn_offsets: partition numbers from records, checkpoints, start offsets' '
	TMPDIR=$TRASH_DIRECTORY "$PN_UNIT/test-offsets"
'

test_expect_success 'pn_start, pn_commit: start positions, committable offsets, the revocation wait' '
	TMPDIR=$TRASH_DIRECTORY "$PN_UNIT/test-consume"
'

test_expect_success 'pn_manifest, pn_catalog, pn_objreader: manifests, a small archive read back' '
	TMPDIR=$TRASH_DIRECTORY "$PN_UNIT/test-manifest"
'

test_expect_success 'pn_query: --where, --group-by and aggregate forms, conditions, fingerprint' '
	"$PN_UNIT/test-query"
'

test_expect_success 'pn_checkpoint: round trip, damaged or foreign files refused, offsets' '
	TMPDIR=$TRASH_DIRECTORY "$PN_UNIT/test-checkpoint"
'

test_expect_success 'pn_agg: one JSON type per group field, a clock one record cannot throw' '
	"$PN_UNIT/test-aggkeys"
'

test_expect_success 'pn_s3: a page of a listing' '
	"$PN_UNIT/test-s3"
'

test_expect_success 'pn_awscred: shared-file INI reading, the chain to the files, answers, refresh time' '
	TMPDIR=$TRASH_DIRECTORY "$PN_UNIT/test-awscred"
'

test_expect_success 'pn_pg_sql: quoted names, the statements of each mode, without a server' '
	"$PN_UNIT/test-sql"
'

test_expect_success 'pn_avro: Avro binary as the specification encodes it, and back' '
	"$PN_UNIT/test-avro"
'

test_done
