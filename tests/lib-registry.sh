# tests/lib-registry.sh -- start the schema registry test double
# (tests/registry-double.py) for a test script.  Source after lib.sh.
#
#   start_registry [--user U:P] [--tls CERT KEY]
#
# Sets REGISTRY and REGISTRY_PID; the double is stopped when the script
# ends.  lib.sh's PYTHON, Debian's python3 with python3-avro and
# python3-confluent-kafka, runs it and the Confluent client scripts.

start_registry () {
	rm -f "$TRASH_DIRECTORY/registry.url"
	$PYTHON "$PN_SRC/tests/registry-double.py" "$@" "$TRASH_DIRECTORY/registry.url" \
		>/dev/null 2>"$TRASH_DIRECTORY/registry.log" &
	REGISTRY_PID=$!
	test_cleanup_kill $REGISTRY_PID
	wait_for_file "$TRASH_DIRECTORY/registry.url" 20 || return 1
	REGISTRY=$(cat "$TRASH_DIRECTORY/registry.url")
	export REGISTRY REGISTRY_PID
}

# registry_fail STATUS COUNT: the next COUNT requests answer STATUS.
registry_fail () {
	curl -sf -X POST "$REGISTRY/_double/fail/$1/$2" >/dev/null
}

# The requests the double served, one a line ("GET /schemas/ids/1").
registry_log () {
	curl -sf "$REGISTRY/_double/log"
}
