#!/bin/bash
# pulpctl driven against a real pulpd on a private system bus with polkitd
# (run under tests/pulp-test-bus): every command's text and JSON output,
# exit statuses, a failing sync, Ctrl-C during a sync, progress into a pipe
# and on a real pseudo-terminal, polkit denials, bash completion and the man
# page (tests/test-po-complete.sh keeps the German catalogue complete).
# Usage: test-pulpctl.sh PULPCTL PULPD IMPORTER_DIR... (the .so files of all
# given directories are loaded)
set -u
PULPCTL=$1
PULPD=$2
shift 2
SRCDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK=$(mktemp -d)
STATE=$WORK/state
PID=
pass=0
fail=0
trap '[ -n "$PID" ] && kill -9 $PID 2>/dev/null; rm -rf "$WORK"' EXIT

mkdir "$WORK/importers"
for dir in "$@"; do ln -s "$dir"/*.so "$WORK/importers/"; done
RPMS=$SRCDIR/tests/fixtures/rpm-real

n() { echo $((pass + fail)); }
. "$(dirname "$0")/lib.sh"

# ctl ARGS...: runs pulpctl; sets OUT, ERR and RC
ctl() {
  "$PULPCTL" "$@" >"$WORK/out" 2>"$WORK/err" </dev/null
  RC=$?
  OUT=$(cat "$WORK/out")
  ERR=$(cat "$WORK/err")
}
# json EXPRESSION: evaluates a Python expression on the JSON in $OUT (as "d")
json() { printf '%s' "$OUT" | python3 -c "import json,sys; d=json.load(sys.stdin); print($1)" 2>&1; }
# not_available METHOD: the daemon does not implement METHOD yet (see the report of issue 7)

start() { start_pulpd --importer-dir "$WORK/importers"; }
active_task() { prop /org/pulp/repositories/$1 org.pulp.Repository ActiveTask | cut -d'"' -f2; }
wait_for_stage() { # wait_for_stage REPO STAGE: the repository's active task reports STAGE
  local t
  for _ in $(seq 400); do
    t=$(active_task "$1")
    [ "$t" != / ] && [ "$(prop "$t" org.pulp.Task Stage)" = "s \"$2\"" ] && return 0
    sleep 0.05
  done
  return 1
}

# --- the command line alone (no bus needed)
ctl --help
check "--help exits 0" 0 "$RC"
contains "--help lists the commands" "repo create REPO" "$OUT"
ctl
check "no command: usage error" 2 "$RC"
contains "no command: says so" "No command given" "$ERR"
ctl frobnicate
check "unknown command: usage error" 2 "$RC"
contains "unknown command: named" "Unknown command “frobnicate”" "$ERR"
ctl repo
check "repo without subcommand: usage error" 2 "$RC"
ctl repo create r1
check "repo create without --importer: usage error" 2 "$RC"
contains "repo create without --importer: says so" "needs --importer" "$ERR"
ctl sync
check "sync without a repository: usage error" 2 "$RC"
check "sync without a repository: the usage" "pulpctl: Missing arguments. Usage: pulpctl sync REPO" \
  "$(printf '%s\n' "$ERR" | head -1)"
ctl remove r1
check "remove without units: the usage, one ending" \
  "pulpctl: Missing arguments. Usage: pulpctl remove REPO UNIT-ID…" "$(printf '%s\n' "$ERR" | head -1)"
ctl versions a b
check "too many arguments: usage error" 2 "$RC"
ctl repo create r1 --importer test --set novalue
check "--set without =: usage error" 2 "$RC"
contains "--set without =: explains the form" "KEY=VALUE" "$ERR"
ctl repo create r1 --importer test --set download-concurrency=many
check "--set with a bad number: usage error" 2 "$RC"
contains "--set with a bad number: names the type" "“many” is not a value of D-Bus type “u”" "$ERR"
ctl repo create r1 --importer test --set x:zz=1
check "--set with a bad type: usage error" 2 "$RC"
ctl repo create r1 --importer test --policy sometimes
check "bad --policy: usage error" 2 "$RC"
ctl rollback r1 latest
check "rollback to a non-number: usage error" 2 "$RC"
ctl units r1 --limit lots
check "units --limit non-number: usage error" 2 "$RC"
ctl --system --session repo list
check "two buses: usage error" 2 "$RC"
ctl sync r1 --json
check "--json on a non-listing command: usage error" 2 "$RC"

# --- no daemon yet
ctl repo list
check "no daemon: failure" 1 "$RC"
contains "no daemon: said in words" "pulpd is not running on this bus" "$ERR"

start

# --- importers
ctl importers
check "importers exits 0" 0 "$RC"
contains "importers lists the test importer" "test  Test units from a local description" "$OUT"
ctl importers --json
check "importers --json has test and file" "True True" "$(json "any(i['type'] == 'test' for i in d), any(i['type'] == 'file' for i in d)")"
ctl -q importers
contains "importers --quiet prints type ids" "test" "$OUT"

# --- repo create / list / show / configure
ctl repo list
check "repo list when empty" "No repositories. Create one with “pulpctl repo create”." "$OUT"
ctl repo list --json
check "repo list --json when empty" "[]" "$(json "json.dumps(d)")"
printf 'total 300\nunit-bytes 100000\npace-us 3000\nunits 300 u v1\n' >"$WORK/desc"
ctl repo create r1 --importer test --feed "file://$WORK/desc" --set download-concurrency=4 \
  --set tls-verify=no --set max-retries:u=5 --set description="two words"
check "repo create exits 0" 0 "$RC"
check "repo create says so" "Created repository “r1”." "$OUT"
config=$(prop /org/pulp/repositories/r1 org.pulp.Repository Config)
contains "core key typed u" '"download-concurrency" u 4' "$config"
contains "core key typed b" '"tls-verify" b false' "$config"
contains "explicit type suffix" '"max-retries" u 5' "$config"
contains "string value with a space" '"description" s "two words"' "$config"
ctl repo create r1 --importer test
check "duplicate id fails" 1 "$RC"
contains "duplicate id: the daemon's sentence" "exists already" "$ERR"
lacks "duplicate id: no GDBus.Error prefix" "GDBus.Error" "$ERR"
lacks "duplicate id: no D-Bus error name" "org.pulp.Error" "$ERR"
ctl repo create r2 --importer test --set colour=red
check "unknown importer key fails" 1 "$RC"
contains "unknown importer key: named" "Unknown configuration key “colour”" "$ERR"
ctl repo create f1 --importer file --feed "file://$WORK/PULP_MANIFEST" --set max-manifest-size:u=2
check "importer key with a type suffix" 0 "$RC"
contains "importer key stored with its type" '"max-manifest-size" u 2' \
  "$(prop /org/pulp/repositories/f1 org.pulp.Repository Config)"
ctl repo configure f1 --set skip-failed=true --set max-manifest-size=8
check "known importer keys without a type suffix" 0 "$RC"
config=$(prop /org/pulp/repositories/f1 org.pulp.Repository Config)
contains "known boolean importer key typed b" '"skip-failed" b true' "$config"
contains "known number importer key typed u" '"max-manifest-size" u 8' "$config"
ctl repo configure f1 --set skip-failed:s=true
check "an explicit type still wins" 1 "$RC"
contains "an explicit type still wins: the daemon's reason" "“skip-failed”" "$ERR"
ctl repo list
check "repo list exits 0" 0 "$RC"
contains "repo list has a heading" "REPOSITORY  IMPORTER  VERSION  UNITS  LAST SYNC  TASK" "$OUT"
contains "repo list row" "r1          test      0        0      never      -" "$OUT"
ctl repo list --json
check "repo list --json" "f1 r1 test 0 None 4" \
  "$(json "' '.join(r['id'] for r in d), d[1]['importer'], d[1]['latest-version'], d[1]['active-task'], d[1]['config']['download-concurrency']")"
ctl -q repo list
check "repo list --quiet: ids" "f1 r1" "$(echo $OUT)"
ctl repo show r1
check "repo show exits 0" 0 "$RC"
contains "repo show: importer" "Importer:" "$OUT"
contains "repo show: config key" "download-concurrency  4" "$OUT"
ctl repo show r1 --json
check "repo show --json" "r1 0 0 two words" \
  "$(json "d['id'], d['unit-count'], d['last-sync'], d['config']['description']")"
ctl repo show nope
check "repo show of a missing repository fails" 1 "$RC"
check "repo show of a missing repository: sentence" "pulpctl: No repository “nope”" "$ERR"
ctl repo configure r1 --set display-name=Demo --policy additive
check "repo configure exits 0" 0 "$RC"
contains "repo configure stored" '"display-name" s "Demo"' "$(prop /org/pulp/repositories/r1 org.pulp.Repository Config)"
ctl repo configure r1
check "repo configure with nothing: usage error" 2 "$RC"
ctl repo configure r1 --feed ftp://x/y
check "repo configure with a bad feed fails" 1 "$RC"
contains "repo configure bad feed: why" "must be a URL with one of the schemes" "$ERR"

# --- sync into a pipe: plain progress lines
ctl sync r1
check "sync exits 0" 0 "$RC"
contains "sync: completion line" "completed: added 300" "$OUT"
contains "plain progress: a units line with the total" "units: " "$OUT"
contains "plain progress: the last units line is the stage end" "units: 300/300 (100%)" "$OUT"
contains "plain progress: bytes and rate" "/s" "$(grep '^units: ' "$WORK/out" | head -1)"
units_lines=$(grep -c '^units: ' "$WORK/out")
[ "$units_lines" -ge 2 ] && [ "$units_lines" -le 6 ] && ok "plain progress: a few lines per stage ($units_lines)" ||
  not_ok "plain progress: $units_lines units lines"
check "plain progress: no carriage returns" 0 "$(grep -c $'\r' "$WORK/out")"
check "sync made version 1" "t 1" "$(prop /org/pulp/repositories/r1 org.pulp.Repository LatestVersion)"

# --- units / versions
ctl units r1
check "units exits 0" 0 "$RC"
check "units: heading and all 300 units" 301 "$(printf '%s\n' "$OUT" | wc -l)"
contains "units heading" "UNIT                              TYPE  SIZE" "$OUT"
ctl units r1 --limit 5
check "units --limit 5" 6 "$(printf '%s\n' "$OUT" | wc -l)"
ctl units r1 --json
check "units --json: 300 units with key and type" "300 test True" \
  "$(json "len(d), d[0]['type'], all('name' in u['key'] for u in d)")"
ctl -q units r1 --limit 2
check "units --quiet: ids" 2 "$(printf '%s\n' "$OUT" | grep -cE '^[0-9a-f]{32}$')"
ctl units r1 --type nosuch --json
check "units --type filters out other types" 0 "$(json "len(d)")"
ctl units r1 --type test --json
check "units --type keeps its type" 300 "$(json "len(d)")"
ctl units r1 --version 9
check "units of a missing version fails" 1 "$RC"
contains "units of a missing version: why" "has no version 9" "$ERR"
ctl versions r1
check "versions exits 0" 0 "$RC"
contains "versions row" "1        " "$OUT"
ctl versions r1 --json
check "versions --json" "1 1 300" "$(json "len(d), d[0]['number'], d[0]['unit-count']")"

# --- tasks
ctl task list
check "task list exits 0" 0 "$RC"
contains "task list row" "sync  r1          completed" "$OUT"
ctl task list --json
check "task list --json" "1 sync r1 completed" "$(json "len(d), d[0]['kind'], d[0]['repository-id'], d[0]['state']")"
t1=$(json "d[0]['id']")
ctl task show "$t1"
check "task show exits 0" 0 "$RC"
contains "task show summary" "added 300" "$OUT"
ctl task show "$t1" --json
check "task show --json" "completed 300" "$(json "d['state'], d['summary']['added']")"
ctl task show 999
check "task show of a missing task fails" 1 "$RC"
contains "task show of a missing task: sentence" "There is no task 999" "$ERR"
ctl task show x
check "task show of a non-number: usage error" 2 "$RC"

# --- a failing sync
printf 'fail-after 250\nunits 300 new v2\n' >"$WORK/desc"
ctl sync r1
check "failing sync exits 1" 1 "$RC"
contains "failing sync: the task's error" "failed: test importer: failing as told after 250 units" "$ERR"
check "failing sync: version kept" "t 1" "$(prop /org/pulp/repositories/r1 org.pulp.Repository LatestVersion)"

# --- --no-wait and task wait
printf 'units 10 w v3\n' >"$WORK/desc"
ctl sync r1 --no-wait
check "sync --no-wait exits 0" 0 "$RC"
contains "sync --no-wait names the task" "queued; follow it with “pulpctl task wait" "$OUT"
tw=$(printf '%s' "$OUT" | sed -n 's/^Task \([0-9]*\) queued.*/\1/p')
ctl task wait "$tw"
check "task wait exits 0" 0 "$RC"
contains "task wait: outcome" "Task $tw completed: added 10" "$OUT"
ctl task wait "$tw"
check "task wait on an ended task returns at once" 0 "$RC"

# --- units in pages the bus can carry: 12 units of 3 MB are more than one
# reply may hold (pulpd refuses such a page), so pulpctl asks for fewer
python3 -c 'print("units 12 big " + "x" * 3000000)' >"$WORK/desc-big"
ctl repo create big --importer test --feed "file://$WORK/desc-big"
ctl sync big
check "a repository of 12 units of 3 MB syncs" 0 "$RC"
ctl units big --quiet
check "units lists all 12" "12" "$(printf '%s\n' "$OUT" | grep -c .)"
ctl repo delete big

# --- a listing longer than pulpctl's pages (2,000 units) is printed as it
# arrives: one heading, every unit once, columns aligned from start to end
printf 'units 4500 many v1\n' >"$WORK/desc-many"
ctl repo create many --importer test --feed "file://$WORK/desc-many"
ctl sync many
ctl units many
check "4,500 units: one heading" "1" "$(printf '%s\n' "$OUT" | grep -c '^UNIT ')"
check "4,500 units: each once" "4500" "$(printf '%s\n' "$OUT" | grep -oE '^[0-9a-f]{32}' | sort -u | wc -l)"
check "4,500 units: the type column starts at the same place on every line" "1" \
  "$(printf '%s\n' "$OUT" | awk '{print index($0, $2)}' | sort -u | wc -l)"
ctl units many --json
check "4,500 units --json: one array, each unit once" "4500 4500" \
  "$(json "len(d), len(set(u['id'] for u in d))")"
ctl -q units many
check "4,500 units --quiet: each id once" "4500" "$(printf '%s\n' "$OUT" | sort -u | wc -l)"
"$PULPCTL" units many >/dev/full 2>"$WORK/err"; rc=$?
check "a listing that cannot be written: exit 1" "1" "$rc"
contains "… saying why" "pulpctl: Cannot write the output: No space left on device" "$(cat "$WORK/err")"
"$PULPCTL" repo list >/dev/full 2>"$WORK/err"; rc=$?
check "any output that cannot be written: exit 1" "1" "$rc"
contains "… saying why" "pulpctl: Cannot write the output: No space left on device" "$(cat "$WORK/err")"
"$PULPCTL" units many 2>"$WORK/err" | head -1 >"$WORK/out"; rc=${PIPESTATUS[0]}
check "a listing cut short by its reader (| head): exit 0" "0" "$rc"
check "… quietly" "" "$(cat "$WORK/err")"
contains "… after the heading" "UNIT " "$(cat "$WORK/out")"
ctl repo delete many

# --- a sync queued behind another one says so, then runs
rm -f "$WORK/go"
printf 'block-after 5 %s\nunits 10 q v5\n' "$WORK/go" >"$WORK/desc-queue"
ctl repo create queue --importer test --feed "file://$WORK/desc-queue"
"$PULPCTL" sync queue >/dev/null 2>&1 </dev/null &
first=$!
wait_for_stage queue blocked || not_ok "the first sync never blocked"
"$PULPCTL" sync queue >"$WORK/queued.out" 2>"$WORK/queued.err" </dev/null &
second=$!
for _ in $(seq 100); do grep -q "queued" "$WORK/queued.err" && break; sleep 0.05; done
contains "a sync behind another: says it waits" \
  "is queued: it starts once the tasks ahead of it end." "$(cat "$WORK/queued.err")"
touch "$WORK/go"
wait $first
wait $second
check "… and then completes" 0 "$?"
ctl repo delete queue

# --- Ctrl-C during sync cancels the task
rm -f "$WORK/go"
printf 'block-after 5 %s\nunits 10 c v4\n' "$WORK/go" >"$WORK/desc"
# job control: a background job of a script would otherwise ignore SIGINT
set -m
"$PULPCTL" sync r1 >"$WORK/cancel.out" 2>"$WORK/cancel.err" </dev/null &
cpid=$!
set +m
wait_for_stage r1 blocked && ok "sync reached the block" || not_ok "sync never blocked"
tc=$(active_task r1)
kill -INT $cpid
wait $cpid
check "Ctrl-C: exit status 1" 1 "$?"
contains "Ctrl-C: says it cancels" "Cancelling task ${tc##*/}…" "$(cat "$WORK/cancel.err")"
contains "Ctrl-C: reports the end" "Task ${tc##*/} was cancelled." "$(cat "$WORK/cancel.err")"
check "Ctrl-C: the task ended cancelled" 's "cancelled"' "$(prop "$tc" org.pulp.Task State)"
check "Ctrl-C: version kept" "t 2" "$(prop /org/pulp/repositories/r1 org.pulp.Repository LatestVersion)"

# --- task cancel
ctl sync r1 --no-wait
tn=$(printf '%s' "$OUT" | sed -n 's/^Task \([0-9]*\) queued.*/\1/p')
wait_for_stage r1 blocked || not_ok "second blocking sync never blocked"
ctl task cancel "$tn"
check "task cancel exits 0" 0 "$RC"
check "task cancel says so" "Asked pulpd to cancel task $tn." "$OUT"
ctl task wait "$tn"
check "task wait on a cancelled task exits 1" 1 "$RC"
contains "task wait on a cancelled task: says so" "Task $tn was cancelled." "$ERR"
ctl task cancel "$tn"
check "task cancel of an ended task fails" 1 "$RC"
check "task cancel of an ended task: says so" "pulpctl: Task $tn already ended (cancelled)." "$ERR"
check "task cancel of an ended task: nothing on stdout" "" "$OUT"
ctl task cancel "$t1"
contains "task cancel of a completed task: its state" "Task $t1 already ended (completed)." "$ERR"
ctl task cancel 999
check "task cancel of a missing task fails" 1 "$RC"
contains "task cancel of a missing task: sentence" "There is no task 999" "$ERR"
touch "$WORK/go"

# --- progress on a real pseudo-terminal
printf 'total 200\nunit-bytes 50000\npace-us 5000\nunits 200 p v5\n' >"$WORK/desc"
script -qfec "$PULPCTL sync r1" /dev/null </dev/null >"$WORK/tty.out" 2>&1
check "sync on a terminal exits 0" 0 "$?"
check "terminal: lines redrawn with carriage return and erase-line" yes \
  "$(grep -q $'\r\e\\[K' "$WORK/tty.out" && echo yes)"
# each redraw of the units line, split at the carriage returns
tr '\r' '\n' <"$WORK/tty.out" | sed 's/^\x1b\[K//' | grep '^units ' >"$WORK/tty.units"
bars=$(grep -o '\[[#.]*\]' "$WORK/tty.units" | sort -u | wc -l)
[ "$bars" -ge 3 ] && ok "terminal: the bar moves ($bars distinct bars)" || not_ok "terminal: only $bars distinct bars"
check "terminal: the bar ends full" yes "$(tail -1 "$WORK/tty.units" | grep -qE '\[#{8,}\]  200/200' && echo yes)"
contains "terminal: bytes, rate and ETA while running" "ETA " "$(cat "$WORK/tty.units")"
contains "terminal: rate" "/s" "$(cat "$WORK/tty.units")"
stages=$(tr '\r' '\n' <"$WORK/tty.out" | sed 's/^\x1b\[K//' | grep -E '^[a-z]+ +\[' | cut -d' ' -f1 | sort -u | wc -l)
check "terminal: one line per stage ($stages) is left standing, then the outcome" $((stages + 1)) \
  "$(tr -cd '\n' <"$WORK/tty.out" | wc -c)"
contains "terminal: outcome" "completed: added 200" "$(cat "$WORK/tty.out")"

# --- polkit: nobody may read but not change
as_nobody "$PULPCTL" sync r1 >"$WORK/out" 2>"$WORK/err" </dev/null
check "nobody's sync fails" 1 "$?"
check "nobody's sync: the denied action" \
  "pulpctl: Permission denied: you are not allowed to sync repositories (polkit action “org.pulp.sync”)." \
  "$(cat "$WORK/err")"
as_nobody "$PULPCTL" repo delete r1 >"$WORK/out" 2>"$WORK/err" </dev/null
contains "nobody's delete: the denied action" "polkit action “org.pulp.manage-repositories”" "$(cat "$WORK/err")"
as_nobody "$PULPCTL" -q repo list >"$WORK/out" 2>"$WORK/err" </dev/null
check "nobody may list" "f1 r1" "$(echo $(cat "$WORK/out"))"
ctl --address "$DBUS_SYSTEM_BUS_ADDRESS" -q repo list
check "--address reaches the same daemon" "f1 r1" "$(echo $OUT)"

# --- rollback, remove, upload, cleanup: the client side of the contract
ctl versions r1 --json
latest=$(json "d[-1]['number']")
ctl rollback r1 1
check "rollback exits 0" 0 "$RC"
contains "rollback: outcome" "completed" "$OUT"
check "rollback: new version" "t $((latest + 1))" "$(prop /org/pulp/repositories/r1 org.pulp.Repository LatestVersion)"
check "rollback: content of version 1" "t 300" "$(prop /org/pulp/repositories/r1 org.pulp.Repository UnitCount)"
ctl -q units r1 --limit 1
victim=$OUT
before=$(prop /org/pulp/repositories/r1 org.pulp.Repository UnitCount | cut -d' ' -f2)
ctl remove r1 "$victim"
check "remove exits 0" 0 "$RC"
check "remove: one unit fewer" "t $((before - 1))" "$(prop /org/pulp/repositories/r1 org.pulp.Repository UnitCount)"
ctl -q units r1
lacks "remove: the unit is gone" "$victim" "$OUT"
echo "uploaded content" >"$WORK/hello.txt"
ctl upload f1 "$WORK/hello.txt" --path docs/hello.txt
check "upload exits 0" 0 "$RC"
contains "upload: the summary gives the size once" "completed: added 1, 17 bytes, removed 0" "$OUT"
ctl units f1 --json
check "upload: the unit with its path, size and flag" "docs/hello.txt 17 True" \
  "$(json "d[0]['relative-path'], d[0]['size'], d[0]['uploaded']")"
ctl units f1
contains "upload: text marks it uploaded" "docs/hello.txt (uploaded)" "$OUT"
echo "dash" >"$WORK/-dash.txt"
cd "$WORK"; ctl upload f1 -- -dash.txt; cd - >/dev/null
check "upload of a file whose name starts with a dash, after --: exits 0" 0 "$RC"
ctl units f1
contains "upload after --: the unit has the file's name" "-dash.txt (uploaded)" "$OUT"
# a file name that is not UTF-8 cannot name a unit: pulpctl says so and
# uploads nothing; given --path, the file uploads
bad=$(printf "$WORK/bad\\xff.txt")
echo "latin" >"$bad"
before=$(prop /org/pulp/repositories/f1 org.pulp.Repository LatestVersion)
ctl upload f1 "$bad"
check "upload of a file whose name is not UTF-8: usage error" 2 "$RC"
contains "… says to give --path" "is not valid UTF-8, as paths in a repository must be: give the path with --path." "$ERR"
lacks "… without a GLib warning" "CRITICAL" "$ERR"
check "… and uploads nothing" "$before" "$(prop /org/pulp/repositories/f1 org.pulp.Repository LatestVersion)"
ctl upload f1 "$bad" --path docs/latin.txt
check "… with --path it uploads" 0 "$RC"
ctl repo create "$(printf 'bad\xff')" --importer file
check "repo create with an id that is not UTF-8: usage error" 2 "$RC"
contains "… says so" "is not valid UTF-8." "$ERR"
lacks "… without a GLib warning" "CRITICAL" "$ERR"
ctl upload f1 "$WORK/missing.txt"
check "upload of a missing file fails" 1 "$RC"
contains "upload of a missing file: why" "Cannot read “$WORK/missing.txt”: No such file or directory" "$ERR"
printf 'from a pipe\n' | "$PULPCTL" upload f1 - --path docs/pipe.txt >"$WORK/out" 2>"$WORK/err"
check "upload from a pipe exits 0" 0 "$?"
check "upload from a pipe: no error" "" "$(cat "$WORK/err")"
ctl units f1 --json
check "upload from a pipe: the unit with its path and size" "12" \
  "$(json "[u['size'] for u in d if u['relative-path'] == 'docs/pipe.txt'][0]")"
printf 'from a pipe\n' | "$PULPCTL" upload f1 - >"$WORK/out" 2>"$WORK/err"
check "upload from standard input to a file repository without --path: usage error" 2 "$?"
contains "upload from standard input without --path: says so" \
  "needs --path" "$(cat "$WORK/err")"
ctl repo create p1 --importer rpm
ctl upload p1 "$RPMS/Archer-3.4.5-6.x86_64.rpm"
check "upload of a package exits 0" 0 "$RC"
ctl units p1
contains "upload of a package: the unit at the path its header gives" \
  "Packages/a/Archer-3.4.5-6.x86_64.rpm (uploaded)" "$OUT"
ctl units p1 --json
check "units --json of an rpm unit is valid JSON (dependencies hold U+001F)" \
  "Archer" "$(json "d[0]['key']['name']")"
"$PULPCTL" upload p1 - <"$RPMS/Rimmer-1.0.2-2.x86_64.rpm" >"$WORK/out" 2>"$WORK/err"
check "upload of a package from standard input exits 0" 0 "$?"
check "upload of a package from standard input: the unit" "t 2" \
  "$(prop /org/pulp/repositories/p1 org.pulp.Repository UnitCount)"
ctl upload p1 "$RPMS/Archer-3.4.5-6.x86_64.rpm" --path x.rpm
check "upload of a package with --path fails" 1 "$RC"
contains "upload of a package with --path: the daemon's reason" "take no metadata" "$ERR"
ctl cleanup
check "cleanup exits 0" 0 "$RC"
contains "cleanup: outcome" "completed" "$OUT"
echo "$OUT" | grep -Eq '(bytes|[kMG]B) freed' && ok "cleanup: the space freed, as a size" ||
  not_ok "cleanup: no size freed in «$OUT»"

# --- delete
ctl repo delete f1
check "repo delete exits 0" 0 "$RC"
check "repo delete says so" "Deleted repository “f1”." "$OUT"
ctl repo delete f1
check "repo delete of a missing repository fails" 1 "$RC"

# --- bash completion
complete() { # complete WORDS...: what the completion offers for the last word
  bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _pulpctl; echo "${COMPREPLY[*]}"' \
    _ "$SRCDIR/src/pulpctl/pulpctl.bash-completion" "$PULPCTL" "$@"
}
check "completion: commands" "sync" "$(complete sy)"
check "completion: repo subcommands" "create configure" "$(complete repo c)"
check "completion: repository ids" "r1" "$(complete sync r)"
check "completion: repository ids after options" "p1 r1" "$(complete units --limit 5 "")"
check "completion: options" "--force" "$(complete sync --f)"
check "completion: policies" "mirror" "$(complete repo create x --policy m)"
mkdir -p "$WORK/cdir/my dir"
touch "$WORK/cdir/a file.txt"
check "completion: files to upload, names with spaces whole" "$WORK/cdir/a file.txt|$WORK/cdir/my dir|" \
  "$(bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _pulpctl
              printf "%s|" "${COMPREPLY[@]}"' _ "$SRCDIR/src/pulpctl/pulpctl.bash-completion" \
     "$PULPCTL" upload f1 "$WORK/cdir/" 2>/dev/null | tr '|' '\n' | sort | tr '\n' '|')"
# complete_line LINE: what the completion offers at the end of "pulpctl LINE"
# as an interactive bash does it: bash-completion loaded, the words split
# at ":" and "=" too (COMP_WORDBREAKS), and the default system bus one where
# no pulpd runs, so that ids come only from the bus the line names
complete_line() {
  DBUS_SYSTEM_BUS_ADDRESS=unix:path=$WORK/no-bus bash -c '
    source /usr/share/bash-completion/bash_completion
    source "$1"
    COMP_LINE=$2 COMP_POINT=${#2} COMP_WORDS=()
    for token in $2; do
      while [[ $token =~ ^([^:=]*)([:=]+)(.*)$ ]]; do
        [ -n "${BASH_REMATCH[1]}" ] && COMP_WORDS+=("${BASH_REMATCH[1]}")
        COMP_WORDS+=("${BASH_REMATCH[2]}")
        token=${BASH_REMATCH[3]}
      done
      [ -n "$token" ] && COMP_WORDS+=("$token")
    done
    [[ $2 == *" " ]] && COMP_WORDS+=("")
    COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    _pulpctl
    echo "${COMPREPLY[*]}"' _ "$SRCDIR/src/pulpctl/pulpctl.bash-completion" "$PULPCTL $1"
}
if [ -f /usr/share/bash-completion/bash_completion ]; then
  check "completion: ids on the bus of --address ADDR" "r1" "$(complete_line "--address $DBUS_SYSTEM_BUS_ADDRESS sync r")"
  check "completion: ids on the bus of --address=ADDR" "r1" "$(complete_line "--address=$DBUS_SYSTEM_BUS_ADDRESS sync r")"
  check "completion: commands after --address=ADDR" "sync" "$(complete_line "--address=$DBUS_SYSTEM_BUS_ADDRESS sy")"
  check "completion: options after --address ADDR" "--force" "$(complete_line "--address $DBUS_SYSTEM_BUS_ADDRESS sync --fo")"
  check "completion: nothing from the default bus" "" "$(complete_line "sync r")"
else
  ok "# SKIP completion with bash-completion: /usr/share/bash-completion/bash_completion is missing"
fi

# --- a stage whose last units failed: its last line has no time left
printf 'total 10\nunit-bytes 1000\nfailed-units 2\nunits 10 fu v1\n' >"$WORK/desc-failed"
ctl repo create rf --importer test --feed "file://$WORK/desc-failed"
ctl sync rf
check "sync with failed units exits 0" 0 "$RC"
# a task this short has ended before pulpctl knows it: its progress was
# queued all the same, and comes before the outcome
check "a short sync: every stage's last line, then the outcome" \
  "metadata: 1/1 (100%)|units: 10/10 (100%)|committing: 1/1 (100%)|Task completed|" \
  "$(printf '%s\n' "$OUT" | grep -E '\(100%\)|^Task' |
    sed -e 's/,.*//' -e 's/^Task [0-9]* \([a-z]*\).*/Task \1/' | tr '\n' '|')"
# (GLib puts a no-break space between a size and its unit)
last=$(printf '%s\n' "$OUT" | grep -a '^units: ' | tail -1 | sed 's/\xc2\xa0/ /g')
contains "failed units: the last line counts the bytes done and the failures" \
  "units: 10/10 (100%), 8.0 kB/10.0 kB, " "$last"
contains "failed units: … 2 failed" ", 2 failed" "$last"
lacks "failed units: … and gives no ETA for bytes that will not come" "ETA" "$last"
ctl repo delete rf

# --- the man page renders without warnings
check "man page renders cleanly" "" "$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$SRCDIR/src/pulpctl/pulpctl.1" 2>&1 >/dev/null)"

no_criticals

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
