/*
 * The gestor's rate limits (see gestor_limits.h and SECURITY.md). Failed
 * logins count three ways, each in a one-minute window:
 *   user and source address	limits.login_attempts_per_minute
 *   source address		limits.login_attempts_per_address_per_minute
 *   user			limits.login_attempts_per_user_per_minute
 * The per-user ceiling is higher than what one address may try, so a
 * guesser at one address cannot lock the owner out from elsewhere. A
 * source address is an IPv4 address or an IPv6 /64. Registrations count
 * per source address over an hour, when they start (so concurrent ones
 * cannot slip through together). The tables never
 * forget a live entry: when one is full, the answer is a refusal.
 */
#include <stdio.h>
#include <stdlib.h>

#include "gestor_int.h"
#include "gestor_limits.h"
#include "log.h"
#include "util.h"

#define GL_LOGIN_SLOTS	16384
#define GL_REG_SLOTS	8192

struct glimits {
	struct ratelimit	*useraddr, *addr, *user, *reg;
};

struct glimits *
glimits_new(void)
{
	struct glimits *l = xcalloc(1, sizeof(*l));

	l->useraddr = ratelimit_new(GL_LOGIN_SLOTS, 60);
	l->addr = ratelimit_new(GL_LOGIN_SLOTS, 60);
	l->user = ratelimit_new(GL_LOGIN_SLOTS, 60);
	l->reg = ratelimit_new(GL_REG_SLOTS, 3600);
	return l;
}

void
glimits_free(struct glimits *l)
{
	if (l == NULL)
		return;
	ratelimit_free(l->useraddr);
	ratelimit_free(l->addr);
	ratelimit_free(l->user);
	ratelimit_free(l->reg);
	free(l);
}

/* "user\naddr-key": a key no username or address can spell. */
static void
useraddr_key(const struct gconn *gc, const char *user, char *out, size_t len)
{
	char ak[80];

	ratelimit_addr_key(gc->addr, ak, sizeof(ak));
	snprintf(out, len, "%s\n%s", user, ak);
}

bool
glimits_login_refused(struct gconn *gc, const char *user, char *msg,
    size_t msglen)
{
	const struct config *cfg = gc->g->d->cfg;
	struct glimits *l = gc->g->limits;
	double now = util_mono(), wait = 0;
	char ak[80], uak[160];
	const char *what = NULL;

	ratelimit_addr_key(gc->addr, ak, sizeof(ak));
	useraddr_key(gc, user, uak, sizeof(uak));
	if (ratelimit_blocked(l->useraddr, uak, cfg->login_attempts_per_minute,
	    now)) {
		what = "for this user from this address";
		wait = ratelimit_retry_after(l->useraddr, uak, now);
	} else if (ratelimit_blocked(l->addr, ak,
	    cfg->login_attempts_per_address, now)) {
		what = "from this address";
		wait = ratelimit_retry_after(l->addr, ak, now);
	} else if (ratelimit_blocked(l->user, user, cfg->login_attempts_per_user,
	    now)) {
		what = "for this user";
		wait = ratelimit_retry_after(l->user, user, now);
	} else
		return false;
	snprintf(msg, msglen, "too many failed attempts; try again in %.0f s "
	    "(%s)", wait < 1 ? 1 : wait, what);
	log_warnx("gestor: rate limited %s from %s (%s)", user, gc->addr, what);
	return true;
}

void
glimits_login_failed(struct gconn *gc, const char *user)
{
	struct glimits *l = gc->g->limits;
	double now = util_mono();
	char ak[80], uak[160];

	ratelimit_addr_key(gc->addr, ak, sizeof(ak));
	useraddr_key(gc, user, uak, sizeof(uak));
	/* A full table cannot count it, but then it refuses the next try. */
	ratelimit_fail(l->useraddr, uak, now);
	ratelimit_fail(l->addr, ak, now);
	ratelimit_fail(l->user, user, now);
}

void
glimits_name_taken(struct gconn *gc)
{
	char ak[80];

	ratelimit_addr_key(gc->addr, ak, sizeof(ak));
	ratelimit_fail(gc->g->limits->addr, ak, util_mono());
}

bool
glimits_register_refused(struct gconn *gc, char *msg, size_t msglen)
{
	const struct config *cfg = gc->g->d->cfg;
	struct ratelimit *rl = gc->g->limits->reg;
	double now = util_mono();
	char ak[80];

	ratelimit_addr_key(gc->addr, ak, sizeof(ak));
	if (!ratelimit_blocked(rl, ak, cfg->registrations_per_hour, now))
		return false;
	snprintf(msg, msglen, "too many registrations from this address; try "
	    "again in %.0f s", ratelimit_retry_after(rl, ak, now));
	log_warnx("gestor: registration from %s refused: more than %ld an hour",
	    gc->addr, cfg->registrations_per_hour);
	return true;
}

void
glimits_register_started(struct gconn *gc)
{
	char ak[80];

	ratelimit_addr_key(gc->addr, ak, sizeof(ak));
	ratelimit_fail(gc->g->limits->reg, ak, util_mono());
}
