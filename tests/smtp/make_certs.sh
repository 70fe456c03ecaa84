#!/bin/sh
# Makes a throwaway test CA and server certificates in DIR for the STARTTLS tests:
#   ca.pem                 the test CA (the client's --ca-file)
#   good.pem / good.key    signed by the CA for localhost and 127.0.0.1
#   wrong.pem / wrong.key  signed by the CA for wrong.example only (name mismatch)
#   self.pem / self.key    self-signed for localhost and 127.0.0.1 (untrusted issuer)
set -eu
dir=${1:?usage: make_certs.sh DIR}
mkdir -p "$dir"
cd "$dir"

quiet() { "$@" >/dev/null 2>&1 || { echo "make_certs.sh: failed: $*" >&2; exit 1; }; }

quiet openssl req -x509 -newkey rsa:2048 -nodes -days 2 -keyout ca.key -out ca.pem \
    -subj "/CN=relaygate test CA" -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign"

# issue NAME SAN: a CA-signed leaf certificate.
issue() {
    quiet openssl req -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.csr" -subj "/CN=$1"
    printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\n' "$2" > "$1.ext"
    quiet openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
        -extfile "$1.ext" -out "$1.pem"
}
issue good "DNS:localhost,IP:127.0.0.1"
issue wrong "DNS:wrong.example"

quiet openssl req -x509 -newkey rsa:2048 -nodes -days 2 -keyout self.key -out self.pem \
    -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1"
