/*
 * Aligned tables for people (see table.h). Widths count UTF-8
 * characters, not bytes, so that names and texts in any script line up
 * as well as a fixed-width terminal allows.
 */
#include <stdlib.h>
#include <string.h>

#include "table.h"
#include "util.h"

struct table {
	size_t	  ncols;
	size_t	  nrows, cap;
	char	**cells;	/* nrows * ncols */
	size_t	 *width;	/* per column */
};

/* Characters on screen: UTF-8 continuation bytes do not count. */
static size_t
text_width(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

struct table *
table_new(size_t ncols)
{
	struct table *t = xcalloc(1, sizeof(*t));

	t->ncols = ncols;
	t->width = xcalloc(ncols, sizeof(*t->width));
	return t;
}

void
table_add(struct table *t, char **cells)
{
	size_t i, w;

	if (t->nrows == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 16;
		t->cells = reallocarray(t->cells, t->cap * t->ncols,
		    sizeof(*t->cells));
		if (t->cells == NULL)
			abort();
	}
	for (i = 0; i < t->ncols; i++) {
		t->cells[t->nrows * t->ncols + i] = cells[i];
		if ((w = text_width(cells[i])) > t->width[i])
			t->width[i] = w;
	}
	t->nrows++;
}

void
table_print(const struct table *t, FILE *f)
{
	const char *c;
	size_t r, i;

	for (r = 0; r < t->nrows; r++) {
		for (i = 0; i < t->ncols; i++) {
			c = t->cells[r * t->ncols + i];
			fputs(c, f);
			if (i + 1 < t->ncols)
				fprintf(f, "%*s", (int)(t->width[i] -
				    text_width(c) + 2), "");
		}
		fputc('\n', f);
	}
}

void
table_free(struct table *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t->width);
	free(t);
}
