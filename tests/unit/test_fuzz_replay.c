/*
 * Replays every fuzz corpus file (tests/fuzz/corpus/NAME) and every past
 * finding (tests/fuzz/regress/NAME) through the fuzz targets' own code,
 * built here without libFuzzer, so that `make check` in any build keeps
 * them passing. A broken invariant aborts, and Check reports the file.
 */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "testutil.h"

typedef int (*fuzz_fn)(const uint8_t *, size_t);

static uint8_t *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t cap = 0, n;

	ck_assert_msg(f != NULL, "cannot open %s", path);
	*len = 0;
	do {
		if (*len == cap) {
			cap = cap != 0 ? cap * 2 : 4096;
			ck_assert((buf = realloc(buf, cap)) != NULL);
		}
		n = fread(buf + *len, 1, cap - *len, f);
		*len += n;
	} while (n > 0);
	fclose(f);
	return buf;
}

/* Run fn on every file of FUZZ_DIR/sub/name; the number of files. */
static int
replay_dir(const char *sub, const char *name, fuzz_fn fn)
{
	char dir[4096], path[8192];
	struct dirent *de;
	size_t len;
	uint8_t *buf;
	DIR *d;
	int n = 0;

	snprintf(dir, sizeof(dir), "%s/%s/%s", FUZZ_DIR, sub, name);
	if ((d = opendir(dir)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		buf = slurp(path, &len);
		fprintf(stderr, "replay %s\n", path);
		fn(buf, len);
		free(buf);
		n++;
	}
	closedir(d);
	return n;
}

static void
replay(const char *name, fuzz_fn fn)
{
	int seeds = replay_dir("corpus", name, fn);

	ck_assert_msg(seeds > 0, "no seed corpus for %s in %s/corpus", name,
	    FUZZ_DIR);
	replay_dir("regress", name, fn);
}

START_TEST(test_frame)
{
	replay("frame", fuzz_frame);
}
END_TEST

START_TEST(test_ctl)
{
	replay("ctl", fuzz_ctl);
}
END_TEST

START_TEST(test_config)
{
	replay("config", fuzz_config);
}
END_TEST

START_TEST(test_valid)
{
	replay("valid", fuzz_valid);
}
END_TEST

START_TEST(test_hot)
{
	replay("hot", fuzz_hot);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("fuzz_replay");
	TCase *tc = tcase_create("corpora");

	tcase_add_test(tc, test_frame);
	tcase_add_test(tc, test_ctl);
	tcase_add_test(tc, test_config);
	tcase_add_test(tc, test_valid);
	tcase_add_test(tc, test_hot);
	suite_add_tcase(s, tc);
	return tu_run(s, LOG_LVL_INFO);
}
