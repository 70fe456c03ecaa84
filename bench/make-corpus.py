#!/usr/bin/python3
"""Builds the benchmark corpus: every message of ../shared/testdata/corpus as one mboxrd file,
plus SIGNED copies of them DKIM-signed (rsa-sha256, dkimpy) as shop.example with the samples'
key, so that full checks include DKIM verification. The zone is samples/dns.zone.

usage: make-corpus.py OUTDIR [SIGNED] [REPEAT]
  writes OUTDIR/corpus.mbox  (REPEAT copies of the corpus, default 1, for bigger runs)
         OUTDIR/signed.mbox  (SIGNED signed messages, default 1000)
"""
import os
import re
import sys

import dkim

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.join(HERE, "..", "..", "shared", "testdata", "corpus")
KEY = open(os.path.join(HERE, "..", "samples", "keys", "mail2026.private"), "rb").read()


def corpus_messages():
    for group in sorted(os.listdir(SOURCE)):
        folder = os.path.join(SOURCE, group)
        for name in sorted(os.listdir(folder)):
            data = open(os.path.join(folder, name), "rb").read()
            if data.startswith(b"From "):
                data = data.split(b"\n", 1)[1] if b"\n" in data else b""
            yield data


def mbox_entry(data):
    data = re.sub(rb"^(>*From )", rb">\1", data, flags=re.M)
    if not data.endswith(b"\n"):
        data += b"\n"
    return b"From bench@relaygate Fri Dec  4 09:00:00 2026\n" + data + b"\n"


def signed(data):
    head, sep, body = data.partition(b"\n\n")
    head = re.sub(rb"(?im)^from:.*(\n[ \t].*)*\n?", b"", head + b"\n").rstrip(b"\n")
    message = b"From: Shop <news@shop.example>\n" + head + b"\n\n" + body
    message = message.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    signature = dkim.sign(message, b"mail2026", b"shop.example", KEY,
                          include_headers=[b"from", b"subject", b"date", b"to"])
    return (signature + message).replace(b"\r\n", b"\n")


def main():
    out = sys.argv[1]
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    repeat = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    os.makedirs(out, exist_ok=True)
    messages = list(corpus_messages())
    with open(os.path.join(out, "corpus.mbox"), "wb") as mbox:
        for _ in range(repeat):
            for data in messages:
                mbox.write(mbox_entry(data))
    with open(os.path.join(out, "signed.mbox"), "wb") as mbox:
        for data in messages[:count]:
            mbox.write(mbox_entry(signed(data)))
    print(f"{len(messages) * repeat} corpus messages, {min(count, len(messages))} signed")


main()
