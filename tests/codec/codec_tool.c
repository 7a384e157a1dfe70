/*
 * codec_tool.c - the C codec as a filter, for the interoperability test (interop.sh):
 *   codec_tool decode FAMILY FILE...   decode each single-object file, print its JSON form
 *                                      (one line each; "ERROR <reason> <message>" on refusal)
 *   codec_tool encode OUTDIR           read JSON commands (one per line) on stdin, write
 *                                      OUTDIR/<n>.bin framed with the current schema
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ax_codec.h"

#define FILE_MAX (2 * 1024 * 1024)

/* The family called name, or -1. */
static int
family(const char *name)
{
	for (int f = 0; f < AX_FAMILY_COUNT; f++)
		if (strcmp(ax_family_name((enum ax_family)f), name) == 0)
			return f;
	return -1;
}

/* Decode files[0..n) as family f and print their JSON forms. */
static int
decode(struct ax_codec *c, int f, char **files, int n)
{
	struct ax_decoder *d = NULL;
	uint8_t *buf = malloc(FILE_MAX);
	struct ax_err err;
	int rc = EXIT_SUCCESS;

	if (buf == NULL || ax_decoder_new(&d, c, &err) != AX_OK)
		goto fail;
	for (int i = 0; i < n; i++) {
		struct ax_message m;
		FILE *fp = fopen(files[i], "rb");
		size_t len;
		json_t *j;
		char *s;

		if (fp == NULL) {
			perror(files[i]);
			rc = EXIT_FAILURE;
			continue;
		}
		len = fread(buf, 1, FILE_MAX, fp);
		fclose(fp);
		if (ax_decode(d, (enum ax_family)f, buf, len, &m, &err) != AX_OK) {
			printf("ERROR %s %s (%s)\n", ax_avro_reason_name(err.lib_code), err.msg,
			    err.detail);
			continue;
		}
		if ((j = ax_message_to_json(&m)) == NULL ||
		    (s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS)) == NULL) {
			json_decref(j);
			goto fail;
		}
		printf("%s\n", s);
		free(s);
		json_decref(j);
	}
	ax_decoder_free(d);
	free(buf);
	return rc;
fail:
	fprintf(stderr, "codec_tool: %s\n", err.msg);
	ax_decoder_free(d);
	free(buf);
	return EXIT_FAILURE;
}

/* Encode JSON lines from stdin into outdir/<n>.bin. */
static int
encode(struct ax_codec *c, const char *outdir)
{
	char line[1 << 16];
	int n = 0;

	while (fgets(line, sizeof(line), stdin)) {
		json_t *v = json_loads(line, 0, NULL);
		struct ax_err err;
		uint8_t *buf = NULL;
		size_t len = 0;
		int done = 0;

		if (v == NULL) {
			fprintf(stderr, "codec_tool: line %d is not JSON\n", n + 1);
			return EXIT_FAILURE;
		}
		for (int f = 0; f < AX_FAMILY_COUNT && !done; f++)
			if (ax_encode_json(ax_codec_current(c, (enum ax_family)f), v, NULL, &buf,
			        &len, &err) == AX_OK) {
				char path[4096];
				FILE *fp;

				snprintf(path, sizeof(path), "%s/%02d-%s.bin", outdir, n,
				    ax_family_name((enum ax_family)f));
				if ((fp = fopen(path, "wb")) == NULL ||
				    fwrite(buf, 1, len, fp) != len) {
					perror(path);
					return EXIT_FAILURE;
				}
				fclose(fp);
				free(buf);
				done = 1;
			}
		json_decref(v);
		if (!done) {
			fprintf(stderr, "codec_tool: line %d encodes with no schema\n", n + 1);
			return EXIT_FAILURE;
		}
		n++;
	}
	return EXIT_SUCCESS;
}

int
main(int argc, char **argv)
{
	struct ax_codec *c = NULL;
	struct ax_err err;
	int rc, f;

	if (argc < 3 || (strcmp(argv[1], "decode") == 0 && argc < 4)) {
		fprintf(
		    stderr, "usage: codec_tool decode FAMILY FILE... | codec_tool encode OUTDIR\n");
		return 2;
	}
	if (ax_codec_new(&c, NULL, &err) != AX_OK) {
		fprintf(stderr, "codec_tool: %s\n", err.msg);
		return EXIT_FAILURE;
	}
	if (strcmp(argv[1], "encode") == 0)
		rc = encode(c, argv[2]);
	else if (strcmp(argv[1], "decode") == 0 && (f = family(argv[2])) >= 0)
		rc = decode(c, f, argv + 3, argc - 3);
	else
		rc = 2;
	ax_codec_free(c);
	return rc;
}
