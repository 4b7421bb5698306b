#!/bin/sh
# Container entry point: add the static routes given in P2PCHAT_ROUTES
# ("NET via GW" entries separated by ";", needs CAP_NET_ADMIN), then run the
# command as the unprivileged p2pchat user (p2pchatd accepts control
# connections from its own uid and from root, so `docker compose exec`
# works).
set -eu

if [ -n "${P2PCHAT_ROUTES:-}" ]; then
	echo "$P2PCHAT_ROUTES" | tr ';' '\n' | while read -r route; do
		[ -n "$route" ] || continue
		# shellcheck disable=SC2086 # "NET via GW" splits into ip's arguments
		ip route replace $route
		echo "entrypoint: route $route" >&2
	done
fi

if [ "$(id -u)" = 0 ]; then
	exec setpriv --reuid=p2pchat --regid=p2pchat --init-groups "$@"
fi
exec "$@"
