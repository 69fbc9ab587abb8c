#!/bin/bash
# End-to-end tests of the content operations of pulpd (issue 6) on a private
# system bus with a real polkitd (run under tests/pulp-test-bus): Upload with
# real file descriptors (tests/pulp-upload), RemoveUnits, Rollback,
# CleanupOrphans, ListUnits/ListVersions, their bad input (after each bad
# call the repository is unchanged), polkit, queueing, and the scenario
# sync (mirror) → upload → resync → remove → rollback → delete → cleanup.
# Usage: test-content.sh PULPD BUILD_DIR PULP_UPLOAD RPM_FIXTURES
set -u
PULPD=$1
BUILD=$2
UPLOAD=$3
RPMS=$4
WORK=$(mktemp -d)
chmod 755 "$WORK" # nobody runs pulp-upload on files in here
STATE=$WORK/state
PID=
pass=0
fail=0
trap '[ -n "$PID" ] && kill $PID 2>/dev/null && wait $PID; [ -n "${KEEP:-}" ] || rm -rf "$WORK"' EXIT

. "$(dirname "$0")/lib.sh"

M="org.pulp.Manager /org/pulp/Manager org.pulp.Manager"
mgr() { call $M "$@"; }
repo() { local id=$1; shift; call org.pulp.Manager /org/pulp/repositories/$id org.pulp.Repository "$@"; }
rprop() { prop /org/pulp/repositories/$1 org.pulp.Repository $2; }
task_wait() { busctl --system call --timeout=120 org.pulp.Manager "$1" org.pulp.Task Wait 2>&1; }
task_of() { cut -d'"' -f2 <<<"$1"; }
upload() { shift; "$UPLOAD" "$@"; } # upload REPO [--fd=MODE] PATH TYPE FILE [METADATA]
state() { echo "$(rprop $1 LatestVersion) $(rprop $1 UnitCount)"; }
# unit ids (or another field) of a version, sorted: units_field REPO FIELD [VERSION]
units_field() {
  local filter="a{sv} 1 limit t 10000"
  [ -n "${3:-}" ] && filter="a{sv} 2 limit t 10000 version t $3"
  busctl --system --json=short call org.pulp.Manager /org/pulp/repositories/$1 org.pulp.Repository \
    ListUnits $filter | python3 -c '
import json, sys
units = json.load(sys.stdin)["data"][0]
def text(v):
    return str(v).lower() if isinstance(v, bool) else str(v)
print(" ".join(sorted(text(u[sys.argv[1]]["data"]) for u in units)))' "$2"
}
unit_id() { # unit_id REPO RELATIVE_PATH
  busctl --system --json=short call org.pulp.Manager /org/pulp/repositories/$1 org.pulp.Repository \
    ListUnits a{sv} 1 limit t 10000 | python3 -c '
import json, sys
for u in json.load(sys.stdin)["data"][0]:
    if u["relative-path"]["data"] == sys.argv[1]:
        print(u["id"]["data"])' "$2"
}
store_files() { find "$STATE/content/sha256" -type f | wc -l; }

# Each importer in its own folder, as pulpd loads them from a build tree.
mkdir -p "$WORK/importers"
ln -s "$BUILD/importers/file" "$WORK/importers/file"
ln -s "$BUILD/importers/rpm" "$WORK/importers/rpm"
ln -s "$BUILD/tests/test-importer" "$WORK/importers/test"
printf '[daemon]\nupload-max-size=4194304\n' >"$WORK/pulpd.conf"
database_conf >>"$WORK/pulpd.conf"

start() { start_pulpd --config "$WORK/pulpd.conf" --importer-dir "$WORK/importers"; }

# A feed of three files of 256 KiB each (file:// URL, read by the real
# downloader), and content to upload.
feed=$WORK/feed
mkdir -p "$feed/dir"
for f in a.bin dir/b.bin c.bin; do head -c 262144 /dev/urandom >"$feed/$f"; done
manifest() {
  : >"$feed/PULP_MANIFEST"
  for f in "$@"; do
    echo "$f,$(sha256sum "$feed/$f" | cut -d' ' -f1),$(stat -c %s "$feed/$f")" >>"$feed/PULP_MANIFEST"
  done
}
manifest a.bin dir/b.bin c.bin
head -c 131072 /dev/urandom >"$WORK/up.bin"
head -c 5000000 /dev/zero >"$WORK/big.bin"
echo "not an rpm at all" >"$WORK/fake.rpm"
chmod 644 "$WORK/up.bin"

start
# --- the scenario: sync (mirror) → upload → resync → remove → rollback
mgr CreateRepository ssa{sv} files file 2 feed s "file://$feed/PULP_MANIFEST" sync-policy s mirror >/dev/null
t=$(task_of "$(repo files Sync a{sv} 0)")
check "mirror sync completes" 's "completed"' "$(task_wait "$t")"
check "version 1 holds the 3 files" "t 1 t 3" "$(state files)"
v1=$(units_field files id)
c_id=$(unit_id files c.bin)

out=$(upload files /org/pulp/repositories/files file "$WORK/up.bin" "{'relative-path': <'uploads/up.bin'>}")
check "Upload returns a task" "/org/pulp/tasks/" "$(task_of "$out" | sed 's/[0-9]*$//')"
t=$(task_of "$out")
check "upload task completes" 's "completed"' "$(task_wait "$t")"
check "upload task kind" 's "upload"' "$(prop "$t" org.pulp.Task Kind)"
contains "upload task names its repository" '"/org/pulp/repositories/files"' "$(prop "$t" org.pulp.Task Repository)"
check "upload makes version 2 with 4 units" "t 2 t 4" "$(state files)"
contains "upload summary: added 1" '"added" t 1' "$(prop "$t" org.pulp.Task Summary)"
contains "upload summary: bytes" '"bytes" t 131072' "$(prop "$t" org.pulp.Task Summary)"
up_id=$(unit_id files uploads/up.bin)
contains "summary names the unit" "\"unit-id\" s \"$up_id\"" "$(prop "$t" org.pulp.Task Summary)"
check "the uploaded unit is flagged, the synced ones not" "false false false true" "$(units_field files uploaded)"
up_sha=$(sha256sum "$WORK/up.bin" | cut -d' ' -f1)
contains "uploaded content is stored by digest" "$up_sha" "$(units_field files sha256)"
check "the stored file has the uploaded bytes" "$up_sha" \
  "$(sha256sum "$STATE/content/sha256/${up_sha:0:2}/${up_sha:2}" | cut -d' ' -f1)"
contains "ListUnits gives the stored path" "$STATE/content/sha256/${up_sha:0:2}/${up_sha:2}" "$(units_field files path)"

manifest a.bin dir/b.bin
t=$(task_of "$(repo files Sync a{sv} 0)")
check "mirror resync completes" 's "completed"' "$(task_wait "$t")"
check "resync: c.bin gone, the upload survives" "t 3 t 3" "$(state files)"
contains "resync summary: 1 removed" '"removed" t 1' "$(prop "$t" org.pulp.Task Summary)"
contains "resync summary: kept the uploaded unit" '"kept-uploaded" t 1' "$(prop "$t" org.pulp.Task Summary)"
check "the uploaded unit is still there" "$up_id" "$(unit_id files uploads/up.bin)"

a_id=$(unit_id files a.bin)
t=$(task_of "$(repo files RemoveUnits as 1 "$a_id")")
check "RemoveUnits completes" 's "completed"' "$(task_wait "$t")"
check "RemoveUnits task kind" 's "remove-units"' "$(prop "$t" org.pulp.Task Kind)"
check "RemoveUnits makes version 4 without a.bin" "t 4 t 2" "$(state files)"
check "a.bin is gone" "" "$(unit_id files a.bin)"
t=$(task_of "$(repo files RemoveUnits as 1 "$up_id")")
task_wait "$t" >/dev/null
check "an uploaded unit can be removed by id" "t 5 t 1" "$(state files)"

t=$(task_of "$(repo files Rollback t 1)")
check "Rollback completes" 's "completed"' "$(task_wait "$t")"
check "Rollback task kind" 's "rollback"' "$(prop "$t" org.pulp.Task Kind)"
check "Rollback makes version 6" "t 6 t 3" "$(state files)"
check "version 6 holds exactly what version 1 held" "$v1" "$(units_field files id)"
check "version 1 itself is unchanged" "$v1" "$(units_field files id 1)"
t=$(task_of "$(repo files Rollback t 3)")
task_wait "$t" >/dev/null
check "a rollback is undoable (back to version 3)" "$(units_field files id 3)" "$(units_field files id)"
check "the uploaded flag returns with the rollback" "false false true" "$(units_field files uploaded)"
check "rollback to version 3 is version 7" "t 7 t 3" "$(state files)"
versions=$(repo files ListVersions)
check "ListVersions: 7 versions" "a(ttt) 7" "$(cut -d' ' -f1-2 <<<"$versions")"
check "ListVersions: oldest first with unit counts" "1 3 2 4 3 3 4 2 5 1 6 3 7 3" \
  "$(tr ' ' '\n' <<<"$versions" | tail -n +3 | awk 'NR % 3 != 2' | tr '\n' ' ' | sed 's/ $//')"
t=$(task_of "$(repo files Rollback t 7)")
task_wait "$t" >/dev/null
check "rolling back to the latest version changes nothing" "t 7 t 3" "$(state files)"
b_id=$(unit_id files dir/b.bin)
t=$(task_of "$(upload files /org/pulp/repositories/files file "$feed/dir/b.bin" "{'relative-path': <'dir/b.bin'>}")")
task_wait "$t" >/dev/null
check "uploading what a sync brought makes it an uploaded unit (version 8)" "t 8 t 3" "$(state files)"
check "same unit id" "$b_id" "$(unit_id files dir/b.bin)"
check "now flagged uploaded" "false true true" "$(units_field files uploaded)"
manifest a.bin
t=$(task_of "$(repo files Sync a{sv} 0)")
task_wait "$t" >/dev/null
check "a mirror sync keeps both uploaded units" "t 8 t 3" "$(state files)"
contains "and says so" '"kept-uploaded" t 2' "$(prop "$t" org.pulp.Task Summary)"

# --- bad input: each call fails with the specific error, nothing changes
before=$(state files)
P=/org/pulp/repositories/files
bad() { # bad DESCRIPTION EXPECTED_TEXT OUTPUT
  contains "$1" "$2" "$3"
  check "$1: repository unchanged" "$before" "$(state files)"
}
meta="{'relative-path': <'x/up2.bin'>}"
bad "Upload without a descriptor (closed)" "org.pulp.Error.InvalidArgument: Upload needs a file descriptor" \
  "$(upload files --fd=none $P file "$WORK/up.bin" "$meta")"
bad "Upload of a write-only descriptor" "org.pulp.Error.InvalidArgument: The file descriptor passed to Upload is not open for reading" \
  "$(upload files --fd=write $P file "$WORK/up.bin" "$meta")"
bad "Upload of an O_PATH descriptor" "org.pulp.Error.InvalidArgument: The file descriptor passed to Upload is not open for reading" \
  "$(upload files --fd=path $P file "$WORK/up.bin" "$meta")"
bad "Upload of a directory" "org.pulp.Error.InvalidArgument: The file descriptor passed to Upload is a directory" \
  "$(upload files --fd=directory $P file "$WORK" "$meta")"
bad "Upload above upload-max-size" "org.pulp.Error.InvalidArgument: The file is 5000000 bytes, more than the upload limit of 4194304 bytes" \
  "$(upload files $P file "$WORK/big.bin" "$meta")"
bad "path-traversing relative-path" "org.pulp.Error.InvalidArgument: Invalid upload metadata “relative-path”" \
  "$(upload files $P file "$WORK/up.bin" "{'relative-path': <'../../etc/passwd'>}")"
bad "absolute relative-path" "org.pulp.Error.InvalidArgument: Invalid upload metadata “relative-path”" \
  "$(upload files $P file "$WORK/up.bin" "{'relative-path': <'/etc/passwd'>}")"
bad "relative-path of the wrong type" "org.pulp.Error.InvalidArgument: Upload metadata “relative-path” must be of type “s”, not “u”" \
  "$(upload files $P file "$WORK/up.bin" "{'relative-path': <uint32 3>}")"
bad "missing relative-path" "org.pulp.Error.InvalidArgument: Uploads of type “file” need the metadata key “relative-path”" \
  "$(upload files $P file "$WORK/up.bin")"
bad "unknown metadata key" "org.pulp.Error.InvalidArgument: Unknown upload metadata key “colour”" \
  "$(upload files $P file "$WORK/up.bin" "{'relative-path': <'a'>, 'colour': <'red'>}")"
bad "type the importer does not take" "org.pulp.Error.InvalidArgument: The file importer only accepts uploads of type “file”, not “rpm”" \
  "$(upload files $P rpm "$WORK/up.bin" "$meta")"
bad "RemoveUnits of an unknown id" "Version 8 of repository “files” has no unit “nope”" "$(repo files RemoveUnits as 1 nope)"
contains "RemoveUnits of an unknown id: NotFound" "org.pulp.Error.NotFound" \
  "$(dbus-send --system --print-reply --dest=org.pulp.Manager $P org.pulp.Repository.RemoveUnits array:string:nope 2>&1)"
bad "RemoveUnits of known and unknown ids removes nothing" "has no unit “nope2”" \
  "$(repo files RemoveUnits as 2 "$(unit_id files dir/b.bin)" nope2)"
bad "RemoveUnits of a unit only an older version has" "has no unit “$c_id”" "$(repo files RemoveUnits as 1 "$c_id")"
bad "RemoveUnits of nothing" "RemoveUnits needs at least one unit id" "$(repo files RemoveUnits as 0)"
bad "Rollback to a version that does not exist" "Repository “files” has no version 99 (latest: 8)" "$(repo files Rollback t 99)"
contains "Rollback out of range: NotFound" "org.pulp.Error.NotFound" \
  "$(dbus-send --system --print-reply --dest=org.pulp.Manager $P org.pulp.Repository.Rollback uint64:99 2>&1)"
bad "ListUnits limit too large" "“limit” may be at most 10000, not 10001" "$(repo files ListUnits a{sv} 1 limit t 10001)"
bad "ListUnits limit of the wrong type" "Filter key “limit” must have type “t”, not “s”" "$(repo files ListUnits a{sv} 1 limit s 5)"
bad "ListUnits version out of range" "Repository “files” has no version 9 (latest: 8)" "$(repo files ListUnits a{sv} 1 version t 9)"
bad "ListUnits unknown key" "Unknown filter key “colour”" "$(repo files ListUnits a{sv} 1 colour s red)"
bad "CleanupOrphans with an unknown option" "Unknown cleanup option “force”" "$(mgr CleanupOrphans a{sv} 1 force b true)"

# --- polkit: nobody may read, not change
cp "$WORK/up.bin" "$WORK/nobody.bin"
contains "nobody cannot Upload" "org.pulp.Error.PermissionDenied: Not authorized to perform “org.pulp.modify-content”" \
  "$(as_nobody "$UPLOAD" $P file "$WORK/nobody.bin" "$meta")"
contains "nobody cannot RemoveUnits" "Not authorized to perform “org.pulp.modify-content”" \
  "$(as_nobody busctl --system call org.pulp.Manager $P org.pulp.Repository RemoveUnits as 1 "$up_id" 2>&1)"
contains "nobody cannot Rollback" "Not authorized to perform “org.pulp.modify-content”" \
  "$(as_nobody busctl --system call org.pulp.Manager $P org.pulp.Repository Rollback t 1 2>&1)"
contains "nobody cannot CleanupOrphans" "Not authorized to perform “org.pulp.cleanup”" \
  "$(as_nobody busctl --system call $M CleanupOrphans a{sv} 0 2>&1)"
contains "nobody may ListUnits" "aa{sv} 3" "$(as_nobody busctl --system call org.pulp.Manager $P org.pulp.Repository ListUnits a{sv} 0 2>&1)"
check "denied calls changed nothing" "$before" "$(state files)"

# --- rpm: the header gives the key; anything else is rejected
mgr CreateRepository ssa{sv} rpms rpm 0 >/dev/null
R=/org/pulp/repositories/rpms
t=$(task_of "$(upload rpms $R rpm "$RPMS/Archer-3.4.5-6.x86_64.rpm")")
check "RPM upload completes" 's "completed"' "$(task_wait "$t")"
check "RPM upload: version 1, 1 unit" "t 1 t 1" "$(state rpms)"
contains "the unit key comes from the header" '"name":{"type":"s","data":"Archer"}' \
  "$(busctl --system --json=short call org.pulp.Manager $R org.pulp.Repository ListUnits a{sv} 0 | tr -d ' ')"
files_before=$(store_files)
t=$(task_of "$(upload rpms $R rpm "$WORK/fake.rpm")")
check "a non-RPM uploaded as rpm fails the task" 's "failed"' "$(task_wait "$t")"
contains "its Error says why" "not a valid RPM package" "$(prop "$t" org.pulp.Task Error)"
check "non-RPM: repository unchanged" "t 1 t 1" "$(state rpms)"
check "non-RPM: nothing reached the content store" "$files_before" "$(store_files)"
contains "rpm uploads take no metadata" "org.pulp.Error.InvalidArgument: Uploads of type “rpm” take no metadata" \
  "$(upload rpms $R rpm "$RPMS/Rimmer-1.0.2-2.x86_64.rpm" "{'relative-path': <'x.rpm'>}")"
t=$(task_of "$(upload rpms $R rpm "$RPMS/Archer-3.4.5-6.x86_64.rpm")")
task_wait "$t" >/dev/null
check "the same RPM again makes no version" "t 1 t 1" "$(state rpms)"

# --- queueing: a remove waits for the running sync of its repository; a
# cleanup waits for every task and nothing overtakes it
printf 'units 10 q v1\n' >"$WORK/desc"
mgr CreateRepository ssa{sv} q test 1 feed s "file://$WORK/desc" >/dev/null
task_wait "$(task_of "$(repo q Sync a{sv} 0)")" >/dev/null
printf 'block-after 2 %s\nunits 12 q v1\n' "$WORK/go" >"$WORK/desc"
ts=$(task_of "$(repo q Sync a{sv} 0)")
wait_for_task_stage "$ts" blocked && ok "the sync runs and blocks" || not_ok "the sync never blocked"
q0=$(units_field q id | cut -d' ' -f1)
tr=$(task_of "$(repo q RemoveUnits as 1 "$q0")")
tc=$(task_of "$(mgr CleanupOrphans a{sv} 0)")
check "the remove queues behind the sync" 's "queued"' "$(prop "$tr" org.pulp.Task State)"
check "the cleanup queues" 's "queued"' "$(prop "$tc" org.pulp.Task State)"
check "the cleanup is on no repository" 'o "/"' "$(prop "$tc" org.pulp.Task Repository)"
touch "$WORK/go"
check "queued remove completes" 's "completed"' "$(task_wait "$tr")"
check "queued cleanup completes" 's "completed"' "$(task_wait "$tc")"
check "queued cleanup: no error" 's ""' "$(prop "$tc" org.pulp.Task Error)"
check "remove ran after the sync: version 3 without q0" "t 3 t 11" "$(state q)"
s_r=$(prop "$tr" org.pulp.Task Started | cut -d' ' -f2); f_s=$(prop "$ts" org.pulp.Task Finished | cut -d' ' -f2)
s_c=$(prop "$tc" org.pulp.Task Started | cut -d' ' -f2); f_r=$(prop "$tr" org.pulp.Task Finished | cut -d' ' -f2)
[ "$s_r" -ge "$f_s" ] && ok "remove started after the sync finished" || not_ok "remove started $s_r before $f_s"
[ "$s_c" -ge "$f_r" ] && ok "cleanup started after the remove finished" || not_ok "cleanup started $s_c before $f_r"
contains "cleanup while every unit is referenced by some version removes nothing" '"removed" t 0' \
  "$(prop "$tc" org.pulp.Task Summary)"
check "the history still has its content" "$v1" "$(units_field files id 1)"
for p in $(units_field files path 1); do
  [ -f "$p" ] || not_ok "version 1 lost $p"
done
ok "files of older versions stay"

# --- delete repositories, then cleanup returns the disk space
files_before=$(store_files)
du_before=$(du -sk "$STATE/content" | cut -f1)
for r in files rpms q; do mgr DeleteRepository s $r >/dev/null; done
check "all repositories deleted" "ao 0" "$(mgr ListRepositories)"
check "deleting leaves the content for cleanup" "$files_before" "$(store_files)"
t=$(task_of "$(mgr CleanupOrphans a{sv} 0)")
check "CleanupOrphans completes" 's "completed"' "$(task_wait "$t")"
check "cleanup task kind" 's "cleanup-orphans"' "$(prop "$t" org.pulp.Task Kind)"
summary=$(prop "$t" org.pulp.Task Summary)
contains "cleanup removed the 17 units" '"removed" t 17' "$summary"
contains "cleanup removed the 5 files" "\"files-removed\" t $files_before" "$summary"
freed=$((3 * 262144 + 131072 + $(stat -c %s "$RPMS/Archer-3.4.5-6.x86_64.rpm")))
contains "cleanup counts the bytes" "\"bytes-freed\" t $freed" "$summary"
check "the content store is empty" "0" "$(store_files)"
du_after=$(du -sk "$STATE/content" | cut -f1)
[ $(((du_before - du_after) * 1024)) -ge $freed ] \
  && ok "du of the content store: $du_before KiB before, $du_after KiB after cleanup" \
  || not_ok "du shrank by less than the $freed bytes of content: $du_before → $du_after KiB"
check "no units are left" "0" "$(sql 'SELECT count(*) FROM units')"
[ -n "${PULP_TEST_POSTGRESQL:-}" ] || check "database integrity" "ok" "$(sql 'PRAGMA integrity_check')"

# --- an upload at a path the repository holds replaces what is there: a
# version has one file per path
mgr CreateRepository ssa{sv} paths file 0 >/dev/null
printf 'notes, first draft\n' >"$WORK/notes1.txt"
printf 'notes, second draft\n' >"$WORK/notes2.txt"
for n in 1 2; do
  t=$(task_of "$(upload paths /org/pulp/repositories/paths file "$WORK/notes$n.txt" \
    "{'relative-path': <'docs/notes.txt'>}")")
  task_wait "$t" >/dev/null
done
check "two uploads at docs/notes.txt: version 2, one unit" "t 2 t 1" "$(state paths)"
contains "the second upload counts the first as removed" '"removed" t 1' "$(prop "$t" org.pulp.Task Summary)"
check "docs/notes.txt is the second draft" "$(sha256sum "$WORK/notes2.txt" | cut -d' ' -f1)" \
  "$(units_field paths sha256)"
check "version 1 still has the first" "$(sha256sum "$WORK/notes1.txt" | cut -d' ' -f1)" \
  "$(units_field paths sha256 1)"

no_criticals

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
