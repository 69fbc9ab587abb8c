#!/bin/bash
# End-to-end tests of pulpd on a private system bus with a real polkitd
# (run under tests/pulp-test-bus): the contract as busctl sees it, argument
# checks, polkit, persistence, queueing, cancellation, and kill -9 in the
# middle of a sync; on SQLite, or on PostgreSQL under test-postgresql.sh.
# Usage: test-daemon.sh PULPD TEST_IMPORTER_DIR
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

M="org.pulp.Manager /org/pulp/Manager org.pulp.Manager"
mgr() { call $M "$@"; }
repo() { local id=$1; shift; call org.pulp.Manager /org/pulp/repositories/$id org.pulp.Repository "$@"; }
task_wait() { busctl --system call --timeout=120 org.pulp.Manager "$1" org.pulp.Task Wait 2>&1; }

database_conf >"$WORK/pulpd.conf"
start() { start_pulpd --config "$WORK/pulpd.conf" --importer-dir "$IMPORTERS"; }

out=$("$PULPD" --system --config "$WORK/no-such.conf" 2>&1); rc=$?
check "a missing --config file: exit 1" "1" "$rc"
contains "… naming the file" "Cannot read the configuration $WORK/no-such.conf:" "$out"
printf '[daemon]\nupload-max-size=4M\n' >"$WORK/bad.conf"
out=$(timeout 20 "$PULPD" --system --state-dir "$WORK/bad-state" --config "$WORK/bad.conf" 2>&1); rc=$?
check "a value a key cannot take: exit 1" "1" "$rc"
contains "… naming the key" "Cannot start: [daemon] upload-max-size is " "$out"
contains "… and the value" "4M" "$out"

# an importer folder that holds none: said in the log
dbus-daemon --session --print-address=3 --print-pid=4 --fork 3>"$WORK/addr3" 4>"$WORK/bus3.pid"
"$PULPD" --address "$(cat "$WORK/addr3")" --state-dir "$WORK/no-importers" \
  --importer-dir "$WORK/no-such-dir" >"$WORK/no-importers.log" 2>&1 &
p=$!
for _ in $(seq 200); do
  grep -q "No importers" "$WORK/no-importers.log" || ! kill -0 $p 2>/dev/null && break
  sleep 0.05
done
kill $p "$(cat "$WORK/bus3.pid")"; wait $p 2>/dev/null
contains "no importers: a warning names the folder" "No importers found in $WORK/no-such-dir" \
  "$(cat "$WORK/no-importers.log")"

# a key or group pulpd does not know (a typo, most likely) is logged and ignored
printf '[daemon]\nmax-parallel-syncs=4\n[downloads]\nconcurrency=20\n' >>"$WORK/pulpd.conf"
start
contains "an unknown key is logged" "in group [daemon] of the configuration, ignored" \
  "$(grep max-parallel-syncs "$WORK/pulpd.log")"
contains "an unknown group is logged" \
  "Unknown group [downloads] in the configuration, ignored" "$(cat "$WORK/pulpd.log")"
contains "ListImporters lists the test importer" '"test"' "$(mgr ListImporters)"
contains "Version property" 's "' "$(prop /org/pulp/Manager org.pulp.Manager Version)"
contains "introspection shows CreateRepository" "CreateRepository" "$(busctl --system introspect org.pulp.Manager /org/pulp/Manager)"

# --- argument checks: each error is specific and stores nothing
for bad in "" "../x" "a b" ".a" "$(printf 'x%.0s' $(seq 65))"; do
  contains "id «$bad» is rejected" "org.pulp.Error.InvalidArgument" "$(gdbus call --system --dest org.pulp.Manager --object-path /org/pulp/Manager --method org.pulp.Manager.CreateRepository "$bad" test '@a{sv} {}' 2>&1)"
done
contains "unknown importer: NotFound" "No importer “nope” is loaded" "$(mgr CreateRepository ssa{sv} r1 nope 0)"
contains "wrong variant type" "must have type “s”, not “u”" "$(mgr CreateRepository ssa{sv} r1 test 1 feed u 3)"
contains "unknown importer key" "Unknown configuration key “colour”" "$(mgr CreateRepository ssa{sv} r1 test 1 colour s red)"
contains "malformed feed URL" "“feed” must be a URL with one of the schemes" "$(mgr CreateRepository ssa{sv} r1 test 1 feed s ftp://x/y)"
for feed in file:relative/desc file://otherhost/desc; do
  contains "file feed $feed: InvalidArgument" "org.pulp.Error.InvalidArgument: “feed” must name a local file by its absolute path" \
    "$(gdbus call --system --dest org.pulp.Manager --object-path /org/pulp/Manager --method org.pulp.Manager.CreateRepository r1 test "{'feed': <'$feed'>}" 2>&1)"
done
contains "bad sync-policy" "“sync-policy” must be one of" "$(mgr CreateRepository ssa{sv} r1 test 1 sync-policy s sometimes)"
contains "client-key without client-cert" "“client-key” is set without “client-cert”" \
  "$(mgr CreateRepository ssa{sv} r1 test 1 client-key s /etc/pulp/client.key)"
check "nothing was stored" "ao 0" "$(mgr ListRepositories)"
busctl --system call $M CreateRepository ssa{sv} r1 test 0 >/dev/null 2>&1 || true
err=$(busctl --system call $M CreateRepository ssa{sv} r1 test 0 2>&1)
contains "duplicate id: Exists" "exists already" "$err"
for m in GetRepository DeleteRepository; do
  contains "$m of a malformed id: InvalidArgument" \
    "org.pulp.Error.InvalidArgument: Invalid repository id “bad id”" \
    "$(dbus-send --system --print-reply --dest=org.pulp.Manager /org/pulp/Manager org.pulp.Manager.$m string:'bad id' 2>&1)"
done
# calls on objects that do not exist: NotFound (dbus-api.md), not GDBus's
# UnknownMethod "Object does not exist at path"
ds() { dbus-send --system --print-reply --dest=org.pulp.Manager "$@" 2>&1; }
contains "Wait on a task that does not exist: NotFound" \
  "org.pulp.Error.NotFound: No task 999999: it never existed, or it ended longer ago" \
  "$(ds /org/pulp/tasks/999999 org.pulp.Task.Wait)"
contains "Cancel of a task that does not exist: NotFound" "org.pulp.Error.NotFound: No task 999999" \
  "$(ds /org/pulp/tasks/999999 org.pulp.Task.Cancel)"
contains "a property of a task that does not exist: NotFound" "org.pulp.Error.NotFound: No task 999999" \
  "$(ds /org/pulp/tasks/999999 org.freedesktop.DBus.Properties.Get string:org.pulp.Task string:State)"
contains "Sync of a repository that does not exist: NotFound" "org.pulp.Error.NotFound: No repository “a-b”" \
  "$(gdbus call --system --dest org.pulp.Manager --object-path /org/pulp/repositories/a_2db \
     --method org.pulp.Repository.Sync '{}' 2>&1)"
contains "Error names cross the bus" "org.pulp.Error.NotFound" "$(busctl --system --json=short call $M GetRepository s nope 2>&1; dbus-send --system --print-reply --dest=org.pulp.Manager /org/pulp/Manager org.pulp.Manager.GetRepository string:nope 2>&1)"

# --- a sync
printf 'units 500 u v1\n' >"$WORK/desc"
repo r1 Configure a{sv} 2 feed s "file://$WORK/desc" password s secret >/dev/null
check "secrets are not returned" "" "$(prop /org/pulp/repositories/r1 org.pulp.Repository Config | grep -o secret)"
[ -n "${PULP_TEST_POSTGRESQL:-}" ] || check "the database, which holds the password, is pulpd's alone" \
  "600 600" "$(stat -c %a "$STATE/pulp.db" "$STATE/pulp.db-wal" | tr '\n' ' ' | sed 's/ $//')"
mgr CreateRepository ssa{sv} sec test 2 feed s "http://fuser:FeedPW@127.0.0.1:1/x?y" \
  proxy s "http://puser:ProxyPW@127.0.0.1:3128" >/dev/null
check "passwords in the feed and proxy URLs are not returned" "" \
  "$(prop /org/pulp/repositories/sec org.pulp.Repository Config | grep -o 'FeedPW\|ProxyPW')"
contains "the rest of the feed URL is" '"http://fuser@127.0.0.1:1/x?y"' \
  "$(prop /org/pulp/repositories/sec org.pulp.Repository Config)"
mgr DeleteRepository s sec >/dev/null
# an empty string unsets a key: a proxy or CA set by mistake can be taken back
repo r1 Configure a{sv} 2 proxy s http://127.0.0.1:3128 ca-cert s /nonexistent.pem >/dev/null
contains "proxy and ca-cert are set" "ca-cert" "$(prop /org/pulp/repositories/r1 org.pulp.Repository Config)"
check "an empty string unsets them" "" "$(repo r1 Configure a{sv} 2 proxy s "" ca-cert s "")"
check "they are gone from Config" "" "$(prop /org/pulp/repositories/r1 org.pulp.Repository Config | grep -o 'proxy\|ca-cert')"
repo r1 Configure a{sv} 2 client-cert s /etc/pulp/client.pem client-key s /etc/pulp/client.key >/dev/null
contains "client-cert and client-key together are taken" "client-key" "$(prop /org/pulp/repositories/r1 org.pulp.Repository Config)"
contains "unsetting client-cert alone is refused" "“client-key” is set without “client-cert”" \
  "$(repo r1 Configure a{sv} 1 client-cert s "")"
check "both unset together" "" "$(repo r1 Configure a{sv} 2 client-cert s "" client-key s "")"
t=$(repo r1 Sync a{sv} 0 | cut -d'"' -f2)
check "Sync returns a task" "/org/pulp/tasks/" "${t%[0-9]*}"
check "sync completes" 's "completed"' "$(task_wait "$t")"
check "LatestVersion after first sync" "t 1" "$(prop /org/pulp/repositories/r1 org.pulp.Repository LatestVersion)"
check "UnitCount after first sync" "t 500" "$(prop /org/pulp/repositories/r1 org.pulp.Repository UnitCount)"
contains "Summary counts added" '"added" t 500' "$(prop "$t" org.pulp.Task Summary)"
check "LastSync is the finish time of the sync" "$(prop "$t" org.pulp.Task Finished)" \
  "$(prop /org/pulp/repositories/r1 org.pulp.Repository LastSync)"
last=$(prop /org/pulp/repositories/r1 org.pulp.Repository LastSync)
mv "$WORK/desc" "$WORK/desc.away"
t=$(repo r1 Sync a{sv} 0 | cut -d'"' -f2)
check "a sync that fails" 's "failed"' "$(task_wait "$t")"
check "… leaves LastSync as it was" "$last" "$(prop /org/pulp/repositories/r1 org.pulp.Repository LastSync)"
mv "$WORK/desc.away" "$WORK/desc"
t=$(repo r1 Sync a{sv} 0 | cut -d'"' -f2); task_wait "$t" >/dev/null
check "no-op resync makes no version" "t 1" "$(prop /org/pulp/repositories/r1 org.pulp.Repository LatestVersion)"
contains "no-op summary" '"added" t 0' "$(prop "$t" org.pulp.Task Summary)"
printf 'units 499 u v1\nunit extra v1\n' >"$WORK/desc"
t=$(repo r1 Sync a{sv} 1 sync-policy s mirror | cut -d'"' -f2); task_wait "$t" >/dev/null
check "mirror sync: new version" "t 2" "$(prop /org/pulp/repositories/r1 org.pulp.Repository LatestVersion)"
contains "mirror sync removed one, added one" '"removed" t 1' "$(prop "$t" org.pulp.Task Summary)"
check "ListVersions" "a(ttt) 2" "$(repo r1 ListVersions | cut -d' ' -f1-2)"
contains "ListUnits of version 1 still has u499" '"u499"' "$(repo r1 ListUnits a{sv} 2 version t 1 limit t 10000)"
contains "limit above 10000 rejected" "at most 10000" "$(repo r1 ListUnits a{sv} 1 limit t 10001)"
contains "unknown version: NotFound" "has no version 9" "$(repo r1 ListUnits a{sv} 1 version t 9)"
# a page over the bus's message size would have the bus drop pulpd: an error
python3 -c 'print("units 12 big " + "x" * 3000000)' >"$WORK/desc-big"
mgr CreateRepository ssa{sv} big test 1 feed s "file://$WORK/desc-big" >/dev/null
t=$(repo big Sync a{sv} 0 | cut -d'"' -f2)
check "sync of 12 units of 3 MB completes" 's "completed"' "$(task_wait "$t")"
contains "a 36 MB page is refused: InvalidArgument" "org.pulp.Error.InvalidArgument: These 12 units take" "$(gdbus call --system --dest org.pulp.Manager --object-path /org/pulp/repositories/big --method org.pulp.Repository.ListUnits "{'limit': <uint64 12>}" 2>&1)"
contains "pulpd is still there: a page of 4 of them is fine" 'aa{sv} 4 ' "$(repo big ListUnits a{sv} 1 limit t 4 | head -c 20)"
mgr DeleteRepository s big >/dev/null
contains "unknown sync option" "Unknown sync option “speed”" "$(repo r1 Sync a{sv} 1 speed s fast)"

# --- Progress as a D-Bus client sees it: monotonic per stage, ~10/s, a final one per stage
printf 'units 30000 p v1\n' >"$WORK/desc-p"
mgr CreateRepository ssa{sv} progress test 1 feed s "file://$WORK/desc-p" >/dev/null
monitor_start "$WORK/monitor"
t=$(repo progress Sync a{sv} 0 | cut -d'"' -f2)
task_wait "$t" >/dev/null
started=$(prop "$t" org.pulp.Task Started | cut -d' ' -f2); finished=$(prop "$t" org.pulp.Task Finished | cut -d' ' -f2)
monitor_stop "$WORK/monitor"
verdict=$(python3 - "$WORK/monitor" "$t" "$started" "$finished" <<'PY'
import re, sys
path, task, started, finished = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
sig = re.compile(r"org\.pulp\.Repository\.Progress \(objectpath '([^']*)', '([^']*)', uint64 (\d+), uint64 (\d+)")
last, order, n = {}, [], 0
for line in open(path):
    m = sig.search(line)
    if not m or m.group(1) != task:
        continue
    stage, done = m.group(2), int(m.group(3))
    n += 1
    if stage in last and done < last[stage]:
        print("not monotonic in", stage); sys.exit()
    if stage not in last:
        order.append(stage)
    last[stage] = done
seconds = (finished - started) / 1e6
limit = int(seconds * 10) + 2 + 2 * len(order)
if order[:1] != ["metadata"] or last.get("units") != 30000 or last.get("committing") != 1:
    print("stage ends wrong:", order, last)
elif n > limit:
    print("too many signals: %d in %.2f s" % (n, seconds))
else:
    print("ok")
PY
)
check "Progress signals: monotonic, rate-limited, final per stage" "ok" "$verdict"
mgr DeleteRepository s progress >/dev/null

# --- a failing sync leaves the repository as it was
printf 'fail-after 250\nunits 300 new v2\n' >"$WORK/desc"
t=$(repo r1 Sync a{sv} 0 | cut -d'"' -f2)
check "failing sync ends failed" 's "failed"' "$(task_wait "$t")"
contains "its Error says why" "failing as told after 250 units" "$(prop "$t" org.pulp.Task Error)"
check "failed sync: version unchanged" "t 2" "$(prop /org/pulp/repositories/r1 org.pulp.Repository LatestVersion)"
check "failed sync: units unchanged" "t 500" "$(prop /org/pulp/repositories/r1 org.pulp.Repository UnitCount)"

# --- polkit: nobody may not change anything
contains "nobody cannot create" "Not authorized to perform “org.pulp.manage-repositories”" "$(as_nobody busctl --system call $M CreateRepository ssa{sv} evil test 0 2>&1)"
contains "nobody cannot sync" "Not authorized to perform “org.pulp.sync”" "$(as_nobody busctl --system call org.pulp.Manager /org/pulp/repositories/r1 org.pulp.Repository Sync a{sv} 0 2>&1)"
contains "nobody cannot delete" "PermissionDenied" "$(as_nobody dbus-send --system --print-reply --dest=org.pulp.Manager /org/pulp/Manager org.pulp.Manager.DeleteRepository string:r1 2>&1)"
contains "nobody cannot configure" "Not authorized" "$(as_nobody busctl --system call org.pulp.Manager /org/pulp/repositories/r1 org.pulp.Repository Configure a{sv} 1 description s x 2>&1)"
contains "nobody may read" "t 500" "$(as_nobody busctl --system get-property org.pulp.Manager /org/pulp/repositories/r1 org.pulp.Repository UnitCount 2>&1)"
check "state unchanged after denials" "ao 1 \"/org/pulp/repositories/r1\"" "$(mgr ListRepositories)"

# --- queueing and cancellation
printf 'block-after 5 %s\nunits 10 q v3\n' "$WORK/go" >"$WORK/desc"
t1=$(repo r1 Sync a{sv} 0 | cut -d'"' -f2)
t2=$(repo r1 Sync a{sv} 0 | cut -d'"' -f2)
wait_for_task_stage "$t1" blocked && ok "first sync runs" || not_ok "first sync never blocked"
check "second sync on the same repository queues" 's "queued"' "$(prop "$t2" org.pulp.Task State)"
check "ActiveTask is the running one" "o \"$t1\"" "$(prop /org/pulp/repositories/r1 org.pulp.Repository ActiveTask)"
contains "DeleteRepository is Busy meanwhile, naming the task" "has task ${t1##*/} queued or running" "$(mgr DeleteRepository s r1)"
contains "nobody cannot cancel root's task" "Not authorized to perform “org.pulp.cancel-task”" \
  "$(as_nobody busctl --system call org.pulp.Manager "$t1" org.pulp.Task Cancel 2>&1)"
check "the task runs on after the refused cancel" 's "running"' "$(prop "$t1" org.pulp.Task State)"
call org.pulp.Manager "$t1" org.pulp.Task Cancel >/dev/null
check "cancelled sync ends cancelled" 's "cancelled"' "$(task_wait "$t1")"
check "cancelled: version unchanged" "t 2" "$(prop /org/pulp/repositories/r1 org.pulp.Repository LatestVersion)"
touch "$WORK/go"
check "queued sync then runs and completes" 's "completed"' "$(task_wait "$t2")"
s2=$(prop "$t2" org.pulp.Task Started | cut -d' ' -f2); f1=$(prop "$t1" org.pulp.Task Finished | cut -d' ' -f2)
[ "$s2" -ge "$f1" ] && ok "second started after first finished" || not_ok "second started $s2 before first finished $f1"
check "version 3 after the queued sync" "t 3" "$(prop /org/pulp/repositories/r1 org.pulp.Repository LatestVersion)"

# --- kill -9 mid-sync at three stages, restart: nothing lost
rm -f "$WORK/go"
for at in 1 5000 12000; do
  printf 'block-after %s %s\nunits 15000 k%s v4\n' "$at" "$WORK/go" "$at" >"$WORK/desc"
  before=$(prop /org/pulp/repositories/r1 org.pulp.Repository UnitCount)
  t=$(repo r1 Sync a{sv} 0 | cut -d'"' -f2)
  wait_for_task_stage "$t" blocked || not_ok "sync did not reach unit $at"
  # past 10,000 units the pending version is in the database, not only in memory
  [ "$at" -gt 10000 ] && pending_rows=$(sql 'SELECT count(*) FROM repository_content WHERE version_added > 3')
  kill -9 $PID; wait $PID 2>/dev/null
  start
  check "after kill -9 at unit $at: version kept" "t 3" "$(prop /org/pulp/repositories/r1 org.pulp.Repository LatestVersion)"
  check "after kill -9 at unit $at: units kept" "$before" "$(prop /org/pulp/repositories/r1 org.pulp.Repository UnitCount)"
  check "after kill -9 at unit $at: task failed" 's "failed"' "$(prop "$t" org.pulp.Task State)"
  contains "after kill -9 at unit $at: task interrupted" "The daemon stopped while the task ran" "$(prop "$t" org.pulp.Task Error)"
  contains "after kill -9 at unit $at: the Summary names the error" '"error-name" s "org.pulp.Error.Interrupted"' \
    "$(prop "$t" org.pulp.Task Summary)"
  contains "after kill -9 at unit $at: the restart logs it" \
    "Task ${t##*/} (sync of r1) failed: The daemon stopped while the task ran" "$(tail -n 20 "$WORK/pulpd.log")"
  [ -n "${PULP_TEST_POSTGRESQL:-}" ] || check "after kill -9: database integrity" "ok" "$(sql 'PRAGMA integrity_check')"
done
[ "$pending_rows" -ge 10000 ] && ok "the kill at 12000 hit a pending version in the database ($pending_rows rows)" || not_ok "no pending rows before the last kill: $pending_rows"
check "pending rows were discarded" "0" "$(sql 'SELECT count(*) FROM repository_content WHERE version_added > 3')"
touch "$WORK/go"
t=$(repo r1 Sync a{sv} 0 | cut -d'"' -f2)
check "next sync completes" 's "completed"' "$(task_wait "$t")"
check "task ids are never reused" "1" "$(( ${t##*/} > ${t2##*/} ))"

# --- a second pulpd on the same state dir (here on another bus) refuses to
# start, and leaves the running sync of the first one alone
printf 'block-after 5 %s\nunits 3000 s v5\n' "$WORK/go2" >"$WORK/desc"
t=$(repo r1 Sync a{sv} 0 | cut -d'"' -f2)
wait_for_task_stage "$t" blocked || not_ok "sync did not block"
dbus-daemon --session --print-address=3 --print-pid=4 --fork 3>"$WORK/addr2" 4>"$WORK/bus2.pid"
out=$(timeout 20 "$PULPD" --address "$(cat "$WORK/addr2")" --state-dir "$STATE" \
  --config "$WORK/pulpd.conf" --importer-dir "$IMPORTERS" 2>&1); rc=$?
kill "$(cat "$WORK/bus2.pid")"
check "a second pulpd on the same state dir exits with 1" "1" "$rc"
contains "it names the pulpd that holds the state dir" "is in use by another pulpd (process $PID)" "$out"
touch "$WORK/go2"
check "the first pulpd's sync completes" 's "completed"' "$(task_wait "$t")"
contains "with all its units" '"added" t 3000' "$(prop "$t" org.pulp.Task Summary)"

# --- restart: everything is back; delete
kill $PID; wait $PID 2>/dev/null
start
check "repositories persist across restarts" "ao 1 \"/org/pulp/repositories/r1\"" "$(mgr ListRepositories)"
check "SIGTERM-ed daemon restarts with its version" "t 5" "$(prop /org/pulp/repositories/r1 org.pulp.Repository LatestVersion)"
check "DeleteRepository" "" "$(mgr DeleteRepository s r1)"
contains "deleted repository is gone" "No repository “r1”" "$(mgr GetRepository s r1)"

# --- a client that hears Finished finds the repository as the task left
# it: its PropertiesChanged (LatestVersion) comes first
dbus-monitor --system "type='signal',sender='org.pulp.Manager'" >"$WORK/monitor" 2>&1 &
monitor=$!
sleep 0.5
printf 'units 7 o v1\n' >"$WORK/desc-order"
mgr CreateRepository ssa{sv} order test 1 feed s "file://$WORK/desc-order" >/dev/null
t=$(repo order Sync a{sv} 0 | cut -d'"' -f2)
task_wait "$t" >/dev/null
sleep 0.3
kill $monitor; wait $monitor 2>/dev/null
order=$(awk -v task="$t" '
  /^signal / { header = NR; member = $0 }
  /string "LatestVersion"/ && member ~ /path=\/org\/pulp\/repositories\/order;/ && !changed { changed = header }
  /^signal / && $0 ~ "path=" task ";" && /member=Finished/ { finished = NR }
  END { print (changed && finished && changed < finished) ? "first" : "changed " changed ", finished " finished }' "$WORK/monitor")
check "LatestVersion changes before the task's Finished signal" "first" "$order"
order=$(awk -v task="$t" '
  /^signal / { header = NR; member = $0; active = 0 }
  /string "ActiveTask"/ && member ~ /path=\/org\/pulp\/repositories\/order;/ { active = 1 }
  active && /object path "\/"$/ && !cleared { cleared = header }
  /^signal / && $0 ~ "path=" task ";" && /member=Finished/ { finished = NR }
  END { print (cleared && finished && cleared < finished) ? "first" : "cleared " cleared ", finished " finished }' "$WORK/monitor")
check "ActiveTask is / again before the task's Finished signal" "first" "$order"
mgr DeleteRepository s order >/dev/null

# --- SIGTERM during a sync: its task and the one queued behind it end as
# interrupted, and whoever waits for one hears so before pulpd exits
printf 'block-after 5 %s\nunits 50 t v1\n' "$WORK/go3" >"$WORK/desc"
mgr CreateRepository ssa{sv} r3 test 1 feed s "file://$WORK/desc" >/dev/null
t=$(repo r3 Sync a{sv} 0 | cut -d'"' -f2)
wait_for_task_stage "$t" blocked || not_ok "sync did not block"
q=$(repo r3 Sync a{sv} 0 | cut -d'"' -f2)
busctl --system call --timeout=60 org.pulp.Manager "$t" org.pulp.Task Wait >"$WORK/wait.out" 2>&1 &
waiter=$!
sleep 0.3
kill -TERM $PID; wait $PID; rc=$?
wait $waiter
check "SIGTERM during a sync ends the daemon with 0" "0" "$rc"
check "the waiter hears the sync failed" 's "failed"' "$(cat "$WORK/wait.out")"
PID=
start
contains "the running task was interrupted" "The daemon stopped while the task ran" "$(prop "$t" org.pulp.Task Error)"
contains "the queued one too" "The daemon stopped before the task ran" "$(prop "$q" org.pulp.Task Error)"
check "the repository kept its (empty) state" "t 0" "$(prop /org/pulp/repositories/r3 org.pulp.Repository LatestVersion)"
mgr DeleteRepository s r3 >/dev/null

# --- losing the name to --replace, and SIGTERM: both end the daemon cleanly
OLD=$PID
"$PULPD" --system --replace --state-dir "$STATE" --config "$WORK/pulpd.conf" --importer-dir "$IMPORTERS" \
  >>"$WORK/pulpd.log" 2>&1 &
PID=$!
wait $OLD; rc=$?
check "a daemon replaced with --replace exits with 0" "0" "$rc"
# (it owns the name first, then waits for the state dir the old one held)
for _ in $(seq 200); do mgr ListRepositories >/dev/null 2>&1 && break; sleep 0.05; done
check "the replacement serves the name" "ao 0" "$(mgr ListRepositories)"
kill -TERM $PID; wait $PID; rc=$?
check "SIGTERM ends the daemon with 0" "0" "$rc"
PID=
start

# --- a private bus without polkit: only the daemon's own user may change state
kill $PID; wait $PID 2>/dev/null; PID=
cat >"$WORK/private-bus.conf" <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=$WORK/private_bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
CONF
chmod 755 "$WORK"
dbus-daemon --config-file="$WORK/private-bus.conf" --fork --print-pid=3 3>"$WORK/private-bus.pid"
PRIV="unix:path=$WORK/private_bus"
DBUS_SYSTEM_BUS_ADDRESS=unix:path=/nonexistent "$PULPD" --address "$PRIV" --state-dir "$WORK/state2" \
  --config "$WORK/pulpd.conf" --importer-dir "$IMPORTERS" >>"$WORK/pulpd.log" 2>&1 &
PID=$!
for _ in $(seq 200); do busctl --address="$PRIV" status org.pulp.Manager >/dev/null 2>&1 && break; sleep 0.05; done
pm() { busctl --address="$PRIV" call $M "$@" 2>&1; }
check "no polkit: the daemon's user may create" 'o "/org/pulp/repositories/mine"' "$(pm CreateRepository ssa{sv} mine test 0)"
contains "no polkit: another user may not" "polkit is not available, and the caller is not the daemon" \
  "$(as_nobody busctl --address="$PRIV" call $M CreateRepository ssa{sv} theirs test 0 2>&1)"
contains "no polkit: another user may read" '"/org/pulp/repositories/mine"' \
  "$(as_nobody busctl --address="$PRIV" call $M ListRepositories 2>&1)"
kill "$(cat "$WORK/private-bus.pid")" 2>/dev/null

no_criticals

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
