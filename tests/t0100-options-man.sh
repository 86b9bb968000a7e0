#!/bin/bash
# t0100-options-man: each program's options, declared once in its pn_opt
# table, are the options its man page documents, both ways; --help keeps
# its columns; a bad value of each kind is one line of reason, the usage
# and 64.
. "$(dirname "$0")/lib.sh"

PROGRAMS="pn-aggregate pn-archive pn-broker pn-consume pn-produce pn-sink-pg"

# The options of --help, one a line: "-b --brokers" or "--stats".  Option
# lines start at column 2 ("  -b, --brokers") or 6 ("      --stats"); a
# wrapped help line starts at column 30.
help_options () {
	sed -n -e 's/^  -\(.\), --\([a-z0-9-]*\).*/-\1 --\2/p' \
		-e 's/^      --\([a-z0-9-]*\).*/--\1/p' "$1" | sort
}

# The options of the man page's option list: the .It Fl lines at the first
# level of the lists in DESCRIPTION (nested lists, such as the values of
# pn-consume -o, are not options).  ".It Fl b , Fl -brokers Ar brokers"
# gives "-b --brokers"; ".It Fl -from Ar time , Fl -to Ar time" gives
# "--from" and "--to".
man_options () {
	awk '
	/^\.Sh / { desc = ($2 == "DESCRIPTION"); depth = 0; next }
	!desc { next }
	/^\.Bl / { depth++; next }
	/^\.El/ { depth--; next }
	depth != 1 || !/^\.It Fl / { next }
	{
		short = ""
		for (i = 2; i < NF; i++) {
			if ($i != "Fl")
				continue
			name = $(i + 1)
			if (name ~ /^-/) {
				print (short != "" ? "-" short " " : "") "-" name
				short = ""
			} else if (length(name) == 1) {
				if (short != "")
					print "-" short
				short = name
			}
		}
		if (short != "")
			print "-" short
	}' "$1" | sort
}

# Prints the option lines of --help whose help text does not start at
# column 30, on the same line or, after long names, on the next.
misaligned () {
	awk '
	/^  -., --/ || /^      --/ {
		if (substr($0, 29, 2) == "  " && substr($0, 31, 1) ~ /[^ ]/)
			next
		if (length($0) > 28 && (getline next_line) > 0 &&
		    substr(next_line, 1, 30) ~ /^ +$/ && substr(next_line, 31, 1) ~ /[^ ]/)
			next
		print
	}' "$1"
}

for prog in $PROGRAMS; do
	test_expect_success "$prog: the man page documents the options of --help, and no others" "
		$prog --help >help &&
		help_options help >from-help &&
		test \$(wc -l <from-help) -gt 4 &&
		man_options \"\$PN_SRC/man/$prog.1\" >from-man &&
		test_cmp from-help from-man
	"

	test_expect_success "$prog: --help puts every help text in column 30" "
		$prog --help >help &&
		misaligned help >bad &&
		test_must_be_empty bad
	"
done

# The options of --help (as help_options prints them) that the usage
# synopsis at its top names by neither name; -h, -V, -q, -v are taken as read.
missing_from_usage () {
	sed -n '1,/^$/p' "$1" >usage &&
	help_options "$1" | while read -r first second; do
		case $first in -h|-V|-q|-v) continue ;; esac
		grep -q -e "$first[] =|.,[]" -e "$first\$" usage && continue
		test -n "$second" && grep -q -e "$second[] =|.,[]" -e "$second\$" usage &&
			continue
		echo "$first $second"
	done
}

for prog in $PROGRAMS; do
	test_expect_success "$prog: the usage synopsis names every option" "
		$prog --help >help &&
		missing_from_usage help >missing &&
		test_must_be_empty missing
	"
done

# scripts/pn-pipeline's --help lists its options as "  -b BROKERS  ..."
# or "  --once  ...", one a line, at column 2.
pipeline_help_options () {
	sed -n -e 's/^  -\(.\), --\([a-z0-9-]*\).*/-\1 --\2/p' \
		-e 's/^  -\([A-Za-z]\)\( .*\)\{0,1\}$/-\1/p' \
		-e 's/^  --\([a-z0-9-]*\).*/--\1/p' "$1" | sort
}

test_expect_success 'pn-pipeline: its man page documents the options of --help, and no others' '
	"$PN_SRC/scripts/pn-pipeline" --help >help &&
	pipeline_help_options help >from-help &&
	test $(wc -l <from-help) -gt 10 &&
	man_options "$PN_SRC/man/pn-pipeline.1" >from-man &&
	test_cmp from-help from-man
'

test_expect_success 'a bad value of each kind: its reason, the usage, 64' '
	test_expect_code 64 pn-consume -t x -c 0 2>err &&
	head -n1 err >actual &&
	echo "pn-consume: bad count '\''0'\''" >expect &&
	test_cmp expect actual &&
	grep "^usage: pn-consume" err &&
	test_expect_code 64 pn-consume -t x --commit-interval 1y 2>err &&
	grep "^pn-consume: bad duration .1y.$" err &&
	test_expect_code 64 pn-consume -t x --until yesterday 2>err &&
	grep "^pn-consume: bad time .yesterday.$" err &&
	test_expect_code 64 pn-archive write --max-bytes 0 d 2>err &&
	grep "^pn-archive: bad size .0.$" err &&
	test_expect_code 64 pn-archive write --time-field= d 2>err &&
	grep "^pn-archive: empty --time-field$" err &&
	test_expect_code 64 pn-archive cat --retries 101 d 2>err &&
	grep "^pn-archive: bad --retries .101.$" err &&
	test_expect_code 64 pn-broker --brokers 2>err &&
	grep "^pn-broker: unknown or incomplete option$" err &&
	grep "^usage: pn-broker" err
'

test_expect_success 'every program takes -h, -V, -q and -v' '
	for prog in $PROGRAMS; do
		$prog -h >help &&
		grep "^usage: $prog" help &&
		$prog -V >version &&
		grep "^$prog (pn) " version &&
		grep "^  -q, --quiet " help &&
		grep "^  -v, --verbose " help || return 1
	done
'

test_done
