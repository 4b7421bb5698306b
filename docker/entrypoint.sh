#!/bin/sh
# Container entry point (/usr/local/bin/p2pchat-entrypoint).
#
#   p2pchat-entrypoint COMMAND [ARG...]
#       add the static routes given in P2PCHAT_ROUTES ("NET via GW" entries
#       separated by ";"; needs CAP_NET_ADMIN), then run COMMAND as the
#       unprivileged user p2pchat. p2pchatd serves control connections from
#       its own uid and from root, so `docker exec CONTAINER p2pchatctl ...`
#       works.
#   p2pchat-entrypoint routes
#       add the routes again and exit: a network interface that was
#       disconnected and connected again has lost them.
#   p2pchat-entrypoint set-host NAME ADDRESS
#       point NAME at ADDRESS in /etc/hosts, as a DNS update would.
#       p2pchatd re-reads /etc/hosts whenever it connects to the gestor.
set -eu

add_routes() {
	[ -n "${P2PCHAT_ROUTES:-}" ] || return 0
	echo "$P2PCHAT_ROUTES" | tr ';' '\n' | while read -r route; do
		[ -n "$route" ] || continue
		# shellcheck disable=SC2086 # "NET via GW" splits into ip's arguments
		ip route replace $route
		echo "p2pchat-entrypoint: route $route" >&2
	done
}

# /etc/hosts is a file Docker mounts into the container: rewrite it in
# place rather than replace it.
set_host() {
	tmp=$(mktemp)
	awk -v name="$1" '{ for (i = 2; i <= NF; i++) if ($i == name) next; print }' \
	    /etc/hosts >"$tmp"
	printf '%s\t%s\n' "$2" "$1" >>"$tmp"
	cat "$tmp" >/etc/hosts
	rm -f "$tmp"
	echo "p2pchat-entrypoint: $1 is now $2" >&2
}

case ${1:-} in
routes)
	add_routes
	exit 0
	;;
set-host)
	[ $# -eq 3 ] || { echo "usage: p2pchat-entrypoint set-host NAME ADDRESS" >&2; exit 2; }
	set_host "$2" "$3"
	exit 0
	;;
esac

# Gestors of the compose profile "postgresql": the database password as a
# pgpass file for libpq (never in the configuration or the logs), and the
# cluster's one identity key copied from the first gestor's volume.
pg_setup() {
	if [ -n "${P2PCHAT_DB_PASSWORD:-}" ]; then
		install -d -o p2pchat -g p2pchat -m 0700 /run/p2pchat
		umask 077
		printf '*:*:p2pchat:p2pchat:%s\n' "$(printf '%s' \
		    "$P2PCHAT_DB_PASSWORD" | sed 's/[\\:]/\\&/g')" >/run/p2pchat/pgpass
		chown p2pchat:p2pchat /run/p2pchat/pgpass
		export PGPASSFILE=/run/p2pchat/pgpass
		unset P2PCHAT_DB_PASSWORD
	fi
	if [ -n "${P2PCHAT_KEY_FROM:-}" ] && [ ! -e /var/lib/p2pchat/identity.key ]; then
		install -o p2pchat -g p2pchat -m 0600 "$P2PCHAT_KEY_FROM" \
		    /var/lib/p2pchat/identity.key
		echo "p2pchat-entrypoint: identity key copied from $P2PCHAT_KEY_FROM" >&2
	fi
}

add_routes
[ "$(id -u)" != 0 ] || pg_setup
if [ "$(id -u)" = 0 ]; then
	exec setpriv --reuid=p2pchat --regid=p2pchat --init-groups "$@"
fi
exec "$@"
