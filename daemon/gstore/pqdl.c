/*
 * Opens libpq at run time and fills the table pqdl.h calls through (see
 * there for why). Loaded once, on the first PostgreSQL store, and never
 * closed: the gestor keeps its store for its whole life.
 */
#include <dlfcn.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define PQDL_IMPLEMENTATION
#include "pqdl.h"

#ifndef LIBPQ_SONAME
#define LIBPQ_SONAME	"libpq.so.5"
#endif

struct pqdl pqdl;

static const struct {
	const char	*name;
	size_t		 off;
} pqdl_syms[] = {
#define PQDL_SYM(f)	{ #f, offsetof(struct pqdl, f) },
	PQDL_FUNCS(PQDL_SYM)
#undef PQDL_SYM
};

int
pqdl_load(char **cause)
{
	static void *lib;
	void *sym;
	size_t i;

	if (lib != NULL)
		return 0;
	if ((lib = dlopen(LIBPQ_SONAME, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		if (asprintf(cause, "cannot load %s, needed by storage.backend ="
		    " \"postgresql\" (Debian: apt-get install libpq5): %s",
		    LIBPQ_SONAME, dlerror()) < 0)
			*cause = NULL;
		return -1;
	}
	for (i = 0; i < sizeof(pqdl_syms) / sizeof(pqdl_syms[0]); i++) {
		if ((sym = dlsym(lib, pqdl_syms[i].name)) == NULL) {
			if (asprintf(cause, "%s has no %s (libpq 14 or later is"
			    " needed)", LIBPQ_SONAME, pqdl_syms[i].name) < 0)
				*cause = NULL;
			dlclose(lib);
			lib = NULL;
			memset(&pqdl, 0, sizeof(pqdl));
			return -1;
		}
		/* POSIX: a function's address comes back as a void *. */
		memcpy((char *)&pqdl + pqdl_syms[i].off, &sym, sizeof(sym));
	}
	return 0;
}
