#include <stdio.h>

#include <curl/curl.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>
#include <zstd.h>

#include "pn_err.h"
#include "pn_version.h"

/*
 * Weak: a program is linked (--as-needed) only with the libraries it calls,
 * so a program loads fewer of them, and less memory: --version names those
 * it was linked with.
 */
#pragma weak rd_kafka_version_str
#pragma weak jansson_version_str
#pragma weak PQlibVersion
#pragma weak ZSTD_versionString
#pragma weak curl_version_info

void pn_print_version(void)
{
	printf("%s (pn) %s\n", pn_progname(), PN_VERSION);
	if (rd_kafka_version_str)
		printf("librdkafka %s\n", rd_kafka_version_str());
	if (jansson_version_str)
		printf("jansson %s\n", jansson_version_str());
	if (PQlibVersion)
		printf("libpq %d.%d\n", PQlibVersion() / 10000, PQlibVersion() % 10000);
	if (ZSTD_versionString)
		printf("zstd %s\n", ZSTD_versionString());
	if (curl_version_info)
		printf("libcurl %s\n", curl_version_info(CURLVERSION_NOW)->version);
}
