#!/bin/bash
# pulpd and its PostgreSQL server (run by test-postgresql.sh under
# tests/pulp-test-bus, which sets PULP_TEST_PG_CTL to control its server):
# a second pulpd on the same database is refused; while the server restarts
# and stops, pulpd stays up, a stopped server gives a clear error, and work
# goes on once the server is back.
# Usage: test-pg-server.sh PULPD TEST_IMPORTER_DIR
set -u
PULPD=$1
IMPORTERS=$2
WORK=$(mktemp -d)
STATE=$WORK/state
PID=
pass=0
fail=0
trap '[ -n "$PID" ] && kill -9 $PID 2>/dev/null; rm -rf "$WORK"' EXIT

. "$(dirname "$0")/lib.sh"

[ -n "${PULP_TEST_PG_CTL:-}" ] || { echo "PULP_TEST_PG_CTL is not set: run me from test-postgresql.sh"; exit 1; }
M="org.pulp.Manager /org/pulp/Manager org.pulp.Manager"
mgr() { call $M "$@"; }
# sync ID: runs a sync to its end, prints its final state
sync() {
  local t
  t=$(call org.pulp.Manager "/org/pulp/repositories/$1" org.pulp.Repository Sync a{sv} 0 | cut -d'"' -f2)
  busctl --system call --timeout=60 org.pulp.Manager "$t" org.pulp.Task Wait 2>&1
}
create() { mgr CreateRepository ssa{sv} "$1" test 1 feed s "file://$WORK/desc"; }
alive() { kill -0 "$PID" 2>/dev/null && echo yes; }
# longer than pulpd lets a connection sit idle before it reopens it
idle() { sleep 3; }

printf 'units 200 u v1\n' >"$WORK/desc"
database_conf >"$WORK/pulpd.conf"
start_pulpd --config "$WORK/pulpd.conf" --importer-dir "$IMPORTERS"
create before >/dev/null
check "a sync before the restart completes" 's "completed"' "$(sync before)"

# a second pulpd (its own state directory, on another bus) on the same
# database would fail the first one's running tasks and discard their
# unfinished versions when it starts
printf 'block-after 5 %s\nunits 10 b v1\n' "$WORK/go" >"$WORK/desc-blocked"
mgr CreateRepository ssa{sv} blocked test 1 feed s "file://$WORK/desc-blocked" >/dev/null
T=$(call org.pulp.Manager /org/pulp/repositories/blocked org.pulp.Repository Sync a{sv} 0 | cut -d'"' -f2)
wait_for_task_stage "$T" blocked
out=$(timeout 20 dbus-run-session -- "$PULPD" --session --state-dir "$WORK/state2" --config "$WORK/pulpd.conf" 2>&1); rc=$?
check "a second pulpd on the database: exit 1" "1" "$rc"
contains "… saying why" "The database is in use by another pulpd" "$out"
touch "$WORK/go"
check "the first pulpd's sync that ran meanwhile completes" 's "completed"' \
  "$(busctl --system call --timeout=60 org.pulp.Manager "$T" org.pulp.Task Wait 2>&1)"
check "… with all its units" "t 10" "$(prop /org/pulp/repositories/blocked org.pulp.Repository UnitCount)"

$PULP_TEST_PG_CTL restart
idle
check "after a server restart: pulpd runs" "yes" "$(alive)"
check "after a server restart: a repository is created" 'o "/org/pulp/repositories/after"' \
  "$(create after)"
check "after a server restart: a sync completes" 's "completed"' "$(sync before)"

$PULP_TEST_PG_CTL stop
idle
out=$(create down)
contains "server down: the call fails with a database error" \
  "Database error while creating the repository:" "$out"
contains "… that says why (libpq's words)" "connection to server" "$out"
check "server down: pulpd runs" "yes" "$(alive)"

$PULP_TEST_PG_CTL start
check "server back: a repository is created" 'o "/org/pulp/repositories/down"' \
  "$(create down)"
check "server back: a sync completes" 's "completed"' "$(sync down)"
check "server back: every repository is there" \
  'ao 4 "/org/pulp/repositories/after" "/org/pulp/repositories/before" "/org/pulp/repositories/blocked" "/org/pulp/repositories/down"' \
  "$(mgr ListRepositories)"

no_criticals

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
