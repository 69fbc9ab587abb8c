# Helpers shared by the end-to-end test scripts (sourced): TAP-style
# results counted in $pass and $fail, and short forms of busctl calls to
# pulpd on the (private) system bus.
pass=${pass:-0}
fail=${fail:-0}

ok() { pass=$((pass + 1)); echo "ok $((pass + fail)) - $1"; }
not_ok() { fail=$((fail + 1)); echo "not ok $((pass + fail)) - $1"; }
check() { # check DESCRIPTION EXPECTED ACTUAL
  if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1: expected «$2», got «$3»"; fi
}
contains() { # contains DESCRIPTION NEEDLE HAYSTACK
  case "$3" in *"$2"*) ok "$1" ;; *) not_ok "$1: «$2» not in «$3»" ;; esac
}
lacks() { # lacks DESCRIPTION NEEDLE HAYSTACK
  case "$3" in *"$2"*) not_ok "$1: «$2» in «$3»" ;; *) ok "$1" ;; esac
}

call() { busctl --system call "$@" 2>&1; }
# no_criticals: pulpd's log (all its runs in this script) holds no GLib
# critical warning: each is a broken assumption, such as a double unref.
# createrepo_c's own are left out: it reports malformed XML that way, and
# pulpd turns that into the sync's error.
no_criticals() {
  check "pulpd logged no critical warnings" "" \
    "$(grep -- '-CRITICAL \*\*' "$WORK/pulpd.log" | grep -v '^(pulpd:[0-9]*): C_CREATEREPOLIB-CRITICAL')"
}
# start_pulpd ARGS…: starts $PULPD on the system bus with its state in
# $STATE and its log in $WORK/pulpd.log (its pid in $PID), and waits
# (bounded) until it owns its name
start_pulpd() {
  "$PULPD" --system --state-dir "$STATE" "$@" >>"$WORK/pulpd.log" 2>&1 &
  PID=$!
  for _ in $(seq 200); do
    busctl --system status org.pulp.Manager >/dev/null 2>&1 && return 0
    kill -0 $PID 2>/dev/null || break
    sleep 0.05
  done
  echo "pulpd did not come up:"
  cat "$WORK/pulpd.log"
  exit 1
}
wait_for_task_stage() { # TASK STAGE: waits (bounded) until the task reports STAGE
  for _ in $(seq 400); do
    [ "$(prop "$1" org.pulp.Task Stage)" = "s \"$2\"" ] && return 0
    sleep 0.05
  done
  return 1
}
prop() { busctl --system get-property org.pulp.Manager "$1" "$2" "$3" 2>&1; }
# monitor_start FILE: records what pulpd emits on the bus into FILE from
# now on (gdbus monitor); monitor_stop FILE: stops once a task's end is in
# it (bounded wait), as a client sees it after Wait returned
monitor_start() {
  gdbus monitor --system --dest org.pulp.Manager >"$1" 2>&1 &
  MONITOR_PID=$!
  for _ in $(seq 100); do grep -q "Monitoring" "$1" 2>/dev/null && break; sleep 0.05; done
}
monitor_stop() {
  for _ in $(seq 100); do grep -q "Finished" "$1" && break; sleep 0.05; done
  kill "$MONITOR_PID"
  wait "$MONITOR_PID" 2>/dev/null
}
# last_progress FILE TASK STAGE: the last Progress signal of TASK in STAGE
last_progress() { grep "org.pulp.Repository.Progress (objectpath '$2', '$3'," "$1" | tail -1; }
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }

# The database: SQLite in $STATE, or the PostgreSQL server that
# test-postgresql.sh started (PULP_TEST_POSTGRESQL, PULP_TEST_PSQL).
# database_conf prints the [database] part of a pulpd.conf; sql QUERY
# asks the database.
database_conf() {
  [ -z "${PULP_TEST_POSTGRESQL:-}" ] || printf '[database]\nprovider=PostgreSQL\ncnc-string=%s\n' "$PULP_TEST_POSTGRESQL"
}
sql() {
  if [ -n "${PULP_TEST_POSTGRESQL:-}" ]; then $PULP_TEST_PSQL -tAc "$1"; else sqlite3 "$STATE/pulp.db" "$1"; fi
}
