#!/bin/bash
# scripts/deps.sh -- make sure the Debian packages that a make target needs
# are installed.  Usage: scripts/deps.sh SET...   (SET: build check demo bench fuzz kafka)
#
# Prints nothing when everything is there.  As root it installs what is
# missing with apt-get; otherwise it prints the command to run and fails.
set -u

# The package sets (Debian 12 names), the one place to edit.  "@set" pulls in
# another set.
set_packages () {
	case $1 in
	build) echo gcc libc6-dev make pkg-config librdkafka-dev libjansson-dev libpq-dev libzstd-dev libxxhash-dev libavro-dev libcurl4-openssl-dev libexpat1-dev ;;
	check) echo @build @kafka mandoc procps time jq python3 postgresql python3-confluent-kafka python3-avro python3-requests curl openssl zstd xxhash npm:s3rver@3.7.1 ;;
	demo)  echo @build procps postgresql ;;
	# make fuzz: libFuzzer and the sanitizers' runtimes come with clang
	fuzz)  echo @build clang libclang-rt-14-dev zstd ;;
	bench) echo @build @kafka kcat time procps jq python3 postgresql python3-avro zstd ;;
	# the real Apache Kafka cluster (scripts/kafka-cluster, from Maven
	# Central by scripts/kafka-jars) and its admin calls (scripts/kafka-admin)
	kafka) echo openjdk-17-jdk-headless maven python3 python3-confluent-kafka ;;
	*) return 1 ;;
	esac
}

# "npm:NAME@VERSION" in a set: an npm package, installed into build/node at
# that version (the S3 test server of pn-archive), from npm's cache when it
# holds it (0.8 s less than asking the registry first); node and npm themselves
# come from Debian when the machine has none.
npm_packages () {
	local dir p
	dir=$(cd "$(dirname "$0")/.." && pwd)/build/node
	for p in "$@"; do
		[ -f "$dir/node_modules/${p%@*}/package.json" ] &&
			grep -q "\"version\": \"${p##*@}\"" "$dir/node_modules/${p%@*}/package.json" &&
			continue
		if ! command -v npm >/dev/null 2>&1; then
			if [ "$(id -u)" != 0 ]; then
				echo "pn: npm missing; install it with: sudo apt-get install -y nodejs npm" >&2
				return 1
			fi
			apt-get update -qq &&
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm ||
				return 1
		fi
		echo "pn: installing $p into $dir (npm)" >&2
		mkdir -p "$dir" && npm install --prefix "$dir" --no-audit --no-fund --prefer-offline --silent "$p" >&2 ||
			return 1
	done
}

usage () {
	echo "usage: scripts/deps.sh build|check|demo|bench|fuzz|kafka..." >&2
	exit 2
}

expand () {
	local p
	for p in $(set_packages "$1"); do
		case $p in
		@*) expand "${p#@}" ;;
		*) echo "$p" ;;
		esac
	done
}

[ $# -gt 0 ] || usage
for set in "$@"; do
	set_packages "$set" >/dev/null || usage
done
wanted=$(for set in "$@"; do expand "$set"; done | awk '!seen[$0]++')
npm_wanted=$(echo "$wanted" | sed -n 's/^npm://p')
wanted=$(echo "$wanted" | grep -v '^npm:')
[ -z "$npm_wanted" ] || npm_packages $npm_wanted || exit 1

if ! command -v dpkg-query >/dev/null 2>&1; then
	echo "pn: not a Debian system; make sure the equivalents of these are installed:" $wanted >&2
	exit 0
fi

missing=''
for p in $wanted; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing="$missing $p"
done
missing=${missing# }
[ -n "$missing" ] || exit 0

if [ "$(id -u)" = 0 ]; then
	echo "pn: installing missing Debian packages: $missing" >&2
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
	exit
fi
echo "pn: missing Debian packages; install them with:" >&2
echo "  sudo apt-get update && sudo apt-get install -y $missing" >&2
exit 1
