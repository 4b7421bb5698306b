/*
 * The gestor's store on PostgreSQL, a statement as its connections send
 * it: the text, the parameters as strings, the name the workers prepared
 * it under; and the columns of a result read safely. The statements of
 * gstore_pg_sql.c and gstore_pg_mail.c are built with these.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gstore_pg.h"

void
gpg_stmt_init(struct gpg_stmt *st, const char *sql)
{
	memset(st, 0, sizeof(*st));
	st->sql = sql;
}

/* A statement prepared on the workers under the name tab gives sql. */
void
gpg_stmt_prepared(struct gpg_stmt *st, const struct gpg_prep *tab, size_t n,
    const char *sql)
{
	size_t i;

	gpg_stmt_init(st, sql);
	for (i = 0; i < n; i++)
		if (tab[i].sql == sql)
			st->name = tab[i].name;
}

void
gpg_stmt_str(struct gpg_stmt *st, const char *v)
{
	st->values[st->n++] = v;
}

void
gpg_stmt_num(struct gpg_stmt *st, int64_t v)
{
	snprintf(st->buf[st->n], sizeof(st->buf[st->n]), "%lld", (long long)v);
	st->values[st->n] = st->buf[st->n];
	st->n++;
}

void
gpg_stmt_dbl(struct gpg_stmt *st, double v)
{
	snprintf(st->buf[st->n], sizeof(st->buf[st->n]), "%.3f", v);
	st->values[st->n] = st->buf[st->n];
	st->n++;
}

/* Copy column c of row r into dst[size]; -1 if NULL or too long. */
int
gpg_col_copy(PGresult *res, int r, int c, char *dst, size_t size)
{
	int len = PQgetlength(res, r, c);

	if (PQgetisnull(res, r, c) || len < 0 || (size_t)len >= size)
		return -1;
	memcpy(dst, PQgetvalue(res, r, c), (size_t)len + 1);
	return 0;
}

/* One row of one column, as a number; -1 if the result is not that. */
long long
gpg_one_num(PGresult *res, int col)
{
	if (PQntuples(res) != 1 || PQnfields(res) <= col ||
	    PQgetisnull(res, 0, col))
		return -1;
	return strtoll(PQgetvalue(res, 0, col), NULL, 10);
}
