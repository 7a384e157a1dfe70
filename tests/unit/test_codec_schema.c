/*
 * test_codec_schema.c - Parsing Canonical Form, CRC-64-AVRO and single-object framing
 * (ax_avro_schema.h), checked against the Avro project's vectors and against fastavro.
 */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ax_avro_schema.h"
#include "ax_codec.h"
#include "ax_hex.h"
#include "ax_schemas.h"

/*
 * The vectors of apache/avro share/test/data/schema-tests.txt (release 1.11/1.12): input,
 * canonical form, and the fingerprint as Java's signed long (0 where the file gives none).
 */
static const struct {
	const char *input, *canonical;
	long long fp;
} vectors[] = {
	{ "\"null\"", "\"null\"", 7195948357588979594LL },
	{ "{\"type\":\"null\"}", "\"null\"", 0 },
	{ "\"boolean\"", "\"boolean\"", -6970731678124411036LL },
	{ "{\"type\":\"boolean\"}", "\"boolean\"", 0 },
	{ "\"int\"", "\"int\"", 8247732601305521295LL },
	{ "{\"type\":\"int\"}", "\"int\"", 0 },
	{ "\"long\"", "\"long\"", -3434872931120570953LL },
	{ "{\"type\":\"long\"}", "\"long\"", 0 },
	{ "\"float\"", "\"float\"", 5583340709985441680LL },
	{ "{\"type\":\"float\"}", "\"float\"", 0 },
	{ "\"double\"", "\"double\"", -8181574048448539266LL },
	{ "{\"type\":\"double\"}", "\"double\"", 0 },
	{ "\"bytes\"", "\"bytes\"", 5746618253357095269LL },
	{ "{\"type\":\"bytes\"}", "\"bytes\"", 0 },
	{ "\"string\"", "\"string\"", -8142146995180207161LL },
	{ "{\"type\":\"string\"}", "\"string\"", 0 },
	{ "[  ]", "[]", -1241056759729112623LL },
	{ "[ \"int\"  ]", "[\"int\"]", -5232228896498058493LL },
	{ "[ \"int\" , {\"type\":\"boolean\"} ]", "[\"int\",\"boolean\"]", 5392556393470105090LL },
	{ "{\"fields\":[], \"type\":\"record\", \"name\":\"foo\"}",
	    "{\"name\":\"foo\",\"type\":\"record\",\"fields\":[]}", -4824392279771201922LL },
	{ "{\"fields\":[], \"type\":\"record\", \"name\":\"foo\", \"namespace\":\"x.y\"}",
	    "{\"name\":\"x.y.foo\",\"type\":\"record\",\"fields\":[]}", 5916914534497305771LL },
	{ "{\"fields\":[], \"type\":\"record\", \"name\":\"a.b.foo\", \"namespace\":\"x.y\"}",
	    "{\"name\":\"a.b.foo\",\"type\":\"record\",\"fields\":[]}", -4616218487480524110LL },
	{ "{\"fields\":[], \"type\":\"record\", \"name\":\"foo\", \"doc\":\"Useful info\"}",
	    "{\"name\":\"foo\",\"type\":\"record\",\"fields\":[]}", -4824392279771201922LL },
	{ "{\"fields\":[], \"type\":\"record\", \"name\":\"foo\", \"aliases\":[\"foo\",\"bar\"]}",
	    "{\"name\":\"foo\",\"type\":\"record\",\"fields\":[]}", -4824392279771201922LL },
	{ "{\"fields\":[], \"type\":\"record\", \"name\":\"foo\", \"doc\":\"foo\", "
	  "\"aliases\":[\"foo\",\"bar\"]}",
	    "{\"name\":\"foo\",\"type\":\"record\",\"fields\":[]}", -4824392279771201922LL },
	{ "{\"fields\":[{\"type\":{\"type\":\"boolean\"}, \"name\":\"f1\"}], \"type\":\"record\", "
	  "\"name\":\"foo\"}",
	    "{\"name\":\"foo\",\"type\":\"record\",\"fields\":[{\"name\":\"f1\",\"type\":"
	    "\"boolean\"}]}",
	    7843277075252814651LL },
	{ "{ \"fields\":[{\"type\":\"boolean\", \"aliases\":[], \"name\":\"f1\", "
	  "\"default\":\"true\"},\n {\"order\":\"descending\",\"name\":\"f2\",\"doc\":\"Hello\","
	  "\"type\":\"int\"}],\n \"type\":\"record\", \"name\":\"foo\"\n}",
	    "{\"name\":\"foo\",\"type\":\"record\",\"fields\":[{\"name\":\"f1\",\"type\":"
	    "\"boolean\"},"
	    "{\"name\":\"f2\",\"type\":\"int\"}]}",
	    -4860222112080293046LL },
	{ "{\"type\":\"enum\", \"name\":\"foo\", \"symbols\":[\"A1\"]}",
	    "{\"name\":\"foo\",\"type\":\"enum\",\"symbols\":[\"A1\"]}", -6342190197741309591LL },
	{ "{\"namespace\":\"x.y.z\", \"type\":\"enum\", \"name\":\"foo\", \"doc\":\"foo bar\", "
	  "\"symbols\":[\"A1\", \"A2\"]}",
	    "{\"name\":\"x.y.z.foo\",\"type\":\"enum\",\"symbols\":[\"A1\",\"A2\"]}",
	    -4448647247586288245LL },
	{ "{\"name\":\"foo\",\"type\":\"fixed\",\"size\":15}",
	    "{\"name\":\"foo\",\"type\":\"fixed\",\"size\":15}", 1756455273707447556LL },
	{ "{\"namespace\":\"x.y.z\", \"type\":\"fixed\", \"name\":\"foo\", \"doc\":\"foo bar\", "
	  "\"size\":32}",
	    "{\"name\":\"x.y.z.foo\",\"type\":\"fixed\",\"size\":32}", -3064184465700546786LL },
	{ "{ \"items\":{\"type\":\"null\"}, \"type\":\"array\"}",
	    "{\"type\":\"array\",\"items\":\"null\"}", -589620603366471059LL },
	{ "{ \"values\":\"string\", \"type\":\"map\"}", "{\"type\":\"map\",\"values\":\"string\"}",
	    -8732877298790414990LL },
	{ "{\"name\":\"PigValue\",\"type\":\"record\",\n \"fields\":[{\"name\":\"value\", "
	  "\"type\":[\"null\", \"int\", \"long\", \"PigValue\"]}]}",
	    "{\"name\":\"PigValue\",\"type\":\"record\",\"fields\":[{\"name\":\"value\",\"type\":"
	    "[\"null\",\"int\",\"long\",\"PigValue\"]}]}",
	    -1759257747318642341LL },
};

START_TEST(test_crc64_matches_the_specification_vectors)
{
	ck_assert_uint_eq(ax_avro_crc64(NULL, 0), AX_AVRO_CRC64_EMPTY);
	ck_assert_uint_eq(ax_avro_crc64((const uint8_t *)"\"int\"", 5), 0x7275d51a3f395c8fULL);
	ck_assert_uint_eq(ax_avro_crc64((const uint8_t *)"\"string\"", 8), 0x8f014872634503c7ULL);
	ck_assert_uint_eq(ax_avro_crc64((const uint8_t *)"\"null\"", 6), 0x63dd24e7cc258f8aULL);
}
END_TEST

START_TEST(test_pcf_and_fingerprint_match_the_avro_project_vectors)
{
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		struct ax_avro_schema *s = NULL;
		struct ax_err err;

		ck_assert_msg(ax_avro_schema_new(
		                  &s, vectors[i].input, strlen(vectors[i].input), &err) == AX_OK,
		    "vector %zu: %s", i, err.msg);
		ck_assert_msg(
		    strcmp(s->pcf, vectors[i].canonical) == 0, "vector %zu: %s", i, s->pcf);
		ck_assert_uint_eq(s->pcf_len, strlen(vectors[i].canonical));
		if (vectors[i].fp)
			ck_assert_msg(s->fingerprint == (uint64_t)vectors[i].fp,
			    "vector %zu: %016llx", i, (unsigned long long)s->fingerprint);
		ax_avro_schema_free(s);
	}
}
END_TEST

START_TEST(test_soe_header_is_marker_then_little_endian_fingerprint)
{
	static const uint8_t want[] = { 0xc3, 0x01, 0x8f, 0x5c, 0x39, 0x3f, 0x1a, 0xd5, 0x75,
		0x72 };
	uint8_t hdr[AX_AVRO_SOE_HEADER_LEN];

	ax_avro_soe_header(hdr, 0x7275d51a3f395c8fULL);
	ck_assert_mem_eq(hdr, want, sizeof(want));
}
END_TEST

START_TEST(test_logical_types_are_stripped_from_the_canonical_form)
{
	static const char in[] =
	    "{\"type\":\"record\",\"name\":\"R\",\"namespace\":\"n\",\"fields\":"
	    "[{\"name\":\"id\",\"type\":{\"type\":\"string\",\"logicalType\":"
	    "\"uuid\"},\"doc\":\"x\",\"default\":\"\"}]}";
	struct ax_avro_schema *s = NULL;
	struct ax_err err;

	ck_assert_int_eq(ax_avro_schema_new(&s, in, strlen(in), &err), AX_OK);
	ck_assert_str_eq(s->pcf, "{\"name\":\"n.R\",\"type\":\"record\",\"fields\":[{\"name\":"
	                         "\"id\",\"type\":\"string\"}]}");
	ck_assert_str_eq(s->root->fields[0].type->logical_type, "uuid");
	ax_avro_schema_free(s);
}
END_TEST

START_TEST(test_nested_names_inherit_the_enclosing_namespace)
{
	static const char in[] =
	    "{\"type\":\"record\",\"name\":\"Outer\",\"namespace\":\"a.b\","
	    "\"fields\":[{\"name\":\"e\",\"type\":{\"type\":\"enum\",\"name\":"
	    "\"E\",\"symbols\":[\"X\"]}},{\"name\":\"again\",\"type\":\"E\"}]}";
	struct ax_avro_schema *s = NULL;
	struct ax_err err;

	ck_assert_int_eq(ax_avro_schema_new(&s, in, strlen(in), &err), AX_OK);
	ck_assert_str_eq(s->pcf,
	    "{\"name\":\"a.b.Outer\",\"type\":\"record\",\"fields\":[{\"name\":\"e\",\"type\":"
	    "{\"name\":\"a.b.E\",\"type\":\"enum\",\"symbols\":[\"X\"]}},{\"name\":\"again\","
	    "\"type\":\"a.b.E\"}]}");
	ck_assert_ptr_eq(s->root->fields[0].type, s->root->fields[1].type);
	ax_avro_schema_free(s);
}
END_TEST

START_TEST(test_compiler_refuses_unknown_names_duplicates_and_bad_json)
{
	static const char *const bad[] = {
		"\"Nope\"",
		"{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":\"int\"},"
		"{\"name\":\"a\",\"type\":\"int\"}]}",
		"[{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\"]},"
		"{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"B\"]}]",
		"{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\",\"A\"]}",
		"{\"type\":\"fixed\",\"name\":\"F\",\"size\":-1}",
		"{\"type\":\"record\",\"name\":\"1R\",\"fields\":[]}",
		"[\"int\",[\"long\"]]",
		"{\"type\":\"record\"",
		"{\"type\":\"record\",\"name\":\"R\",\"fields\":[],\"name\":\"S\"}",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct ax_avro_schema *s = (struct ax_avro_schema *)1;
		struct ax_err err;

		ck_assert_msg(ax_avro_schema_new(&s, bad[i], strlen(bad[i]), &err) == AX_EINVAL,
		    "schema %zu accepted", i);
		ck_assert_ptr_null(s);
		ck_assert_str_ne(err.msg, "");
	}
}
END_TEST

START_TEST(test_contract_fingerprints_match_fastavro)
{
	char path[4096], line[16384];
	const char *dir = getenv("AXIOM_TEST_DATA");
	struct ax_codec *c = NULL;
	struct ax_err err;
	size_t seen = 0;
	FILE *fp;

	ck_assert_ptr_nonnull(dir);
	snprintf(path, sizeof(path), "%s/avro/fingerprints.txt", dir);
	ck_assert_ptr_nonnull(fp = fopen(path, "r"));
	ck_assert_int_eq(ax_codec_new(&c, NULL, &err), AX_OK);
	while (fgets(line, sizeof(line), fp)) {
		char *file = line, *hex, *pcf, *nl;
		uint8_t hdr[AX_AVRO_SOE_HEADER_LEN];
		char want[17];

		if (line[0] == '#')
			continue;
		ck_assert_ptr_nonnull(hex = strchr(file, ' '));
		*hex++ = '\0';
		ck_assert_ptr_nonnull(pcf = strchr(hex, ' '));
		*pcf++ = '\0';
		if ((nl = strchr(pcf, '\n')))
			*nl = '\0';
		for (size_t i = 0; i < ax_codec_schema_count(c); i++) {
			const struct ax_codec_schema *cs = ax_codec_schema_at(c, i);

			if (strcmp(cs->file, file) != 0)
				continue;
			ck_assert_str_eq(cs->schema->pcf, pcf);
			ax_avro_soe_header(hdr, cs->schema->fingerprint);
			ax_hex_encode(want, hdr + 2, 8);
			ck_assert_str_eq(want, hex);
			seen++;
		}
	}
	fclose(fp);
	ck_assert_uint_eq(seen, ax_codec_schema_count(c));
	ck_assert_uint_eq(seen, ax_schema_sources_len);
	ax_codec_free(c);
}
END_TEST

/* Count the fields and named types under j that have no non-empty "doc"; names them. */
static int
undocumented(const json_t *j, const char *file)
{
	int missing = 0;

	if (json_is_array(j)) {
		size_t i;
		json_t *v;

		json_array_foreach(j, i, v) missing += undocumented(v, file);
		return missing;
	}
	if (!json_is_object(j))
		return 0;
	{
		const char *type = json_string_value(json_object_get(j, "type"));
		const char *doc = json_string_value(json_object_get(j, "doc"));
		bool named = type && (strcmp(type, "record") == 0 || strcmp(type, "enum") == 0 ||
		                         strcmp(type, "fixed") == 0);
		bool field = json_object_get(j, "name") && !named;

		if ((named || field) && (doc == NULL || doc[0] == '\0')) {
			fprintf(stderr, "%s: %s has no doc\n", file,
			    json_string_value(json_object_get(j, "name")));
			missing++;
		}
		missing += undocumented(json_object_get(j, "type"), file);
		missing += undocumented(json_object_get(j, "fields"), file);
		missing += undocumented(json_object_get(j, "items"), file);
		missing += undocumented(json_object_get(j, "values"), file);
	}
	return missing;
}

START_TEST(test_every_field_and_named_type_of_the_contract_is_documented)
{
	for (size_t i = 0; i < ax_schema_sources_len; i++) {
		const struct ax_schema_source *src = &ax_schema_sources[i];
		json_t *j = json_loadb((const char *)src->text, src->len, 0, NULL);

		ck_assert_ptr_nonnull(j);
		ck_assert_msg(
		    undocumented(j, src->file) == 0, "%s has undocumented fields", src->file);
		json_decref(j);
	}
}
END_TEST

START_TEST(test_every_command_carries_the_envelope_fields)
{
	static const char *const envelope[] = { "command_id", "actor", "issued_at", "reason",
		"payload" };
	struct ax_codec *c = NULL;
	struct ax_err err;

	ck_assert_int_eq(ax_codec_new(&c, NULL, &err), AX_OK);
	for (size_t i = 0; i < ax_codec_schema_count(c); i++) {
		const struct ax_codec_schema *cs = ax_codec_schema_at(c, i);
		const struct ax_avro_field *f;

		if (cs->family == AX_FAMILY_AUDIT)
			continue;
		for (size_t k = 0; k < sizeof(envelope) / sizeof(envelope[0]); k++)
			ck_assert_msg(ax_avro_record_field(cs->schema->root, envelope[k]) != NULL,
			    "%s lacks %s", cs->file, envelope[k]);
		f = ax_avro_record_field(cs->schema->root, "command_id");
		ck_assert_str_eq(f->type->logical_type, "uuid");
		f = ax_avro_record_field(cs->schema->root, "issued_at");
		ck_assert_str_eq(f->type->logical_type, "timestamp-micros");
		ck_assert_int_eq(
		    ax_avro_record_field(cs->schema->root, "payload")->type->type, AX_AVRO_UNION);
	}
	ax_codec_free(c);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("codec_schema");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_crc64_matches_the_specification_vectors);
	tcase_add_test(tc, test_pcf_and_fingerprint_match_the_avro_project_vectors);
	tcase_add_test(tc, test_soe_header_is_marker_then_little_endian_fingerprint);
	tcase_add_test(tc, test_logical_types_are_stripped_from_the_canonical_form);
	tcase_add_test(tc, test_nested_names_inherit_the_enclosing_namespace);
	tcase_add_test(tc, test_compiler_refuses_unknown_names_duplicates_and_bad_json);
	tcase_add_test(tc, test_contract_fingerprints_match_fastavro);
	tcase_add_test(tc, test_every_field_and_named_type_of_the_contract_is_documented);
	tcase_add_test(tc, test_every_command_carries_the_envelope_fields);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
