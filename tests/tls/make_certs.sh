#!/bin/sh
# Makes throwaway certificates for tests of tls+tcp:// (never for real use):
#   ca.pem ca.key                 the test CA
#   master.pem master.key         signed by ca; CN 127.0.0.1, SAN localhost, 127.0.0.1, ::1
#   worker1.pem worker1.key       signed by ca; CN worker-1 (client)
#   worker2.pem worker2.key       signed by ca; CN worker-2 (client)
#   other-ca.pem other-ca.key     a different CA
#   other.pem other.key           signed by other-ca; CN worker-other: must be refused
# Keys are ECDSA P-256 (quick to make; supported by nng's mbedTLS) and chmod 600.
# The master's SAN lists 127.0.0.1 both as an IP and as a DNS name: older mbedTLS
# compares the server name only with DNS entries.
# Usage: make_certs.sh DIR   (DIR is created if missing). Needs the openssl command.
set -eu
[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
command -v openssl >/dev/null 2>&1 || { echo "$0: openssl not found" >&2; exit 3; }
dir=$1
mkdir -p "$dir"
cd "$dir"
umask 077
days=30

key() {     # key NAME
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" 2>/dev/null
    chmod 600 "$1.key"
}

ca() {      # ca NAME CN
    key "$1"
    openssl req -x509 -new -key "$1.key" -subj "/CN=$2" -days $days -sha256 \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -out "$1.pem" 2>/dev/null
}

leaf() {    # leaf NAME CA CN EXTENSIONS
    key "$1"
    openssl req -new -key "$1.key" -subj "/CN=$3" -out "$1.csr" 2>/dev/null
    printf '%s\n' "$4" > "$1.ext"
    openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -CAcreateserial \
        -days $days -sha256 -extfile "$1.ext" -out "$1.pem" 2>/dev/null
    rm -f "$1.csr" "$1.ext"
}

client_ext='basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth'

ca ca "Stampede Test CA"
leaf master ca 127.0.0.1 'basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth,clientAuth
subjectAltName=DNS:localhost,DNS:127.0.0.1,IP:127.0.0.1,IP:::1'
leaf worker1 ca worker-1 "$client_ext"
leaf worker2 ca worker-2 "$client_ext"
ca other-ca "Stampede Other Test CA"
leaf other other-ca worker-other "$client_ext"
rm -f ./*.srl
chmod 644 ./*.pem
