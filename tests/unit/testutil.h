/*
 * What the unit tests share: a scratch directory per test, one integer
 * read from an SQLite handle or file, fingerprints and user records for
 * the stores, and the main() that runs a suite.
 */
#ifndef P2P_TESTUTIL_H
#define P2P_TESTUTIL_H

#include <check.h>
#include <stdint.h>

#include <sqlite3.h>

#include "gstore.h"
#include "log.h"

/* Two fixed fingerprints and a yescrypt hash that no password matches. */
#define TU_FP_A	"sha256:" \
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" \
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define TU_FP_B	"sha256:" \
	"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb" \
	"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define TU_HASH	"$y$j9T$abcdefghijklmnopqrstu.$" \
	"0123456789012345678901234567890123456789012"

/* The size of a directory name from tu_mkdtemp. */
#define TU_DIR_MAX	64

/* A fresh directory /tmp/NAME.XXXXXX into dir (TU_DIR_MAX bytes). */
void		 tu_mkdtemp(char *dir, const char *name);
/* Remove dir and the files in it (nothing here makes subdirectories). */
void		 tu_rmdir(const char *dir);

/* The first column of the first row of sql, as an int; -1 without a row. */
int		 tu_db_int(sqlite3 *, const char *sql);
/* The same on the SQLite file at path, opened and closed for it. */
int		 tu_file_int(const char *path, const char *sql);
/* Run sql on the SQLite file at path. */
void		 tu_file_exec(const char *path, const char *sql);

/* A fingerprint of its own for each name (one key, one account). */
const char	*tu_fp_of(const char *name);
/* A user record with TU_HASH. */
void		 tu_make_user(struct guser *, const char *name, const char *fp,
		    int64_t created);

/*
 * Run suite s with the daemon's log at level (debug when P2P_TEST_DEBUG
 * is set): the exit status of the test program.
 */
int		 tu_run(Suite *s, enum log_level level);

#endif
