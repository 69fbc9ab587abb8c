#!/bin/bash
# End-to-end tests of the rpm importer through pulpd on a private system bus
# (run under tests/pulp-test-bus): real RPMs built with rpmbuild, real
# metadata from createrepo_c (and the real packages of fixtures/rpm-real),
# served by a test-owned nginx on 127.0.0.1. Checks what a user would:
# task state, Error, Summary, unit counts, stored files and their digests,
# and the files `dnf reposync` downloads from the same server.
# Usage: test-rpm-sync.sh PULPD RPM_IMPORTER_DIR PULP_UPLOAD
set -u
PULPD=$1
IMPORTERS=$2
UPLOAD=$3
TESTS=$(cd "$(dirname "$0")" && pwd)
MAKE_REPO=$TESTS/make-rpm-repo.sh
SET_PRIMARY=$TESTS/rpm-set-primary.py
FIXTURES=$TESTS/fixtures/rpm-real
WORK=$(mktemp -d /tmp/test-rpm-sync.XXXXXX)
chmod 755 "$WORK" # nginx workers do not run as root
STATE=$WORK/state
WWW=$WORK/www
PID=
pass=0
fail=0
cleanup() {
  [ -n "$PID" ] && kill -9 "$PID" 2>/dev/null
  [ -f "$WORK/nginx.pid" ] && kill "$(cat "$WORK/nginx.pid")" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

. "$(dirname "$0")/lib.sh"

M="org.pulp.Manager /org/pulp/Manager org.pulp.Manager"
mgr() { busctl --system call $M "$@" 2>&1; }
rprop() { prop "/org/pulp/repositories/$1" org.pulp.Repository "$2"; }
create() { # create ID FEED [more config: N key type value…]
  local id=$1 feed=$2
  shift 2
  local n=1
  [ $# -gt 0 ] && { n=$((1 + $1)); shift; }
  mgr CreateRepository ssa{sv} "$id" rpm "$n" feed s "$feed" "$@" >/dev/null
}
# sync ID [N key type value…]: runs a sync to its end; sets T (the task) and
# S (its final state)
sync() {
  local id=$1
  shift
  [ $# -eq 0 ] && set -- 0
  T=$(busctl --system call org.pulp.Manager "/org/pulp/repositories/$id" org.pulp.Repository \
    Sync a{sv} "$@" 2>&1 | cut -d'"' -f2)
  S=$(busctl --system call --timeout=120 org.pulp.Manager "$T" org.pulp.Task Wait 2>&1 | cut -d'"' -f2)
}
configure() { # configure ID N key type value…
  local id=$1
  shift
  busctl --system call org.pulp.Manager "/org/pulp/repositories/$id" org.pulp.Repository \
    Configure a{sv} "$@" >/dev/null
}
# list ID [FILTER…]: ListUnits as JSON text, non-ASCII as it is
list() {
  local id=$1
  shift
  [ $# -eq 0 ] && set -- 0
  busctl --system --json=short call org.pulp.Manager "/org/pulp/repositories/$id" \
    org.pulp.Repository ListUnits a{sv} "$@" |
    python3 -c 'import json, sys; print(json.dumps(json.load(sys.stdin), ensure_ascii=False))'
}
summary() { prop "$T" org.pulp.Task Summary; }
task_error() { prop "$T" org.pulp.Task Error; }
error_name() { sql "SELECT error_name FROM tasks WHERE id = ${T##*/}"; }
stored_rows() { sql "SELECT count(*) FROM repository_content WHERE repository = '$1'"; }
requests() { wc -l <"$WORK/access.log"; }
# units ID: "relative-path sha256 stored" per unit, sorted; stored is the
# digest of the file in the content store ("-" when there is none)
units() {
  busctl --system --json=short call org.pulp.Manager "/org/pulp/repositories/$1" \
    org.pulp.Repository ListUnits a{sv} 1 limit t 10000 | python3 -c '
import hashlib, json, sys
for u in json.load(sys.stdin)["data"][0]:
    p = u["path"]["data"]
    stored = hashlib.sha256(open(p, "rb").read()).hexdigest() if p else "-"
    print(u["relative-path"]["data"], u["sha256"]["data"], stored)' | sort
}
# files DIR: "relative-path sha256 sha256" for each .rpm under DIR, sorted
files() {
  (cd "$1" && find . -name '*.rpm' -printf '%P\n' | sort | while read -r f; do
    s=$(sha256sum "$f" | cut -d' ' -f1)
    echo "$f $s $s"
  done)
}

# --- the server: nginx on a free loopback port, logging every request
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
URL=http://127.0.0.1:$PORT
mkdir -p "$WWW" "$WORK/nginx-tmp"
cat >"$WORK/nginx.conf" <<CONF
daemon on;
worker_processes 1;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log;
events { worker_connections 256; }
http {
  access_log $WORK/access.log;
  client_body_temp_path $WORK/nginx-tmp;
  server {
    listen 127.0.0.1:$PORT;
    root $WWW;
    location /slow/ { limit_rate_after 2k; limit_rate 1k; }
    location ~ ^/slowpkgs/.*[.]rpm\$ { limit_rate 3k; }
  }
}
CONF
nginx -c "$WORK/nginx.conf" -p "$WORK" || { echo "nginx did not start"; exit 99; }

# With no usable TMPDIR: metadata temp files belong in the state directory,
# on the disk that has room for content, not in /tmp, which is often memory.
start() {
  database_conf >"$WORK/pulpd.conf"
  TMPDIR=$WORK/no-such-dir start_pulpd --config "$WORK/pulpd.conf" --importer-dir "$IMPORTERS"
}

# --- repositories
mk() { "$MAKE_REPO" "$@" >/dev/null || { echo "make-rpm-repo $* failed"; exit 99; }; }
mk -n 40 -s 4 -z 100 -c gz "$WWW/gz"             # packages in 4 sub-folders, gz primary
mk -n 12 -p xpkg -c xz "$WWW/xz"                  # xz primary
mk -n 3 -p bzpkg -c bz2 "$WWW/bz2"                # bz2 primary
mk -n 3 -p npkg "$WWW/none"                       # uncompressed primary
"$SET_PRIMARY" "$WWW/none" - none
mkdir -p "$WWW/real" "$WWW/zst" "$WWW/based"                  # the real packages, gz and zstd primary
cp "$FIXTURES"/*.rpm "$WWW/real/"
cp "$FIXTURES"/*.rpm "$WWW/zst/"
createrepo_c --quiet --no-database "$WWW/real"
createrepo_c --quiet --no-database "$WWW/zst"
"$SET_PRIMARY" "$WWW/zst" - zst
# xml:base and --location-prefix: metadata in based/, packages in pool/el/
mk -n 8 -p bpkg -m "$WORK/bsrc"
createrepo_c --quiet --no-database --baseurl "$URL/pool/" --location-prefix el/ \
  --outputdir "$WWW/based" "$WORK/bsrc"
mkdir -p "$WWW/pool/el"
mv "$WORK/bsrc/Packages" "$WWW/pool/el/"
start

# --- gz primary, packages in sub-folders
create gz "$URL/gz/"
sync gz
check "gz: sync completes" "completed" "$S"
check "gz: 40 units" "t 40" "$(rprop gz UnitCount)"
check "gz: version 1" "t 1" "$(rprop gz LatestVersion)"
contains "gz: summary added 40" '"added" t 40' "$(summary)"
contains "gz: summary downloaded 40" '"downloaded" t 40' "$(summary)"
contains "gz: not skipped" '"skipped" b false' "$(summary)"
check "gz: every package stored under its location with its digest" "$(files "$WWW/gz")" "$(units gz)"
check "gz: packages kept in their sub-folders" "4" "$(units gz | cut -d/ -f2 | sort -u | wc -l)"

# --- the no-op shortcut
before=$(requests)
sync gz
check "no-op: completes" "completed" "$S"
contains "no-op: skipped" '"skipped" b true' "$(summary)"
check "no-op: one request" "1" "$(($(requests) - before))"
contains "no-op: the one request was repomd.xml" "GET /gz/repodata/repomd.xml" "$(tail -n 1 "$WORK/access.log")"
check "no-op: no new version" "t 1" "$(rprop gz LatestVersion)"
contains "no-op: summary still counts the packages" '"packages" t 40' "$(summary)"
before=$(requests)
monitor_start "$WORK/monitor"
sync gz
monitor_stop "$WORK/monitor"
check "no-op again (the state survives a skip)" "completed" "$S"
contains "no-op again: the metadata stage ends done (2 of 2)" "'metadata', uint64 2, uint64 2," \
  "$(last_progress "$WORK/monitor" "$T" metadata)"
contains "no-op again: skipped" '"skipped" b true' "$(summary)"
check "no-op again: one request" "1" "$(($(requests) - before))"
before=$(requests)
sync gz 1 force b true
check "force: completes" "completed" "$S"
contains "force: not skipped" '"skipped" b false' "$(summary)"
check "force: repomd and primary read, no package fetched again" "2" "$(($(requests) - before))"
contains "force: nothing added" '"added" t 0' "$(summary)"
kill $PID; wait $PID 2>/dev/null
start
before=$(requests)
sync gz
contains "no-op after a daemon restart: skipped" '"skipped" b true' "$(summary)"
check "no-op after a restart: one request" "1" "$(($(requests) - before))"

# primary changed without a revision bump (and the same repomd size class)
mk -n 6 -p rev -c gz "$WWW/rev"
createrepo_c --quiet --no-database --revision 7 "$WWW/rev"
create rev "$URL/rev"
sync rev
check "revision: first sync has 6" "t 6" "$(rprop rev UnitCount)"
mk -n 1 -p revextra -m "$WWW/rev"
createrepo_c --quiet --no-database --revision 7 "$WWW/rev"
contains "revision: repomd still says revision 7" "<revision>7</revision>" "$(cat "$WWW/rev/repodata/repomd.xml")"
sync rev
check "revision: resync completes" "completed" "$S"
contains "revision: changed primary is not skipped" '"skipped" b false' "$(summary)"
check "revision: the new package arrived" "t 7" "$(rprop rev UnitCount)"
sync rev
contains "revision: then unchanged again: skipped" '"skipped" b true' "$(summary)"
# only primary's content changes: same size, same revision, repomd rewritten
python3 - "$WWW/rev" <<'EOF'
import glob, gzip, sys
path = glob.glob(sys.argv[1] + "/repodata/*-primary.xml.gz")[0]
xml = gzip.decompress(open(path, "rb").read()).decode()
open(sys.argv[1] + "/plain.xml", "w").write(xml.replace("Test package number 1 of 1.", "Test package number 1 of 1!"))
EOF
"$SET_PRIMARY" "$WWW/rev" "$WWW/rev/plain.xml" gz
sync rev
check "revision: primary edited in place: not skipped" "completed" "$S"
contains "revision: primary edited in place: summary" '"skipped" b false' "$(summary)"

# --- on_demand, then immediate: the files of the units synced on_demand arrive
create od "$URL/gz/" 1 download-policy s on_demand
sync od
check "on_demand: completes" "completed" "$S"
check "on_demand: 40 units" "t 40" "$(rprop od UnitCount)"
contains "on_demand: nothing downloaded" '"downloaded" t 0' "$(summary)"
check "on_demand: the units know their sha256" "40" "$(units od | awk 'length($2) == 64' | wc -l)"
# the gz repository above already stored these files: use another repository
mk -n 15 -p odpkg -c gz "$WWW/od"
configure od 1 feed s "$URL/od/"
sync od 1 sync-policy s mirror
check "on_demand: 15 units from the new feed" "t 15" "$(rprop od UnitCount)"
check "on_demand: no file stored" "15" "$(units od | awk '$3 == "-"' | wc -l)"
sync od 1 sync-policy s mirror
contains "on_demand: unchanged: skipped" '"skipped" b true' "$(summary)"
before=$(requests)
sync od 1 download-policy s immediate
check "immediate after on_demand: completes" "completed" "$S"
contains "immediate after on_demand: not skipped" '"skipped" b false' "$(summary)"
contains "immediate after on_demand: 15 downloaded" '"downloaded" t 15' "$(summary)"
check "immediate after on_demand: every file stored" "$(files "$WWW/od")" "$(units od)"
check "immediate after on_demand: no new version" "t 2" "$(rprop od LatestVersion)"
check "immediate after on_demand: 2 + 15 requests" "17" "$(($(requests) - before))"
sync od 1 download-policy s immediate
contains "immediate again: skipped" '"skipped" b true' "$(summary)"
sync od
contains "additive after mirror, same upstream: skipped" '"skipped" b true' "$(summary)"

# --- xz, bz2, none, zstd, the real packages, xml:base
for comp in xz bz2 none; do
  create $comp "$URL/$comp"
  sync $comp
  check "$comp: completes" "completed" "$S"
  check "$comp: all stored" "$(files "$WWW/$comp")" "$(units $comp)"
done
contains "bz2: primary is bz2" "primary.xml.bz2" "$(cat "$WWW/bz2/repodata/repomd.xml")"
contains "none: primary is uncompressed" 'primary.xml"' "$(cat "$WWW/none/repodata/repomd.xml")"
create zst "$URL/zst/"
sync zst
check "zstd: completes" "completed" "$S"
check "zstd: the 12 real packages stored" "$(files "$WWW/zst")" "$(units zst)"
check "zstd: no temp file left (download, decompressed primary)" "" "$(ls -A "$STATE/tmp")"
create real "$URL/real/"
sync real
check "real (gz): completes" "completed" "$S"
check "real: same units as from the zstd primary" "$(units zst)" "$(units real)"
real_units=$(list real)
contains "real: epoch 2 of Archer in the key" '"epoch": {"type": "s", "data": "2"}, "name": {"type": "s", "data": "Archer"}' "$real_units"
contains "real: UTF-8 summary" 'Balíček s \"ěščřžýáíéů' "$real_units"
contains "real: ISO-8859-1 summary converted to UTF-8" 'Balicek s \"àáâãäåç' "$real_units"
contains "real: source package" '"arch": {"type": "s", "data": "src"}' "$real_units"
contains "real: weak dependencies kept" '"recommends"' "$real_units"
# dependencies as ListUnits shows them: one string each, fields joined by
# U+001F (JSON \u001f), trailing empty fields left out
contains "real: provides record" '"bara\u001fLE\u001f0\u001f22"' "$real_units"
contains "real: Requires(pre) record" '"foof\u001fEQ\u001f0\u001f6\u001f\u001f1"' "$real_units"
contains "real: files of primary kept" '"files": {"type": "as", "data": ["/usr/bin/complex_a"]}' \
  "$real_units"
contains "real: packager kept" '"packager": {"type": "s", "data": "Sterling Archer"}' "$real_units"
create based "$URL/based/"
sync based
check "xml:base + location prefix: completes" "completed" "$S"
check "xml:base: packages fetched from the pool, paths carry the prefix" "$(files "$WWW/pool")" "$(units based)"
check "xml:base: 8 packages under el/Packages/" "8" "$(units based | grep -c '^el/Packages/bpkg-')"
contains "xml:base: base kept in the metadata" "\"location-base\": {\"type\": \"s\", \"data\": \"$URL/pool/\"}" \
  "$(list based 1 limit t 1)"

# --- the summary counts what happened: files the store already had were
# not downloaded, a package listed twice in primary is one package
create gzcopy "$URL/gz/"
before=$(requests)
sync gzcopy
check "content already stored: completes" "completed" "$S"
check "content already stored: only repomd and primary fetched" "2" "$(($(requests) - before))"
contains "content already stored: none downloaded" '"downloaded" t 0' "$(summary)"
contains "content already stored: no bytes" '"bytes" t 0' "$(summary)"
contains "content already stored: 40 added" '"added" t 40' "$(summary)"
check "content already stored: every file there" "$(files "$WWW/gz")" "$(units gzcopy)"
mk -n 3 -p duppkg -z 10 -c gz "$WWW/dup"
/usr/bin/python3 - "$WWW/dup" "$WORK/dup.xml" <<'EOF'
import glob, gzip, re, sys
xml = gzip.decompress(open(glob.glob(sys.argv[1] + "/repodata/*-primary.xml.gz")[0], "rb").read()).decode()
first = re.search(r"<package .*?</package>\s*", xml, re.S).group(0)
xml = xml.replace('packages="3"', 'packages="4"').replace("</metadata>", first + "</metadata>")
open(sys.argv[2], "w").write(xml)
EOF
"$SET_PRIMARY" "$WWW/dup" "$WORK/dup.xml" gz
create dup "$URL/dup"
sync dup
check "package listed twice: completes" "completed" "$S"
contains "package listed twice: 3 packages" '"packages" t 3' "$(summary)"
contains "package listed twice: 3 added" '"added" t 3' "$(summary)"
contains "package listed twice: 3 downloaded" '"downloaded" t 3' "$(summary)"
check "package listed twice: 3 units" "t 3" "$(rprop dup UnitCount)"
sync dup
contains "package listed twice, unchanged: skipped" '"skipped" b true' "$(summary)"
contains "package listed twice, unchanged: still 3 packages" '"packages" t 3' "$(summary)"

# --- the no-op shortcut must not skip what this sync would change
# A stored file that vanished from the content store: `force` fetches it
# again (a plain resync may skip: the metadata did not change).
gone=$(list xz 1 limit t 1 | python3 -c 'import json, sys; print(json.load(sys.stdin)["data"][0][0]["path"]["data"])')
rm -f "$gone"
before=$(requests)
sync xz 1 force b true
check "force after a stored file vanished: completes" "completed" "$S"
contains "force after a stored file vanished: one downloaded" '"downloaded" t 1' "$(summary)"
check "force after a stored file vanished: repomd, primary and the one package fetched" "3" \
  "$(($(requests) - before))"
check "force after a stored file vanished: every file stored again" "$(files "$WWW/xz")" "$(units xz)"
# upload REPO FILE: prints the task (tests/pulp-upload passes the file
# descriptor, which busctl cannot)
upload() { "$UPLOAD" "/org/pulp/repositories/$1" rpm "$2" | cut -d'"' -f2; }
# A mirror sync that kept an uploaded unit, then remove-uploaded set: the
# next sync must remove it, not skip.
# (a package no other repository holds)
mk -n 3 -p rupkg -c gz "$WWW/ru"
mk -n 1 -p ruupload -m "$WORK/ruupload"
create ru "$URL/ru" 1 sync-policy s mirror
sync ru
T=$(upload ru "$WORK"/ruupload/Packages/ruupload-*.rpm)
S=$(busctl --system call --timeout=120 org.pulp.Manager "$T" org.pulp.Task Wait 2>&1 | cut -d'"' -f2)
check "remove-uploaded: upload completes" "completed" "$S"
# A package cut short after its header (createrepo_c reads the header alone)
pkg=$(ls "$WORK"/ruupload/Packages/ruupload-*.rpm)
head -c $(($(stat -c %s "$pkg") - 100)) "$pkg" >"$WORK/cut.rpm"
T=$(upload ru "$WORK/cut.rpm")
S=$(busctl --system call --timeout=120 org.pulp.Manager "$T" org.pulp.Task Wait 2>&1 | cut -d'"' -f2)
check "upload of a cut package: fails" "failed" "$S"
check "upload of a cut package: InvalidArgument" "org.pulp.Error.InvalidArgument" "$(error_name)"
contains "upload of a cut package: Error says so" "its header says the package is $(stat -c %s "$pkg") bytes long, but the file has $(($(stat -c %s "$pkg") - 100))" "$(task_error)"
check "upload of a cut package: the repository is unchanged" "t 4 t 2" \
  "$(rprop ru UnitCount) $(rprop ru LatestVersion)"
# A signed package: pulpd has no keys, and librpm's "NOKEY" warning naming
# a temp file is not for the log
T=$(upload ru "$FIXTURES/empty-signed-rsa-0-0.x86_64.rpm")
S=$(busctl --system call --timeout=120 org.pulp.Manager "$T" org.pulp.Task Wait 2>&1 | cut -d'"' -f2)
check "upload of a signed package: completes" "completed" "$S"
check "upload of a signed package: no librpm warning in the log" "" "$(grep NOKEY "$WORK/pulpd.log")"
sync ru
check "remove-uploaded: mirror sync keeps the upload" "t 5" "$(rprop ru UnitCount)"
sync ru
contains "remove-uploaded: unchanged: skipped" '"skipped" b true' "$(summary)"
configure ru 1 remove-uploaded b true
sync ru
check "remove-uploaded set: sync completes" "completed" "$S"
contains "remove-uploaded set: not skipped" '"skipped" b false' "$(summary)"
contains "remove-uploaded set: the uploads removed" '"removed" t 2' "$(summary)"
check "remove-uploaded set: upstream's 3 units" "t 3" "$(rprop ru UnitCount)"
sync ru
contains "remove-uploaded set, then unchanged: skipped" '"skipped" b true' "$(summary)"

# --- '&' in attribute values of primary (createrepo_c 0.17 hands them over
# as "&#38;"): a real package whose Provides and file name hold '&'
mkdir -p "$WORK/amptop/SPECS" "$WWW/amp/Packages"
cat >"$WORK/amptop/SPECS/amp.spec" <<'EOF'
Name: amp
Version: 1.0
Release: 1
Summary: Tom & Jerry
License: MIT
BuildArch: noarch
Provides: tom&jerry
Provides: ben&jerry = 2:1.0-3

%description
A package with '&' in its Provides.

%files
EOF
rpmbuild -bb --quiet --nodeps --define "_topdir $WORK/amptop" --define "_rpmdir $WORK/amptop/RPMS" \
  --define "_build_name_fmt amp.rpm" "$WORK/amptop/SPECS/amp.spec" >"$WORK/amptop/log" 2>&1 ||
  { cat "$WORK/amptop/log"; exit 99; }
cp "$WORK/amptop/RPMS/amp.rpm" "$WWW/amp/Packages/semi;colon&amp.rpm"
createrepo_c --quiet --no-database "$WWW/amp"
create amp "$URL/amp"
sync amp
check "'&' in names: sync completes" "completed" "$S"
check "'&' in names: the file downloaded and stored under its own name" "$(files "$WWW/amp")" "$(units amp)"
check "'&' in names: fetched by its name" "1" "$(grep -cF 'GET /amp/Packages/semi;colon&amp.rpm ' "$WORK/access.log")"
# provides as rpm prints them: name [flag [epoch:]version[-release]]
check "'&' in names: provides as rpm -qp --provides says" \
  "$(rpm -qp --provides "$WWW/amp/Packages/semi;colon&amp.rpm" | sort)" \
  "$(list amp | python3 -c '
import json, sys
flags = {"EQ": "=", "LT": "<", "LE": "<=", "GT": ">", "GE": ">="}
for dep in json.load(sys.stdin)["data"][0][0]["metadata"]["data"]["provides"]["data"]:
    f = (dep.split("\x1f") + [""] * 5)[:5]
    evr = ("" if f[2] in ("", "0") else f[2] + ":") + f[3] + ("-" + f[4] if f[4] else "")
    print(f[0] + (" " + flags[f[1]] + " " + evr if f[1] else ""))' | sort)"

# --- an update that adds, removes and rebuilds packages: mirror vs additive
mk -n 20 -p upkg -c gz "$WWW/up"
create upm "$URL/up" 1 sync-policy s mirror
create upa "$URL/up"
sync upm
sync upa
check "update: mirror repository starts with 20" "t 20" "$(rprop upm UnitCount)"
rm "$WWW"/up/Packages/upkg-0[1-4]-*.rpm                        # 4 removed
mk -n 20 -p upkg -z 10 -m "$WORK/rebuilt"                        # 4 rebuilt: same NEVRA
for i in 05 06 07 08; do mv "$WORK"/rebuilt/Packages/upkg-$i-*.rpm "$WWW/up/Packages/"; done
mk -n 3 -p newpkg -m "$WWW/up"                                    # 3 added
createrepo_c --quiet --no-database "$WWW/up"
sync upm
check "update (mirror): completes" "completed" "$S"
contains "update (mirror): 7 added" '"added" t 7' "$(summary)"
contains "update (mirror): 8 removed" '"removed" t 8' "$(summary)"
check "update (mirror): 19 units" "t 19" "$(rprop upm UnitCount)"
check "update (mirror): exactly upstream's files" "$(files "$WWW/up")" "$(units upm)"
sync upa
check "update (additive): completes" "completed" "$S"
contains "update (additive): 7 added" '"added" t 7' "$(summary)"
contains "update (additive): none removed" '"removed" t 0' "$(summary)"
check "update (additive): 27 units" "t 27" "$(rprop upa UnitCount)"
check "update (additive): both builds of upkg-05" "2" "$(units upa | grep -c /upkg-05-)"
check "update: the mirror's version 1 still lists the old builds" "20" \
  "$(list upm 2 version t 1 limit t 100 | grep -o '"location-href": {"type": "s", "data": "Packages/upkg-' | wc -l)"
sync upa 1 sync-policy s mirror
contains "additive then mirror, same upstream: not skipped" '"skipped" b false' "$(summary)"
check "additive then mirror: 19 units" "t 19" "$(rprop upa UnitCount)"

# --- cancellation mid-download: the packages that arrived are stored and
# counted in the summary, the repository keeps its version
mk -n 40 -p cpkg -z 3000 "$WWW/slowpkgs"
create cancelled "$URL/slowpkgs"
T=$(busctl --system call org.pulp.Manager /org/pulp/repositories/cancelled org.pulp.Repository \
  Sync a{sv} 0 | cut -d'"' -f2)
for _ in $(seq 600); do
  [ "$(prop "$T" org.pulp.Task Stage)" = 's "downloads"' ] && \
    [ "$(prop "$T" org.pulp.Task Done | cut -d' ' -f2)" -ge 10 ] && break
  sleep 0.05
done
busctl --system call org.pulp.Manager "$T" org.pulp.Task Cancel >/dev/null
S=$(busctl --system call --timeout=120 org.pulp.Manager "$T" org.pulp.Task Wait 2>&1 | cut -d'"' -f2)
check "cancel: the task ends cancelled" "cancelled" "$S"
check "cancel: no version" "t 0" "$(rprop cancelled LatestVersion)"
arrived=0
for f in "$WWW"/slowpkgs/Packages/*.rpm; do
  s=$(sha256sum "$f" | cut -d' ' -f1)
  [ -f "$STATE/content/sha256/${s:0:2}/${s:2}" ] && arrived=$((arrived + 1))
done
[ "$arrived" -ge 10 ] && [ "$arrived" -lt 40 ] && ok "cancel: stopped midway ($arrived of 40 stored)" ||
  not_ok "cancel: $arrived of 40 stored"
contains "cancel: the summary counts the packages that arrived" "\"downloaded\" t $arrived " "$(summary) "
# the same files, not slowed down: the next sync fetches only the others
ln -s slowpkgs "$WWW/fastpkgs"
configure cancelled 1 feed s "$URL/fastpkgs"
sync cancelled
check "after cancel: the next sync completes" "completed" "$S"
contains "after cancel: it fetches only what had not arrived" "\"downloaded\" t $((40 - arrived)) " "$(summary) "
check "after cancel: 40 units" "t 40" "$(rprop cancelled UnitCount)"

# --- failures: the repository keeps its previous version, the Error says why
mk -n 10 -p tpkg -c gz "$WWW/tamper"
victim=$(cd "$WWW/tamper" && ls Packages/*.rpm | sed -n 3p)
printf 'X' | dd of="$WWW/tamper/$victim" bs=1 seek=200 conv=notrunc status=none
create tamper "$URL/tamper"
sync tamper
check "tampered package: fails" "failed" "$S"
contains "tampered package: Error names it" "package $victim" "$(task_error)"
contains "tampered package: Error says the digest differs" "expected sha256" "$(task_error)"
check "tampered package: Checksum error" "org.pulp.Error.Checksum" "$(error_name)"
check "tampered package: no version" "t 0" "$(rprop tamper LatestVersion)"
check "tampered package: nothing associated" "0" "$(stored_rows tamper)"
mk -n 10 -p tpkg -c gz "$WORK/tamper-good"
cp "$WORK/tamper-good/$victim" "$WWW/tamper/$victim" 2>/dev/null || true
createrepo_c --quiet --no-database "$WWW/tamper"
sync tamper
check "after the fix upstream: completes" "completed" "$S"

mk -n 5 -p ppkg -c xz "$WWW/badprimary"
primary=$(ls "$WWW"/badprimary/repodata/*-primary.xml.xz)
printf 'garbage' >>"$primary"
create badprimary "$URL/badprimary"
sync badprimary
check "tampered primary: fails" "failed" "$S"
contains "tampered primary: Error names primary" "primary.xml.xz: size" "$(task_error)"
contains "tampered primary: Error says the size differs" "does not match the declared size" "$(task_error)"
check "tampered primary: Checksum error" "org.pulp.Error.Checksum" "$(error_name)"
check "tampered primary: nothing stored" "0" "$(stored_rows badprimary)"
truncate -s -7 "$primary"
printf 'Z' | dd of="$primary" bs=1 seek=100 conv=notrunc status=none
sync badprimary
check "tampered primary, same size: fails" "failed" "$S"
contains "tampered primary, same size: digest" "sha256 digest" "$(task_error)"

mk -n 6 -p mpkg -c gz "$WWW/missing"
# the URL of repodata/ as the feed: the error says which feed was meant
create slip "$URL/missing/repodata/"
sync slip
check "feed of repodata/: fails" "failed" "$S"
contains "feed of repodata/: Error says what was not found" "/missing/repodata/repodata/repomd.xml: HTTP 404" "$(task_error)"
contains "feed of repodata/: … and which feed was meant" \
  "feed is the folder that holds repodata/, such as $URL/missing/)" "$(task_error)"

gone=$(cd "$WWW/missing" && ls Packages/*.rpm | sed -n 2p)
rm "$WWW/missing/$gone"
create missing "$URL/missing"
monitor_start "$WORK/monitor"
sync missing
check "missing package: fails" "failed" "$S"
monitor_stop "$WORK/monitor"
p=$(last_progress "$WORK/monitor" "$T" downloads)
arrived=$(summary | grep -o '"bytes" t [0-9]*' | cut -d' ' -f3)
contains "missing package: the last progress counts the bytes that arrived" "'bytes-done': <uint64 $arrived>" "$p"
contains "missing package: … and the failure" "'failed': <uint64 1>" "$p"
contains "missing package: Error names it" "package $gone" "$(task_error)"
contains "missing package: 404" "404" "$(task_error)"
check "missing package: nothing associated" "0" "$(stored_rows missing)"
contains "missing package: Summary counts it" '"failed" t 1' "$(summary)"
contains "missing package: Summary names it" "\"failed-units\" as 1 \"$gone\"" "$(summary)"
contains "missing package: the log names it, with the reason" \
  "Sync of missing: $gone: $URL/missing/$gone: HTTP 404 Not Found" "$(cat "$WORK/pulpd.log")"
contains "missing package: Summary counts the 5 that arrived" '"downloaded" t 5' "$(summary)"
lacks "missing package: Summary names no version" '"version"' "$(summary)"
configure missing 1 skip-failed b true
sync missing
check "missing package with skip-failed: completes" "completed" "$S"
contains "skip-failed: one failed" '"failed" t 1' "$(summary)"
contains "skip-failed: Summary names it" "\"failed-units\" as 1 \"$gone\"" "$(summary)"
check "skip-failed: 5 units" "t 5" "$(rprop missing UnitCount)"
sync missing
contains "skip-failed: a resync is not skipped (a package is missing)" '"skipped" b false' "$(summary)"
# five packages missing: the Error counts them and names the first few
mk -n 6 -p manygone -c gz "$WWW/manygone"
(cd "$WWW/manygone" && ls Packages/*.rpm | tail -5 | xargs rm)
create manygone "$URL/manygone"
sync manygone
check "five missing packages: fails" "failed" "$S"
e=$(task_error)
contains "five missing packages: Error counts them" "5 packages could not be downloaded (" "$e"
contains "five missing packages: … names three and how many more" ".rpm and 2 more); the first: package Packages/manygone-" "$e"
[ "$(echo "$e" | grep -o 'Packages/manygone-[^,)]*\.rpm' | sort -u | wc -l)" -ge 3 ] &&
  ok "five missing packages: three of them are named" || not_ok "five missing packages: names in «$e»"
configure manygone 1 skip-failed b true
sync manygone
check "five missing packages, skip-failed: the one that arrived is kept" "t 1" "$(rprop manygone UnitCount)"

# a package held on_demand whose file then fails to arrive under immediate,
# mirror and skip-failed stays in the repository, still without its file:
# upstream still lists it, and only its download failed
mk -n 4 -p odfail -c gz "$WWW/odfail"
create odfail "$URL/odfail/" 2 download-policy s on_demand sync-policy s mirror
sync odfail
check "on_demand, then a file fails: 4 units on_demand" "t 4" "$(rprop odfail UnitCount)"
gone=$(cd "$WWW/odfail" && ls Packages/*.rpm | sed -n 3p)
rm "$WWW/odfail/$gone"
configure odfail 2 download-policy s immediate skip-failed b true
sync odfail
check "on_demand, then a file fails: completes" "completed" "$S"
contains "on_demand, then a file fails: one failed" '"failed" t 1' "$(summary)"
check "on_demand, then a file fails: the package stays" "t 4" "$(rprop odfail UnitCount)"
check "on_demand, then a file fails: only its file is missing" "$gone -" \
  "$(units odfail | awk '$3 == "-" {print $1, $3}')"

# credentials in the feed URL never show in the task's error or the log:
# errors name the URL with its user and without the password
create creds "http://pulp:s3cr3t-feed@127.0.0.1:$PORT/no-such-repo/"
sync creds
check "feed with credentials, 404: fails" "failed" "$S"
contains "feed with credentials, 404: the error names the URL and the status" \
  "http://pulp@127.0.0.1:$PORT/no-such-repo/repodata/repomd.xml: HTTP 404" "$(task_error)"
lacks "feed with credentials, 404: the password is not in the error" "s3cr3t-feed" "$(task_error)"
check "feed with credentials, 404: the password is not in the daemon's log" "0" \
  "$(grep -c 's3cr3t-feed' "$WORK/pulpd.log")"

# --- malformed and hostile XML: InvalidArgument, nothing stored (on_demand
# saves in batches as it parses: the pending rows must be thrown away)
bad_primary() { # bad_primary NAME: a repository whose primary is $WORK/NAME.xml
  mk -n 3 -p "$1" -c gz "$WWW/$1"
  "$SET_PRIMARY" "$WWW/$1" "$WORK/$1.xml" gz
  create "$1" "$URL/$1" 1 download-policy s on_demand
}
python3 - "$WORK" <<'EOF'
import sys
work = sys.argv[1]
pkg = '''<package type="rpm"><name>p%d</name><arch>noarch</arch>
<version epoch="0" ver="1" rel="1"/><checksum type="sha256" pkgid="YES">%064x</checksum>
<summary>s</summary><description>d</description><packager/><url/>
<time file="1" build="1"/><size package="10" installed="0" archive="0"/>
<location href="Packages/p%d.rpm"/><format><rpm:license>MIT</rpm:license></format></package>
'''
head = ('<?xml version="1.0" encoding="UTF-8"?>\n'
        '<metadata xmlns="http://linux.duke.edu/metadata/common" '
        'xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="%d">\n')
many = "".join(pkg % (i, i + 1, i) for i in range(2500))
# cut in the middle of a package after 2,500 good ones (two saved batches)
open(work + "/truncated.xml", "w").write(head % 2600 + many + pkg[:150])
open(work + "/badtag.xml", "w").write(head % 2501 + many + "<package><name>x</nam></package></metadata>")
# external entity: must never be read
open(work + "/xxe.xml", "w").write(
    '<?xml version="1.0"?>\n<!DOCTYPE metadata [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
    + head.split("\n", 1)[1] % 1 + (pkg % (1, 1, 1)).replace("<summary>s", "<summary>&xxe;") + "</metadata>")
# billion laughs
lol = '<!ENTITY l0 "lollollollollollollollollollol">' + "".join(
    '<!ENTITY l%d "%s">' % (i, ("&l%d;" % (i - 1)) * 10) for i in range(1, 10))
open(work + "/laughs.xml", "w").write(
    '<?xml version="1.0"?>\n<!DOCTYPE metadata [' + lol + ']>\n'
    + head.split("\n", 1)[1] % 1 + (pkg % (1, 1, 1)).replace("<summary>s", "<summary>&l9;") + "</metadata>")
# a package location that leaves the repository
open(work + "/escape.xml", "w").write(head % 2501 + many + (pkg % (9999, 9999, 9999)).replace(
    "Packages/p9999.rpm", "../../etc/passwd") + "</metadata>")
# values no package can have: a sha256 of 3 digits, an epoch that is not a
# number, a location with a "." component
last = pkg % (9999, 9999, 9999)
open(work + "/badsum.xml", "w").write(head % 2501 + many + last.replace(
    "%064x" % 9999, "abc") + "</metadata>")
open(work + "/badepoch.xml", "w").write(head % 2501 + many + last.replace(
    'epoch="0"', 'epoch="abc"') + "</metadata>")
open(work + "/dotpath.xml", "w").write(head % 2501 + many + last.replace(
    "Packages/p9999.rpm", "Packages/./p9999.rpm") + "</metadata>")
EOF
for name in truncated badtag xxe laughs escape badsum badepoch dotpath; do
  bad_primary $name
  sync $name
  check "$name primary: fails" "failed" "$S"
  echo "# $name: $(task_error)"
  check "$name primary: InvalidArgument" "org.pulp.Error.InvalidArgument" "$(error_name)"
  contains "$name primary: Error names the file" "-primary.xml.gz" "$(task_error)"
  check "$name primary: no version" "t 0" "$(rprop $name LatestVersion)"
  check "$name primary: nothing stored" "0" "$(stored_rows $name)"
done
sync truncated
contains "truncated primary: Error says malformed" "is malformed" "$(task_error)"
contains "truncated primary: Error gives the line" "line" "$(task_error)"
sync escape
contains "escaping location: Error says why" "leaves the repository" "$(task_error)"
sync xxe
lacks "xxe: /etc/passwd never read" "root:" "$(task_error; summary)"
sync badsum
# (busctl shows non-ASCII as octal escapes)
contains "short sha256: Error names the package" "package p9999-0:1-1.noarch has checksum" "$(task_error)"
contains "short sha256: Error says why" "abc\\342\\200\\235, not 64 hexadecimal digits as sha256 requires" "$(task_error)"
sync badepoch
contains "epoch abc: Error says why" "package p9999-abc:1-1.noarch has an epoch" "$(task_error)"
contains "epoch abc: … not a number" "that is not a decimal number" "$(task_error)"
sync dotpath
contains "location with “.”: Error says why" "Packages/./p9999.rpm\\342\\200\\235 has an empty or" "$(task_error)"
mk -n 2 -p rmd -c gz "$WWW/badrepomd"
echo '<repomd><data type="primary"><location href="x"' >"$WWW/badrepomd/repodata/repomd.xml"
create badrepomd "$URL/badrepomd"
sync badrepomd
check "malformed repomd.xml: fails" "failed" "$S"
check "malformed repomd.xml: InvalidArgument" "org.pulp.Error.InvalidArgument" "$(error_name)"
contains "malformed repomd.xml: Error names it" "$URL/badrepomd/repodata/repomd.xml" "$(task_error)"
: >"$WWW/badrepomd/repodata/repomd.xml"
sync badrepomd
check "empty repomd.xml: fails" "failed" "$S"
check "empty repomd.xml: InvalidArgument" "org.pulp.Error.InvalidArgument" "$(error_name)"
contains "empty repomd.xml: Error says so" "$URL/badrepomd/repodata/repomd.xml is empty" "$(task_error)"
sed -i 's|<location href="repodata/|<location href="../../repodata/|' "$WWW/tamper/repodata/repomd.xml"
sync tamper 1 force b true
check "primary outside the repository: fails" "failed" "$S"
contains "primary outside the repository: Error says why" "leaves the repository" "$(task_error)"
check "primary outside the repository: version kept" "t 1" "$(rprop tamper LatestVersion)"

# a feed is the folder holding repodata/: with a fragment every URL would
# resolve elsewhere (http://h/real#frag -> http://h/repodata/…), and a query
# would be dropped from each request. CreateRepository and Configure refuse
# such a feed, so the user learns of it at once rather than at every sync.
WHY="base URL (the folder holding repodata/) without query or fragment"
create feedok "$URL/real/"
n=0
for feed in "$URL/real#frag" "$URL/real/?token=x"; do
  n=$((n + 1))
  out=$(gdbus call --system --dest org.pulp.Manager --object-path /org/pulp/Manager \
    --method org.pulp.Manager.CreateRepository "feed$n" rpm "{'feed': <'$feed'>}" 2>&1)
  contains "feed $feed: CreateRepository refuses it" "org.pulp.Error.InvalidArgument" "$out"
  contains "feed $feed: CreateRepository says why" "$WHY" "$out"
  contains "feed $feed: no repository made" "No repository “feed$n”" "$(mgr GetRepository s "feed$n")"
  out=$(gdbus call --system --dest org.pulp.Manager --object-path /org/pulp/repositories/feedok \
    --method org.pulp.Repository.Configure "{'feed': <'$feed'>}" 2>&1)
  contains "feed $feed: Configure refuses it" "org.pulp.Error.InvalidArgument" "$out"
  contains "feed $feed: Configure says why" "$WHY" "$out"
  check "feed $feed: the old feed stays" "a{sv} 1 \"feed\" s \"$URL/real/\"" "$(rprop feedok Config)"
done
before=$(requests)
sync feedok
check "after the refused feeds: the repository still syncs" "completed" "$S"
contains "after the refused feeds: it read the old feed" "GET /real/repodata/repomd.xml" \
  "$(tail -n +$((before + 1)) "$WORK/access.log")"

# --- the same files as dnf reposync downloads from the same server
D=$WORK/dnf
mkdir -p "$D/repos.d" "$D/cache" "$D/out" "$D/log" "$D/persist"
printf '[main]\ngpgcheck=0\nreposdir=%s\ncachedir=%s\nlogdir=%s\npersistdir=%s\n' \
  "$D/repos.d" "$D/cache" "$D/log" "$D/persist" >"$D/dnf.conf"
printf '[real]\nname=real\nbaseurl=%s/real/\ngpgcheck=0\n' "$URL" >"$D/repos.d/real.repo"
if dnf -q -c "$D/dnf.conf" --setopt=reposdir="$D/repos.d" --setopt=cachedir="$D/cache" \
  --disableplugin=generate_completion_cache,local --releasever=12 \
  reposync --repoid=real -p "$D/out" >"$D/reposync.log" 2>&1; then
  ok "dnf reposync of the real repository"
else
  not_ok "dnf reposync failed: $(tail -n 3 "$D/reposync.log")"
fi
check "pulpd stores the same package files and digests as dnf reposync" \
  "$(files "$D/out/real" | cut -d' ' -f2 | sort)" "$(units real | cut -d' ' -f3 | sort)"
check "… under the same relative paths" "$(files "$D/out/real" | cut -d' ' -f1)" "$(units real | cut -d' ' -f1)"

# --- units are shared and never changed by another repository's sync: an
# on_demand sync of packages declared by SHA-1 (whose SHA-256 is unknown
# until they are fetched) leaves the digests, and so the stored files, of
# the same units an immediate sync holds
mk -n 5 -p shpkg -m "$WORK/sha1src"
createrepo_c --quiet --no-database -s sha1 "$WORK/sha1src"
mv "$WORK/sha1src" "$WWW/sha1"
create sha1a "$URL/sha1/"
sync sha1a
check "sha1: immediate sync completes" "completed" "$S"
held=$(units sha1a)
check "sha1: every file stored" "5" "$(printf '%s\n' "$held" | grep -vc ' -$')"
create sha1b "$URL/sha1/" 1 download-policy s on_demand
sync sha1b
check "sha1: on_demand sync of the same packages completes" "completed" "$S"
check "sha1: the immediate repository's units keep their digests and files" "$held" "$(units sha1a)"
T=$(mgr CleanupOrphans a{sv} 0 | cut -d'"' -f2)
busctl --system call --timeout=120 org.pulp.Manager "$T" org.pulp.Task Wait >/dev/null 2>&1
contains "sha1: orphan cleanup then removes none of their files" '"files-removed" t 0' "$(summary)"

# --- kill -9 while primary downloads (slowly), restart: the repository
# is as it was and the metadata temp files are gone
mk -n 100 -p slowpkg -c gz "$WWW/slow/md"
create slowmd "$URL/slow/md/"
T=$(busctl --system call org.pulp.Manager /org/pulp/repositories/slowmd org.pulp.Repository \
  Sync a{sv} 0 | cut -d'"' -f2)
for _ in $(seq 100); do
  [ -n "$(find "$STATE/tmp" -mindepth 2 -name 'primary-*')" ] && break
  sleep 0.05
done
check "kill -9: primary downloading into a temp folder of the state directory" "1" \
  "$(find "$STATE/tmp" -mindepth 2 -name 'primary-*' | wc -l)"
kill -9 $PID; wait $PID 2>/dev/null
start
check "kill -9: task failed" 's "failed"' "$(prop "$T" org.pulp.Task State)"
check "kill -9: no version made" "t 0" "$(rprop slowmd LatestVersion)"
check "kill -9: temp folder removed at the restart" "" "$(ls -A "$STATE/tmp")"

no_criticals

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
