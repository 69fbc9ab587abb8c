#!/bin/bash
# ListUnits paging on a big repository (issue 6: a page of 1,000 from a
# 100,000-unit repository in well under 100 ms). Makes the repository with
# the test importer, then times pages at the start, middle and end as a
# GDBus client sees them (bench/list-units-client.c, median of 15 calls:
# query, packing, the bus both ways, unpacking; the first call is shown on
# its own, as it reads past the offset and later ones start from the mark
# it left), pages through the whole repository in order, and checks that
# paging sees every unit exactly once, in order; then times pulpctl listing
# it all (wall, CPU and peak RSS of pulpctl itself).
# Usage: bench/bench-list-units.sh [BUILD_DIR] [UNITS]
set -eu
BUILD=${1:-build}
N=${2:-100000}
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d)
trap 'kill $PULPD_PID $BUS_PID 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$WORK"' EXIT
# shellcheck disable=SC2046
cc -O2 -o "$WORK/client" "$HERE/list-units-client.c" $(pkg-config --cflags --libs gio-2.0)
dbus-daemon --session --print-address=3 --print-pid=4 --fork 3>"$WORK/addr" 4>"$WORK/pid"
BUS_PID=$(cat "$WORK/pid")
A=$(cat "$WORK/addr")
"$BUILD/src/pulpd/pulpd" --address "$A" --state-dir "$WORK/state" \
  --importer-dir "$BUILD/tests/test-importer" >"$WORK/log" 2>&1 &
PULPD_PID=$!
B="busctl --address=$A"
for _ in $(seq 100); do $B status org.pulp.Manager >/dev/null 2>&1 && break; sleep 0.05; done
P=/org/pulp/repositories/bench
R="org.pulp.Manager $P org.pulp.Repository"
$B call org.pulp.Manager /org/pulp/Manager org.pulp.Manager CreateRepository ssa{sv} bench test 1 \
  feed s "file://$WORK/desc" >/dev/null
printf 'units %s u v1\n' "$N" >"$WORK/desc"
t=$($B call $R Sync a{sv} 0 | cut -d'"' -f2)
$B call --timeout=900 org.pulp.Manager "$t" org.pulp.Task Wait >/dev/null
echo "peak RSS after the sync: $(awk '/VmHWM/ {printf "%.1f MB", $2 / 1024}' /proc/$PULPD_PID/status)"
echo "units in the repository: $($B get-property $R UnitCount | cut -d' ' -f2)"
# CPU time of pulpd per call (utime + stime, in ticks of 10 ms): a figure
# that does not depend on what else the machine runs.
cpu() { awk '{print $14 + $15}' /proc/$PULPD_PID/stat; }
echo "| page | median | fastest | first call | pulpd CPU per call | units |"
echo "|---|---|---|---|---|---|"
page() { # page NAME OFFSET LIMIT [RUNS [TYPE]]
  local c0 c1 runs=${4:-15}
  c0=$(cpu)
  read -r median fastest first units < <("$WORK/client" "$A" $P "$2" "$3" "$runs" ${5:-})
  c1=$(cpu)
  printf '| %s | %s ms | %s ms | %s ms | %s ms | %s |\n' "$1" "$median" "$fastest" "$first" \
    "$(((c1 - c0) * 1000 / $(getconf CLK_TCK) / runs))" "$units"
}
page "1,000 at offset 0" 0 1000
page "1,000 at offset $((N / 2))" $((N / 2)) 1000
page "1,000 at offset $((N - 1000))" $((N - 1000)) 1000
page "1,000 at offset $((N - 1000)), type filter" $((N - 1000)) 1000 15 test
page "10,000 at offset 0" 0 10000
page "1,000 × $((N / 1000)), paging through in order" walk 1000 $((N / 1000))

# every unit exactly once across pages of 10,000
for offset in $(seq 0 10000 $((N - 1))); do
  $B --json=short call $R ListUnits a{sv} 2 offset t "$offset" limit t 10000
  echo
done | python3 -c '
import json, sys
ids = [u["id"]["data"] for line in sys.stdin if line.strip() for u in json.loads(line)["data"][0]]
print("paging by 10,000: %d units seen, %d distinct, in id order: %s" % (len(ids), len(set(ids)), ids == sorted(ids)))'
echo "peak RSS of pulpd: $(awk '/VmHWM/ {printf "%.1f MB", $2 / 1024}' /proc/$PULPD_PID/status)"

# pulpctl lists the whole repository, printing each page as it arrives:
# its memory is that of a page, whatever the size of the repository
for mode in "" --json --quiet; do
  printf 'pulpctl %s units (%s units): ' "${mode:-(table)}" "$N"
  python3 - "$BUILD/src/pulpctl/pulpctl" --address "$A" $mode units bench <<'EOF'
import resource, subprocess, sys, time
start = time.monotonic()
r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL)
wall = time.monotonic() - start
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
print("%.2f s, CPU %.2f s, peak RSS %.0f MB%s" % (wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024,
      "" if r.returncode == 0 else ", exit %d" % r.returncode))
EOF
done
