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
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gestor_int.h"
#include "gestor_limits.h"
#include "log.h"
#include "util.h"

#define GL_LOGIN_SLOTS	16384
#define GL_REG_SLOTS	8192
#define GL_ACCT_SLOTS	32768

struct glimits {
	struct ratelimit	*useraddr, *addr, *user, *reg;
	struct ratelimit	*lookups, *watches;	/* per account */
};

/*
 * The per-account tables hold a live entry per account that used its
 * budget recently: at most about one per connection, so they are sized
 * from max_connections at start (a reload does not resize them).
 */
struct glimits *
glimits_new(long max_connections)
{
	struct glimits *l = xcalloc(1, sizeof(*l));
	size_t acct = GL_ACCT_SLOTS;

	if (max_connections > 0 && (size_t)max_connections * 2 > acct)
		acct = (size_t)max_connections * 2;

	l->useraddr = ratelimit_new(GL_LOGIN_SLOTS, 60);
	l->addr = ratelimit_new(GL_LOGIN_SLOTS, 60);
	l->user = ratelimit_new(GL_LOGIN_SLOTS, 60);
	l->reg = ratelimit_new(GL_REG_SLOTS, 3600);
	l->lookups = ratelimit_new(acct, 0);
	l->watches = ratelimit_new(acct, 0);
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
	ratelimit_free(l->lookups);
	ratelimit_free(l->watches);
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
	log_warnx_from(gc->addr,
	    "gestor: rate limited %s from %s (%s)", user, gc->addr, what);
	return true;
}

void
glimits_login_started(struct gconn *gc, const char *user)
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
glimits_login_refund(struct gconn *gc, const char *user)
{
	struct glimits *l = gc->g->limits;
	double now = util_mono();
	char ak[80], uak[160];

	ratelimit_addr_key(gc->addr, ak, sizeof(ak));
	useraddr_key(gc, user, uak, sizeof(uak));
	ratelimit_forgive(l->useraddr, uak, now);
	ratelimit_forgive(l->addr, ak, now);
	ratelimit_forgive(l->user, user, now);
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
	log_warnx_from(gc->addr,
	    "gestor: registration from %s refused: more than %ld an hour",
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

/*
 * Take cost tokens from the connection's bucket and the account's (burst
 * tokens, refilled over period seconds); neither is charged on refusal.
 */
static bool
take(struct gconn *gc, struct rl_bucket *cb, struct ratelimit *acct,
    double cost, long burst, double period, double *wait)
{
	double now = util_mono(), rate = (double)burst / period;
	struct rl_bucket saved = *cb;

	if (!rl_bucket_take(cb, cost, (double)burst, rate, now)) {
		*wait = (cb->level + cost - (double)burst) / rate;
		return false;
	}
	if (!ratelimit_take(acct, gc->user, cost, (double)burst, rate, now)) {
		*cb = saved;
		*wait = cost / rate;
		return false;
	}
	return true;
}

bool
glimits_lookup_refused(struct gconn *gc, char *msg, size_t msglen)
{
	long n = gc->g->d->cfg->lookups_per_minute;
	double wait;

	if (take(gc, &gc->lookup_bucket, gc->g->limits->lookups, 1, n, 60,
	    &wait))
		return false;
	snprintf(msg, msglen, "more than %ld lookups a minute; try again in "
	    "%.1f s", n, wait);
	log_warnx_from(gc->addr,
	    "gestor: %s from %s: lookups refused (%ld a minute)",
	    gc->user, gc->addr, n);
	return true;
}

bool
glimits_watch_refused(struct gconn *gc, size_t nnew, char *msg,
    size_t msglen)
{
	long n = gc->g->d->cfg->watch_names_per_hour;
	double wait;

	if (nnew == 0 || take(gc, &gc->watch_bucket, gc->g->limits->watches,
	    (double)nnew, n, 3600, &wait))
		return false;
	if ((long)nnew > n)
		snprintf(msg, msglen, "%zu new names to watch; at most %ld an "
		    "hour", nnew, n);
	else
		snprintf(msg, msglen, "more than %ld newly watched names an "
		    "hour; try again in %.0f s", n, wait);
	log_warnx_from(gc->addr,
	    "gestor: %s from %s: watch of %zu new names refused",
	    gc->user, gc->addr, nnew);
	return true;
}

/* AC_ODD: an IPv4 address in a form other than a.b.c.d ("127.1"). */
enum aclass { AC_NAME, AC_OTHER, AC_LOOPBACK, AC_LINKLOCAL, AC_NEVER,
    AC_ODD };

/* "localhost", "x.localhost" (with a final dot or not): loopback names. */
static bool
is_localhost(const char *a)
{
	size_t len = strlen(a);

	if (len > 0 && a[len - 1] == '.')
		len--;
	return (len == 9 && strncasecmp(a, "localhost", 9) == 0) ||
	    (len > 10 && strncasecmp(a + len - 10, ".localhost", 10) == 0);
}

/* What kind of address a is; for IP addresses, its bytes in a16. */
static enum aclass
addr_class(const char *a, unsigned char a16[16])
{
	static const unsigned char v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0, 0xff, 0xff };
	unsigned char *v4 = a16 + 12;
	struct in_addr odd;

	memset(a16, 0, 16);
	if (inet_pton(AF_INET, a, v4) == 1)
		memcpy(a16, v4mapped, sizeof(v4mapped));
	else if (inet_pton(AF_INET6, a, a16) != 1)
		/*
		 * Resolvers read 127.1, 2130706433 or 0177.0.0.1 as 127.0.0.1
		 * (inet_aton): not a name, and no form to publish.
		 */
		return inet_aton(a, &odd) == 1 ? AC_ODD : AC_NAME;
	if (memcmp(a16, v4mapped, sizeof(v4mapped)) == 0) {
		if (v4[0] == 127)
			return AC_LOOPBACK;
		if (v4[0] == 169 && v4[1] == 254)
			return AC_LINKLOCAL;
		/* 0/8 "this network", 224/4 multicast, 240/4 and broadcast. */
		return v4[0] == 0 || v4[0] >= 224 ? AC_NEVER : AC_OTHER;
	}
	if (a16[0] == 0xff)
		return AC_NEVER;			/* multicast */
	if (a16[0] == 0xfe && (a16[1] & 0xc0) == 0x80)
		return AC_LINKLOCAL;
	if (memcmp(a16, in6addr_loopback.s6_addr, 16) == 0)
		return AC_LOOPBACK;
	if (memcmp(a16, in6addr_any.s6_addr, 16) == 0)
		return AC_NEVER;
	return AC_OTHER;
}

const char *
glimits_adv_refusal(const char *adv, const char *observed, int policy)
{
	unsigned char a[16], o[16];
	enum aclass ac = addr_class(adv, a), oc = addr_class(observed, o);

	if (ac != AC_NAME && ac != AC_ODD && oc != AC_NAME && oc != AC_ODD &&
	    memcmp(a, o, 16) == 0)
		return NULL;			/* the observed address */
	if (ac == AC_ODD)
		return "an IPv4 address not written as a.b.c.d";
	if (ac == AC_NAME && policy != ADV_NAMES)
		return "host names are not accepted (accept_advertise)";
	if (ac == AC_NAME)
		return !is_localhost(adv) || oc == AC_LOOPBACK ? NULL :
		    "a loopback name, from a peer that is not connecting from "
		    "a loopback address";
	if (policy == ADV_NO)
		return "advertised addresses are not accepted (accept_advertise)";
	if (ac == AC_NEVER)
		return "a multicast, broadcast or unspecified address";
	if ((ac == AC_LOOPBACK || ac == AC_LINKLOCAL) && ac != oc)
		return "a loopback or link-local address, from a peer that is "
		    "not connecting from one";
	return NULL;
}

const char *
glimits_hb_addr(struct gconn *gc, const char *adv)
{
	const char *why;

	if (adv == NULL || (why = glimits_adv_refusal(adv, gc->addr,
	    gc->g->d->cfg->accept_advertise)) == NULL)
		return adv != NULL ? adv : gc->addr;
	if (!gc->adv_warned)
		log_warnx_from(gc->addr,
		    "gestor: %s at %s advertises %s: not published: %s; "
		    "publishing %s", gc->user, gc->addr, adv, why, gc->addr);
	gc->adv_warned = true;
	gc->g->stats.adv_refused++;
	return gc->addr;
}
