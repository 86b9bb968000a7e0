/*
 * pn_version — what --version prints: pn's version and the versions of the
 * libraries the program runs with (read at run time where the library
 * can say, so a mismatched shared library shows); and the options every
 * program takes: -h, -q, -v, -V.
 */
#ifndef PN_VERSION_H
#define PN_VERSION_H

#include <getopt.h>

#define PN_VERSION "0.1.0"

/* Prints the version lines on stdout. */
void pn_print_version(void);

/* The end of every program's getopt_long table: the options of
 * pn_common_option(), then the terminator. */
#define PN_COMMON_LONGOPTS \
	{ "help", no_argument, NULL, 'h' }, \
	{ "quiet", no_argument, NULL, 'q' }, \
	{ "verbose", no_argument, NULL, 'v' }, \
	{ "version", no_argument, NULL, 'V' }, \
	{ NULL, 0, NULL, 0 }

/* Handles -h (usage() and exit 0), -q, -v and -V (the version and exit 0):
 * 1 when c was one of them. */
int pn_common_option(int c, void (*usage)(void));

#endif
