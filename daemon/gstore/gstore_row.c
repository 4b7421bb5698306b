/*
 * A users row as a backend read it, checked as untrusted input before
 * anything uses it (gstore_int.h). Both backends call it; it calls
 * nothing of theirs.
 */
#include <stdlib.h>
#include <string.h>

#include "gstore_int.h"
#include "log.h"
#include "util.h"
#include "valid.h"

/* "" or 64 lowercase hex digits (an Ed25519 key). */
static bool
mail_key_ok(const char *k)
{
	size_t i;

	if (*k == '\0')
		return true;
	for (i = 0; k[i] != '\0'; i++)
		if (!((k[i] >= '0' && k[i] <= '9') || (k[i] >= 'a' && k[i] <= 'f')))
			return false;
	return i == 64;
}

int
gstore_row_check(struct guser *u, bool addr_long, long long port)
{
	char *shown;

	if (!valid_username(u->name)) {
		shown = util_escape(u->name, strnlen(u->name, sizeof(u->name)));
		log_warnx("gstore: a users row whose name \"%.40s\" is not a "
		    "username: skipped", shown != NULL ? shown : "?");
		free(shown);
		return -1;
	}
	if (!valid_fingerprint(u->fingerprint) || *u->hash == '\0') {
		log_warnx("gstore: user %s: the %s in the database is not one: "
		    "skipped", u->name, *u->hash == '\0' ? "password hash" :
		    "key fingerprint");
		return -1;
	}
	if (addr_long || (*u->addr != '\0' && !valid_address(u->addr)) ||
	    port < 0 || port > 65535) {
		log_warnx("gstore: user %s: the address in the database is not "
		    "a host and port (%s); shown without one", u->name, addr_long ?
		    "too long" : port < 0 || port > 65535 ? "port out of range" :
		    "not a host name or address");
		*u->addr = '\0';
		port = 0;
	}
	u->port = (int)port;
	if (!mail_key_ok(u->mail)) {
		log_warnx("gstore: user %s: the mail key in the database is not "
		    "one; shown as accepting no mail", u->name);
		*u->mail = '\0';
	}
	return 0;
}
