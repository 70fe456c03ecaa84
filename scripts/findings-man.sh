#!/usr/bin/env bash
# Regenerates the FINDINGS section of man/relaygate.1 from `relaygate config findings` (the
# finding catalog in src/policy/policy_defaults.cpp), between the FINDINGS-BEGIN/END marks.
#   scripts/findings-man.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
relaygate=${1:-build}/relaygate

section=$("$relaygate" config findings | awk -F'\t' '
    {
        gsub(/\\/, "\\\\", $5); gsub(/-/, "\\-", $1)
        hard = ($4 == "-") ? "" : ", hard action " $4
        printf ".TP\n.B %s\n(%s, weight %s%s) %s\n", $1, $2, $3, hard, $5
    }')

/usr/bin/python3 - "$section" <<'PY'
import re, sys
path = "man/relaygate.1"
text = open(path).read()
begin, end = ".\\\" FINDINGS-BEGIN\n", ".\\\" FINDINGS-END\n"
head, rest = text.split(begin, 1)
_, tail = rest.split(end, 1)
open(path, "w").write(head + begin + sys.argv[1] + "\n" + end + tail)
PY
echo "man/relaygate.1: findings section regenerated"
