/*
 * bench_codec.c - micro-benchmark of the decode path: pre-validate + avro-c decode + map
 * into struct ax_message, over the example commands (tests/data/avro/examples.jsonl),
 * one thread. Prints commands per second; not a timed test (run it by hand:
 * build/tests/codec/bench_codec tests/data/avro/examples.jsonl [seconds]).
 */
#include <avro.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ax_codec.h"

#define MAX_MSGS 64

/* avro-c's allocations, counted: live bytes now and at most (single-threaded bench). */
static size_t live, peak;

/* An avro-c allocator (avro_set_allocator) that counts live bytes. */
static void *
counting_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
	void *p;

	(void)ud;
	if (nsize == 0) {
		free(ptr);
		live -= osize;
		return NULL;
	}
	if ((p = realloc(ptr, nsize)) == NULL)
		return NULL;
	live += nsize - osize;
	if (live > peak)
		peak = live;
	return p;
}

/* Seconds on the monotonic clock. */
static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	struct {
		uint8_t *buf;
		size_t len;
		enum ax_family f;
	} msgs[MAX_MSGS];
	struct ax_codec *c = NULL;
	struct ax_decoder *d = NULL;
	struct ax_message m;
	struct ax_err err;
	size_t n = 0, bytes = 0;
	double secs = argc > 2 ? strtod(argv[2], NULL) : 2.0, t0, t;
	char line[8192];
	FILE *fp;
	long iters = 0, validated = 0;
	int rc = EXIT_FAILURE;

	if (argc < 2) {
		fprintf(stderr, "usage: bench_codec EXAMPLES.jsonl [SECONDS]\n");
		return 2;
	}
	avro_set_allocator(counting_alloc, NULL);
	if ((fp = fopen(argv[1], "r")) == NULL) {
		perror(argv[1]);
		return 1;
	}
	if (ax_codec_new(&c, NULL, &err) != AX_OK || ax_decoder_new(&d, c, &err) != AX_OK)
		goto fail;
	while (n < MAX_MSGS && fgets(line, sizeof(line), fp)) {
		json_t *v = json_loads(line, 0, NULL);
		int f, ok = 0;

		if (v == NULL || json_object_get(v, "command_id") == NULL) { /* commands only */
			json_decref(v);
			continue;
		}
		for (f = 0; f < AX_FAMILY_COUNT && !ok; f++)
			if (ax_encode_json(ax_codec_current(c, f), v, NULL, &msgs[n].buf,
			        &msgs[n].len, &err) == AX_OK) {
				msgs[n].f = (enum ax_family)f;
				bytes += msgs[n].len;
				ok = 1;
				n++;
			}
		json_decref(v);
	}
	fclose(fp);
	fp = NULL;
	if (n == 0) {
		fprintf(stderr, "bench_codec: no commands in %s\n", argv[1]);
		goto out;
	}

	t0 = now();
	do {
		for (int k = 0; k < 1000; k++)
			for (size_t i = 0; i < n; i++) {
				const struct ax_codec_schema *cs = ax_codec_current(c, msgs[i].f);

				if (ax_avro_validate(cs->schema->root, msgs[i].buf + 10,
				        msgs[i].len - 10, 10,
				        &(struct ax_avro_limits){ 1 << 20, 1 << 18, 65536, 32 },
				        &err) != AX_OK)
					goto fail;
				validated++;
			}
	} while ((t = now() - t0) < secs / 4);
	printf("validate only:         %10.0f commands/s (%.0f MB/s)\n", validated / t,
	    validated / t * (double)bytes / (double)n / 1e6);

	for (size_t i = 0; i < n; i++) {
		size_t base;

		ax_decoder_release(d);
		base = live;
		peak = live;
		if (ax_decode(d, msgs[i].f, msgs[i].buf, msgs[i].len, &m, &err) != AX_OK)
			goto fail;
		printf("  %-20s %4zu bytes on the wire, avro-c holds %5zu bytes while decoded\n",
		    ax_kind_name(m.kind), msgs[i].len, peak - base);
	}

	t0 = now();
	do {
		for (int k = 0; k < 100; k++)
			for (size_t i = 0; i < n; i++) {
				if (ax_decode(d, msgs[i].f, msgs[i].buf, msgs[i].len, &m, &err) !=
				    AX_OK)
					goto fail;
				iters++;
			}
	} while ((t = now() - t0) < secs);
	printf("validate+decode+map:   %10.0f commands/s, one thread (%zu kinds, mean %zu bytes, "
	       "%.2f s)\n",
	    iters / t, n, bytes / n, t);
	rc = EXIT_SUCCESS;
	goto out;
fail:
	ax_err_print(stderr, "bench_codec", &err);
out:
	for (size_t i = 0; i < n; i++)
		free(msgs[i].buf);
	if (fp)
		fclose(fp);
	ax_decoder_free(d);
	ax_codec_free(c);
	return rc;
}
