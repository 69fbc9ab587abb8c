#!/bin/bash
# The rpm importer side by side with the reference clients, in one run, on
# the same repositories served by the same loopback nginx:
#   (a) 2,000 real small RPMs (rpmbuild + createrepo_c), immediate, first sync
#   (b) the same, no-op resync
#   (c) metadata only: 50,000 packages (primary.xml.gz generated in
#       createrepo_c's schema, filelists and other for the same packages),
#       pulpd on_demand vs `dnf makecache` cold
# against `dnf reposync --download-metadata` and `lftp mirror --parallel=8`
# (each with a private cache/config); for (c) also the least a createrepo_c
# based sync takes (bench/primary-parse-floor.c). Prints wall time, CPU time
# (user + system: steadier than wall time on a shared machine) and peak RSS
# (pulpd: VmHWM, reset before each case; the others: their own maximum RSS),
# then issue 5's targets with pulpd's figures against them.
# Each client runs REPEAT times (default 3), interleaved, pulpd with a new
# daemon and state each time; the table shows each one's fastest run (with
# that run's CPU time) and its highest peak RSS: this machine's speed drifts
# by a third within a minute, and a single run of each says little.
# Usage: bench/bench-rpm.sh [BUILD_DIR]
#   CASES="a b c" (default) chooses the cases; NO_DNF=1 skips dnf in (c);
#   PERF=CASE records a profile of pulpd in that case (perf record; PERF_OPTS
#   replaces its default options "-F 199 --call-graph dwarf,16384"; the
#   last repetition's is kept).
#   BENCH_RPM_CACHE=DIR keeps the generated repositories there between runs
#   (building 2,000 RPMs takes about a minute); KEEP=1 keeps the work dir;
#   FRESH_FS=0 runs in /tmp itself rather than on a new file system (see
#   bench/fresh-fs.sh).
set -eu
BUILD=$(cd "${1:-build}" && pwd)
TOP=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d /tmp/bench-rpm.XXXXXX)
. "$TOP/bench/fresh-fs.sh"
fresh_fs "$WORK"
chmod 755 "$WORK"
CACHE=${BENCH_RPM_CACHE:-$WORK/repos}
PULPD_PID=
BUS_PID=
cleanup() {
  [ -n "$PULPD_PID" ] && kill "$PULPD_PID" 2>/dev/null
  [ -n "$BUS_PID" ] && kill "$BUS_PID" 2>/dev/null
  [ -f "$WORK/nginx.pid" ] && kill "$(cat "$WORK/nginx.pid")" 2>/dev/null
  [ -n "${KEEP:-}" ] || { fresh_fs_remove "$WORK" && rm -rf "$WORK"; }
}
trap cleanup EXIT
echo "work: $WORK"

# --- repositories (cached: they do not change between runs)
mkdir -p "$CACHE"
chmod 755 "$CACHE"
if [ ! -f "$CACHE/small/repodata/repomd.xml" ]; then
  echo "building 2,000 RPMs…"
  "$TOP/tests/make-rpm-repo.sh" -n 2000 -s 20 -z 10000 "$CACHE/small" >/dev/null
fi
# (a cache from before filelists and other matched primary is made again)
if [ ! -f "$CACHE/big/repodata/repomd.xml" ] || [ ! -f "$CACHE/big/filelists-match" ]; then
  echo "generating the metadata of 50,000 packages…"
  rm -rf "$CACHE/big"
  "$TOP/tests/make-rpm-repo.sh" -n 1 -p seed "$CACHE/big" >/dev/null
  python3 "$TOP/bench/make-big-repodata.py" 50000 "$WORK/primary.xml" "$WORK/filelists.xml" \
    "$WORK/other.xml"
  python3 "$TOP/tests/rpm-set-primary.py" "$CACHE/big" "$WORK/primary.xml" gz
  for md in filelists other; do # (replacing the seed package's: it warns about that)
    modifyrepo_c --mdtype=$md "$WORK/$md.xml" "$CACHE/big/repodata" >"$WORK/modifyrepo.log" 2>&1 ||
      { cat "$WORK/modifyrepo.log"; exit 1; }
  done
  rm -f "$WORK"/{primary,filelists,other}.xml
  touch "$CACHE/big/filelists-match"
fi
small_mb=$(du -sm --apparent-size "$CACHE/small" | cut -f1)
big_gz=$(du -m --apparent-size "$CACHE"/big/repodata/*-primary.xml.gz | cut -f1)

# --- the server
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
URL=http://127.0.0.1:$PORT
mkdir -p "$WORK/nginx-tmp"
cat >"$WORK/nginx.conf" <<CONF
daemon on;
worker_processes 1;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log;
events { worker_connections 256; }
http {
  access_log off;
  sendfile on;
  client_body_temp_path $WORK/nginx-tmp;
  server { listen 127.0.0.1:$PORT; root $CACHE; autoindex on; }
}
CONF
nginx -c "$WORK/nginx.conf" -p "$WORK"

# --- pulpd on a private bus
start_pulpd() { # start_pulpd STATE_DIR
  dbus-daemon --session --print-address=3 --print-pid=4 --fork 3>"$WORK/addr" 4>"$WORK/bus.pid"
  BUS_PID=$(cat "$WORK/bus.pid")
  A=$(cat "$WORK/addr")
  "$BUILD/src/pulpd/pulpd" --address "$A" --state-dir "$1" \
    --importer-dir "$BUILD/importers/rpm" >>"$WORK/pulpd.log" 2>&1 &
  PULPD_PID=$!
  B="busctl --address=$A"
  for _ in $(seq 100); do $B status org.pulp.Manager >/dev/null 2>&1 && break; sleep 0.05; done
}
stop_pulpd() {
  kill "$PULPD_PID" "$BUS_PID"
  wait "$PULPD_PID" 2>/dev/null || true
  PULPD_PID= BUS_PID=
}
create() { # create ID FEED POLICY
  $B call org.pulp.Manager /org/pulp/Manager org.pulp.Manager CreateRepository ssa{sv} "$1" rpm 2 \
    feed s "$2" download-policy s "$3" >/dev/null
}
reset_hwm() { echo 5 >"/proc/$PULPD_PID/clear_refs"; }
hwm() { awk '/VmHWM/ {printf "%.0f", $2 / 1024}' "/proc/$PULPD_PID/status"; }
ORDER=()
# by "CASE|CLIENT": the fastest run's wall time, CPU time and notes, the
# highest peak RSS and every run's wall time (RUNS); SHORT maps "CASE first-word-of-client" to the key
declare -A WALL CPU NOTES RSS SHORT RUNS
row() { # row CASE CLIENT WALL CPU RSS NOTES
  local k="$1|$2"
  echo "  ($1) $2: $3 s" >&2
  RUNS[$k]="${RUNS[$k]:-} $3"
  if [ -z "${WALL[$k]:-}" ]; then
    ORDER+=("$k")
    SHORT["$1 ${2%% *}"]=$k
  fi
  if [ -z "${WALL[$k]:-}" ] || [ "$(echo "$3 < ${WALL[$k]}" | bc)" = 1 ]; then
    WALL[$k]=$3 CPU[$k]=$4 NOTES[$k]=$6
  fi
  if [ "$(echo "$5 > ${RSS[$k]:-0}" | bc)" = 1 ]; then RSS[$k]=$5; fi
}
cpu() { awk '{printf "%.2f", ($14 + $15) / 100}' "/proc/$PULPD_PID/stat"; } # USER_HZ is 100
# pulp_sync CASE ID: sync to the end, client-side wall time; PERF=CASE
# records a profile of pulpd during that case into $PERF_OUT (KEEP=1 keeps it)
pulp_sync() {
  local t0 t1 c0 c1 t state summary perf_pid=
  reset_hwm
  sync
  c0=$(cpu)
  if [ "${PERF:-}" = "$1" ]; then
    perf record -q ${PERF_OPTS:--F 199 --call-graph dwarf,16384} -p "$PULPD_PID" -o "${PERF_OUT:-$WORK/perf.data}" \
      >/dev/null 2>&1 &
    perf_pid=$!
    sleep 1 # perf attaches asynchronously
  fi
  if [ -n "${RSS_TRACE:-}" ]; then
    (while kill -0 "$PULPD_PID" 2>/dev/null; do
      awk '/VmRSS/ {printf "%d ", $2 / 1024}' "/proc/$PULPD_PID/status"; sleep 0.5; done) >"$WORK/rss-$1" &
  fi
  t0=$(date +%s.%N)
  t=$($B call org.pulp.Manager "/org/pulp/repositories/$2" org.pulp.Repository Sync a{sv} 0 | cut -d'"' -f2)
  state=$($B call --timeout=900 org.pulp.Manager "$t" org.pulp.Task Wait | cut -d'"' -f2)
  t1=$(date +%s.%N)
  c1=$(cpu)
  [ -n "${RSS_TRACE:-}" ] && echo "RSS trace (MB, every 0.5 s) of $1: $(cat "$WORK/rss-$1")" >&2
  if [ -n "$perf_pid" ]; then kill -INT "$perf_pid"; wait "$perf_pid" || true; fi
  summary=$($B get-property org.pulp.Manager "$t" org.pulp.Task Summary)
  row "$1" "pulpd ($state)" "$(printf %.2f "$(echo "$t1 - $t0" | bc -l)")" \
    "$(printf %.2f "$(echo "$c1 - $c0" | bc -l)")" "$(hwm)" \
    "$(echo "$summary" | grep -o '"added" t [0-9]*\|"downloaded" t [0-9]*\|"skipped" b [a-z]*' | tr '\n' ' ')"
}
# tool CASE NAME COMMAND…: wall time and maximum RSS of the command
tool() {
  local c=$1 name=$2 out
  shift 2
  sync
  out=$(python3 - "$@" <<'EOF'
import resource, subprocess, sys, time
t = time.monotonic()
r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
wall = time.monotonic() - t
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
print("%.2f %.2f %.0f %s" % (wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024, "ok" if r.returncode == 0 else "exit %d: %s" % (
    r.returncode, r.stderr.decode(errors="replace").strip().splitlines()[-1:])))
EOF
  )
  row "$c" "$name" $(echo "$out" | cut -d' ' -f1-3) "$(echo "$out" | cut -d' ' -f4-)"
}
D=$WORK/dnf
mkdir -p "$D/repos.d" "$D/log" "$D/persist"
printf '[main]\ngpgcheck=0\nreposdir=%s\nlogdir=%s\npersistdir=%s\n' \
  "$D/repos.d" "$D/log" "$D/persist" >"$D/dnf.conf"
printf '[small]\nname=small\nbaseurl=%s/small/\ngpgcheck=0\n[big]\nname=big\nbaseurl=%s/big/\ngpgcheck=0\n' \
  "$URL" "$URL" >"$D/repos.d/bench.repo"
dnf_() { # dnf_ CACHEDIR ARGS…
  local cache=$1
  shift
  echo dnf -q -c "$D/dnf.conf" --setopt=reposdir="$D/repos.d" --setopt=cachedir="$cache" \
    --disableplugin=generate_completion_cache,local --releasever=12 "$@"
}

CASES=${CASES:-a b c}
# The least a metadata-only sync with createrepo_c takes for (c):
# bench/primary-parse-floor.c parses primary as pulpd does and drops each package.
FLOOR="createrepo_c parse alone, packages dropped"
case $CASES in *c*)
  # (Debian's createrepo_c.pc has an empty libdir: its "-L" swallows the library.)
  # shellcheck disable=SC2046
  cc -O2 -o "$WORK/primary-parse-floor" "$TOP/bench/primary-parse-floor.c" \
    $(pkg-config --cflags --libs createrepo_c glib-2.0) -lcreaterepo_c
  ;;
esac

for n in $(seq "${REPEAT:-3}"); do
  echo "run $n:" >&2
  start_pulpd "$WORK/state-$n"
  case $CASES in *a*)
    # (a) first sync of 2,000 small RPMs
    create small "$URL/small/" immediate
    pulp_sync a small
    tool a "dnf reposync --download-metadata" \
      $(dnf_ "$D/cache-a-$n" reposync --repoid=small --download-metadata -p "$WORK/dnf-out-$n")
    tool a "lftp mirror --parallel=8 (verifies nothing)" \
      lftp -c "mirror --parallel=8 $URL/small/ $WORK/lftp-out-$n"
    # (b) the same, nothing changed upstream
    pulp_sync b small
    tool b "dnf reposync --download-metadata" \
      $(dnf_ "$D/cache-a-$n" reposync --repoid=small --download-metadata -p "$WORK/dnf-out-$n")
    tool b "lftp mirror --parallel=8" lftp -c "mirror --parallel=8 $URL/small/ $WORK/lftp-out-$n"
    ;;
  esac
  case $CASES in *c*)
    # (c) metadata only, 50,000 packages
    create big "$URL/big/" on_demand
    pulp_sync c big
    [ -n "${NO_DNF:-}" ] || tool c "dnf makecache (cold)" $(dnf_ "$D/cache-c-$n" makecache --repo=big)
    tool c "$FLOOR" "$WORK/primary-parse-floor" "$CACHE"/big/repodata/*-primary.xml.gz
    ;;
  esac
  stop_pulpd
done

echo
echo "2,000 RPMs: $small_mb MB; 50,000-package primary.xml.gz: $big_gz MB; $(nproc) cores, loopback nginx"
echo "Fastest of ${REPEAT:-3} runs each (CPU: that run's), highest peak RSS of the runs"
echo "| case | client | wall | CPU | peak RSS | notes |"
echo "|---|---|---|---|---|---|"
for k in "${ORDER[@]}"; do
  printf '| %-4s | %-44s | %8s s | %8s s | %6s MB | %s |\n' "${k%%|*}" "${k#*|}" "${WALL[$k]}" \
    "${CPU[$k]}" "${RSS[$k]}" "${NOTES[$k]}"
done

# The issue's targets, from the figures above
best() { [ -n "${SHORT[$1]:-}" ] && echo "${WALL[${SHORT[$1]}]}"; }
ratio() { local a b; a=$(best "$1") && b=$(best "$2") && awk "BEGIN {printf \"%.2f\", $a / $b}"; }
echo
echo "Targets (issue 5):"
r=$(ratio "a pulpd" "a dnf") && echo "  (a) pulpd / dnf reposync: $r (at most 0.5)"
s=$(best "b pulpd") && echo "  (b) pulpd: $s s (under 0.3 s)"
r=$(ratio "c pulpd" "c dnf") && echo "  (c) pulpd / dnf makecache: $r (at most 0.3)"
# run by run: a run's pulpd and dnf follow each other within seconds, while
# the machine's speed drifts by a third from one minute to the next
if [ -n "${SHORT[c dnf]:-}" ]; then
  echo "  (c) the same, run by run:$(paste -d' ' <(printf '%s\n' ${RUNS[${SHORT[c pulpd]}]}) \
    <(printf '%s\n' ${RUNS[${SHORT[c dnf]}]}) | awk '{printf " %.2f", $1 / $2}')"
fi
r=$(ratio "c createrepo_c" "c dnf") && echo "  (c) for comparison, $FLOOR / dnf makecache: $r"
[ -n "${SHORT[c pulpd]:-}" ] && echo "  (c) pulpd peak RSS: ${RSS[${SHORT[c pulpd]}]} MB (at most 100 MB)"
true
