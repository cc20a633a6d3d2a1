#!/bin/sh
# Certificates for the TLS tests, made with openssl into DIR (the C tests'
# redis_server.h and the specs' support/redis.lua both use them):
#   ca, other-ca        two authorities (the second trusted by nobody)
#   server              signed by ca, for localhost and 127.0.0.1
#   stranger            signed by ca, for elsewhere.invalid only
#   client              signed by ca, a client certificate
#   intruder            signed by other-ca, a client certificate
# Each as NAME.crt and NAME.key (PEM, keys not encrypted), valid 2 days.
# usage: tls_certs.sh DIR
set -eu
dir=${1:?usage: tls_certs.sh DIR}
cd "$dir"

ossl() {
    if ! out=$(openssl "$@" 2>&1); then
        echo "openssl $1 failed: $out" >&2
        exit 1
    fi
}

authority() {
    ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$1.key" -out "$1.crt" -days 2 -subj "/CN=pushpull test $1"
}

# leaf NAME CA SUBJECT_ALT_NAMES EXTENDED_KEY_USAGE
leaf() {
    ossl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$1.key" -out "$1.csr" -subj "/CN=pushpull test $1"
    printf 'subjectAltName=%s\nextendedKeyUsage=%s\n' "$3" "$4" >"$1.ext"
    ossl x509 -req -in "$1.csr" -CA "$2.crt" -CAkey "$2.key" -CAcreateserial \
        -out "$1.crt" -days 2 -extfile "$1.ext"
    rm -f "$1.csr" "$1.ext"
}

authority ca
authority other-ca
leaf server ca "DNS:localhost,IP:127.0.0.1" serverAuth
leaf stranger ca "DNS:elsewhere.invalid" serverAuth
leaf client ca "DNS:pushpull-client" clientAuth
leaf intruder other-ca "DNS:pushpull-client" clientAuth
chmod 600 ./*.key
