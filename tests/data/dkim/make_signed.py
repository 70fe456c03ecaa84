#!/usr/bin/python3
# Regenerates the signed messages the DKIM unit tests read, with dkimpy (Debian python3-dkim),
# an implementation independent of libopendkim. Run from this folder: /usr/bin/python3
# make_signed.py. Writes *.eml and keys.txt ("<selector> <key record>" lines, domain
# example.com). Keys are generated afresh; the tests read whatever this wrote.
import subprocess

import dkim

DOMAIN = b"example.com"
MESSAGE = (b"From: Alice <alice@example.com>\r\n"
           b"To: bob@example.net\r\n"
           b"Subject: quarterly figures\r\n"
           b"Date: Mon, 01 Jan 2024 10:00:00 +0000\r\n"
           b"Message-ID: <figures-1@example.com>\r\n"
           b"\r\n"
           b"Hello Bob,\r\n"
           b"the figures are attached.\r\n")


def make_key(bits):
    pem = subprocess.run(["openssl", "genrsa", str(bits)], check=True,
                         capture_output=True).stdout
    der = subprocess.run(["openssl", "rsa", "-pubout", "-outform", "DER"], input=pem,
                         check=True, capture_output=True).stdout
    import base64
    return pem, base64.b64encode(der).decode()


def sign(message, selector, pem, **options):
    header = dkim.sign(message, selector, DOMAIN, pem,
                       include_headers=[b"from", b"to", b"subject", b"date", b"message-id"],
                       **options)
    return header + message


def main():
    keys = {}
    for selector, bits in (("main", 2048), ("other", 2048), ("short", 512)):
        keys[selector] = make_key(bits)
    with open("keys.txt", "w") as out:
        for selector, (_, public) in keys.items():
            out.write(f"{selector} v=DKIM1; k=rsa; p={public}\n")

    main_pem = keys["main"][0]
    outputs = {
        "rsa-sha256.eml": sign(MESSAGE, b"main", main_pem),
        "rsa-sha1.eml": sign(MESSAGE, b"main", main_pem, signature_algorithm=b"rsa-sha1"),
        "short-key.eml": sign(MESSAGE, b"short", keys["short"][0]),
        "length-appended.eml": sign(MESSAGE, b"main", main_pem, length=True)
                               + b"P.S. wire the money to account 12345.\r\n",
        "two-signatures.eml": sign(sign(MESSAGE, b"main", main_pem), b"other",
                                   keys["other"][0]),
    }
    for name, data in outputs.items():
        with open(name, "wb") as out:
            out.write(data)


if __name__ == "__main__":
    main()
