/*
 * Fuzz target: the configuration loader (common/config.c) on a file with
 * the fuzz input as its content, and config_split_hostport() on the input
 * as a string. A loaded configuration must satisfy every range and
 * cross-key rule of p2pchatd.conf(5); a refusal must say why.
 *
 * Inputs naming an @include are skipped: libconfig would read whatever
 * file they name (the configuration is its owner's own file, so that is
 * not a parser bug, but /dev/zero would stall the fuzzer).
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "fuzz.h"
#include "proto.h"
#include "valid.h"

const char	*__lsan_default_suppressions(void);

/*
 * libconfig 1.5 leaks its string buffer when a parse error interrupts a
 * string (fixed upstream in 1.7); a bounded leak per failed load, outside
 * p2pchat, so LeakSanitizer is told to ignore libconfig's allocations
 * (regress/config/libconfig-string-leak). Unused without LeakSanitizer.
 */
const char *
__lsan_default_suppressions(void)
{
	return "leak:libconfig.so\nleak:strbuf_append\n";
}

static char	path[] = "/tmp/p2pchat-config-fuzz.XXXXXX";
static int	fd = -1;

static void
remove_temp(void)
{
	unlink(path);
}

static void
check_config(const struct config *c)
{
	char host[256];
	size_t i;
	int port;

	FUZZ_CHECK(c->mode == MODE_PEER || c->mode == MODE_GESTOR);
	FUZZ_CHECK(c->data_dir != NULL && *c->data_dir != '\0');
	FUZZ_CHECK(c->control_socket != NULL && strlen(c->control_socket) < 108);
	FUZZ_CHECK(c->listen != NULL && config_split_hostport(c->listen, host,
	    sizeof(host), &port, 0) == 0);
	FUZZ_CHECK(c->advertise != NULL);
	FUZZ_CHECK(c->log_level >= 0 && c->log_level <= 3);
	FUZZ_CHECK(c->gestor_fingerprint != NULL &&
	    (*c->gestor_fingerprint == '\0' ||
	    valid_fingerprint(c->gestor_fingerprint)));
	FUZZ_CHECK(c->gestor_addresses != NULL);
	for (i = 0; i < c->n_gestor_addresses; i++)
		FUZZ_CHECK(c->gestor_addresses[i] != NULL);
	FUZZ_CHECK(c->gestor_addresses[c->n_gestor_addresses] == NULL);
	FUZZ_CHECK(c->hb_interval >= 0.05 && c->hb_timeout > c->hb_interval);
	FUZZ_CHECK(c->retry_initial >= 0.01 && c->retry_max >= c->retry_initial);
	FUZZ_CHECK(c->max_message_bytes >= 1 &&
	    c->max_message_bytes + 4096 <= c->max_frame_bytes);
	FUZZ_CHECK(c->max_frame_bytes <= 67108864);
	FUZZ_CHECK(c->max_connections >= 1 && c->login_attempts_per_minute >= 1);
	FUZZ_CHECK(c->handshake_timeout >= 0.1 && c->handshake_timeout <= 600);
}

static void
check_hostport(const uint8_t *data, size_t size)
{
	char s[300], host[256];
	size_t n = size < sizeof(s) - 1 ? size : sizeof(s) - 1;
	int port = -1;

	memcpy(s, data, n);
	s[n] = '\0';
	if (config_split_hostport(s, host, sizeof(host), &port, 7000) == 0) {
		FUZZ_CHECK(*host != '\0' && strlen(host) < sizeof(host));
		FUZZ_CHECK(port >= 0 && port <= 65535);
	}
}

int
fuzz_config(const uint8_t *data, size_t size)
{
	struct config *c;
	char err[1024];

	check_hostport(data, size);
	if (memmem(data, size, "@include", 8) != NULL)
		return 0;
	if (fd == -1) {
		if ((fd = mkstemp(path)) == -1) {
			fprintf(stderr, "config_fuzz: mkstemp: %s\n",
			    strerror(errno));
			abort();
		}
		atexit(remove_temp);
	}
	if (ftruncate(fd, 0) == -1 ||
	    pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
	*err = '\0';
	c = config_load(path, CONFIG_MODE_DEFAULT, err, sizeof(err));
	if (c == NULL) {
		FUZZ_CHECK(*err != '\0');
		return 0;
	}
	check_config(c);
	config_free(c);
	return 0;
}

FUZZ_ENTRY(fuzz_config)
