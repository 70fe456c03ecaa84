#!/usr/bin/python3
"""DKIM helpers for relaygate's delivery tests (dkimpy, no DNS: the key record is a file).

  dkim_tool.py keygen DIR                  DIR/dkim.key (PEM) and DIR/dkim.txt (the TXT value)
  dkim_tool.py sign KEY SELECTOR DOMAIN    stdin → stdout, a DKIM-Signature added on top
  dkim_tool.py verify TXTFILE              stdin: exit 0 when every signature verifies
"""

import base64
import os
import subprocess
import sys

import dkim

CANONICALIZATION = (b"relaxed", b"simple")  # simple body: any change to the body breaks it


def keygen(directory):
    key = os.path.join(directory, "dkim.key")
    subprocess.run(["openssl", "genrsa", "-out", key, "2048"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    der = subprocess.run(["openssl", "rsa", "-in", key, "-pubout", "-outform", "DER"],
                         check=True, capture_output=True).stdout
    with open(os.path.join(directory, "dkim.txt"), "w") as out:
        out.write("v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode())
    return 0


def sign(key_file, selector, domain):
    message = sys.stdin.buffer.read()
    with open(key_file, "rb") as key:
        signature = dkim.sign(message, selector.encode(), domain.encode(), key.read(),
                              canonicalize=CANONICALIZATION)
    sys.stdout.buffer.write(signature + message)
    return 0


def verify(txt_file):
    with open(txt_file, "rb") as txt:
        record = txt.read().strip()

    def from_file(name, timeout=5):
        return record

    message = sys.stdin.buffer.read()
    if b"DKIM-Signature" not in message:
        print("no DKIM-Signature in the message")
        return 1
    ok = dkim.verify(message, dnsfunc=from_file)
    print("pass" if ok else "fail")
    return 0 if ok else 1


def main(argv):
    if len(argv) == 3 and argv[1] == "keygen":
        return keygen(argv[2])
    if len(argv) == 5 and argv[1] == "sign":
        return sign(argv[2], argv[3], argv[4])
    if len(argv) == 3 and argv[1] == "verify":
        return verify(argv[2])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
