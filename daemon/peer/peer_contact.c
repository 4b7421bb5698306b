/*
 * The peer's contacts: what the gestor says of them (key, address, last
 * seen) is recorded here, a changed key is announced as a "key-changed"
 * event, and the gestor is asked to push the presence of every contact.
 */
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "peer_msg.h"

int
peer_contact_update(struct peer *p, const char *user, const char *fp,
    const char *addr, int port, int64_t last_seen)
{
	struct pcontact c;
	int changed = 0;
	bool is_new = false;
	json_t *ev;

	if (pstore_contact_get(p->store, user, &c) != PSTORE_OK) {
		memset(&c, 0, sizeof(c));
		snprintf(c.name, sizeof(c.name), "%s", user);
		is_new = true;
	}
	if (*fp != '\0' && *c.fingerprint != '\0' && strcmp(fp, c.fingerprint)) {
		changed = 1;
		/* verified stays set: with prev_fingerprint it means "hold
		 * messages until the user trusts the new key". */
		snprintf(c.prev_fingerprint, sizeof(c.prev_fingerprint), "%s",
		    c.fingerprint);
		log_warnx("peer: the key of %s changed from %s to %s", user,
		    c.fingerprint, fp);
	}
	if (*fp != '\0')
		snprintf(c.fingerprint, sizeof(c.fingerprint), "%s", fp);
	if (addr != NULL && *addr != '\0') {
		snprintf(c.addr, sizeof(c.addr), "%s", addr);
		c.port = port;
	}
	if (last_seen > c.last_seen)
		c.last_seen = last_seen;
	if (pstore_contact_put(p->store, &c) != PSTORE_OK)
		return -1;
	if (is_new)
		peer_msgs_contacts_changed(p);
	if (changed) {
		ev = json_pack("{s:s,s:s,s:s}", "user", user, "fingerprint", fp,
		    "previous", c.prev_fingerprint);
		peer_msgs_event(p, "key-changed", ev);
		json_decref(ev);
	}
	return changed;
}

static int
add_contact(const struct pcontact *c, void *arg)
{
	json_array_append_new(arg, json_string(c->name));
	return json_array_size(arg) < WIRE_MAX_WATCH ? 0 : -1;
}

void
pm_watch_contacts(struct peer_msgs *pm)
{
	json_t *users = json_array();

	pstore_contact_foreach(pm->p->store, add_contact, users);
	pgestor_watch(pm->p->pg, users);
	json_decref(users);
}

void
peer_msgs_contacts_changed(struct peer *p)
{
	pm_watch_contacts(p->msgs);
}
