#!/bin/bash
# End-to-end tests of file syncs through pulpd on a private system bus (run
# under tests/pulp-test-bus): real HTTP servers on 127.0.0.1 — nginx with its
# own configuration for clean syncs, and tests/fault-server (libsoup) for
# faults, redirects, basic auth and TLS. Each case checks what a user sees:
# the task's state and Error, the Summary, the repository's version and
# units, the files in the content store, and what the servers were asked.
# Usage: test-file-sync.sh PULPD FILE_IMPORTER_DIR FAULT_SERVER MAKE_FILE_TREE
# (tests/pulp-upload is taken from the folder of FAULT_SERVER)
set -u
PULPD=$1
IMPORTERS=$2
FAULT_SERVER=$3
MAKE_TREE=$4
UPLOAD=$(dirname "$FAULT_SERVER")/pulp-upload
[ -x "$UPLOAD" ] || { echo "$UPLOAD is missing: build the tests first"; exit 99; }
WORK=$(mktemp -d)
chmod 755 "$WORK"
STATE=$WORK/state
WWW=$WORK/www
RULES=$WORK/rules
REQLOG=$WORK/requests.log
PID=
FS_PID=
TLS_PID=
pass=0
fail=0
cleanup() {
  [ -n "$PID" ] && kill "$PID" 2>/dev/null
  [ -n "$FS_PID" ] && kill "$FS_PID" 2>/dev/null
  [ -n "$TLS_PID" ] && kill "$TLS_PID" 2>/dev/null
  [ -f "$WORK/nginx.pid" ] && kill "$(cat "$WORK/nginx.pid")" 2>/dev/null
  wait 2>/dev/null
  mountpoint -q "$WORK/small" 2>/dev/null && umount "$WORK/small"
  rm -rf "$WORK"
}
trap cleanup EXIT

. "$(dirname "$0")/lib.sh"

M="org.pulp.Manager /org/pulp/Manager org.pulp.Manager"
repo() { local id=$1; shift; call org.pulp.Manager /org/pulp/repositories/$id org.pulp.Repository "$@"; }
rprop() { prop /org/pulp/repositories/$1 org.pulp.Repository "$2"; }
tprop() { prop "$1" org.pulp.Task "$2"; }
task_wait() { busctl --system call --timeout=60 org.pulp.Manager "$1" org.pulp.Task Wait 2>&1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

start() {
  database_conf >"$WORK/pulpd.conf"
  PULP_RETRY_BASE_MS=20 PULP_DOWNLOAD_TIMEOUT_S=2 start_pulpd --config "$WORK/pulpd.conf" \
    --importer-dir "$IMPORTERS"
}
# create ID FEED [N KEY TYPE VALUE...]: a file repository
create() {
  local id=$1 feed=$2; shift 2
  local n=$((1 + ${1:-0})); [ $# -gt 0 ] && shift
  call $M CreateRepository ssa{sv} "$id" file "$n" feed s "$feed" "$@" >/dev/null
}
# run_sync ID [N KEY TYPE VALUE...]: runs a sync to its end; sets T to the task
# and S to its final state
run_sync() {
  local id=$1; shift
  [ $# -eq 0 ] && set -- 0
  T=$(repo "$id" Sync a{sv} "$@" | cut -d'"' -f2)
  S=$(task_wait "$T" | cut -d'"' -f2)
  [ "$S" = failed ] && echo "# $id: $(terror)"
}
# start_sync ID: starts a sync and returns; sets T
start_sync() { T=$(repo "$1" Sync a{sv} 0 | cut -d'"' -f2); }
# terror: the task's Error as plain text (busctl escapes non-ASCII otherwise)
terror() {
  busctl --system --json=short get-property org.pulp.Manager "$T" org.pulp.Task Error |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["data"])'
}
tsummary() { tprop "$T" Summary; }
# requests PATH-PREFIX: how many requests the fault server got under it
requests() { grep -c "^$1" "$REQLOG" 2>/dev/null || true; }
# tree NAME COUNT SIZE [make-file-tree options]: a generated tree under $WWW;
# a seed per tree, so trees do not share content (the store would not
# fetch it again)
seed=1
tree() {
  local name=$1 count=$2 size=$3; shift 3
  seed=$((seed + 1))
  python3 "$MAKE_TREE" "$WWW/$name" --count "$count" --size "$size" --seed "$seed" "$@" >/dev/null
}
# manifest NAME: rewrites a tree's PULP_MANIFEST from the files on disk
manifest() {
  python3 - "$WWW/$1" <<'PY'
import hashlib, os, sys
top = sys.argv[1]
lines = []
for d, _, names in os.walk(top):
    for n in names:
        p = os.path.join(d, n)
        rel = os.path.relpath(p, top)
        if rel == "PULP_MANIFEST":
            continue
        data = open(p, "rb").read()
        lines.append(f"{rel},{hashlib.sha256(data).hexdigest()},{len(data)}\n")
open(os.path.join(top, "PULP_MANIFEST"), "w").writelines(sorted(lines))
PY
}
# units_json ID: ListUnits as JSON
units_json() { busctl --system --json=short call org.pulp.Manager /org/pulp/repositories/$1 org.pulp.Repository ListUnits a{sv} 1 limit t 10000; }
# verify_units ID TREE: for each unit, the stored file exists under
# content/sha256/xx/, is read-only, has the unit's digest, and that digest is
# the upstream file's; prints "N ok" or the first problem
verify_units() {
  units_json "$1" >"$WORK/units.json"
  python3 - "$STATE" "$WWW/$2" "$WORK/units.json" <<'PY'
import hashlib, json, os, stat, sys
state, top = sys.argv[1], sys.argv[2]
units = json.load(open(sys.argv[3]))["data"][0]
good = 0
for u in units:
    rel, sha, path = u["relative-path"]["data"], u["sha256"]["data"], u["path"]["data"]
    want = os.path.join(state, "content", "sha256", sha[:2], sha[2:])
    if os.path.realpath(path) != os.path.realpath(want):
        print(f"{rel}: path {path} is not {want}"); sys.exit()
    if os.stat(path).st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH):
        print(f"{rel}: {path} is writable"); sys.exit()
    if hashlib.sha256(open(path, "rb").read()).hexdigest() != sha:
        print(f"{rel}: stored content does not match {sha}"); sys.exit()
    if hashlib.sha256(open(os.path.join(top, rel), "rb").read()).hexdigest() != sha:
        print(f"{rel}: upstream content does not match {sha}"); sys.exit()
    good += 1
print(f"{good} ok")
PY
}
# stored TREE: how many of the tree's files are in the content store
stored() {
  grep -v '^#' "$WWW/$1/PULP_MANIFEST" | awk -F, '{print $(NF-1)}' | while read -r s; do
    [ -f "$STATE/content/sha256/${s:0:2}/${s:2}" ] && echo x
  done | wc -l
}

# --- servers: nginx, the fault server over http and over https
mkdir -p "$WWW" "$WORK/nginx-tmp"
NGINX_PORT=$(free_port)
cat >"$WORK/nginx.conf" <<CONF
daemon on;
user root;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log;
events { worker_connections 256; }
http {
  access_log $WORK/nginx-access.log;
  client_body_temp_path $WORK/nginx-tmp;
  server { listen 127.0.0.1:$NGINX_PORT; root $WWW; }
}
CONF
nginx -c "$WORK/nginx.conf" -p "$WORK" || { echo "nginx did not start"; exit 99; }
NGINX=http://127.0.0.1:$NGINX_PORT
: >"$RULES"
# start_fault_server NAME [fault-server options]: sets SERVER_PID and SERVER_PORT
start_fault_server() {
  local out=$WORK/$1.port; shift
  "$FAULT_SERVER" --root "$WWW" --rules "$RULES" --log "$REQLOG" "$@" >"$out" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 200); do
    grep -q '^PORT ' "$out" && break
    kill -0 $SERVER_PID 2>/dev/null || break
    sleep 0.05
  done
  SERVER_PORT=$(sed -n 's/^PORT //p' "$out")
  [ -n "$SERVER_PORT" ] || { echo "fault-server did not start:"; cat "$out"; exit 99; }
}
start_fault_server http
FS_PID=$SERVER_PID
FS=http://127.0.0.1:$SERVER_PORT

start

# --- a clean sync from nginx, names that need percent-encoding included
tree clean 200 4k --subdirs 5 --odd-names
create clean "$NGINX/clean/PULP_MANIFEST" 1 sync-policy s mirror
create additive "$NGINX/clean/PULP_MANIFEST"
run_sync clean; check "clean sync completes" "completed" "$S"
lacks "a completed sync has no error-name" "error-name" "$(tsummary)"
check "clean sync: no error" "" "$(terror)"
check "clean sync: 200 units" "t 200" "$(rprop clean UnitCount)"
check "clean sync: version 1" "t 1" "$(rprop clean LatestVersion)"
contains "clean sync: summary counts downloads" '"downloaded" t 200' "$(tsummary)"
contains "clean sync: summary counts bytes" '"bytes" t 819200' "$(tsummary)"
check "clean sync: every unit's path is its stored, read-only, correct content" "200 ok" "$(verify_units clean clean)"
check "clean sync: the store holds each file once" "200" "$(find "$STATE/content" -type f | wc -l)"
check "clean sync: nothing left in tmp" "0" "$(ls "$STATE/tmp" | wc -l)"
check "clean sync: nginx got 201 requests" "201" "$(wc -l <"$WORK/nginx-access.log")"
run_sync additive; check "same feed, second repository: completes" "completed" "$S"
contains "second repository: nothing downloaded again" '"downloaded" t 0' "$(tsummary)"
check "second repository: no file requested again" "202" "$(wc -l <"$WORK/nginx-access.log")"
check "second repository: still one copy of each file" "200" "$(find "$STATE/content" -type f | wc -l)"
run_sync clean; check "no-op resync completes" "completed" "$S"
check "no-op resync: no new version" "t 1" "$(rprop clean LatestVersion)"
contains "no-op resync: nothing added" '"added" t 0' "$(tsummary)"

# --- two repositories with the same new content, synced at the same time
# (each answer delayed, so both fetch the same files at once): both complete,
# nothing hangs, and the store holds each file once
tree shared 100 4k
echo "/shared/* delay 20" >>"$RULES"
create shared1 "$FS/shared/PULP_MANIFEST"
create shared2 "$FS/shared/PULP_MANIFEST"
before=$(find "$STATE/content" -type f | wc -l)
start_sync shared1; T1=$T
start_sync shared2; T2=$T
S1=$(task_wait "$T1" | cut -d'"' -f2)
S2=$(task_wait "$T2" | cut -d'"' -f2)
check "same content at the same time: the first sync completes" "completed" "$S1"
check "same content at the same time: the second sync completes" "completed" "$S2"
started2=$(prop "$T2" org.pulp.Task Started | cut -d' ' -f2)
finished1=$(prop "$T1" org.pulp.Task Finished | cut -d' ' -f2)
check "same content at the same time: the second started before the first finished" "yes" \
  "$([ "$started2" -lt "$finished1" ] && echo yes || echo "no: $started2, $finished1")"
check "same content at the same time: the first repository's units" "100 ok" "$(verify_units shared1 shared)"
check "same content at the same time: the second repository's units" "100 ok" "$(verify_units shared2 shared)"
check "same content at the same time: each file stored once" "$((before + 100))" \
  "$(find "$STATE/content" -type f | wc -l)"
check "same content at the same time: nothing left in tmp" "0" "$(ls "$STATE/tmp" | wc -l)"
sed -i '\|^/shared/\* delay|d' "$RULES"

# --- resync with one file changed, one added, one removed
printf 'changed\n' >"$WWW/clean/dir0000/file-0000000.bin"
printf 'added\n' >"$WWW/clean/dir0000/new-file.bin"
rm "$WWW/clean/dir0000/file-0000010.bin"
manifest clean
: >"$WORK/nginx-access.log"
run_sync clean; check "mirror resync completes" "completed" "$S"
contains "mirror resync: 2 added" '"added" t 2' "$(tsummary)"
contains "mirror resync: 2 removed" '"removed" t 2' "$(tsummary)"
check "mirror resync: 200 units" "t 200" "$(rprop clean UnitCount)"
check "mirror resync: version 2" "t 2" "$(rprop clean LatestVersion)"
check "mirror resync: fetched the manifest and the 2 new files only" "3" "$(wc -l <"$WORK/nginx-access.log")"
check "mirror resync: units match upstream" "200 ok" "$(verify_units clean clean)"
u=$(units_json clean)
lacks "mirror resync: the removed file is gone" 'file-0000010.bin' "$u"
contains "mirror resync: the added file is there" 'new-file.bin' "$u"
# Databases keep unit ids, and users' scripts name units by them: the id of
# a file unit (its type and key, hashed) must stay what earlier pulpd made.
check "a file unit's id is the one earlier versions computed" "939f5ce0711b92550ab40ce90b1ca805" \
  "$(echo "$u" | python3 -c 'import json, sys
print(*[u["id"]["data"] for u in json.load(sys.stdin)["data"][0] if u["relative-path"]["data"] == "dir0000/new-file.bin"])')"
contains "version 1 still lists the removed file" 'file-0000010.bin' "$(repo clean ListUnits a{sv} 2 version t 1 limit t 10000)"
run_sync additive; check "additive resync completes" "completed" "$S"
contains "additive resync: 2 added" '"added" t 2' "$(tsummary)"
contains "additive resync: nothing removed" '"removed" t 0' "$(tsummary)"
check "additive resync: 202 units (the changed file's old content stays)" "t 202" "$(rprop additive UnitCount)"
contains "additive resync: the removed file stays" 'file-0000010.bin' "$(units_json additive)"
check "additive resync: no file fetched again" "4" "$(wc -l <"$WORK/nginx-access.log")"

# --- HTTP errors
create m404 "$FS/nope/PULP_MANIFEST"
run_sync m404; check "404 manifest: failed" "failed" "$S"
contains "404 manifest: Error names URL and status" "/nope/PULP_MANIFEST: HTTP 404 Not Found" "$(terror)"
contains "404 manifest: the Summary names the error for scripts" '"error-name" s "org.pulp.Error.Network"' "$(tsummary)"
check "404 manifest: no version" "t 0" "$(rprop m404 LatestVersion)"
contains "404 manifest: the log says which task failed and why" \
  "Task ${T##*/} (sync of m404) failed: Sync of m404 failed: Cannot download PULP_MANIFEST: $FS/nope/PULP_MANIFEST: HTTP 404 Not Found" \
  "$(cat "$WORK/pulpd.log")"

tree f404 5 4k
rm "$WWW/f404/file-0000002.bin"
create f404 "$FS/f404/PULP_MANIFEST"
monitor_start "$WORK/monitor"
run_sync f404; check "404 file: failed" "failed" "$S"
monitor_stop "$WORK/monitor"
p=$(last_progress "$WORK/monitor" "$T" downloads)
contains "404 file: the last progress counts the bytes that arrived" "'bytes-done': <uint64 16384>" "$p"
contains "404 file: … of all there were" "'bytes-total': <uint64 20480>" "$p"
contains "404 file: … and the failure" "'failed': <uint64 1>" "$p"
e=$(terror)
contains "404 file: Error names the file and the status" "/f404/file-0000002.bin: HTTP 404 Not Found" "$e"
contains "404 file: Error counts the failures and names the file" "1 of 5 downloads failed (file-0000002.bin): " "$e"
contains "404 file: Error says how to keep the files that arrived" "set “skip-failed” to keep the files that arrived" "$e"
check "404 file: not retried" "1" "$(requests /f404/file-0000002.bin)"
check "404 file: no version" "t 0" "$(rprop f404 LatestVersion)"
check "404 file: the other 4 files are kept in the store" "4" "$(stored f404)"
s=$(tsummary)
contains "404 file: Summary counts the failure" '"failed" t 1' "$s"
contains "404 file: Summary names the failed file" '"failed-units" as 1 "file-0000002.bin"' "$s"
contains "404 file: the log names it, with the reason" \
  "Sync of f404: file-0000002.bin: $FS/f404/file-0000002.bin: HTTP 404 Not Found" "$(cat "$WORK/pulpd.log")"
contains "404 file: Summary counts the files that arrived" '"downloaded" t 4' "$s"
contains "404 file: Summary counts their bytes" '"bytes" t 16384' "$s"
lacks "404 file: Summary names no version" '"version"' "$s"
# four of five missing: the first three named, and how many more; with
# nothing arrived, no skip-failed advice
tree f404m 5 4k
rm "$WWW"/f404m/file-000000[1-4].bin
create f404m "$FS/f404m/PULP_MANIFEST"
run_sync f404m; check "4 of 5 files missing: failed" "failed" "$S"
e=$(terror)
contains "4 of 5 files missing: Error counts them" "4 of 5 downloads failed (" "$e"
contains "4 of 5 files missing: … names three and how many more" ".bin and 1 more): " "$e"
[ "$(echo "$e" | grep -o 'file-000000[1-4][.]bin' | sort -u | wc -l)" -ge 3 ] &&
  ok "4 of 5 files missing: three of them are named" || not_ok "4 of 5 files missing: names in «$e»"
tree f404n 2 4k
rm "$WWW"/f404n/file-*.bin
create f404n "$FS/f404n/PULP_MANIFEST"
run_sync f404n; check "2 of 2 files missing: failed" "failed" "$S"
contains "2 of 2 files missing: Error counts and names them" "2 of 2 downloads failed (file-000000" "$(terror)"
lacks "2 of 2 files missing: no advice to keep what arrived" "skip-failed" "$(terror)"
repo f404 Configure a{sv} 1 skip-failed b true >/dev/null
: >"$REQLOG"
run_sync f404; check "skip-failed: completes" "completed" "$S"
check "skip-failed: version 1 without the failed unit" "t 4" "$(rprop f404 UnitCount)"
contains "skip-failed: Summary counts the failure" '"failed" t 1' "$(tsummary)"
contains "skip-failed: Summary names the failed unit" '"failed-units" as 1 "file-0000002.bin"' "$(tsummary)"
check "skip-failed: files kept from the failed sync are not fetched again" "0" "$(grep -vc 'file-0000002.bin\|PULP_MANIFEST' "$REQLOG")"
contains "skip-failed: Summary says so" '"downloaded" t 0' "$(tsummary)"

# A sync writes its units to the database batch by batch (1,000 files) while
# the next batch downloads: a failure in a later batch must still leave
# nothing of the sync visible.
tree late404 1500 1k --subdirs 10
last=$(grep -v '^#' "$WWW/late404/PULP_MANIFEST" | tail -1 | cut -d, -f1)
rm "$WWW/late404/$last"
create late404 "$NGINX/late404/PULP_MANIFEST"
run_sync late404; check "404 in the second batch: failed" "failed" "$S"
contains "404 in the second batch: Error counts the failures" "1 of 1500 downloads failed" "$(terror)"
check "404 in the second batch: no version" "t 0" "$(rprop late404 LatestVersion)"
check "404 in the second batch: no units" "t 0" "$(rprop late404 UnitCount)"
check "404 in the second batch: ListUnits is empty" '{"type":"aa{sv}","data":[[]]}' "$(units_json late404)"
check "404 in the second batch: the other files are kept in the store" "1499" "$(stored late404)"
repo late404 Configure a{sv} 1 skip-failed b true >/dev/null
: >"$WORK/nginx-access.log"
run_sync late404; check "404 in the second batch, skip-failed: completes" "completed" "$S"
check "404 in the second batch, skip-failed: 1499 units" "t 1499" "$(rprop late404 UnitCount)"
check "404 in the second batch, skip-failed: only the manifest and the missing file requested" \
  "2" "$(wc -l <"$WORK/nginx-access.log")"

tree r500 4 4k
create r500 "$FS/r500/PULP_MANIFEST"
echo "/r500/file-0000001.bin status 500 2" >"$RULES"
run_sync r500; check "500 twice then 200: completes" "completed" "$S"
check "500 twice then 200: asked three times" "3" "$(requests /r500/file-0000001.bin)"
check "500 twice then 200: all 4 units" "t 4" "$(rprop r500 UnitCount)"

tree r403 4 4k
create r403 "$FS/r403/PULP_MANIFEST"
echo "/r403/file-0000001.bin status 403" >"$RULES"
run_sync r403; check "403: failed" "failed" "$S"
contains "403: Error says so" "/r403/file-0000001.bin: HTTP 403 Forbidden" "$(terror)"
check "403: not retried" "1" "$(requests /r403/file-0000001.bin)"

tree r429 2 4k
create r429 "$FS/r429/PULP_MANIFEST"
echo "/r429/file-0000000.bin status 429 1" >"$RULES"
run_sync r429; check "429 once then 200: completes" "completed" "$S"

# --- broken transfers, wrong digests and sizes: retried, then failed
tree trunc 3 64k
create trunc "$FS/trunc/PULP_MANIFEST" 1 max-retries u 1
echo "/trunc/file-0000001.bin truncate" >"$RULES"
run_sync trunc; check "truncated body: failed" "failed" "$S"
contains "truncated body: Error names the file" "/trunc/file-0000001.bin: " "$(terror)"
contains "truncated body: Error counts attempts" "(2 attempts)" "$(terror)"
check "truncated body: retried once (max-retries 1)" "2" "$(requests /trunc/file-0000001.bin)"
check "truncated body: no partial content stored" "2" "$(stored trunc)"
: >"$RULES"
run_sync trunc; check "truncated body: next sync completes" "completed" "$S"

# A manifest cut short could parse as a smaller, valid one: a mirror sync
# would then remove units that upstream still has.
tree mtrunc 300 1k
create mtrunc "$FS/mtrunc/PULP_MANIFEST" 1 max-retries u 0
echo "/mtrunc/PULP_MANIFEST truncate" >"$RULES"
run_sync mtrunc; check "truncated manifest: failed" "failed" "$S"
contains "truncated manifest: Error says the body was cut short" "/mtrunc/PULP_MANIFEST: the server announced $(stat -c %s "$WWW/mtrunc/PULP_MANIFEST") bytes and sent" "$(terror)"
check "truncated manifest: no version" "t 0" "$(rprop mtrunc LatestVersion)"
: >"$RULES"

tree reset 3 64k
create reset "$FS/reset/PULP_MANIFEST" 1 max-retries u 1
echo "/reset/file-0000001.bin reset" >"$RULES"
run_sync reset; check "connection reset mid-body: failed" "failed" "$S"
contains "connection reset: Error names the file" "/reset/file-0000001.bin: " "$(terror)"
check "connection reset: retried" "2" "$(requests /reset/file-0000001.bin)"
check "connection reset: nothing left in tmp" "0" "$(ls "$STATE/tmp" | wc -l)"

tree stall 3 64k
create stall "$FS/stall/PULP_MANIFEST" 1 max-retries u 1
echo "/stall/file-0000001.bin stall" >"$RULES"
s0=$(date +%s)
run_sync stall
s1=$(date +%s)
check "stalling server: failed, not hung" "failed" "$S"
contains "stalling server: Error names the file" "/stall/file-0000001.bin: " "$(terror)"
contains "stalling server: Error says it timed out" "timed out" "$(terror)"
[ $((s1 - s0)) -le 20 ] && ok "stalling server: gave up within 20 s" || not_ok "stalling server took $((s1 - s0)) s"
: >"$RULES"

tree digest 3 4k
sed -i '2s/,[0-9a-f]\{64\},/,0000000000000000000000000000000000000000000000000000000000000000,/' "$WWW/digest/PULP_MANIFEST"
real=$(sha256sum "$WWW/digest/$(sed -n 2p "$WWW/digest/PULP_MANIFEST" | cut -d, -f1)" | cut -d' ' -f1)
create digest "$FS/digest/PULP_MANIFEST" 1 max-retries u 1
run_sync digest; check "wrong digest: failed" "failed" "$S"
contains "wrong digest: Error has expected and actual digest" "expected sha256 0000000000000000000000000000000000000000000000000000000000000000, got $real" "$(terror)"
contains "wrong digest: the Summary names the error for scripts" '"error-name" s "org.pulp.Error.Checksum"' "$(tsummary)"
check "wrong digest: retried once" "2" "$(requests /digest/file-0000000.bin)"
check "wrong digest: nothing stored under either digest" "0" "$(find "$STATE/content" -name "${real:2}" | wc -l)"

tree size 3 4k
sed -i '2s/,4096$/,4097/' "$WWW/size/PULP_MANIFEST"
create size "$FS/size/PULP_MANIFEST" 1 max-retries u 0
run_sync size; check "wrong size: failed" "failed" "$S"
contains "wrong size: Error has both sizes" "/size/file-0000000.bin: expected 4097 bytes, the server announced 4096" "$(terror)"

# --- redirects, basic auth, TLS
tree redir 3 4k
create redir "$FS/old/PULP_MANIFEST"
echo "/old/* redirect /redir/*" >"$RULES"
run_sync redir; check "redirect: completes" "completed" "$S"
check "redirect: 3 units" "t 3" "$(rprop redir UnitCount)"
check "redirect: files came from the new place" "3" "$(grep -c '^/redir/file' "$REQLOG")"
create redir404 "$FS/old/PULP_MANIFEST"
echo "/old/* redirect /gone/*" >"$RULES"
run_sync redir404; check "redirect to nothing: failed" "failed" "$S"
contains "redirect to nothing: Error names both URLs" \
  "$FS/old/PULP_MANIFEST (redirected to $FS/gone/PULP_MANIFEST): HTTP 404 Not Found" "$(terror)"

tree auth 3 4k
create auth "$FS/auth/PULP_MANIFEST"
echo "/auth/* auth pulp s3cr3t-pw" >"$RULES"
run_sync auth; check "basic auth, no credentials: failed" "failed" "$S"
contains "basic auth, no credentials: 401" "/auth/PULP_MANIFEST: HTTP 401 Unauthorized" "$(terror)"
repo auth Configure a{sv} 2 username s pulp password s wrong >/dev/null
run_sync auth; check "basic auth, wrong password: failed" "failed" "$S"
contains "basic auth, wrong password: 401" "HTTP 401 Unauthorized" "$(terror)"
repo auth Configure a{sv} 1 password s s3cr3t-pw >/dev/null
run_sync auth; check "basic auth: completes" "completed" "$S"
check "basic auth: 3 units" "t 3" "$(rprop auth UnitCount)"
check "basic auth: the password is not in the daemon's log" "0" "$(grep -c 's3cr3t-pw' "$WORK/pulpd.log")"
: >"$RULES"

mkdir -p "$WORK/tls"
(cd "$WORK/tls" &&
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -keyout ca.key -out ca.pem -subj /CN=PulpTestCA \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign &&
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -keyout server.key -out server.pem -subj /CN=127.0.0.1 -CA ca.pem -CAkey ca.key \
    -addext subjectAltName=IP:127.0.0.1 -addext basicConstraints=critical,CA:FALSE \
    -addext extendedKeyUsage=serverAuth) >/dev/null 2>&1 || { echo "openssl failed"; exit 99; }
start_fault_server https --tls-cert "$WORK/tls/server.pem" --tls-key "$WORK/tls/server.key"
TLS_PID=$SERVER_PID
TLS_PORT=$SERVER_PORT
tree tls 3 4k
create tlsca "https://127.0.0.1:$TLS_PORT/tls/PULP_MANIFEST" 1 ca-cert s "$WORK/tls/ca.pem"
run_sync tlsca; check "TLS with the test CA: completes" "completed" "$S"
check "TLS with the test CA: 3 units" "t 3" "$(rprop tlsca UnitCount)"
create tlsbad "https://127.0.0.1:$TLS_PORT/tls/PULP_MANIFEST"
run_sync tlsbad; check "TLS, unknown CA: failed" "failed" "$S"
contains "TLS, unknown CA: Error names the manifest" "/tls/PULP_MANIFEST: " "$(terror)"
contains "TLS, unknown CA: Error says why" "certificate" "$(terror)"
create tlsoff "https://127.0.0.1:$TLS_PORT/tls/PULP_MANIFEST" 1 tls-verify b false
run_sync tlsoff; check "TLS, tls-verify=false: completes" "completed" "$S"
check "TLS, tls-verify=false: 3 units" "t 3" "$(rprop tlsoff UnitCount)"

# --- malicious manifests: rejected before anything is stored
tree evil 2 4k
create evil "$FS/evil/PULP_MANIFEST"
run_sync evil; check "evil: first a good sync" "completed" "$S"
good=$(cat "$WWW/evil/PULP_MANIFEST")
h=$(printf 'x%.0s' $(seq 64) | tr x a)
while IFS='|' read -r what line message; do
  printf '%s\n%b\n' "$good" "$line" >"$WWW/evil/PULP_MANIFEST"
  : >"$REQLOG"
  run_sync evil; check "manifest with $what: failed" "failed" "$S"
  contains "manifest with $what: Error says why" "$message" "$(terror)"
  contains "manifest with $what: Error names the manifest and line" "/evil/PULP_MANIFEST: Invalid PULP_MANIFEST, line 4" "$(terror)"
  check "manifest with $what: repository unchanged" "t 1 t 2" "$(rprop evil LatestVersion | tr '\n' ' ')$(rprop evil UnitCount)"
  check "manifest with $what: no file requested" "0" "$(grep -vc PULP_MANIFEST "$REQLOG")"
done <<EOF
an absolute path|/etc/passwd,$h,1|the path “/etc/passwd” is absolute
a .. component|a/../../x,$h,1|has a “..” component
an empty component|a//x,$h,1|has an empty component
a control character|a\\tb,$h,1|control character 0x09
bad hex|x,${h:0:63}g,1|is not 64 hexadecimal digits
a short digest|x,${h:0:10},1|is not 64 hexadecimal digits
a bad size|x,$h,12a|is not a non-negative decimal number
a negative size|x,$h,-1|is not a non-negative decimal number
a duplicate path|file-0000000.bin,$h,1|is listed twice
a missing field|x,$h|expected “relative/path,sha256,size”
EOF
# larger than max-manifest-size (MiB): InvalidArgument naming the key, before
# any file is fetched
{ echo "$good"; for i in $(seq 15000); do echo "big/f$i,$h,1"; done; } >"$WWW/evil/PULP_MANIFEST"
repo evil Configure a{sv} 1 max-manifest-size u 1 >/dev/null
: >"$REQLOG"
run_sync evil; check "manifest over max-manifest-size: failed" "failed" "$S"
contains "manifest over max-manifest-size: InvalidArgument" '"error-name" s "org.pulp.Error.InvalidArgument"' "$(tsummary)"
contains "manifest over max-manifest-size: Error names the limit and the key" \
  "larger than the limit of 1048576 bytes (configuration key “max-manifest-size”, in MiB)" "$(terror)"
check "manifest over max-manifest-size: repository unchanged" "t 1 t 2" "$(rprop evil LatestVersion | tr '\n' ' ')$(rprop evil UnitCount)"
check "manifest over max-manifest-size: no file requested" "0" "$(grep -vc PULP_MANIFEST "$REQLOG")"
repo evil Configure a{sv} 1 max-manifest-size u 64 >/dev/null
printf '%s\n%s\n' "$good" "$(printf 'y%.0s' $(seq 5000)),$h,1" >"$WWW/evil/PULP_MANIFEST"
run_sync evil; check "manifest with a 5000-byte line: failed" "failed" "$S"
contains "manifest with a 5000-byte line: Error says why" "line is longer than" "$(terror)"
# a feed with a password: errors name it without the password
repo evil Configure a{sv} 1 feed s "http://pulp:s3cr3t-feed@${FS#http://}/evil/PULP_MANIFEST" >/dev/null
run_sync evil; check "manifest with a 5000-byte line, feed with a password: failed" "failed" "$S"
contains "feed with a password: Error names the manifest" \
  "http://pulp@${FS#http://}/evil/PULP_MANIFEST: Invalid PULP_MANIFEST" "$(terror)"
lacks "feed with a password: not in Error" "s3cr3t-feed" "$(terror)"
repo evil Configure a{sv} 1 feed s "$FS/evil/PULP_MANIFEST" >/dev/null
printf '%s\n' "$good" >"$WWW/evil/PULP_MANIFEST"

# --- a feed that is no manifest: the URL of its folder, or a web page
repo evil Configure a{sv} 1 feed s "$NGINX/evil/" >/dev/null
run_sync evil; check "feed of a folder: failed" "failed" "$S"
contains "feed of a folder: Error says what the server said" "/evil/: HTTP 403" "$(terror)"
contains "feed of a folder: … and names the manifest's URL" \
  "a file repository's feed is the URL of its PULP_MANIFEST, such as $NGINX/evil/PULP_MANIFEST)" "$(terror)"
printf '<!DOCTYPE html>\n<html><body>Downloads</body></html>\n' >"$WWW/evil/index.html"
repo evil Configure a{sv} 1 feed s "$NGINX/evil/index.html" >/dev/null
run_sync evil; check "feed of a web page: failed" "failed" "$S"
contains "feed of a web page: Error says so" \
  "/evil/index.html: Invalid PULP_MANIFEST, line 1: expected “relative/path,sha256,size” (the server sent a web page" "$(terror)"
check "feed of a web page: repository unchanged" "t 1" "$(rprop evil LatestVersion)"
repo evil Configure a{sv} 1 feed s "$FS/evil/PULP_MANIFEST" >/dev/null

# --- on_demand: units recorded, nothing downloaded
tree lazy 20 4k
create lazy "$FS/lazy/PULP_MANIFEST" 1 download-policy s on_demand
: >"$REQLOG"
run_sync lazy; check "on_demand: completes" "completed" "$S"
check "on_demand: 20 units" "t 20" "$(rprop lazy UnitCount)"
check "on_demand: only the manifest was requested" "1" "$(wc -l <"$REQLOG")"
check "on_demand: every unit has an empty path" "20" "$(units_json lazy | grep -o '"path":{"type":"s","data":""}' | wc -l)"
check "on_demand: nothing stored" "0" "$(stored lazy)"

# --- then immediate: the files of the units synced on_demand arrive. The
# first try fails for one file (skip-failed), so the next sync must still
# look for it; after that, a resync fetches nothing.
repo lazy Configure a{sv} 2 download-policy s immediate skip-failed b true >/dev/null
lazy_one=$(sed -n 2p "$WWW/lazy/PULP_MANIFEST" | cut -d, -f1)
echo "/lazy/$lazy_one status 403" >"$RULES"
: >"$REQLOG"
# (mirror: a unit whose file failed is still upstream's, so it stays)
run_sync lazy 1 sync-policy s mirror; check "immediate after on_demand: completes" "completed" "$S"
contains "immediate after on_demand: 19 downloaded" '"downloaded" t 19' "$(tsummary)"
contains "immediate after on_demand: 1 failed" '"failed" t 1' "$(tsummary)"
contains "immediate after on_demand: no unit added" '"added" t 0' "$(tsummary)"
check "immediate after on_demand: no new version" "t 1" "$(rprop lazy LatestVersion)"
check "immediate after on_demand: all 20 units stay" "t 20" "$(rprop lazy UnitCount)"
check "immediate after on_demand: 19 stored" "19" "$(stored lazy)"
check "immediate after on_demand: only the failed unit has no path" "1" \
  "$(units_json lazy | grep -o '"path":{"type":"s","data":""}' | wc -l)"
: >"$RULES"
: >"$REQLOG"
run_sync lazy; check "immediate, the failed file again: completes" "completed" "$S"
contains "immediate, the failed file again: 1 downloaded" '"downloaded" t 1' "$(tsummary)"
check "immediate, the failed file again: only it and the manifest requested" \
  "/lazy/PULP_MANIFEST /lazy/$lazy_one" "$(cut -d' ' -f1 "$REQLOG" | sort | tr '\n' ' ' | sed 's/ $//')"
check "immediate after on_demand: every unit's path is its stored, correct content" "20 ok" \
  "$(verify_units lazy lazy)"
check "immediate after on_demand: still version 1" "t 1" "$(rprop lazy LatestVersion)"
: >"$REQLOG"
run_sync lazy; check "immediate resync: completes" "completed" "$S"
contains "immediate resync: nothing downloaded" '"downloaded" t 0' "$(tsummary)"
check "immediate resync: only the manifest requested" "1" "$(wc -l <"$REQLOG")"
# A unit synced on_demand that upstream dropped stays without content
# (additive) and must still be fetched when upstream lists it again.
tree back 3 4k
create back "$FS/back/PULP_MANIFEST" 1 download-policy s on_demand
run_sync back
cp "$WWW/back/PULP_MANIFEST" "$WWW/back/full"
grep -v '^file-0000002.bin,' "$WWW/back/full" >"$WWW/back/PULP_MANIFEST"
run_sync back 1 download-policy s immediate
contains "immediate, a file dropped upstream: the 2 listed downloaded" '"downloaded" t 2' "$(tsummary)"
check "immediate, a file dropped upstream: its unit stays" "t 3" "$(rprop back UnitCount)"
cp "$WWW/back/full" "$WWW/back/PULP_MANIFEST"
run_sync back 1 download-policy s immediate
contains "immediate, the file listed again: downloaded" '"downloaded" t 1' "$(tsummary)"
check "immediate, the file listed again: every unit stored" "3 ok" "$(verify_units back back)"

# --- a path whose file changes upstream: the unit key is the path and the
# digest, so the new file is a new unit; a mirror sync replaces the old one,
# an additive sync removes nothing (dbus-api.md: "additive: nothing is
# removed"); an uploaded unit at the path stays next to upstream's file
# unless remove-uploaded is set
tree paths 3 4k
create pathadd "$FS/paths/PULP_MANIFEST"
create pathlazy "$FS/paths/PULP_MANIFEST" 1 download-policy s on_demand
create pathup "$FS/paths/PULP_MANIFEST" 1 sync-policy s mirror
for r in pathadd pathlazy pathup; do run_sync $r; done
printf 'mine\n' >"$WORK/mine.bin"
chmod 644 "$WORK/mine.bin"
mine=$(sha256sum "$WORK/mine.bin" | cut -d' ' -f1)
T=$("$UPLOAD" /org/pulp/repositories/pathup file "$WORK/mine.bin" "{'relative-path': <'extra.bin'>}" | cut -d'"' -f2)
check "changed path: upload at a path upstream does not have" '"completed"' "$(task_wait "$T" | cut -d' ' -f2)"
old1=$(sha256sum "$WWW/paths/file-0000001.bin" | cut -d' ' -f1)
printf 'changed\n' >"$WWW/paths/file-0000001.bin"
printf 'extra\n' >"$WWW/paths/extra.bin"
manifest paths
new1=$(sha256sum "$WWW/paths/file-0000001.bin" | cut -d' ' -f1)
extra=$(sha256sum "$WWW/paths/extra.bin" | cut -d' ' -f1)
# at_path REPO PATH: "sha256 uploaded" of each unit at PATH, sorted
at_path() {
  units_json "$1" | python3 -c '
import json, sys
for u in json.load(sys.stdin)["data"][0]:
    if u["relative-path"]["data"] == sys.argv[1]:
        print(u["sha256"]["data"], str(u["uploaded"]["data"]).lower())' "$2" | sort | tr '\n' ' ' | sed 's/ $//'
}
both1=$(printf '%s false\n%s false\n' "$new1" "$old1" | sort | tr '\n' ' ' | sed 's/ $//')
run_sync pathup; check "changed path, mirror: completes" "completed" "$S"
contains "changed path, mirror: the changed file and extra.bin added" '"added" t 2' "$(tsummary)"
contains "changed path, mirror: the old content removed" '"removed" t 1' "$(tsummary)"
check "changed path, mirror: the new content alone at its path" "$new1 false" "$(at_path pathup file-0000001.bin)"
check "changed path, mirror: upstream's extra.bin next to the uploaded one" \
  "$(printf '%s false\n%s true\n' "$extra" "$mine" | sort | tr '\n' ' ' | sed 's/ $//')" \
  "$(at_path pathup extra.bin)"
check "changed path, mirror: 5 units (4 upstream, 1 uploaded)" "t 5" "$(rprop pathup UnitCount)"
run_sync pathadd; check "changed path, additive: completes" "completed" "$S"
contains "changed path, additive: 2 added" '"added" t 2' "$(tsummary)"
contains "changed path, additive: nothing removed" '"removed" t 0' "$(tsummary)"
check "changed path, additive: 5 units" "t 5" "$(rprop pathadd UnitCount)"
check "changed path, additive: old and new content at the path" "$both1" "$(at_path pathadd file-0000001.bin)"
check "changed path, additive: the old content is still stored" "$old1" \
  "$(units_json pathadd | python3 -c '
import json, os, sys
for u in json.load(sys.stdin)["data"][0]:
    if u["sha256"]["data"] == sys.argv[1] and os.path.exists(u["path"]["data"]):
        print(u["sha256"]["data"])' "$old1")"
run_sync pathadd; check "changed path, additive: resync adds and removes nothing" \
  "t 2" "$(rprop pathadd LatestVersion)"
run_sync pathlazy; check "changed path, on_demand: completes" "completed" "$S"
contains "changed path, on_demand: 2 added" '"added" t 2' "$(tsummary)"
contains "changed path, on_demand: nothing removed" '"removed" t 0' "$(tsummary)"
check "changed path, on_demand: old and new content at the path" "$both1" "$(at_path pathlazy file-0000001.bin)"
repo pathup Configure a{sv} 1 remove-uploaded b true >/dev/null
run_sync pathup; check "changed path, remove-uploaded: completes" "completed" "$S"
contains "changed path, remove-uploaded: nothing added" '"added" t 0' "$(tsummary)"
contains "changed path, remove-uploaded: the uploaded unit removed" '"removed" t 1' "$(tsummary)"
check "changed path, remove-uploaded: upstream's unit alone at the path" "$extra false" "$(at_path pathup extra.bin)"
check "changed path, remove-uploaded: units match upstream" "4 ok" "$(verify_units pathup paths)"

# --- cancellation mid-download: version kept, completed files not fetched again
tree cancel 100 16k
head -6 "$WWW/cancel/PULP_MANIFEST" >"$WWW/cancel/first"
mv "$WWW/cancel/PULP_MANIFEST" "$WWW/cancel/full"
cp "$WWW/cancel/first" "$WWW/cancel/PULP_MANIFEST"
create cancel "$FS/cancel/PULP_MANIFEST"
run_sync cancel; check "cancel: version 1 first" "completed" "$S"
cp "$WWW/cancel/full" "$WWW/cancel/PULP_MANIFEST"
# slow enough that the cancel lands midway even on a loaded machine
echo "/cancel/* delay 300" >"$RULES"
start_sync cancel
for _ in $(seq 400); do
  [ "$(tprop "$T" Stage)" = 's "downloads"' ] && [ "$(tprop "$T" Done | cut -d' ' -f2)" -ge 30 ] && break
  sleep 0.05
done
call org.pulp.Manager "$T" org.pulp.Task Cancel >/dev/null
check "cancel: task ends cancelled" '"cancelled"' "$(task_wait "$T" | cut -d' ' -f2)"
contains "cancel: the Summary names the error for scripts" '"error-name" s "org.pulp.Error.Cancelled"' "$(tsummary)"
check "cancel: version kept" "t 1" "$(rprop cancel LatestVersion)"
contains "cancel: the log says so" "Task ${T##*/} (sync of cancel) was cancelled" "$(cat "$WORK/pulpd.log")"
check "cancel: units kept" "t 5" "$(rprop cancel UnitCount)"
have=$(stored cancel)
[ "$have" -ge 30 ] && [ "$have" -lt 100 ] && ok "cancel: stopped midway ($have of 100 stored)" || not_ok "cancel: $have of 100 stored"
contains "cancel: the summary counts the files that arrived" "\"downloaded\" t $((have - 5)) " "$(tsummary) "
# cancelled transfers end at once: counted as done, the last progress would
# jump to the end of the list (and the bytes go back)
done=$(tprop "$T" Done | cut -d' ' -f2)
[ "$done" -le $((have - 5)) ] && ok "cancel: Done ($done) counts only files that arrived ($((have - 5)))" ||
  not_ok "cancel: Done is $done, but only $((have - 5)) files arrived"
check "cancel: nothing left in tmp" "0" "$(ls "$STATE/tmp" | wc -l)"
: >"$RULES"
# requests the cancelled sync had in flight may still be answered (and
# logged) by the delaying server: wait until its log is quiet first
prev=-1
for _ in $(seq 60); do
  n=$(wc -l <"$REQLOG"); [ "$n" = "$prev" ] && break; prev=$n; sleep 0.5
done
: >"$REQLOG"
run_sync cancel; check "after cancel: next sync completes" "completed" "$S"
check "after cancel: 100 units" "t 100" "$(rprop cancel UnitCount)"
check "after cancel: only files not stored before were requested" "$((100 - have))" "$(grep -c '^/cancel/file' "$REQLOG")"

# --- kill -9 mid-download, restart
tree crash 4 1M
head -2 "$WWW/crash/PULP_MANIFEST" >"$WWW/crash/first"
mv "$WWW/crash/PULP_MANIFEST" "$WWW/crash/full"
cp "$WWW/crash/first" "$WWW/crash/PULP_MANIFEST"
create crash "$FS/crash/PULP_MANIFEST"
run_sync crash; check "crash: version 1 first" "completed" "$S"
cp "$WWW/crash/full" "$WWW/crash/PULP_MANIFEST"
echo "/crash/* slow 32768 50" >"$RULES"
: >"$REQLOG"
start_sync crash
# The fault server logs a slow transfer when it starts sending; each takes
# about 1.6 s, so pulpd is in the middle of writing them when it dies.
for _ in $(seq 400); do
  [ "$(grep -c '^/crash/file' "$REQLOG")" -ge 3 ] && break
  sleep 0.05
done
check "crash: killed while 3 files are being sent" "3" "$(grep -c '^/crash/file' "$REQLOG")"
kill -9 $PID; wait $PID 2>/dev/null
# Downloads have no name until stored where the file system allows
# (O_TMPFILE); elsewhere they are named temp files like this one.
head -c 1000 /dev/zero >"$STATE/tmp/dl-left-by-a-crash"
start
check "after kill -9: version intact" "t 1" "$(rprop crash LatestVersion)"
check "after kill -9: units intact" "t 1" "$(rprop crash UnitCount)"
check "after kill -9: task failed" 's "failed"' "$(tprop "$T" State)"
check "after kill -9: temp files gone" "0" "$(ls "$STATE/tmp" | wc -l)"
check "after kill -9: no partial file in the store" "1" "$(stored crash)"
check "after kill -9: other repositories intact" "t 200" "$(rprop clean UnitCount)"
: >"$RULES"
run_sync crash; check "after kill -9: next sync completes" "completed" "$S"
check "after kill -9: all units" "t 4" "$(rprop crash UnitCount)"
check "after kill -9: units verified" "4 ok" "$(verify_units crash crash)"

# --- disk full: the Error names the folder the downloads are written in (as
# files without a name, there is no file to name) and does not suggest
# skip-failed, which cannot help. A daemon of its own, whose content store
# (content/ and tmp/, one file system) is a 1 MiB tmpfs; its database
# stays where it was.
if [ "$(id -u)" = 0 ] && mkdir -p "$WORK/small" && mount -t tmpfs -o size=1m tmpfs "$WORK/small"; then
  kill $PID; wait $PID 2>/dev/null
  main_state=$STATE
  STATE=$WORK/state-full
  mkdir -p "$STATE" "$WORK/small/content" "$WORK/small/tmp"
  ln -s "$WORK/small/content" "$STATE/content"
  ln -s "$WORK/small/tmp" "$STATE/tmp"
  start
  tree full 40 64k
  create full "$NGINX/full/PULP_MANIFEST"
  run_sync full; check "disk full: failed" "failed" "$S"
  e=$(terror)
  contains "disk full: Error names the temp folder and says why" \
    "cannot write a new file in $WORK/small/tmp: $(python3 -c 'import os, errno; print(os.strerror(errno.ENOSPC))')" "$e"
  lacks "disk full: Error has no (null)" "(null)" "$e"
  lacks "disk full: Error does not suggest skip-failed" "skip-failed" "$e"
  check "disk full: no version" "t 0" "$(rprop full LatestVersion)"
  check "disk full: nothing left in tmp" "0" "$(ls "$STATE/tmp/" | wc -l)"
  kill $PID; wait $PID 2>/dev/null
  PID=
  umount "$WORK/small"
  STATE=$main_state
else
  ok "disk full: skipped (needs root and a tmpfs)"
fi

no_criticals

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
