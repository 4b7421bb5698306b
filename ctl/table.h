/*
 * Aligned tables for a terminal: rows of text cells, printed with each
 * column padded to its widest cell (the last column never padded).
 * Piped output stays tab-separated and never comes here.
 */
#ifndef P2P_CTL_TABLE_H
#define P2P_CTL_TABLE_H

#include <stdio.h>

struct table;

struct table	*table_new(size_t ncols);
/* Append one row; cells (ncols malloc'd strings) are taken over. */
void		 table_add(struct table *, char **cells);
void		 table_print(const struct table *, FILE *);
void		 table_free(struct table *);

#endif
