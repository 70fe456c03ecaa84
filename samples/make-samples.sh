#!/usr/bin/env bash
# Rebuilds the signed sample messages from the unsigned sources in src/, with an independent
# DKIM implementation (dkimpy's dkimsign, Debian python3-dkim). The keys in keys/ are sample
# keys made for this purpose (opendkim-genkey, dknewkey); their public halves are in dns.zone.
# Run from anywhere: bash samples/make-samples.sh   (needs python3-dkim, opendkim-tools)
set -euo pipefail
cd "$(dirname "$0")"

if [ ! -f keys/mail2026.private ]; then
    opendkim-genkey -b 2048 -d shop.example -s mail2026 -D keys
fi
if [ ! -f keys/s1.private ]; then
    opendkim-genkey -b 2048 -d attacker.example -s s1 -D keys
fi
if [ ! -f keys/ed2026.key ]; then
    (cd keys && dknewkey --ktype ed25519 ed2026 >/dev/null)
fi

# dkimsign reads and writes bytes as they are: the sources are CRLF already.
sign() {  # sign SELECTOR DOMAIN KEY ALGORITHM < in > out
    /usr/bin/dkimsign "$1" "$2" "$3" --signalg "$4" --hcanon relaxed --bcanon relaxed
}

# 1. Legitimate mail from shop.example, signed rsa-sha256 and ed25519-sha256, from its own
#    outbound server 192.0.2.10: SPF pass, DKIM pass twice, DMARC pass.
sign mail2026 shop.example keys/mail2026.private rsa-sha256 < src/passing.eml |
    sign ed2026 shop.example keys/ed2026.key ed25519-sha256 > passing.eml

# 2. A spoof: From shop.example, sent from 198.51.100.66, signed by the attacker's own domain.
#    SPF fail, DKIM pass for the wrong domain, DMARC fail under p=reject.
sign s1 attacker.example keys/s1.private rsa-sha256 < src/spoofed.eml > spoofed.eml

# 3. Forwarded and modified: signed by shop.example, then a mailing list rewrote the subject
#    and appended a footer and relayed it from 203.0.113.5. DKIM fails (body hash), SPF passes
#    for the list's bounce domain but does not align: DMARC fail under p=reject.
sign mail2026 shop.example keys/mail2026.private rsa-sha256 < src/forwarded.eml |
    /usr/bin/python3 -c '
import sys
data = sys.stdin.buffer.read()
head, body = data.split(b"\r\n\r\n", 1)
head = head.replace(b"Subject: Your order 10442 has shipped",
                    b"Subject: [shop-customers] Your order 10442 has shipped")
received = (b"Return-Path: <list-bounces@lists.example>\r\n"
            b"Received: from lists.example (lists.example [203.0.113.5])\r\n"
            b"\tby mx.corp.example (Postfix) with ESMTPS id 4F2A1C0042\r\n"
            b"\tfor <pat@corp.example>; Fri, 04 Dec 2026 09:15:02 +0000\r\n")
body += b"--\r\nshop-customers mailing list: unsubscribe at lists.example\r\n"
sys.stdout.buffer.write(received + head + b"\r\n\r\n" + body)
' > forwarded.eml

# An mbox of the three, mboxrd quoting (a body line starting "From " is written ">From ").
/usr/bin/python3 - <<'PY'
import re
out = open("samples.mbox", "wb")
for name in ("passing.eml", "spoofed.eml", "forwarded.eml"):
    data = open(name, "rb").read().replace(b"\r\n", b"\n")
    data = re.sub(rb"^(>*From )", rb">\1", data, flags=re.M)
    out.write(b"From MAILER-DAEMON Fri Dec  4 09:00:00 2026\n" + data)
    if not data.endswith(b"\n"):
        out.write(b"\n")
    out.write(b"\n")
PY
echo "samples rebuilt"
