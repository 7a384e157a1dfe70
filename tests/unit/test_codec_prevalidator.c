/*
 * test_codec_prevalidator.c - hostile input against the bounded pre-validator
 * (ax_avro_validate.h) and the framing checks of ax_decode: each refusal has its own
 * reason code, the byte offset and the field path; nothing crashes, hangs or leaks (the
 * suite also runs under ASan+UBSan with -DAXIOM_SANITIZE=ON).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ax_codec.h"

/* A test schema with one field of every kind the walker handles. */
static const char test_schema[] =
    "{\"type\":\"record\",\"name\":\"T\",\"namespace\":\"t\",\"fields\":["
    "{\"name\":\"s\",\"type\":\"string\"},"
    "{\"name\":\"i\",\"type\":\"int\"},"
    "{\"name\":\"b\",\"type\":\"boolean\"},"
    "{\"name\":\"e\",\"type\":{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\",\"B\"]}},"
    "{\"name\":\"u\",\"type\":[\"null\",\"string\"]},"
    "{\"name\":\"a\",\"type\":{\"type\":\"array\",\"items\":\"null\"}},"
    "{\"name\":\"m\",\"type\":{\"type\":\"map\",\"values\":\"int\"}},"
    "{\"name\":\"f\",\"type\":{\"type\":\"fixed\",\"name\":\"F\",\"size\":2}},"
    "{\"name\":\"y\",\"type\":\"bytes\"},"
    "{\"name\":\"d\",\"type\":\"double\"}]}";

/* A message under construction. */
struct msg {
	uint8_t b[512];
	size_t n;
};

static void
put_raw(struct msg *m, const void *p, size_t n)
{
	ck_assert_uint_le(m->n + n, sizeof(m->b));
	memcpy(m->b + m->n, p, n);
	m->n += n;
}

static void
put_long(struct msg *m, int64_t v)
{
	uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);

	do {
		uint8_t byte = (uint8_t)(z & 0x7f);

		z >>= 7;
		if (z)
			byte |= 0x80;
		put_raw(m, &byte, 1);
	} while (z);
}

static void
put_str(struct msg *m, const char *s, size_t n)
{
	put_long(m, (int64_t)n);
	put_raw(m, s, n);
}

/* Which field to spoil, and how, when building a test_schema value. */
enum spoil {
	NONE,
	S_NEG,
	S_HUGE,
	S_TRUNC,
	S_BADUTF8,
	S_NUL,
	I_RANGE,
	B_7F,
	E_IDX,
	U_IDX,
	U_NEG,
	A_HUGE,
	A_MIN,
	A_BLOCK_OK,
	A_BLOCK_BAD,
	A_BLOCK_NEGSIZE,
	VARINT_11,
	TRAILING
};

/* Build a value of test_schema, spoiled as asked. */
static void
build(struct msg *m, enum spoil sp)
{
	static const uint8_t dbl[8] = { 0 };

	m->n = 0;
	if (sp == S_NEG)
		put_long(m, -1);
	else if (sp == S_HUGE)
		put_long(m, INT64_C(1) << 33);
	else if (sp == S_TRUNC)
		put_str(m, "abc", 3), m->n -= 1, put_raw(m, "", 0), m->b[0] = 2 * 40;
	else if (sp == S_BADUTF8)
		put_str(m, "ok\xc0\x80", 4);
	else if (sp == S_NUL)
		put_str(m, "a\0b", 3);
	else
		put_str(m, "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80", 15);
	if (sp == S_TRUNC)
		return;
	if (sp == VARINT_11)
		put_raw(m, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 11);
	else
		put_long(m, sp == I_RANGE ? (INT64_C(1) << 40) : -5);
	put_raw(m, sp == B_7F ? "\x7f" : "\x01", 1);
	put_long(m, sp == E_IDX ? 2 : 1);
	put_long(m, sp == U_IDX ? 5 : sp == U_NEG ? -1 : 1);
	put_str(m, "x", 1);
	if (sp == A_HUGE) {
		put_long(m, INT64_C(1) << 31);
	} else if (sp == A_MIN) {
		put_raw(m, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 10); /* INT64_MIN */
	} else if (sp == A_BLOCK_OK || sp == A_BLOCK_BAD || sp == A_BLOCK_NEGSIZE) {
		put_long(m, -3); /* 3 nulls, then the block's byte size */
		put_long(m, sp == A_BLOCK_OK ? 0 : sp == A_BLOCK_BAD ? 7 : -7);
	} else {
		put_long(m, 3);
	}
	put_long(m, 0);
	put_long(m, 1);
	put_str(m, "k", 1);
	put_long(m, 7);
	put_long(m, 0);
	put_raw(m, "ab", 2);
	put_str(m, "\x00\xff", 2);
	put_raw(m, dbl, 8);
	if (sp == TRAILING)
		put_raw(m, "zz", 2);
}

static struct ax_avro_schema *schema;
static struct ax_avro_limits lim;

static void
setup(void)
{
	struct ax_err err;

	ck_assert_int_eq(
	    ax_avro_schema_new(&schema, test_schema, strlen(test_schema), &err), AX_OK);
	ax_avro_limits_default(&lim);
}

static void
teardown(void)
{
	ax_avro_schema_free(schema);
	schema = NULL;
}

/* Validate m and return the reason (0 when valid); err is filled. */
static int
check_msg(const struct msg *m, struct ax_err *err)
{
	int rc = ax_avro_validate(schema->root, m->b, m->n, 0, &lim, err);

	if (rc == AX_OK)
		return 0;
	ck_assert_int_eq(rc, AX_EINVAL);
	ck_assert_int_eq(err->code, AX_EINVAL);
	ck_assert_str_ne(err->msg, "");
	ck_assert_ptr_nonnull(strstr(err->detail, "at byte offset "));
	return err->lib_code;
}

#define REFUSES(spoil, reason, detail_part)                                                        \
	do {                                                                                       \
		struct msg m_;                                                                     \
		struct ax_err e_;                                                                  \
		build(&m_, spoil);                                                                 \
		ck_assert_int_eq(check_msg(&m_, &e_), reason);                                     \
		ck_assert_msg(strstr(e_.detail, detail_part) != NULL, "detail: %s", e_.detail);    \
	} while (0)

START_TEST(test_prevalidator_accepts_a_valid_value)
{
	struct msg m;
	struct ax_err err;

	build(&m, NONE);
	ck_assert_int_eq(check_msg(&m, &err), 0);
	build(&m, A_BLOCK_OK);
	ck_assert_int_eq(check_msg(&m, &err), 0);
}
END_TEST

START_TEST(test_prevalidator_rejects_negative_string_length)
{
	REFUSES(S_NEG, AX_AVRO_E_NEGATIVE_LENGTH, "at byte offset 0, field s");
}
END_TEST

START_TEST(test_prevalidator_rejects_string_longer_than_the_cap_before_reading_it)
{
	REFUSES(S_HUGE, AX_AVRO_E_LENGTH_CAP, "field s");
}
END_TEST

START_TEST(test_prevalidator_rejects_length_past_the_end_of_the_message)
{
	REFUSES(S_TRUNC, AX_AVRO_E_TRUNCATED, "field s");
}
END_TEST

START_TEST(test_prevalidator_rejects_invalid_utf8_and_overlong_forms)
{
	static const char *const bad[] = { "\xff", "\xc0\x80", "\xed\xa0\x80", "\xe2\x82",
		"\xf4\x90\x80\x80", "\xf8\x88\x80\x80\x80", "a\x80", "\xe0\x80\xaf" };

	REFUSES(S_BADUTF8, AX_AVRO_E_UTF8, "at byte offset 3, field s");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct msg m;
		struct ax_err err;

		build(&m, NONE);
		m.n = 0;
		put_str(&m, bad[i], strlen(bad[i]));
		ck_assert_msg(check_msg(&m, &err) == AX_AVRO_E_UTF8, "case %zu: %s", i, err.msg);
	}
}
END_TEST

START_TEST(test_prevalidator_rejects_embedded_nul)
{
	REFUSES(S_NUL, AX_AVRO_E_NUL, "at byte offset 2, field s");
}
END_TEST

START_TEST(test_prevalidator_rejects_varint_longer_than_ten_bytes)
{
	REFUSES(VARINT_11, AX_AVRO_E_VARINT_TOO_LONG, "at byte offset 16, field i");
}
END_TEST

START_TEST(test_prevalidator_rejects_int_outside_32_bits)
{
	REFUSES(I_RANGE, AX_AVRO_E_INT_RANGE, "field i");
}
END_TEST

START_TEST(test_prevalidator_rejects_non_canonical_boolean)
{
	REFUSES(B_7F, AX_AVRO_E_BOOLEAN, "field b");
}
END_TEST

START_TEST(test_prevalidator_rejects_enum_index_out_of_range)
{
	REFUSES(E_IDX, AX_AVRO_E_ENUM_INDEX, "field e");
}
END_TEST

START_TEST(test_prevalidator_rejects_union_index_out_of_range)
{
	REFUSES(U_IDX, AX_AVRO_E_UNION_INDEX, "field u");
	REFUSES(U_NEG, AX_AVRO_E_UNION_INDEX, "field u");
}
END_TEST

START_TEST(test_prevalidator_caps_collection_counts_without_spinning)
{
	clock_t t0 = clock();

	REFUSES(A_HUGE, AX_AVRO_E_COUNT_CAP, "field a");
	REFUSES(A_MIN, AX_AVRO_E_COUNT_CAP, "field a");
	ck_assert_int_lt(clock() - t0, CLOCKS_PER_SEC / 10);
}
END_TEST

START_TEST(test_prevalidator_caps_zero_byte_items_far_below_the_item_cap)
{
	struct msg m;
	struct ax_err err;

	build(&m, NONE); /* the array of nulls holds 3: fine */
	ck_assert_int_eq(check_msg(&m, &err), 0);
	m.n = 0;
	put_str(&m, "s", 1);
	put_long(&m, 1);
	put_raw(&m, "\x01", 1);
	put_long(&m, 0);
	put_long(&m, 0);
	put_long(&m, AX_AVRO_ZERO_SIZE_ITEMS_MAX + 1); /* 1025 nulls in 2 bytes */
	ck_assert_int_eq(check_msg(&m, &err), AX_AVRO_E_COUNT_CAP);
	ck_assert_ptr_nonnull(strstr(err.msg, "zero-byte items"));
	ck_assert_ptr_nonnull(strstr(err.detail, "field a"));
}
END_TEST

START_TEST(test_prevalidator_checks_block_byte_sizes)
{
	REFUSES(A_BLOCK_BAD, AX_AVRO_E_BLOCK_SIZE, "field a");
	REFUSES(A_BLOCK_NEGSIZE, AX_AVRO_E_NEGATIVE_LENGTH, "field a");
}
END_TEST

START_TEST(test_prevalidator_rejects_trailing_bytes)
{
	REFUSES(TRAILING, AX_AVRO_E_TRAILING, "field (top level)");
}
END_TEST

START_TEST(test_prevalidator_refuses_every_proper_prefix)
{
	struct msg full, m;

	build(&full, NONE);
	for (size_t n = 0; n < full.n; n++) {
		struct ax_err err;
		int reason;

		memcpy(m.b, full.b, n);
		m.n = n;
		reason = check_msg(&m, &err);
		ck_assert_msg(reason == AX_AVRO_E_TRUNCATED, "prefix %zu: %s", n, err.msg);
	}
}
END_TEST

START_TEST(test_prevalidator_caps_nesting_depth_of_recursive_schemas)
{
	static const char rec[] =
	    "{\"type\":\"record\",\"name\":\"N\",\"fields\":[{\"name\":\"next\","
	    "\"type\":[\"null\",\"N\"]}]}";
	struct ax_avro_schema *s = NULL;
	struct ax_err err;
	struct msg m = { .n = 0 };

	ck_assert_int_eq(ax_avro_schema_new(&s, rec, strlen(rec), &err), AX_OK);
	for (int i = 0; i < 200; i++)
		put_long(&m, 1); /* branch N, again and again */
	put_long(&m, 0);
	ck_assert_int_eq(ax_avro_validate(s->root, m.b, m.n, 0, &lim, &err), AX_EINVAL);
	ck_assert_int_eq(err.lib_code, AX_AVRO_E_DEPTH);
	ck_assert_ptr_nonnull(strstr(err.detail, "next<N>.next<N>"));
	lim.max_depth = AX_AVRO_DEPTH_MAX;
	m.n = 0;
	for (int i = 0; i < 20; i++)
		put_long(&m, 1);
	put_long(&m, 0);
	ck_assert_int_eq(ax_avro_validate(s->root, m.b, m.n, 0, &lim, &err), AX_OK);
	ax_avro_schema_free(s);
}
END_TEST

START_TEST(test_reason_codes_have_distinct_names)
{
	for (int a = 0; a < AX_AVRO_REASON_COUNT; a++) {
		ck_assert_str_ne(ax_avro_reason_name(a), "unknown");
		for (int b = 0; b < a; b++)
			ck_assert_str_ne(ax_avro_reason_name(a), ax_avro_reason_name(b));
	}
	ck_assert_str_eq(ax_avro_reason_name(AX_AVRO_REASON_COUNT), "unknown");
}
END_TEST

/* ---- framing and real commands, through ax_decode ------------------------------------- */

static const char enroll_json[] =
    "{\"command_id\":\"0b6c1c52-8a3e-4d59-9d0c-3f7f2c1a0003\",\"actor\":\"admin\","
    "\"issued_at\":1764403200000002,\"reason\":\"QC author role\",\"payload\":{\"UserEnroll\":"
    "{\"user_id\":\"alice\",\"display_name\":\"Alice\"}}}";

/* Encode grant_json into *buf with the current control schema. */
static void
encode_enroll(struct ax_codec *c, uint8_t **buf, size_t *len)
{
	json_t *v = json_loads(enroll_json, 0, NULL);
	struct ax_err err;

	ck_assert_int_eq(
	    ax_encode_json(ax_codec_current(c, AX_FAMILY_CONTROL), v, NULL, buf, len, &err), AX_OK);
	json_decref(v);
}

START_TEST(test_decoder_refuses_bad_framing_with_distinct_codes)
{
	struct ax_codec *c = NULL;
	struct ax_decoder *d = NULL;
	struct ax_message msg;
	struct ax_err err;
	uint8_t *buf, copy[1024];
	size_t len;

	ck_assert_int_eq(ax_codec_new(&c, NULL, &err), AX_OK);
	ck_assert_int_eq(ax_decoder_new(&d, c, &err), AX_OK);
	encode_enroll(c, &buf, &len);
	ck_assert_int_eq(ax_decode(d, AX_FAMILY_CONTROL, buf, len, &msg, &err), AX_OK);

	ck_assert_int_eq(ax_decode(d, AX_FAMILY_CONTROL, buf, 9, &msg, &err), AX_EINVAL);
	ck_assert_int_eq(err.lib_code, AX_AVRO_E_SHORT_HEADER);

	memcpy(copy, buf, len);
	copy[1] = 0x02;
	ck_assert_int_eq(ax_decode(d, AX_FAMILY_CONTROL, copy, len, &msg, &err), AX_EINVAL);
	ck_assert_int_eq(err.lib_code, AX_AVRO_E_MAGIC);
	ck_assert_str_eq(
	    err.msg, "invalid avro message: starts with c3 02, not the single-object marker c3 01");

	memcpy(copy, buf, len);
	copy[5] ^= 0x40;
	ck_assert_int_eq(ax_decode(d, AX_FAMILY_CONTROL, copy, len, &msg, &err), AX_EINVAL);
	ck_assert_int_eq(err.lib_code, AX_AVRO_E_UNKNOWN_FINGERPRINT);
	ck_assert_str_eq(err.detail, "at byte offset 2");

	ck_assert_int_eq(ax_decode(d, AX_FAMILY_CONTROL, buf, 2 * 1024 * 1024, &msg, &err),
	    AX_EINVAL); /* refused on the length alone: buf is never read past len */
	ck_assert_int_eq(err.lib_code, AX_AVRO_E_TOO_LARGE);

	memcpy(copy, buf, len);
	copy[len] = 0;
	ck_assert_int_eq(ax_decode(d, AX_FAMILY_CONTROL, copy, len + 1, &msg, &err), AX_EINVAL);
	ck_assert_int_eq(err.lib_code, AX_AVRO_E_TRAILING);
	ck_assert_uint_eq(len, 92);
	ck_assert_str_eq(err.detail, "at byte offset 92, field (top level)");

	/* the user_id string of the payload, made to claim a negative length */
	memcpy(copy, buf, len);
	ck_assert_uint_eq(copy[77], 0x0a); /* 10 + command_id 37, actor 6, issued_at 8, reason 15,
	                                      branch 1: user_id's length, "alice" */
	copy[77] = 0x01;                   /* zigzag -1 */
	ck_assert_int_eq(ax_decode(d, AX_FAMILY_CONTROL, copy, len, &msg, &err), AX_EINVAL);
	ck_assert_int_eq(err.lib_code, AX_AVRO_E_NEGATIVE_LENGTH);
	ck_assert_str_eq(err.detail, "at byte offset 77, field payload<UserEnroll>.user_id");

	/* still decodes good messages afterwards */
	ck_assert_int_eq(ax_decode(d, AX_FAMILY_CONTROL, buf, len, &msg, &err), AX_OK);
	ck_assert_str_eq(msg.u.user_enroll.user_id, "alice");
	free(buf);
	ax_decoder_free(d);
	ax_codec_free(c);
}
END_TEST

START_TEST(test_decoder_survives_every_prefix_and_random_mutations_of_a_command)
{
	struct ax_codec *c = NULL;
	struct ax_decoder *d = NULL;
	struct ax_message msg;
	struct ax_err err;
	uint8_t *buf, copy[1024];
	size_t len;
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	int ok = 0, refused[AX_AVRO_REASON_COUNT] = { 0 };

	ck_assert_int_eq(ax_codec_new(&c, NULL, &err), AX_OK);
	ck_assert_int_eq(ax_decoder_new(&d, c, &err), AX_OK);
	encode_enroll(c, &buf, &len);
	for (size_t n = 0; n < len; n++) {
		ck_assert_int_eq(ax_decode(d, AX_FAMILY_CONTROL, buf, n, &msg, &err), AX_EINVAL);
		ck_assert_int_gt(err.lib_code, 0);
	}
	for (int i = 0; i < 50000; i++) {
		size_t n = len;
		int flips;

		memcpy(copy, buf, len);
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		flips = 1 + (int)(x % 4);
		for (int k = 0; k < flips; k++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			copy[10 + (x >> 8) % (len - 10)] = (uint8_t)x;
		}
		if (x % 7 == 0)
			n = 10 + (x >> 16) % (len - 10);
		if (ax_decode(d, AX_FAMILY_CONTROL, copy, n, &msg, &err) == AX_OK) {
			ok++;
		} else {
			ck_assert_int_eq(err.code, AX_EINVAL);
			ck_assert_int_gt(err.lib_code, 0);
			ck_assert_int_lt(err.lib_code, AX_AVRO_REASON_COUNT);
			ck_assert_int_ne(
			    err.lib_code, AX_AVRO_E_DECODE); /* avro-c never disagrees */
			refused[err.lib_code]++;
		}
	}
	ck_assert_int_gt(ok, 0);
	ck_assert_int_gt(refused[AX_AVRO_E_TRUNCATED], 0);
	free(buf);
	ax_decoder_free(d);
	ax_codec_free(c);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("codec_prevalidator");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_prevalidator_accepts_a_valid_value);
	tcase_add_test(tc, test_prevalidator_rejects_negative_string_length);
	tcase_add_test(tc, test_prevalidator_rejects_string_longer_than_the_cap_before_reading_it);
	tcase_add_test(tc, test_prevalidator_rejects_length_past_the_end_of_the_message);
	tcase_add_test(tc, test_prevalidator_rejects_invalid_utf8_and_overlong_forms);
	tcase_add_test(tc, test_prevalidator_rejects_embedded_nul);
	tcase_add_test(tc, test_prevalidator_rejects_varint_longer_than_ten_bytes);
	tcase_add_test(tc, test_prevalidator_rejects_int_outside_32_bits);
	tcase_add_test(tc, test_prevalidator_rejects_non_canonical_boolean);
	tcase_add_test(tc, test_prevalidator_rejects_enum_index_out_of_range);
	tcase_add_test(tc, test_prevalidator_rejects_union_index_out_of_range);
	tcase_add_test(tc, test_prevalidator_caps_collection_counts_without_spinning);
	tcase_add_test(tc, test_prevalidator_caps_zero_byte_items_far_below_the_item_cap);
	tcase_add_test(tc, test_prevalidator_checks_block_byte_sizes);
	tcase_add_test(tc, test_prevalidator_rejects_trailing_bytes);
	tcase_add_test(tc, test_prevalidator_refuses_every_proper_prefix);
	tcase_add_test(tc, test_prevalidator_caps_nesting_depth_of_recursive_schemas);
	tcase_add_test(tc, test_reason_codes_have_distinct_names);
	tcase_add_test(tc, test_decoder_refuses_bad_framing_with_distinct_codes);
	tcase_add_test(tc, test_decoder_survives_every_prefix_and_random_mutations_of_a_command);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
