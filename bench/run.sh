#!/usr/bin/env bash
# The scan benchmark: messages per second, CPU seconds per 1,000 messages and peak memory of
# `relaygate scan` with offline DNS, -j1 and -j2, threads and processes, on the SpamAssassin
# corpus plus DKIM-signed copies; then peak memory on a large generated mbox. Method and
# figures: bench/README.md.
#   bench/run.sh [BUILD_DIR] [LARGE_MBOX_GIB] [REPEATS]      (defaults: build, 2, 3)
# Environment: RELAYGATE_BENCH_DIR (scratch, default /tmp/relaygate-bench).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
large_gib=${2:-2}
repeats=${3:-3}
relaygate="$build/relaygate"
work=${RELAYGATE_BENCH_DIR:-/tmp/relaygate-bench}
mkdir -p "$work"

[ -x "$relaygate" ] || { echo "no $relaygate: build it first (bench/README.md)" >&2; exit 2; }
[ -f "$work/corpus.mbox" ] && [ -f "$work/signed.mbox" ] ||
    /usr/bin/python3 bench/make-corpus.py "$work" 1000 >/dev/null
zone=samples/dns.zone

# memory_watch PID OUT: until PID ends, samples every 50 ms the summed RSS and PSS (KiB) of
# PID and its children (worker processes), keeping the peaks. /usr/bin/time's %M is the
# largest single process, which undercounts worker processes; RSS sums count shared library
# and copy-on-write pages once per process (an overcount); PSS shares them out.
memory_watch() {
    local pid=$1 out=$2
    local peak="0 0"
    while kill -0 "$pid" 2>/dev/null; do
        local files="/proc/$pid/smaps_rollup" child
        for child in $(cat /proc/"$pid"/task/*/children 2>/dev/null); do
            files="$files /proc/$child/smaps_rollup"
        done
        # shellcheck disable=SC2086
        peak=$(awk -v peak="$peak" '/^Rss:/ { r += $2 } /^Pss:/ { p += $2 }
                   END { split(peak, old, " "); if (r < old[1]) r = old[1];
                         if (p < old[2]) p = old[2]; print r + 0, p + 0 }' \
               $files 2>/dev/null || echo "$peak")
        sleep 0.1
    done
    echo "$peak" > "$out"
}

# run_once ARGS...: one scan, timed; leaves "elapsed user sys rss_kib pss_kib" in $work/run.txt.
run_once() {
    local stats="$work/time.txt" mem="$work/mem.txt"
    /usr/bin/time -f '%e %U %S' -o "$stats" "$relaygate" scan -q --dns offline \
        --dns-zone "$zone" -o "$work/out.jsonl" "$@" &
    local timer=$!
    sleep 0.02
    local scan_pid
    scan_pid=$(cat /proc/"$timer"/task/*/children 2>/dev/null | awk '{ print $1 }')
    if [ -n "$scan_pid" ]; then memory_watch "$scan_pid" "$mem" & fi
    local watcher=$!
    wait "$timer" || true
    wait "$watcher" 2>/dev/null || true
    [ -s "$mem" ] || echo "0 0" > "$mem"
    echo "$(cat "$stats") $(cat "$mem")" > "$work/run.txt"
    rm -f "$mem"
}

# measure NAME ARGS...: REPEATS scans; prints the median run (by elapsed time) as one row.
measure() {
    local name=$1; shift
    local runs="$work/runs.txt"
    : > "$runs"
    for _ in $(seq "$repeats"); do
        run_once "$@"
        cat "$work/run.txt" >> "$runs"
    done
    local messages
    messages=$(wc -l < "$work/out.jsonl")
    sort -n "$runs" | awk -v n="$name" -v m="$messages" -v r="$repeats" '
        { e[NR] = $1; u[NR] = $2; s[NR] = $3; k[NR] = $4; p[NR] = $5 }
        END {
            i = int((NR + 1) / 2)
            printf "%-30s %6d msgs %7.2f s %7.0f msg/s %7.3f CPU s/1000 %7.1f MiB RSS %7.1f MiB PSS (median of %d, %.2f-%.2f s)\n",
                   n, m, e[i], m / e[i], (u[i] + s[i]) * 1000 / m, k[i] / 1024, p[i] / 1024,
                   r, e[1], e[NR]
        }'
}

echo "relaygate scan, offline DNS ($(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)," \
     "$(date -u +%Y-%m-%dT%H:%MZ))"
for workers in threads processes; do
    for jobs in 1 2; do
        measure "corpus -j$jobs $workers" -j "$jobs" --workers "$workers" "$work/corpus.mbox"
        measure "dkim-signed -j$jobs $workers" -j "$jobs" --workers "$workers" \
            "$work/signed.mbox"
        measure "corpus+signed -j$jobs $workers" -j "$jobs" --workers "$workers" \
            "$work/corpus.mbox" "$work/signed.mbox"
    done
done
echo "default for -j2 (--workers auto): $("$relaygate" scan --dns offline --dns-zone "$zone" \
    -j2 -o /dev/null "$work/signed.mbox" 2>&1 | head -1 | sed 's/.*, //')"

if [ "$large_gib" != 0 ]; then
    large="$work/large.mbox"
    target=$((large_gib * 1024 * 1024 * 1024))
    if [ ! -f "$large" ] || [ "$(stat -c %s "$large")" -lt "$target" ]; then
        : > "$large"
        while [ "$(stat -c %s "$large")" -lt "$target" ]; do
            cat "$work/corpus.mbox" "$work/signed.mbox" >> "$large"
        done
    fi
    repeats=1
    measure "large mbox ($(du -h "$large" | cut -f1)) -j2" -j 2 "$large"
    rm -f "$work/out.jsonl"
fi
