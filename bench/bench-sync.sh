#!/bin/bash
# Conduit throughput with the test importer (issue: sync engine): 100,000
# units added in one sync, a no-op resync, then 1% changed (mirror: 1,000
# removed, 1,000 added). Prints wall time of each sync (task Started to
# Finished, and as the client saw it), the CPU time pulpd spent on it
# (user + system) and the peak RSS of pulpd.
# With IMPORTER=file the same with the file importer: a PULP_MANIFEST of
# UNITS lines (file:// feed, download-policy on_demand, so what is timed is
# reading the manifest and storing the units, not fetching files).
# Usage: [IMPORTER=file] bench/bench-sync.sh [BUILD_DIR] [UNITS]
set -eu
BUILD=${1:-build}
N=${2:-100000}
WORK=$(mktemp -d)
trap 'kill $PULPD_PID $BUS_PID 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$WORK"' EXIT
echo "work: $WORK"
dbus-daemon --session --print-address=3 --print-pid=4 --fork 3>"$WORK/addr" 4>"$WORK/pid"
BUS_PID=$(cat "$WORK/pid")
A=$(cat "$WORK/addr")
IMPORTER=${IMPORTER:-test}
${PULPD_WRAP:-} "$BUILD/src/pulpd/pulpd" --address "$A" --state-dir "$WORK/state" \
  --importer-dir "$BUILD/$([ "$IMPORTER" = file ] && echo importers/file || echo tests/test-importer)" \
  >"$WORK/log" 2>&1 &
PULPD_PID=$!
B="busctl --address=$A"
for _ in $(seq 100); do $B status org.pulp.Manager >/dev/null 2>&1 && break; sleep 0.05; done
if [ "$IMPORTER" = file ]; then
  mkdir "$WORK/www"
  $B call org.pulp.Manager /org/pulp/Manager org.pulp.Manager CreateRepository ssa{sv} bench file 3 \
    feed s "file://$WORK/www/PULP_MANIFEST" sync-policy s mirror download-policy s on_demand >/dev/null
else
  $B call org.pulp.Manager /org/pulp/Manager org.pulp.Manager CreateRepository ssa{sv} bench test 2 \
    feed s "file://$WORK/desc" sync-policy s mirror >/dev/null
fi
# upstream KEEP CHANGED VARIANT: KEEP units that stay and CHANGED that
# differ with VARIANT
upstream() {
  if [ "$IMPORTER" = file ]; then
    python3 - "$WORK/www/PULP_MANIFEST" "$@" <<'PY'
import hashlib, sys
path, keep, changed, variant = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
with open(path, "w") as f:
    for i in range(keep + changed):
        rel = "dir%03d/file-%07d.bin" % (i % 1000, i)
        salt = variant if i >= keep else ""
        f.write("%s,%s,%d\n" % (rel, hashlib.sha256((rel + salt).encode()).hexdigest(), 4096 + i))
PY
  else
    printf 'units %s u v1\nunits %s %s v1\n' "$1" "$2" "$3" >"$WORK/desc"
  fi
}
keep=$((N - N / 100))
cpu() { awk '{print ($14 + $15) / 100}' /proc/$PULPD_PID/stat; }
sys() { awk '{print $15 / 100}' /proc/$PULPD_PID/stat; }
run() {
  local name=$1 t s0 s1 started finished c0 k0
  sync # untimed: no sync pays for the write-back of the one before
  c0=$(cpu)
  k0=$(sys)
  s0=$(date +%s.%N)
  t=$($B call org.pulp.Manager /org/pulp/repositories/bench org.pulp.Repository Sync a{sv} 0 | cut -d'"' -f2)
  state=$($B call --timeout=900 org.pulp.Manager "$t" org.pulp.Task Wait | cut -d'"' -f2)
  s1=$(date +%s.%N)
  started=$($B get-property org.pulp.Manager "$t" org.pulp.Task Started | cut -d' ' -f2)
  finished=$($B get-property org.pulp.Manager "$t" org.pulp.Task Finished | cut -d' ' -f2)
  summary=$($B get-property org.pulp.Manager "$t" org.pulp.Task Summary)
  printf '| %-22s | %-9s | %7.2f s | %7.2f s | %7.2f s | %7.2f s | %s |\n' "$name" "$state" \
    "$(echo "($finished - $started) / 1000000" | bc -l)" "$(echo "$s1 - $s0" | bc -l)" \
    "$(echo "$(cpu) - $c0" | bc -l)" "$(echo "$(sys) - $k0" | bc -l)" \
    "$(echo "$summary" | grep -o '"added" t [0-9]*\|"removed" t [0-9]*' | tr '\n' ' ')"
}
echo "units: $N ($IMPORTER importer)"
echo "| sync                   | state     | task      | client    | pulpd CPU | of it, kernel | changes |"
echo "|---|---|---|---|---|---|---|"
upstream "$keep" "$((N / 100))" c
run "first sync"
run "no-op resync"
upstream "$keep" "$((N / 100))" d
run "1% changed (mirror)"
echo "peak RSS of pulpd: $(awk '/VmHWM/ {printf "%.1f MB", $2 / 1024}' /proc/$PULPD_PID/status)"
