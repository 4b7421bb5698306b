# Helpers for the tests with PostgreSQL: throwaway database servers
# (initdb into a temporary directory, Unix socket only, never a TCP port),
# run by an unprivileged user (postgres when the tests run as root), and
# gestors that share them. Source it after nothing else; set -eu expected.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

PGBIN=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
PGTMP=
declare -A PG_UP=()

skip() { log "SKIP: $*"; exit 77; }

# as_pg CMD...: run CMD as the servers' owner (initdb refuses root).
as_pg() {
	if [ "$(id -u)" = 0 ]; then
		setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"
	else
		"$@"
	fi
}

[ -n "$PGBIN" ] && [ -x "$PGBIN/initdb" ] && [ -x "$PGBIN/pg_ctl" ] ||
	skip "PostgreSQL server binaries not found (apt-get install postgresql)"
"$P2PCHATD" --version 2>/dev/null | grep -q postgresql ||
	skip "this p2pchatd was built without PostgreSQL (configure --with-postgresql)"
if [ "$(id -u)" = 0 ]; then
	id postgres >/dev/null 2>&1 && command -v setpriv >/dev/null ||
		skip "running as root without a postgres user to run initdb as"
fi
PGTMP=$(mktemp -d /tmp/p2pchat-pg.XXXXXX)
chmod 755 "$PGTMP"
[ "$(id -u)" != 0 ] || chown postgres: "$PGTMP"

pg_cleanup() {
	local name
	for name in "${!PG_UP[@]}"; do
		as_pg "$PGBIN/pg_ctl" -D "$PGTMP/$name" -m immediate stop \
		    >/dev/null 2>&1 || true
	done
	if [ "${KEEP_TMP:-0}" = 1 ]; then
		log "kept $PGTMP"
	else
		rm -rf "$PGTMP"
	fi
}
trap 'pg_cleanup; cleanup' EXIT

pg_fail() {
	local f
	for f in "$PGTMP"/*.log; do
		[ -e "$f" ] || continue
		printf -- '--- %s (last 20 lines)\n' "$f" >&2
		tail -n 20 "$f" >&2
	done
	fail "$@"
}

# pg_opts NAME: the server options: Unix socket in its directory, no TCP.
pg_opts() {
	printf '%s' "-k $PGTMP/$1.s -c listen_addresses='' -c fsync=off"
}

# pg_sockdir NAME: where the server's Unix socket is (outside its data
# directory, so that pg_basebackup does not copy its lock file).
pg_sockdir() {
	as_pg mkdir -p -m 755 "$PGTMP/$1.s"
}

# pg_init NAME: a new, stopped cluster with superuser p2p (trust).
pg_init() {
	as_pg "$PGBIN/initdb" -D "$PGTMP/$1" -A trust -U p2p --no-sync \
	    >"$PGTMP/$1.initdb.log" 2>&1 || { cat "$PGTMP/$1.initdb.log" >&2;
	    fail "initdb $1"; }
	cat >>"$PGTMP/$1/postgresql.conf" <<CONF
listen_addresses = ''
wal_level = replica
max_wal_senders = 4
hot_standby = on
CONF
}

# pg_start NAME: start it (waits until it accepts connections).
pg_start() {
	pg_sockdir "$1"
	as_pg "$PGBIN/pg_ctl" -D "$PGTMP/$1" -l "$PGTMP/$1.log" -o "$(pg_opts "$1")" \
	    -w -t 60 start >/dev/null || pg_fail "pg_ctl start $1"
	PG_UP[$1]=1
}

# pg_stop NAME [MODE]: stop it (MODE immediate is a crash).
pg_stop() {
	as_pg "$PGBIN/pg_ctl" -D "$PGTMP/$1" -m "${2:-fast}" -w -t 60 stop \
	    >/dev/null || pg_fail "pg_ctl stop $1"
	unset "PG_UP[$1]"
}

# psql_q NAME SQL [DB]: run SQL, print rows unaligned.
psql_q() {
	as_pg "$PGBIN/psql" -X -q -At -h "$PGTMP/$1.s" -U p2p -d "${3:-p2pchat}" \
	    -v ON_ERROR_STOP=1 -c "$2"
}

# pg_new NAME: init, start, and create database p2pchat.
pg_new() {
	pg_init "$1"
	pg_start "$1"
	psql_q "$1" "CREATE DATABASE p2pchat" postgres >/dev/null ||
		pg_fail "createdb on $1"
}

# pg_standby PRIMARY NAME: a streaming standby of PRIMARY, started.
pg_standby() {
	as_pg "$PGBIN/pg_basebackup" -h "$PGTMP/$1.s" -U p2p -D "$PGTMP/$2" -R \
	    -X stream -c fast >"$PGTMP/$2.basebackup.log" 2>&1 ||
		pg_fail "pg_basebackup $1 -> $2: $(cat "$PGTMP/$2.basebackup.log")"
	pg_start "$2"
}

pg_promote() {
	as_pg "$PGBIN/pg_ctl" -D "$PGTMP/$1" -w -t 60 promote >/dev/null ||
		pg_fail "pg_ctl promote $1"
}

# pg_conninfo NAME...: conninfo for the servers, in order (multi-host).
pg_conninfo() {
	local hosts="" n
	for n in "$@"; do
		hosts="$hosts${hosts:+,}$PGTMP/$n.s"
	done
	printf 'host=%s dbname=p2pchat user=p2p target_session_attrs=read-write' \
	    "$hosts"
}

# start_pg_gestor NAME CONNINFO [CLUSTER KEYS]: a gestor named NAME in the
# cluster (CLUSTER KEYS: more settings of its cluster group). The
# gestors of one cluster are one directory to the peers, which pin its key:
# every one after the first gets the first one's identity key.
KEY_GESTOR=
start_pg_gestor() {
	if [ -n "$KEY_GESTOR" ] && [ ! -e "$TMP/$1/identity.key" ]; then
		mkdir -p -m 700 "$TMP/$1"
		cp -p "$TMP/$KEY_GESTOR/identity.key" "$TMP/$1/identity.key"
	fi
	: "${KEY_GESTOR:=$1}"
	start_gestor "$1" "storage = { backend = \"postgresql\"; conninfo = \"$2\"; };
cluster = { name = \"$1\"; ${3:-} };"
}

# start_peer_multi NAME GESTOR...: a peer that lists several gestors.
start_peer_multi() {
	local name=$1 g addrs=""
	shift
	for g in "$@"; do
		addrs="$addrs${addrs:+, }\"127.0.0.1:${PORT_OF[$g]}\""
	done
	write_conf "$name" peer "gestor = { addresses = [ $addrs ]; };"
	start "$name"
	PORT_OF[$name]=$(field "$name" listen | sed 's/.*://')
	write_conf "$name" peer "gestor = { addresses = [ $addrs ]; };"
}

# online_at GESTOR USER STATE: lookup USER on GESTOR says online/offline.
online_at() {
	ctl "$1" lookup "$2" | grep -q "^online	$3\$"
}

# db_is GESTOR STATE: its status says the database is connected/reconnecting.
db_is() {
	[ "$(field "$1" database)" = "$2" ]
}

# users_on DB N: the database has N accounts.
users_on() {
	[ "$(psql_q "$1" "SELECT count(*) FROM users")" = "$2" ]
}
