#!/bin/bash
# File importer against the usual mirroring clients (issue 4), side by side
# in one run on one generated tree served by one nginx on 127.0.0.1:
#   (a) 10,000 files of 4 KiB, (b) 20 files of 50 MiB, (c) no-op resync of (a)
# pulpd (a fresh daemon for (a) and for (b); (c) runs on the daemon of (a))
# vs `wget -r -np -nH`, `lftp mirror --parallel=8`, `curl -Z --parallel-max 10
# -K list`, and for (b) also `curl -o FILE` one file after another; for (a)
# also the least a libsoup client built like pulpd's downloader takes, with
# the bodies dropped and with each file hashed and stored as pulpd must
# (bench/soup-fetch-floor.c). Prints a table: wall time, files/s, MB/s
# (10^6 bytes) and pulpd's peak RSS (VmHWM), then issue 4's targets with
# pulpd's figures against them.
# Everything writes to the same disk; `sync` runs (untimed) before each
# measurement so no one pays for another's write-back. Each measurement is
# repeated REPEAT times (default 3), interleaved, and the best is shown. pulpd's wall time is
# Sync call to Wait return, and includes its syncfs() before the commit.
# Usage: bench/bench-file.sh [BUILD_DIR]
# Environment: SMALL_N (10000), SMALL_SIZE (4k), BIG_N (20), BIG_SIZE (50M),
# CASES ("a b": b alone skips (a) and (c)), ONLY_PULPD=1 skips the other
# clients, PERF_DIR=DIR records each pulpd sync with `perf record -g` into
# DIR/<case>.data (PERF_CMD replaces `perf record -g -o FILE`), STAGES=1
# prints when each stage of each pulpd sync began (from the Progress
# signals), CONCURRENCY sets pulpd's download-concurrency (default 10),
# KEEP=1 keeps the work folder, FRESH_FS=0 keeps (a) and (c) on the disk's
# own file system. (a) and (c) write to a new file system (bench/fresh-fs.sh):
# on this machine's ext4 without a journal, creating files soon after many
# were deleted (by an earlier run's cleanup, say) scans the recently freed
# inodes, and whoever created files first paid for it: one run's (a) took
# pulpd 3.8 s and wget 7.5 s in its first round, 2.2 s and 3.0 s in the
# next. (b) stays on the disk's own file system: a loop device's second
# page cache let clients that do not sync write it 50% faster, while
# pulpd's syncfs() goes through to the disk.
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:-$TOP/build}" && pwd)
SMALL_N=${SMALL_N:-10000}
SMALL_SIZE=${SMALL_SIZE:-4k}
BIG_N=${BIG_N:-20}
BIG_SIZE=${BIG_SIZE:-50M}
WORK=$(mktemp -d /var/tmp/pulp-bench-file.XXXXXX)
chmod 755 "$WORK"
. "$TOP/bench/fresh-fs.sh"
PULPD_PID=
BUS_PID=
stop_pulpd() {
  [ -n "$PULPD_PID" ] && kill "$PULPD_PID" 2>/dev/null && wait "$PULPD_PID" 2>/dev/null
  [ -n "$BUS_PID" ] && kill "$BUS_PID" 2>/dev/null
  PULPD_PID=
  BUS_PID=
  return 0
}
cleanup() {
  stop_pulpd
  [ -f "$WORK/nginx.pid" ] && kill "$(cat "$WORK/nginx.pid")" 2>/dev/null
  [ -n "${KEEP:-}" ] || { fresh_fs_remove "$WORK/a" && rm -rf "$WORK"; }
}
trap cleanup EXIT
for tool in wget lftp curl nginx dbus-daemon busctl python3 bc; do
  command -v $tool >/dev/null || { echo "$tool is missing (tools/deps.sh installs it)"; exit 1; }
done

echo "work: $WORK"
echo "generating trees…"
python3 "$TOP/tests/make-file-tree.py" "$WORK/www/small" --count "$SMALL_N" --size "$SMALL_SIZE" \
  --subdirs 100 --seed 11
python3 "$TOP/tests/make-file-tree.py" "$WORK/www/big" --count "$BIG_N" --size "$BIG_SIZE" --seed 12 \
  $(case " ${CASES:-a b} " in *" b "*) ;; *) echo --count 0 ;; esac)
small_bytes=$(grep -v '^#' "$WORK/www/small/PULP_MANIFEST" | awk -F, '{s += $NF} END {print s}')
big_bytes=$(grep -v '^#' "$WORK/www/big/PULP_MANIFEST" | awk -F, '{s += $NF} END {print s}')

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$WORK/nginx-tmp"
cat >"$WORK/nginx.conf" <<CONF
daemon on;
user root;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 100000;
  client_body_temp_path $WORK/nginx-tmp;
  server { listen 127.0.0.1:$PORT; root $WORK/www; autoindex on; }
}
CONF
nginx -c "$WORK/nginx.conf" -p "$WORK"
URL=http://127.0.0.1:$PORT

# The curl lists: one url/output pair per file.
for t in small big; do
  grep -v '^#' "$WORK/www/$t/PULP_MANIFEST" | while IFS= read -r line; do
    rel=${line%,*,*}
    printf 'url = "%s/%s/%s"\noutput = "%s"\n' "$URL" "$t" "$rel" "$rel"
  done >"$WORK/curl-$t.list"
done

CASES=${CASES:-a b}
want() { case " $CASES " in *" $1 "*) return 0 ;; esac; return 1; }
others() { [ -z "${ONLY_PULPD:-}" ]; }

# The least a libsoup client built like pulpd's downloader takes for (a):
# bench/soup-fetch-floor.c fetches the same URLs the way the downloader does
# (its threads: one per CPU), dropping the bodies, or also hashing and
# storing each file.
FLOOR="libsoup-3 alone, bodies dropped"
FLOOR_STORE="libsoup-3 + SHA-256 + content store, no records"
if want a && others; then
  grep '^url = ' "$WORK/curl-small.list" | cut -d'"' -f2 >"$WORK/urls-small"
  # shellcheck disable=SC2046
  cc -O2 -o "$WORK/soup-fetch-floor" "$TOP/bench/soup-fetch-floor.c" \
    $(pkg-config --cflags --libs libsoup-3.0 libcrypto)
fi
floor() { # floor [STORE_DIR]
  timed "$WORK/soup-fetch-floor" "$WORK/urls-small" "${CONCURRENCY:-10}" "$(nproc)" "$@"
}
now() { date +%s.%N; }
timed() { # timed COMMAND...: prints the wall time
  local t0 t1
  t0=$(now)
  "$@" >/dev/null 2>&1 || echo "warning: $* failed" >&2
  t1=$(now)
  echo "$t1 - $t0" | bc -l
}

pulpd_start() { # pulpd_start TREE STATE_DIR
  dbus-daemon --session --print-address=3 --print-pid=4 --fork 3>"$WORK/addr" 4>"$WORK/bus.pid"
  BUS_PID=$(cat "$WORK/bus.pid")
  A=$(cat "$WORK/addr")
  ${PULPD_WRAP:-} "$BUILD/src/pulpd/pulpd" --address "$A" --state-dir "$2" \
    --importer-dir "$BUILD/importers/file" >"$WORK/pulpd-$1.log" 2>&1 &
  PULPD_PID=$!
  B="busctl --address=$A"
  for _ in $(seq 100); do $B status org.pulp.Manager >/dev/null 2>&1 && break; sleep 0.05; done
  $B call org.pulp.Manager /org/pulp/Manager org.pulp.Manager CreateRepository ssa{sv} bench file \
    3 feed s "$URL/$1/PULP_MANIFEST" sync-policy s mirror \
    download-concurrency u "${CONCURRENCY:-10}" >/dev/null
}
pulpd_sync() { # pulpd_sync NAME: prints the wall time; checks the task completed
  local t0 t1 task state perf_pid= mon_pid=
  if [ -n "${PERF_DIR:-}" ]; then
    mkdir -p "$PERF_DIR"
    ${PERF_CMD:-perf record -q -g -o "$PERF_DIR/$1.data"} -p "$PULPD_PID" >/dev/null 2>&1 &
    perf_pid=$!
    sleep 0.5
  fi
  cpu >"$WORK/cpu0"
  if [ -n "${STAGES:-}" ]; then
    $B monitor --json=short org.pulp.Manager >"$WORK/monitor-$1.json" 2>/dev/null &
    mon_pid=$!
    sleep 0.3
  fi
  t0=$(now)
  task=$($B call org.pulp.Manager /org/pulp/repositories/bench org.pulp.Repository Sync a{sv} 0 |
    cut -d'"' -f2)
  state=$($B call --timeout=900 org.pulp.Manager "$task" org.pulp.Task Wait | cut -d'"' -f2)
  t1=$(now)
  printf '  pulpd CPU during the sync: %.2f\n' "$(echo "$(cpu) - $(cat "$WORK/cpu0")" | bc)" >&2
  if [ -n "$perf_pid" ]; then
    kill -INT "$perf_pid"
    wait "$perf_pid" || true
  fi
  if [ -n "$mon_pid" ]; then
    sleep 0.2
    kill "$mon_pid"
    wait "$mon_pid" 2>/dev/null || true
    python3 - "$WORK/monitor-$1.json" "$t0" >&2 <<'PY'
import json, sys
start = float(sys.argv[2])
last = None
for line in open(sys.argv[1]):
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if m.get("member") != "Progress":
        continue
    stage = m["payload"]["data"][1]
    t = m.get("timestamp-realtime", 0) / 1e6 - start
    if stage != last:
        print(f"  {t:6.2f} s  {stage}")
        last = stage
PY
  fi
  if [ "$state" != completed ]; then
    echo "pulpd sync $state: $($B get-property org.pulp.Manager "$task" org.pulp.Task Error)" >&2
  fi
  echo "$t1 - $t0" | bc -l
}
# pulpd's CPU time so far (user + system), in seconds
cpu() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / hz}' "/proc/$PULPD_PID/stat"; }

REPEAT=${REPEAT:-3}
declare -A BEST RSS_PEAK CPU_OF
ORDER=()
# record CASE TOOL SECONDS [RSS_MB] [CPU]: keeps the best (lowest) time of the
# repetitions and the highest RSS
record() {
  local key="$1|$2"
  printf '%s: %s %.2f s\n' "$1" "$2" "$3"
  if [ -z "${BEST[$key]:-}" ]; then
    ORDER+=("$key")
    BEST[$key]=$3
  elif [ "$(echo "$3 < ${BEST[$key]}" | bc)" = 1 ]; then
    BEST[$key]=$3
    CPU_OF[$key]=
  fi
  if [ -n "${4:-}" ] && [ "$(echo "$4 > ${RSS_PEAK[$key]:-0}" | bc)" = 1 ]; then
    RSS_PEAK[$key]=$4
  fi
  [ -n "${5:-}" ] && [ "${BEST[$key]}" = "$3" ] && CPU_OF[$key]=$5
  return 0
}
rss_mb() { awk '/VmHWM/ {printf "%.1f", $2 / 1024}' "/proc/$PULPD_PID/status"; }
A_CASE="(a) $SMALL_N x $SMALL_SIZE"
C_CASE="(c) no-op resync of (a)"
B_CASE="(b) $BIG_N x $BIG_SIZE"
sequential() { # sequential DIR: curl -o, one file after another
  grep -v '^#' "$WORK/www/big/PULP_MANIFEST" | while IFS= read -r line; do
    rel=${line%,*,*}
    curl -s -o "$1/$rel" "$URL/big/$rel"
  done
}

# Nothing is deleted until the end: on this machine's ext4 (no journal),
# creating files right after deleting many scans the recently freed inodes
# and costs whoever comes next several times the normal time.
# pulpd_case CASE_NAME CASE: times pulpd's sync for CASE and records it
pulpd_case() {
  local s
  sync
  s=$(pulpd_sync "$2" 2>"$WORK/cpu-$2")
  record "$1" "pulpd" "$s" "$(rss_mb)" "$(sed -n 's/.*sync: //p' "$WORK/cpu-$2")"
  cat "$WORK/cpu-$2" >&2
}
# clients_case CASE_NAME TREE: times wget, lftp and curl -Z fetching TREE
# into $out and records them
clients_case() {
  sync
  record "$1" "wget -r -np -nH" \
    "$(timed wget -r -np -nH -q -e robots=off -P "$out/wget-$2" "$URL/$2/")"
  sync
  record "$1" "lftp mirror --parallel=8" "$(timed lftp -c "mirror --parallel=8 $URL/$2/ $out/lftp-$2")"
  sync
  record "$1" "curl -Z --parallel-max 10" "$(timed curl -s -Z --parallel-max 10 \
    --create-dirs --output-dir "$out/curl-$2" -K "$WORK/curl-$2.list")"
}

if want a; then
  mkdir -p "$WORK/a"
  fresh_fs "$WORK/a"
fi
for rep in $(seq "$REPEAT"); do
  if want a; then
    out=$WORK/a/$rep
    mkdir -p "$out"
    sync
    pulpd_start small "$out/pulpd-a"
    pulpd_case "$A_CASE" a
    pulpd_case "$C_CASE" c
    stop_pulpd
    if others; then
      clients_case "$A_CASE" small
      record "$A_CASE" "$FLOOR" "$(floor)"
      sync
      record "$A_CASE" "$FLOOR_STORE" "$(floor "$out/floor-a")"
      sync
      record "$C_CASE" "lftp mirror --parallel=8" \
        "$(timed lftp -c "mirror --parallel=8 $URL/small/ $out/lftp-small")"
    fi
  fi
  if want b; then
    out=$WORK/out/$rep
    mkdir -p "$out"
    sync
    pulpd_start big "$out/pulpd-b"
    pulpd_case "$B_CASE" b
    stop_pulpd
    if others; then
      clients_case "$B_CASE" big
      sync
      mkdir -p "$out/seq-b"
      record "$B_CASE" "curl -o FILE, one after another" "$(timed sequential "$out/seq-b")"
    fi
  fi
done

echo
echo "Best of $REPEAT runs; RSS is the highest of the runs (VmHWM); CPU is pulpd's user+system"
echo "time in its best run. MB = 10^6 bytes."
echo
echo "| case | tool | wall s | files/s | MB/s | pulpd peak RSS | pulpd CPU s |"
echo "|---|---|---:|---:|---:|---:|---:|"
for key in "${ORDER[@]}"; do
  c=${key%%|*}
  tool=${key#*|}
  s=${BEST[$key]}
  case $c in
    "$A_CASE") files=$SMALL_N bytes=$small_bytes ;;
    "$C_CASE") files=$SMALL_N bytes=0 ;;
    *) files=$BIG_N bytes=$big_bytes ;;
  esac
  rss=${RSS_PEAK[$key]:-}
  printf '| %s | %s | %.2f | %.0f | %.1f | %s | %s |\n' "$c" "$tool" "$s" \
    "$(echo "$files / $s" | bc -l)" "$(echo "$bytes / $s / 1000000" | bc -l)" \
    "${rss:+$rss MB}" "${CPU_OF[$key]:-}"
done

# The issue's targets, from the figures above
best() { echo "${BEST[$1|$2]:-}"; }
ratio() { # ratio CASE TOOL_A TOOL_B: wall time of A / of B
  local a b
  a=$(best "$1" "$2") b=$(best "$1" "$3")
  [ -n "$a" ] && [ -n "$b" ] && awk "BEGIN {printf \"%.2f\", $a / $b}"
}
echo
echo "Targets (issue 4):"
for t in "wget -r -np -nH|0.7" "lftp mirror --parallel=8|0.7" "curl -Z --parallel-max 10|1.25"; do
  r=$(ratio "$A_CASE" pulpd "${t%|*}") && echo "  (a) pulpd / ${t%|*}: $r (at most ${t#*|})"
done
for f in "$FLOOR" "$FLOOR_STORE"; do
  r=$(ratio "$A_CASE" "$f" "curl -Z --parallel-max 10") &&
    echo "  (a) for comparison, $f / curl -Z --parallel-max 10: $r"
done
r=$(ratio "$B_CASE" "curl -o FILE, one after another" pulpd) &&
  echo "  (b) pulpd's throughput / sequential curl -o: $(awk "BEGIN {printf \"%.0f\", $r * 100}")% (at least 70%)"
s=$(best "$C_CASE" pulpd) && [ -n "$s" ] && printf '  (c) pulpd: %.2f s (under 0.5 s)\n' "$s"
for c in "$A_CASE" "$B_CASE"; do
  [ -n "${RSS_PEAK[$c|pulpd]:-}" ] && echo "  ${c%% *} pulpd peak RSS: ${RSS_PEAK[$c|pulpd]} MB (under 80 MB)"
done
true
