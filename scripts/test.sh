#!/usr/bin/env bash
# Builds relaygate with warnings as errors and runs every test: unit, conformance (over
# ../shared/testdata) and end-to-end, with a local unbound on 127.0.0.1 serving
# samples/dns.zone for the live-DNS tests.
#   scripts/test.sh                 release build in build/
#   scripts/test.sh --sanitize      AddressSanitizer + UndefinedBehaviorSanitizer in build-asan/
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=build
cmake_args=(-DRELAYGATE_WERROR=ON)
if [ "${1:-}" = "--sanitize" ]; then
    build_dir=build-asan
    cmake_args+=(-DRELAYGATE_SANITIZE=address,undefined -DCMAKE_BUILD_TYPE=Debug)
    export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
    export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
fi

cmake -S . -B "$build_dir" -G Ninja "${cmake_args[@]}" >/dev/null
cmake --build "$build_dir" -j"$(nproc)"

# The live-DNS tests ask this server; it serves only the samples' own zone.
dns_port=${RELAYGATE_TEST_DNS_PORT:-15353}
dns_work=$(mktemp -d)
dns_pid=$(scripts/start-dns.sh samples/dns.zone "$dns_port" "$dns_work")
trap 'kill "$dns_pid" 2>/dev/null || true; rm -rf "$dns_work"' EXIT
export RELAYGATE_TEST_DNS="127.0.0.1:$dns_port"

ctest --test-dir "$build_dir" --output-on-failure -j"$(nproc)"
