/*
 * test_partition.c - the data topic's partitioner (ax_partition.h) against the Java
 * client's own test values (org.apache.kafka.common.utils.UtilsTest, testMurmur2) and
 * librdkafka's (rdmurmur2.c unit test, "kafka").
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "ax_partition.h"

static const struct {
	const char *key;
	int32_t java; /* Utils.murmur2, a signed int in Java */
} vectors[] = {
	{ "21", -973932308 },
	{ "foobar", -790332482 },
	{ "a-little-bit-long-string", -985981536 },
	{ "a-little-bit-longer-string", -1486304829 },
	{ "lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971 },
	{ "abc", 479470107 },
	{ "kafka", (int32_t)0xd067cf64u },
};

START_TEST(test_murmur2_gives_the_java_clients_values)
{
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++)
		ck_assert_msg(
		    ax_murmur2(vectors[i].key, strlen(vectors[i].key)) == (uint32_t)vectors[i].java,
		    "murmur2(\"%s\")", vectors[i].key);
}
END_TEST

START_TEST(test_the_partition_is_the_positive_hash_modulo_the_count)
{
	/* murmur2("21") is negative: the sign bit is masked, not the absolute value taken */
	uint32_t h = (uint32_t)-973932308;

	ck_assert_int_eq(ax_partition_of_key("21", 2, 6), (int32_t)((h & 0x7fffffffu) % 6));
	ck_assert_int_eq(ax_partition_of_key("abc", 3, 6), 479470107 % 6);
	ck_assert_int_eq(ax_partition_of_key("abc", 3, 1), 0);
	ck_assert_int_eq(
	    ax_partition_of_key("", 0, 7), (int32_t)((ax_murmur2("", 0) & 0x7fffffffu) % 7));
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("partition");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_murmur2_gives_the_java_clients_values);
	tcase_add_test(tc, test_the_partition_is_the_positive_hash_modulo_the_count);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
