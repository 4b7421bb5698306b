#!/usr/bin/env bash
# The compose profile "postgresql" of docker/docker-compose.yml, played for
# real as docker/README.md shows it: PostgreSQL (Dockerfile.postgres) and
# two gestors sharing it with one identity key, carol and dave listing
# both. Both gestors on the database; carol and dave register and gestor2
# lists them whichever gestor they used; they talk; gestor1 killed, both
# resume on gestor2 and go on talking, and a lookup through gestor2
# answers.
#
# Needs root and Docker, like compose_demo.sh (see there and
# tests/docker/lib.sh): skipped (77) otherwise, and with
# P2PCHAT_DOCKER_TEST=skip. Removes everything it made, also on failure.
# Measured: 4 minutes with the PostgreSQL image cold, 1.5 to 2.5 warm.
set -eu
. "${TESTS_LIB:-$(dirname "$0")/../lib.sh}"
. "$(dirname "$TESTS_LIB")/docker/lib.sh"
docker_test_begin docker-compose.yml
export COMPOSE_PROFILES=postgresql
NAMES="router db gestor1 gestor2 carol dave"

dc up -d --build db gestor1 gestor2 carol dave >"$TMP/up.log" 2>&1 ||
	fail "docker-compose --profile postgresql up --build: $(tail -n 30 "$TMP/up.log")"
stamp "built, containers created"
poll "the containers to be healthy" 240 healthy $NAMES
stamp "all healthy"

# Both gestors on the database, under cluster names of their own, with
# one identity key.
for g in gestor1 gestor2; do
	out=$(ex "$g" p2pchatctl status) || fail "status of $g: $out"
	printf '%s\n' "$out" | grep -q "^backend	postgresql$" || fail "$g not on PostgreSQL: $out"
	printf '%s\n' "$out" | grep -q "^database	connected" || fail "$g's database: $out"
done
[ "$(field gestor1 cluster)" != "$(field gestor2 cluster)" ] ||
	fail "both gestors are cluster $(field gestor1 cluster)"
k1=$(docker exec p2pchat-gestor1 sha256sum /var/lib/p2pchat/identity.key | cut -d' ' -f1)
k2=$(docker exec p2pchat-gestor2 sha256sum /var/lib/p2pchat/identity.key | cut -d' ' -f1)
[ "$k1" = "$k2" ] || fail "the two gestors have different identity keys"
# The daemons get the password as a pgpass file, not in their environment.
for g in gestor1 gestor2; do
	! docker exec "p2pchat-$g" cat /proc/1/environ | tr '\0' '\n' |
	    grep -q '^P2PCHAT_DB_PASSWORD=' || fail "the database password is in $g's p2pchatd environment"
	[ "$(docker exec "p2pchat-$g" stat -c '%U %a' /run/p2pchat/pgpass)" = "p2pchat 600" ] ||
		fail "$g's pgpass: $(docker exec "p2pchat-$g" stat -c '%U %a' /run/p2pchat/pgpass)"
done
stamp "cluster up"

# Accounts and presence are shared.
register carol carol carol-pass-1
register dave dave dave-pass-12
for g in gestor1 gestor2; do
	poll "$g to list carol and dave online" 60 \
	    eval "online_at $g carol 198.18.2.11 && online_at $g dave 198.18.3.11"
done
id=$(send carol dave "hello through the cluster")
poll "dave to have carol's message" 30 received dave carol "$id"
stamp "registered, listed by both gestors"

# gestor1 killed (as README.md does it): both resume on gestor2.
for p in carol dave; do
	[ "$(field "$p" gestor)" = gestor1:7000 ] || fail "$p is not on gestor1: $(ex "$p" p2pchatctl status)"
done
docker kill p2pchat-gestor1 >/dev/null || fail "docker kill p2pchat-gestor1"
on_g2() { [ "$(field "$1" gestor)" = gestor2:7000 ] && gestor_online "$1"; }
for p in carol dave; do
	poll "$p to resume on gestor2" 60 on_g2 "$p"
done
poll "gestor2 to list both online" 30 \
    eval 'online_at gestor2 carol 198.18.2.11 && online_at gestor2 dave 198.18.3.11'
id=$(send dave carol "gestor1 is gone")
poll "carol to have the message sent after gestor1 went" 30 received carol dave "$id"
out=$(ex carol p2pchatctl lookup dave) || fail "lookup through gestor2: $out"
printf '%s\n' "$out" | grep -q "^addr	198.18.3.11$" || fail "lookup through gestor2: $out"
stamp "failed over to gestor2"

compose_done
log "ok"
