#!/usr/bin/env bash
# The scan benchmark: messages per second, CPU seconds per 1,000 messages and peak memory of
# `relaygate scan` with offline DNS, -j1 and -j2, on the SpamAssassin corpus plus DKIM-signed
# copies; then peak memory on a large generated mbox. Method: bench/README.md.
#   bench/run.sh [BUILD_DIR] [LARGE_MBOX_GIB]      (defaults: build, 2)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
large_gib=${2:-2}
relaygate="$build/relaygate"
work=${RELAYGATE_BENCH_DIR:-/tmp/relaygate-bench}
mkdir -p "$work"

[ -f "$work/corpus.mbox" ] || /usr/bin/python3 bench/make-corpus.py "$work" 1000 >/dev/null
zone=samples/dns.zone

# measure NAME ARGS...: one scan, timed by /usr/bin/time; prints one row.
measure() {
    local name=$1; shift
    local stats="$work/time.txt"
    /usr/bin/time -f '%e %U %S %M' -o "$stats" "$relaygate" scan -q --dns offline \
        --dns-zone "$zone" -o "$work/out.jsonl" "$@" || true
    local messages
    messages=$(wc -l < "$work/out.jsonl")
    read -r elapsed user sys peak_kb < "$stats"
    awk -v n="$name" -v m="$messages" -v e="$elapsed" -v u="$user" -v s="$sys" -v k="$peak_kb" \
        'BEGIN { printf "%-28s %8d msgs %8.2f s %9.0f msg/s %7.3f CPU s/1000 %7.1f MiB peak\n",
                 n, m, e, (e > 0 ? m / e : 0), (u + s) * 1000 / m, k / 1024 }'
}

echo "relaygate scan, offline DNS ($(nproc) cores, $(date -u +%Y-%m-%d))"
for jobs in 1 2; do
    measure "corpus -j$jobs" -j "$jobs" "$work/corpus.mbox"
    measure "dkim-signed -j$jobs" -j "$jobs" "$work/signed.mbox"
    measure "corpus+signed -j$jobs" -j "$jobs" "$work/corpus.mbox" "$work/signed.mbox"
done

if [ "$large_gib" != 0 ]; then
    large="$work/large.mbox"
    if [ ! -f "$large" ]; then
        target=$((large_gib * 1024 * 1024 * 1024))
        : > "$large"
        while [ "$(stat -c %s "$large")" -lt "$target" ]; do
            cat "$work/corpus.mbox" >> "$large"
        done
    fi
    measure "large mbox ($(du -h "$large" | cut -f1)) -j2" -j 2 "$large"
fi
