#!/bin/sh
# Entry point of the PostgreSQL container of the compose profile
# "postgresql" (/usr/local/bin/p2pchat-postgres): on first start, initdb
# into the volume, a role and database p2pchat with the password in
# P2PCHAT_DB_PASSWORD, password (scram-sha-256) logins from P2PCHAT_DB_NET
# only; then run the server in the foreground as postgres.
set -eu
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
DATA=/var/lib/postgresql/data
: "${P2PCHAT_DB_PASSWORD:?set P2PCHAT_DB_PASSWORD}"
: "${P2PCHAT_DB_NET:=198.18.1.0/24}"

install -d -o postgres -g postgres -m 0700 "$DATA" /run/postgresql
# The set-up below ends by writing DONE; a start that finds the cluster
# without it (a set-up cut short: a kill, a full disk) makes it again.
DONE=$DATA/p2pchat-initialised
if [ ! -e "$DONE" ]; then
	find "$DATA" -mindepth 1 -delete
	pw=$(mktemp)
	printf '%s\n' "$P2PCHAT_DB_PASSWORD" >"$pw"
	chown postgres "$pw"
	setpriv --reuid=postgres --regid=postgres --init-groups \
	    "$PGBIN/initdb" -D "$DATA" -U postgres --auth-local=peer \
	    --auth-host=scram-sha-256 --pwfile="$pw" \
	    >/dev/null
	rm -f "$pw"
	cat >>"$DATA/pg_hba.conf" <<HBA
host p2pchat p2pchat $P2PCHAT_DB_NET scram-sha-256
HBA
	setpriv --reuid=postgres --regid=postgres --init-groups \
	    "$PGBIN/pg_ctl" -D "$DATA" -o "-c listen_addresses=''" -w start >/dev/null
	setpriv --reuid=postgres --regid=postgres --init-groups "$PGBIN/psql" -X -q \
	    -h /run/postgresql -U postgres -d postgres -v ON_ERROR_STOP=1 <<'SQL'
\getenv pw P2PCHAT_DB_PASSWORD
CREATE ROLE p2pchat LOGIN PASSWORD :'pw';
CREATE DATABASE p2pchat OWNER p2pchat;
SQL
	setpriv --reuid=postgres --regid=postgres --init-groups \
	    "$PGBIN/pg_ctl" -D "$DATA" -w stop >/dev/null
	touch "$DONE"
	echo "p2pchat-postgres: database p2pchat created" >&2
fi
exec setpriv --reuid=postgres --regid=postgres --init-groups \
    "$PGBIN/postgres" -D "$DATA" -c listen_addresses='*' \
    -c unix_socket_directories=/run/postgresql
