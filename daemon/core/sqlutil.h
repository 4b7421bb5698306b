/*
 * What both SQLite stores (the gestor's and the peer's) do the same way:
 * create the file 0600 and refuse one others may read, WAL with the
 * chosen durability, numbered migrations under PRAGMA user_version, and
 * statements prepared once.
 */
#ifndef P2P_SQLUTIL_H
#define P2P_SQLUTIL_H

#include <stdbool.h>

#include <sqlite3.h>

/*
 * Open path and bring its schema to nmig (migration i takes user_version
 * from i to i + 1, each in its own transaction). NULL with *cause (the
 * caller frees; cause may be NULL) on any failure; a schema newer than
 * nmig is refused.
 */
sqlite3	*sqlutil_open(const char *path, bool sync_full,
	    const char *const *migrations, int nmig, char **cause);
/* Prepare n statements once; -1 with *cause. */
int	 sqlutil_prepare(sqlite3 *, const char *path, const char *const *sql,
	    sqlite3_stmt **st, int n, char **cause);

/* Finalize what sqlutil_prepare made (NULL entries are fine). */
void	 sqlutil_finalize(sqlite3_stmt **st, int n);
/* The statement, reset and unbound, ready for new parameters. */
sqlite3_stmt *sqlutil_reset(sqlite3_stmt *);
/* Bind a fixed-size struct field; -1 if it is not NUL-terminated in size. */
int	 sqlutil_bind_field(sqlite3_stmt *, int col, const char *, size_t size);
/* Copy a text column into dst[size]; -1 if it is NULL or too long. */
int	 sqlutil_column_copy(sqlite3_stmt *, int col, char *dst, size_t size);

#endif
