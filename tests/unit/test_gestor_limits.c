/*
 * Unit tests for gestor_limits.c's address policy: which advertised
 * heartbeat address the gestor publishes for a peer seen at a source
 * address, under each accept_advertise setting (issue 14, item 4: an
 * "addr" of 10.0.0.1 or a foreign host name made every contact connect
 * there). The rate limits are tested through real connections
 * (login_limits.sh, enumeration.sh) and in test_ratelimit.
 */
#include <check.h>
#include <stdlib.h>

#include "config.h"
#include "gestor_limits.h"
#include "testutil.h"

#define OK(adv, obs, pol)	ck_assert_msg(glimits_adv_refusal(adv, obs, \
	pol) == NULL, "%s seen at %s, policy %d: refused", adv, obs, pol)
#define NO(adv, obs, pol)	ck_assert_msg(glimits_adv_refusal(adv, obs, \
	pol) != NULL, "%s seen at %s, policy %d: published", adv, obs, pol)

START_TEST(test_observed_always)
{
	int pol;

	/* The address the peer connects from is always fine, however written. */
	for (pol = ADV_NO; pol <= ADV_NAMES; pol++) {
		OK("198.18.0.5", "198.18.0.5", pol);
		OK("127.0.0.1", "127.0.0.1", pol);
		OK("::1", "::1", pol);
		OK("2001:DB8::1", "2001:db8::1", pol);
		OK("2001:db8:0:0::1", "2001:db8::1", pol);
		OK("::ffff:198.18.0.5", "198.18.0.5", pol);
	}
}
END_TEST

START_TEST(test_default_no)
{
	/* Off by default: nothing but the observed address. */
	NO("10.0.0.1", "198.18.0.5", ADV_NO);
	NO("198.18.0.6", "198.18.0.5", ADV_NO);
	NO("victim.example.org", "198.18.0.5", ADV_NO);
	NO("127.0.0.2", "127.0.0.1", ADV_NO);
	NO("2001:db8::2", "2001:db8::1", ADV_NO);
}
END_TEST

START_TEST(test_addresses)
{
	OK("198.18.0.6", "198.18.0.5", ADV_ADDRESSES);
	OK("10.0.0.1", "198.18.0.5", ADV_ADDRESSES);
	OK("2001:db8::2", "198.18.0.5", ADV_ADDRESSES);
	OK("198.18.0.6", "127.0.0.1", ADV_ADDRESSES);
	NO("victim.example.org", "198.18.0.5", ADV_ADDRESSES);
	/* Loopback and link-local only for a peer connecting from one. */
	NO("127.0.0.1", "198.18.0.5", ADV_ADDRESSES);
	NO("127.1.2.3", "198.18.0.5", ADV_ADDRESSES);
	NO("::1", "198.18.0.5", ADV_ADDRESSES);
	NO("::ffff:127.0.0.1", "198.18.0.5", ADV_ADDRESSES);
	NO("169.254.1.1", "198.18.0.5", ADV_ADDRESSES);
	NO("fe80::1", "2001:db8::1", ADV_ADDRESSES);
	NO("febf::1", "2001:db8::1", ADV_ADDRESSES);
	NO("169.254.1.1", "127.0.0.1", ADV_ADDRESSES);
	OK("127.0.0.2", "127.0.0.1", ADV_ADDRESSES);
	OK("::1", "127.0.0.1", ADV_ADDRESSES);
	OK("169.254.1.2", "169.254.1.1", ADV_ADDRESSES);
	OK("fe80::2", "fe80::1", ADV_ADDRESSES);
	/* Multicast, broadcast, unspecified: never. */
	NO("224.0.0.1", "198.18.0.5", ADV_ADDRESSES);
	NO("239.1.2.3", "198.18.0.5", ADV_ADDRESSES);
	NO("255.255.255.255", "198.18.0.5", ADV_ADDRESSES);
	NO("0.0.0.0", "198.18.0.5", ADV_ADDRESSES);
	NO("0.1.2.3", "198.18.0.5", ADV_ADDRESSES);
	NO("::", "2001:db8::1", ADV_ADDRESSES);
	NO("ff02::1", "2001:db8::1", ADV_ADDRESSES);
	NO("ff02::1", "fe80::1", ADV_NAMES);
	NO("224.0.0.1", "127.0.0.1", ADV_NAMES);
}
END_TEST

/* What resolvers read as IPv4 addresses (inet_aton): never published. */
START_TEST(test_odd_ipv4_forms)
{
	static const char *const odd[] = { "127.1", "2130706433", "0177.0.0.1",
	    "0x7f.0.0.1", "0x7f000001", "127.0.1", "10.1", "167772161",
	    "0", "0x0" };
	size_t i;
	int pol;

	for (i = 0; i < sizeof(odd) / sizeof(odd[0]); i++)
		for (pol = ADV_NO; pol <= ADV_NAMES; pol++) {
			NO(odd[i], "198.18.0.5", pol);
			NO(odd[i], "127.0.0.1", pol);
		}
}
END_TEST

START_TEST(test_names)
{
	OK("peer.example.org", "198.18.0.5", ADV_NAMES);
	OK("localhost.example.org", "198.18.0.5", ADV_NAMES);
	/* Loopback names count as loopback addresses. */
	NO("localhost", "198.18.0.5", ADV_NAMES);
	NO("LocalHost.", "198.18.0.5", ADV_NAMES);
	NO("peer.localhost", "198.18.0.5", ADV_NAMES);
	OK("localhost", "127.0.0.1", ADV_NAMES);
	NO("localhost", "127.0.0.1", ADV_ADDRESSES);
	OK("198.18.0.6", "198.18.0.5", ADV_NAMES);
	NO("127.0.0.1", "198.18.0.5", ADV_NAMES);
}
END_TEST

static Suite *
gestor_limits_suite(void)
{
	Suite *s = suite_create("gestor_limits");
	TCase *tc = tcase_create("advertise");

	tcase_add_test(tc, test_observed_always);
	tcase_add_test(tc, test_default_no);
	tcase_add_test(tc, test_addresses);
	tcase_add_test(tc, test_odd_ipv4_forms);
	tcase_add_test(tc, test_names);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(gestor_limits_suite(), LOG_LVL_INFO);
}
