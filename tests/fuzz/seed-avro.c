/*
 * seed-avro — seeds for fuzz-avro: each NDJSON line on stdin encoded with
 * a schema as a Confluent frame (schema id 1), written to DIR/NAME-N with
 * the selector byte that makes fuzz-avro decode it with that schema.
 *
 *     seed-avro SCHEMA SELECTOR DIR NAME < records.ndjson
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pn_avro.h"
#include "pn_json.h"

int main(int argc, char **argv)
{
	struct pn_buf why = PN_BUF_INIT, frame = PN_BUF_INIT;
	struct pn_avro_schema *s;
	struct pn_avro_codec c;
	struct pn_json j;
	char *line = NULL, path[4096];
	size_t cap = 0;
	ssize_t len;
	int n = 0;

	if (argc != 5) {
		fprintf(stderr, "usage: seed-avro SCHEMA SELECTOR DIR NAME < records.ndjson\n");
		return 2;
	}
	if (!(s = pn_avro_schema_load(argv[1], &why))) {
		fprintf(stderr, "seed-avro: %s: %s\n", argv[1], why.data);
		return 1;
	}
	pn_avro_codec_init(&c);
	pn_json_init(&j);
	while ((len = getline(&line, &cap, stdin)) > 0) {
		FILE *f;

		if (line[len - 1] == '\n')
			len--;
		pn_buf_reset(&c.out);
		if (pn_json_parse(&j, line, (size_t)len) || pn_avro_encode(&c, s, &j, 0, 1)) {
			fprintf(stderr, "seed-avro: line %d: %s\n", n + 1,
				c.why.len ? c.why.data : "not JSON");
			return 1;
		}
		pn_buf_reset(&frame);
		pn_buf_addc(&frame, (char)atoi(argv[2]));
		pn_avro_frame(&frame, 1);
		pn_buf_add(&frame, c.out.data, c.out.len);
		snprintf(path, sizeof(path), "%s/%s-%d", argv[3], argv[4], ++n);
		if (!(f = fopen(path, "wb")) || fwrite(frame.data, 1, frame.len, f) != frame.len ||
		    fclose(f)) {
			perror(path);
			return 1;
		}
	}
	free(line);
	pn_json_release(&j);
	pn_avro_codec_release(&c);
	pn_avro_schema_free(s);
	pn_buf_release(&why);
	pn_buf_release(&frame);
	return 0;
}
