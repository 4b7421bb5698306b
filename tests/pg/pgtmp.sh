#!/usr/bin/env bash
# A throwaway PostgreSQL server for the unit tests (tests/unit/test_gstore_pg):
#   pgtmp.sh start DIR   initdb into DIR (a new directory), start it with its
#                        Unix socket in DIR and no TCP port, create database
#                        p2pchat; prints its conninfo
#   pgtmp.sh stop DIR [MODE]   stop it (MODE: fast, immediate)
#   pgtmp.sh restart DIR       start it again after a stop
#   pgtmp.sh sql DIR SQL       run SQL in database p2pchat
#   pgtmp.sh reset DIR         a fresh, empty database p2pchat
#   pgtmp.sh rm DIR            stop (immediate) and remove it
# Exit 77 when PostgreSQL is not installed or cannot be run here. As root
# the server runs as the unprivileged user postgres (initdb refuses root).
set -eu
PGBIN=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start|stop|restart|sql|rm DIR" >&2; exit 2; }
[ -n "$PGBIN" ] && [ -x "$PGBIN/initdb" ] || { echo "$0: PostgreSQL not installed" >&2; exit 77; }

as_pg() {
	if [ "$(id -u)" = 0 ]; then
		setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"
	else
		"$@"
	fi
}
opts="-k $dir -c listen_addresses='' -c fsync=off"

case $cmd in
start)
	if [ "$(id -u)" = 0 ]; then
		id postgres >/dev/null 2>&1 && command -v setpriv >/dev/null ||
			{ echo "$0: root, and no postgres user to run initdb as" >&2; exit 77; }
	fi
	mkdir -m 755 "$dir"
	[ "$(id -u)" != 0 ] || chown postgres: "$dir"
	as_pg "$PGBIN/initdb" -D "$dir" -A trust -U p2p --no-sync >"$dir.initdb.log" 2>&1 ||
		{ cat "$dir.initdb.log" >&2; exit 1; }
	rm -f "$dir.initdb.log"
	as_pg "$PGBIN/pg_ctl" -D "$dir" -l "$dir/log" -o "$opts" -w -t 60 start >/dev/null
	as_pg "$PGBIN/psql" -X -q -h "$dir" -U p2p -d postgres -c "CREATE DATABASE p2pchat"
	printf 'host=%s dbname=p2pchat user=p2p\n' "$dir"
	;;
stop)
	as_pg "$PGBIN/pg_ctl" -D "$dir" -m "${3:-fast}" -w -t 60 stop >/dev/null
	;;
restart)
	as_pg "$PGBIN/pg_ctl" -D "$dir" -l "$dir/log" -o "$opts" -w -t 60 start >/dev/null
	;;
sql)
	as_pg "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -h "$dir" -U p2p -d p2pchat -c "$3"
	;;
reset)
	as_pg "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$dir" -U p2p -d postgres \
	    -c "DROP DATABASE IF EXISTS p2pchat WITH (FORCE)" -c "CREATE DATABASE p2pchat"
	;;
rm)
	as_pg "$PGBIN/pg_ctl" -D "$dir" -m immediate stop >/dev/null 2>&1 || true
	rm -rf "$dir"
	;;
*)
	echo "$0: unknown command $cmd" >&2; exit 2 ;;
esac
