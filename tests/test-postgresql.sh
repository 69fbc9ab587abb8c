#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# pulpd on PostgreSQL: starts a private server (initdb in a temporary
# folder, listening on a Unix socket only) and runs the engine tests, then
# end-to-end test scripts, each on a fresh database. Prints TAP, one line
# per engine test and per script (a failed one's output as comments). Run
# under tests/pulp-test-bus.
# Usage: test-postgresql.sh TEST_ENGINE [-- SCRIPT ARGS…]…
set -eu
TEST_ENGINE=$1
shift
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
WORK=$(mktemp -d)
trap 'runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$WORK/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT
chown postgres "$WORK"
pg() { runuser -u postgres -- "$PG_BIN/$1" "${@:2}"; }
fresh_database() {
  pg dropdb -h "$WORK" -U pulp --if-exists pulp 2>/dev/null
  pg createdb -h "$WORK" -U pulp pulp
}
pg initdb -D "$WORK/data" -A trust -U pulp >"$WORK/initdb.log"
pg pg_ctl -D "$WORK/data" -o "-c listen_addresses= -k $WORK" -l "$WORK/server.log" -w start >/dev/null
export PULP_TEST_POSTGRESQL="USERNAME=pulp;HOST=$WORK;DB_NAME=pulp"
export PULP_TEST_PSQL="$PG_BIN/psql -h $WORK -U pulp pulp"
# "$PULP_TEST_PG_CTL restart|stop|start": for tests of a server that goes away
cat >"$WORK/pg-ctl" <<SCRIPT
#!/bin/sh
exec runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$WORK/data" -w -m fast -l "$WORK/server.log" \
  -o "-c listen_addresses= -k $WORK" "\$1" >/dev/null
SCRIPT
chmod +x "$WORK/pg-ctl"
export PULP_TEST_PG_CTL=$WORK/pg-ctl

mapfile -t tests < <("$TEST_ENGINE" -l | grep '^/')
scripts=$(grep -c '^--$' < <(printf '%s\n' "$@") || true)
echo "1..$((${#tests[@]} + scripts))"
n=0
failed=0
run() { # run NAME COMMAND…: one TAP line, the output as comments if it failed
  n=$((n + 1))
  fresh_database
  if "${@:2}" >"$WORK/out" 2>&1; then
    echo "ok $n $1$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$WORK/out" | sed 's/^/: /')"
  else
    echo "not ok $n $1"
    sed 's/^/# /' "$WORK/out"
    failed=1
  fi
}
for t in "${tests[@]}"; do
  run "$t" "$TEST_ENGINE" -p "$t"
done
while [ $# -gt 0 ]; do
  shift # --
  command=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do
    command+=("$1")
    shift
  done
  run "$(basename "${command[0]}") on PostgreSQL $(cat "$WORK/data/PG_VERSION")" "${command[@]}"
done
exit $failed
