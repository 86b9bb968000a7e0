/*
 * pn_version — what --version prints: pn's version and the versions of the
 * libraries the program runs with (read at run time where the library
 * can say, so a mismatched shared library shows).  The options every
 * program takes, -h, -q, -v and -V, are pn_opt's PN_OPT_COMMON.
 */
#ifndef PN_VERSION_H
#define PN_VERSION_H

#define PN_VERSION "0.1.0"

/* Prints the version lines on stdout. */
void pn_print_version(void);

#endif
