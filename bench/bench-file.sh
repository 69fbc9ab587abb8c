#!/bin/bash
# File importer against the usual mirroring clients (issue 4), side by side
# in one run on one generated tree served by one nginx on 127.0.0.1:
#   (a) 10,000 files of 4 KiB, (b) 20 files of 50 MiB, (c) no-op resync of (a)
# pulpd (a fresh daemon for (a) and for (b); (c) runs on the daemon of (a))
# vs `wget -r -np -nH`, `lftp mirror --parallel=8`, `curl -Z --parallel-max 10
# -K list`, and for (b) also `curl -o FILE` one file after another. Prints a
# table: wall time, files/s, MB/s (10^6 bytes) and pulpd's peak RSS (VmHWM).
# Everything writes to the same disk; `sync` runs (untimed) before each
# measurement so no one pays for another's write-back. pulpd's wall time is
# Sync call to Wait return, and includes its syncfs() before the commit.
# Usage: bench/bench-file.sh [BUILD_DIR]
# Environment: SMALL_N (10000), SMALL_SIZE (4k), BIG_N (20), BIG_SIZE (50M),
# CASES ("a b": b alone skips (a) and (c)), ONLY_PULPD=1 skips the other
# clients, PERF_DIR=DIR records each pulpd sync with `perf record -g` into
# DIR/<case>.data, KEEP=1 keeps the work folder.
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:-$TOP/build}" && pwd)
SMALL_N=${SMALL_N:-10000}
SMALL_SIZE=${SMALL_SIZE:-4k}
BIG_N=${BIG_N:-20}
BIG_SIZE=${BIG_SIZE:-50M}
WORK=$(mktemp -d /var/tmp/pulp-bench-file.XXXXXX)
chmod 755 "$WORK"
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
  [ -n "${KEEP:-}" ] || rm -rf "$WORK"
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
    printf 'url = "%s/%s/%s"\noutput = "%s"\n' "$URL" "$t" "$rel" "$WORK/out/curl/$rel"
  done >"$WORK/curl-$t.list"
done

CASES=${CASES:-a b}
want() { case " $CASES " in *" $1 "*) return 0 ;; esac; return 1; }
others() { [ -z "${ONLY_PULPD:-}" ]; }
now() { date +%s.%N; }
ROWS=()
# row CASE TOOL SECONDS FILES BYTES [RSS]
row() {
  ROWS+=("$(printf '| %-18s | %-34s | %7.2f | %8.0f | %7.1f | %s |' "$1" "$2" "$3" \
    "$(echo "$4 / $3" | bc -l)" "$(echo "$5 / $3 / 1000000" | bc -l)" "${6:-}")")
  printf '%s: %s %.2f s\n' "$1" "$2" "$3"
}
settle() { sync; rm -rf "$WORK/out"; mkdir -p "$WORK/out/curl"; sync; }
timed() { # timed COMMAND...: prints the wall time
  local t0 t1
  t0=$(now)
  "$@" >/dev/null 2>&1 || echo "warning: $* failed" >&2
  t1=$(now)
  echo "$t1 - $t0" | bc -l
}

pulpd_start() { # pulpd_start NAME
  dbus-daemon --session --print-address=3 --print-pid=4 --fork 3>"$WORK/addr" 4>"$WORK/bus.pid"
  BUS_PID=$(cat "$WORK/bus.pid")
  A=$(cat "$WORK/addr")
  ${PULPD_WRAP:-} "$BUILD/src/pulpd/pulpd" --address "$A" --state-dir "$WORK/state-$1" \
    --importer-dir "$BUILD/importers/file" >"$WORK/pulpd-$1.log" 2>&1 &
  PULPD_PID=$!
  B="busctl --address=$A"
  for _ in $(seq 100); do $B status org.pulp.Manager >/dev/null 2>&1 && break; sleep 0.05; done
  $B call org.pulp.Manager /org/pulp/Manager org.pulp.Manager CreateRepository ssa{sv} bench file \
    2 feed s "$URL/$1/PULP_MANIFEST" sync-policy s mirror >/dev/null
}
pulpd_sync() { # pulpd_sync NAME: prints the wall time; checks the task completed
  local t0 t1 task state perf_pid=
  if [ -n "${PERF_DIR:-}" ]; then
    mkdir -p "$PERF_DIR"
    perf record -q -g -p "$PULPD_PID" -o "$PERF_DIR/$1.data" >/dev/null 2>&1 &
    perf_pid=$!
    sleep 0.5
  fi
  t0=$(now)
  task=$($B call org.pulp.Manager /org/pulp/repositories/bench org.pulp.Repository Sync a{sv} 0 |
    cut -d'"' -f2)
  state=$($B call --timeout=900 org.pulp.Manager "$task" org.pulp.Task Wait | cut -d'"' -f2)
  t1=$(now)
  if [ -n "$perf_pid" ]; then
    kill -INT "$perf_pid"
    wait "$perf_pid" || true
  fi
  if [ "$state" != completed ]; then
    echo "pulpd sync $state: $($B get-property org.pulp.Manager "$task" org.pulp.Task Error)" >&2
  fi
  echo "$t1 - $t0" | bc -l
}
rss() { awk '/VmHWM/ {printf "%.1f MB", $2 / 1024}' "/proc/$PULPD_PID/status"; }

# --- (a) many small files
A_CASE="(a) $SMALL_N x $SMALL_SIZE"
if want a; then
settle
pulpd_start small
s=$(pulpd_sync a)
row "$A_CASE" "pulpd" "$s" "$SMALL_N" "$small_bytes" "$(rss)"
if others; then
settle
s=$(timed wget -r -np -nH -q -e robots=off -P "$WORK/out/wget" "$URL/small/")
row "$A_CASE" "wget -r -np -nH" "$s" "$SMALL_N" "$small_bytes"
settle
s=$(timed lftp -c "mirror --parallel=8 $URL/small/ $WORK/out/lftp")
row "$A_CASE" "lftp mirror --parallel=8" "$s" "$SMALL_N" "$small_bytes"
settle
s=$(timed curl -s -Z --parallel-max 10 --create-dirs -K "$WORK/curl-small.list")
row "$A_CASE" "curl -Z --parallel-max 10" "$s" "$SMALL_N" "$small_bytes"
fi

# --- (c) no-op resync of (a), on the same daemon; lftp for reference
C_CASE="(c) no-op resync"
settle
s=$(pulpd_sync c)
row "$C_CASE" "pulpd" "$s" "$SMALL_N" 0 "$(rss) (whole run)"
if others; then
lftp -c "mirror --parallel=8 $URL/small/ $WORK/out/lftp" >/dev/null 2>&1
sync
s=$(timed lftp -c "mirror --parallel=8 $URL/small/ $WORK/out/lftp")
row "$C_CASE" "lftp mirror --parallel=8 (no-op)" "$s" "$SMALL_N" 0
fi
stop_pulpd
rm -rf "$WORK/state-small"
fi

# --- (b) a few big files
B_CASE="(b) $BIG_N x $BIG_SIZE"
if want b; then
settle
pulpd_start big
s=$(pulpd_sync b)
row "$B_CASE" "pulpd" "$s" "$BIG_N" "$big_bytes" "$(rss)"
stop_pulpd
rm -rf "$WORK/state-big"
if others; then
settle
s=$(timed wget -r -np -nH -q -e robots=off -P "$WORK/out/wget" "$URL/big/")
row "$B_CASE" "wget -r -np -nH" "$s" "$BIG_N" "$big_bytes"
settle
s=$(timed lftp -c "mirror --parallel=8 $URL/big/ $WORK/out/lftp")
row "$B_CASE" "lftp mirror --parallel=8" "$s" "$BIG_N" "$big_bytes"
settle
s=$(timed curl -s -Z --parallel-max 10 --create-dirs -K "$WORK/curl-big.list")
row "$B_CASE" "curl -Z --parallel-max 10" "$s" "$BIG_N" "$big_bytes"
settle
sequential() {
  grep -v '^#' "$WORK/www/big/PULP_MANIFEST" | while IFS= read -r line; do
    rel=${line%,*,*}
    curl -s -o "$WORK/out/$rel" "$URL/big/$rel"
  done
}
s=$(timed sequential)
row "$B_CASE" "curl -o FILE, one after another" "$s" "$BIG_N" "$big_bytes"
fi
fi

echo
echo "| case               | tool                               |  wall s |  files/s |    MB/s | pulpd peak RSS |"
echo "|---|---|---|---|---|---|"
printf '%s\n' "${ROWS[@]}"
