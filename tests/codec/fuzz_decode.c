/*
 * fuzz_decode.c - libFuzzer target for the command decoder: any bytes, any topic family.
 *
 * Invariant checked: ax_decode returns AX_OK or AX_EINVAL with a reason code, never
 * crashes, never reads out of bounds, never leaks (ASan+UBSan, leak detection on), and
 * avro-c never refuses bytes the pre-validator passed (that would be AX_AVRO_E_DECODE).
 */
#include <stdint.h>
#include <stdlib.h>

#include "ax_codec.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ax_codec *codec;
static struct ax_decoder *dec;

/* Load the contract once, before the first input (libFuzzer's per-input leak check). */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct ax_err err;

	(void)argc;
	(void)argv;
	if (ax_codec_new(&codec, NULL, &err) != AX_OK || ax_decoder_new(&dec, codec, &err) != AX_OK)
		abort();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ax_message msg;
	struct ax_err err;

	for (int f = 0; f < AX_FAMILY_COUNT; f++) {
		int rc = ax_decode(dec, (enum ax_family)f, data, size, &msg, &err);

		if (rc != AX_OK &&
		    (rc != AX_EINVAL || err.lib_code <= 0 || err.lib_code >= AX_AVRO_REASON_COUNT ||
		        err.lib_code == AX_AVRO_E_DECODE))
			abort();
	}
	ax_decoder_release(dec); /* every input frees what it allocated */
	return 0;
}
