#!/usr/bin/env bash
# Makes a development CA and a server certificate signed by it, for running SecureXfer with
# a certificate of your own instead of the self-signed one it generates by itself.
#
#   certs/make-dev-certs.sh [OUT_DIR] [EXTRA_DNS_NAME...]
#
# Writes OUT_DIR/ca.crt, ca.key, server.crt, server.key (default OUT_DIR: certs/out, which
# git ignores). Private keys are mode 0600 and never belong in the repository. Start the
# server with:  --cert OUT_DIR/server.crt --cert-key OUT_DIR/server.key
# and give clients:  --ca OUT_DIR/ca.crt
set -euo pipefail

out=${1:-"$(dirname "$0")/out"}
shift || true
command -v openssl >/dev/null || { echo "openssl is required (apt-get install openssl)" >&2; exit 1; }
mkdir -p "$out"
umask 077

host=$(hostname 2>/dev/null || echo localhost)
san="DNS:localhost,DNS:${host},IP:127.0.0.1,IP:::1"
for name in "$@"; do san="${san},DNS:${name}"; done

if [ ! -f "$out/ca.key" ]; then
  openssl ecparam -name prime256v1 -genkey -noout -out "$out/ca.key"
  openssl req -x509 -new -key "$out/ca.key" -sha256 -days 3650 -subj "/O=SecureXfer/CN=SecureXfer development CA" \
    -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out "$out/ca.crt"
fi

openssl ecparam -name prime256v1 -genkey -noout -out "$out/server.key"
openssl req -new -key "$out/server.key" -subj "/O=SecureXfer/CN=${host}" -out "$out/server.csr"
cat > "$out/server.ext" <<EXT
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=${san}
EXT
openssl x509 -req -in "$out/server.csr" -CA "$out/ca.crt" -CAkey "$out/ca.key" -CAcreateserial \
  -days 825 -sha256 -extfile "$out/server.ext" -out "$out/server.crt" 2>/dev/null
rm -f "$out/server.csr" "$out/server.ext" "$out/ca.srl"
chmod 644 "$out/ca.crt" "$out/server.crt"
chmod 600 "$out/ca.key" "$out/server.key"

echo "CA certificate:     $out/ca.crt"
echo "server certificate: $out/server.crt  (names: ${san})"
echo "server key:         $out/server.key"
echo "fingerprint:        SHA256:$(openssl x509 -in "$out/server.crt" -outform der | sha256sum | cut -d' ' -f1)"
