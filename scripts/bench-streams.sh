#!/bin/bash
# scripts/bench-streams.sh -- the campaign report beside the engine it
# replaces: Kafka Streams, which ksqlDB runs the seed's query on.
#
# Usage: PN_BIN=build/bin scripts/bench-streams.sh [PINGS]   (default 1000000)
#
# Starts a real three-node Kafka cluster (scripts/kafka-cluster) and a
# private PostgreSQL, publishes PINGS pings (scripts/gen-pings) to one topic
# (BENCH_PARTITIONS partitions, default 12, replication factor 3) keyed by
# source_id, and runs over that same backlog, BENCH_RUNS times (default 3),
# alternating which goes first:
#   pn        pn-consume -e --meta | pn-aggregate --where source=campaign
#             --group-by source_id:id --count delivered_time:impressions
#             --count clicked_time:clicks | pn-sink-pg --mode upsert
#             (PN_CONSUME_ARGS: more pn-consume options, e.g. -X settings)
#   streams   java/src/main/java/pn/bench/CampaignCounts.java: the same query
#             in Kafka Streams with its default caching, commit interval and
#             threads, the changelog to an output topic; JVM options from
#             STREAMS_JAVA_OPTS (default none: the JVM's own defaults)
# Rates are pings per second: for pn from the start of the three programs
# to the end of pn-sink-pg (the last batch committed in PostgreSQL), start
# and connection included; for Kafka Streams from its first record to the
# last one applied to its store (JVM start, group join and the close that
# flushes its cache to the output topic excluded; the time with the close
# is printed too, and from JVM start to exit).  Peak RSS: for pn the sum of
# the three processes' peaks (they run together, so the sum bounds what
# they hold at once), for Kafka Streams the JVM's; the brokers count for
# neither.  CPU seconds (user + system, whole processes) are printed too:
# on a shared machine they move less than the wall clock.  The median time
# of the runs counts, and the largest peak RSS.
# Every run is checked: PostgreSQL's table, and the last value per key in
# Kafka Streams' output topic, must both equal an awk count of the pings.
# Target (issue 14): pn >= 2x Kafka Streams' rate at <= 1/4 of its memory.
set -eu -o pipefail

pings=${1:-1000000}
partitions=${BENCH_PARTITIONS:-12}
runs=${BENCH_RUNS:-3}
src=$(cd "$(dirname "$0")/.." && pwd -P)
PN_BIN=${PN_BIN:-$src/build/bin}
case $PN_BIN in /*) ;; *) PN_BIN=$(pwd -P)/$PN_BIN ;; esac
export PATH=$PN_BIN:$src/scripts:$PATH LC_ALL=C TZ=UTC
jars=${PN_KAFKA_JARS:-$src/build/kafka/libs}
java=${JAVA:-java}
topic=pushnotification-ping

. "$src/scripts/lib-standalone.sh"
standalone_init pn-bench-streams
work=$TRASH_DIRECTORY
# shellcheck source=../tests/lib-pg.sh
. "$src/tests/lib-pg.sh"
. "$src/scripts/bench-lib.sh"
start_pg
cd "$work"

standalone_at_exit "kafka-cluster stop '$work/kafka'"
echo "starting a three-node Kafka cluster" >&2
kafka-cluster start "$work/kafka" >/dev/null
brokers=$(cat "$work/kafka/bootstrap")
kafka-cluster topic "$work/kafka" "$topic:$partitions" >&2

echo "generating and publishing $pings pings" >&2
gen-pings "$pings" 7 >pings.ndjson
pn-produce -b "$brokers" -t "$topic" --key source_id pings.ndjson
bench_campaign_expect pings.ndjson >expect

# run_pn I: the report into PostgreSQL; pn.I holds "seconds peak_kb pings",
# pn-cpu.I the CPU seconds of the three instead
run_pn () {
	local i=$1 t0 t1 kb=0 cpu=0 p k c
	bench_campaign_table
	echo "running pn, run $i" >&2
	t0=$(date +%s.%N)
	# shellcheck disable=SC2086
	bench_timed consume.$i pn-consume -b "$brokers" -t "$topic" -e --meta ${PN_CONSUME_ARGS:-} |
		bench_timed aggregate.$i pn-aggregate --where source=campaign --group-by source_id:id \
			--count delivered_time:impressions --count clicked_time:clicks |
		bench_timed sink.$i pn-sink-pg --table campaign --pk id --mode upsert
	t1=$(date +%s.%N)
	for p in consume aggregate sink; do
		read -r _ k c <"$p.$i.time"
		kb=$((kb + k))
		cpu=$(awk -v a="$cpu" -v b="$c" 'BEGIN { print a + b }')
	done
	echo "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }') $kb $pings" >pn.$i
	echo "$cpu $kb $pings" >pn-cpu.$i
	sql "SELECT id, impressions, clicks FROM campaign" | sort >pn.$i.table
	cmp -s expect pn.$i.table || { echo "bench: pn's table differs from the awk count (run $i)" >&2; exit 1; }
}

# run_streams I: CampaignCounts into its own output topic; streams.I holds
# "seconds peak_kb records" up to the last record applied, streams-close.I
# up to the end of the close, streams-whole.I from JVM start to exit,
# streams-cpu.I the JVM's CPU seconds, streams-cpu-applying.I those from
# the first record to the last applied
run_streams () {
	local i=$1 s kb cpu stats
	kafka-cluster topic "$work/kafka" "campaign-counts-$i:$partitions" >&2
	echo "running Kafka Streams, run $i" >&2
	# shellcheck disable=SC2086
	bench_timed streams.$i "$java" ${STREAMS_JAVA_OPTS:-} \
		-cp "$jars/*" pn.bench.CampaignCounts "$brokers" "$topic" "campaign-counts-$i" \
		"pn-bench-streams-$i" "$work/streams-state.$i" >streams.$i.out 2>streams.$i.err || {
		echo "bench: Kafka Streams failed (run $i):" >&2
		tail -n 30 streams.$i.err >&2
		exit 1
	}
	read -r s kb cpu <streams.$i.time
	stats=$(cat streams.$i.out)
	echo "$s $kb $pings" >streams-whole.$i
	echo "$cpu $kb $pings" >streams-cpu.$i
	jq -r --arg kb "$kb" '"\(.cpu_first_to_last_s) \($kb) \(.records)"' <<<"$stats" >streams-cpu-applying.$i
	jq -r --arg kb "$kb" '"\(.first_to_last_s) \($kb) \(.records)"' <<<"$stats" >streams.$i
	jq -r --arg kb "$kb" '"\(.first_to_closed_s) \($kb) \(.records)"' <<<"$stats" >streams-close.$i
	# the table: the last value of every key in the output topic
	pn-consume -b "$brokers" -t "campaign-counts-$i" -e |
		jq -r '"\(.id)|\(.impressions)|\(.clicks)"' |
		awk -F '|' '{ last[$1] = $0 } END { for (k in last) print last[k] }' |
		sort >streams.$i.table
	cmp -s expect streams.$i.table ||
		{ echo "bench: Kafka Streams' output differs from the awk count (run $i)" >&2; exit 1; }
}

for i in $(seq "$runs"); do
	if [ $((i % 2)) = 1 ]; then run_pn "$i"; run_streams "$i"; else run_streams "$i"; run_pn "$i"; fi
done
for m in pn pn-cpu streams streams-close streams-whole streams-cpu streams-cpu-applying; do
	bench_median $m
done

read -r pn_s pn_kb _ <pn
read -r st_s st_kb _ <streams
read -r sc_s _ _ <streams-close
read -r sw_s _ _ <streams-whole
read -r pn_cpu _ _ <pn-cpu
read -r st_cpu _ _ <streams-cpu
read -r sa_cpu _ _ <streams-cpu-applying
pn_r=$(bench_rate "$pings" "$pn_s")
st_r=$(bench_rate "$pings" "$st_s")
sc_r=$(bench_rate "$pings" "$sc_s")
sw_r=$(bench_rate "$pings" "$sw_s")
heap=$("$java" ${STREAMS_JAVA_OPTS:-} -XX:+PrintFlagsFinal -version 2>/dev/null |
	awk '$2 == "MaxHeapSize" { printf "%.0f MB", $4 / 1048576 }')

printf '\npn bench-streams: %d pings, %d partitions (RF 3) on 3 brokers, %d runs, %d cores\n' \
	"$pings" "$partitions" "$runs" "$(nproc)"
printf 'Kafka Streams JVM options: %s (max heap %s); pn-consume options: %s\n\n' \
	"${STREAMS_JAVA_OPTS:-none}" "$heap" "${PN_CONSUME_ARGS:-none}"
runs_of () { for i in $(seq "$runs"); do cut -d' ' -f1 "$1.$i"; done | tr '\n' ' '; }
row () { awk -v l="$1" -v r="$2" -v s="$3" -v kb="$4" 'BEGIN {
	printf "%-52s %10.0f %8.2f   %7.1f MB\n", l, r, s, kb / 1024 }'; }
printf '%-52s %10s %8s   %s\n' "contender (median of $runs)" "pings/s" "seconds" "peak RSS"
row "pn: consume | aggregate | sink-pg (3 processes)" "$pn_r" "$pn_s" "$pn_kb"
row "Kafka Streams: first to last record applied" "$st_r" "$st_s" "$st_kb"
row "Kafka Streams: first record to close (output flushed)" "$sc_r" "$sc_s" "$st_kb"
row "Kafka Streams: JVM start to exit" "$sw_r" "$sw_s" "$st_kb"
awk -v a="$pn_r" -v b="$st_r" -v c="$sc_r" -v m="$pn_kb" -v n="$st_kb" 'BEGIN {
	printf "pn / Kafka Streams rate: %.2fx (%.2fx with the close)  target >= 2x\n", a / b, a / c
	printf "pn / Kafka Streams peak RSS: %.2f  target <= 0.25\n", m / n
}'
awk -v a="$pn_cpu" -v b="$st_cpu" -v c="$sa_cpu" -v n="$pings" '
function per(s) { return n / (s > 0 ? s : 0.01) }
BEGIN {
	printf "CPU seconds (medians): pn, whole processes %.2f (%.0f pings per CPU s);\n", a, per(a)
	printf "  Kafka Streams, first to last record applied %.2f (%.0f), whole JVM %.2f (%.0f)\n",
		c, per(c), b, per(b)
	printf "pn / Kafka Streams pings per CPU second: %.1fx (Kafka Streams first to last applied)\n",
		per(a) / per(c) }'
echo "pn runs (s): $(runs_of pn)"
echo "Kafka Streams runs (s): $(runs_of streams)  with the close: $(runs_of streams-close)"
echo "CPU s, pn: $(runs_of pn-cpu)  Kafka Streams applying: $(runs_of streams-cpu-applying)"
echo "pn peak RSS and CPU s per process (last run): $(for p in consume aggregate sink; do
	awk -v p="$p" '{ printf "%s %.1f MB %.2f s  ", p, $2 / 1024, $3 }' "$p.$runs.time"; done)"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "tables: PostgreSQL and Kafka Streams' output equal the awk count in every run"

bench_row "campaign report, $pings pings from 3 brokers" pings \
	"pn-consume, pn-aggregate, pn-sink-pg" "$pn_r" "$pn_kb" \
	"Kafka Streams $(basename "$jars"/kafka-streams-*.jar .jar | sed 's/kafka-streams-//')" "$st_r" "$st_kb"
