#!/bin/bash
# scripts/deps.sh -- make sure the Debian packages that a make target needs
# are installed.  Usage: scripts/deps.sh SET...   (SET: build check demo bench)
#
# Prints nothing when everything is there.  As root it installs what is
# missing with apt-get; otherwise it prints the command to run and fails.
set -u

# The package sets (Debian 12 names), the one place to edit.  "@set" pulls in
# another set.
set_packages () {
	case $1 in
	build) echo gcc libc6-dev make pkg-config librdkafka-dev libjansson-dev libpq-dev libzstd-dev libavro-dev libcurl4-openssl-dev ;;
	check) echo @build mandoc procps time jq python3 postgresql python3-confluent-kafka python3-avro python3-requests curl openssl ;;
	demo)  echo @build procps ;;
	bench) echo @build kcat time procps jq python3 postgresql python3-avro ;;
	*) return 1 ;;
	esac
}

usage () {
	echo "usage: scripts/deps.sh build|check|demo|bench..." >&2
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
