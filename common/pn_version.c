#include <stdio.h>

#include <curl/curl.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>
#include <zstd.h>

#include "pn_err.h"
#include "pn_version.h"

void pn_print_version(void)
{
	printf("%s (pn) %s\n", pn_progname(), PN_VERSION);
	printf("librdkafka %s\n", rd_kafka_version_str());
	printf("jansson %s\n", jansson_version_str());
	printf("libpq %d.%d\n", PQlibVersion() / 10000, PQlibVersion() % 10000);
	printf("zstd %s\n", ZSTD_versionString());
	printf("libcurl %s\n", curl_version_info(CURLVERSION_NOW)->version);
}
