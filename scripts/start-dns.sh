#!/usr/bin/env bash
# Starts unbound on 127.0.0.1:PORT serving ZONE (a zone rooted at ".", like samples/dns.zone)
# as the whole DNS world, in the background; prints its PID. Used by scripts/test.sh for the
# live-DNS tests.   usage: start-dns.sh ZONE PORT WORKDIR
set -euo pipefail
zone=$(realpath "$1"); port=$2; work=$3
mkdir -p "$work"
cat > "$work/unbound.conf" <<CONF
server:
    interface: 127.0.0.1
    port: $port
    do-ip6: no
    do-daemonize: no
    username: ""
    chroot: ""
    directory: "$work"
    pidfile: "$work/unbound.pid"
    use-syslog: no
    logfile: "$work/unbound.log"
    verbosity: 1
    access-control: 127.0.0.0/8 allow
    module-config: "iterator"
    local-zone: "example." nodefault
    local-zone: "test." nodefault
    local-zone: "invalid." nodefault
    local-zone: "2.0.192.in-addr.arpa." nodefault
    local-zone: "100.51.198.in-addr.arpa." nodefault
    local-zone: "113.0.203.in-addr.arpa." nodefault
auth-zone:
    name: "."
    zonefile: "$zone"
    for-downstream: yes
    for-upstream: yes
    fallback-enabled: no
remote-control:
    control-enable: no
CONF
unbound-checkconf "$work/unbound.conf" >/dev/null
unbound -c "$work/unbound.conf" > "$work/unbound.out" 2>&1 &
pid=$!
for _ in $(seq 1 50); do
    if drill -p "$port" @127.0.0.1 SOA . >/dev/null 2>&1; then
        echo "$pid"
        exit 0
    fi
    sleep 0.1
done
echo "unbound did not start; see $work/unbound.log" >&2
kill "$pid" 2>/dev/null || true
exit 1
