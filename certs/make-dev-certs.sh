#!/usr/bin/env bash
# Makes a development CA, a server certificate signed by it for the names and addresses given,
# and a client-trust bundle, for running SecureXfer with certificates of your own instead of the
# self-signed one it generates by itself. See certs/README.md.
#
#   certs/make-dev-certs.sh [-o OUT_DIR] [--days N] [--renew] [NAME_OR_IP ...]
#
# NAME_OR_IP: DNS names and IPv4/IPv6 addresses the server is reached by; each goes into the
# certificate's subject alternative names. Default: localhost, 127.0.0.1, ::1 and this host's name.
# OUT_DIR (default certs/out, which git ignores) receives:
#   ca.crt, ca.key            the CA (kept and reused on later runs, so clients keep trusting it)
#   server.crt, server.key    the server certificate and key (kept while it has the same names and
#                             30 days to run, so servers using it are undisturbed; --renew makes a new one)
#   client-trust.pem          what clients trust (sxfer --ca, curl --cacert)
# Private keys are mode 0600 and never belong in the repository.
set -euo pipefail

usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }

out="$(dirname "$0")/out"
days=825
renew=no
names=()
while [ $# -gt 0 ]; do
  case "$1" in
    -o|--out) [ $# -ge 2 ] || usage 2; out=$2; shift 2 ;;
    --days) [ $# -ge 2 ] || usage 2; days=$2; shift 2 ;;
    --renew) renew=yes; shift ;;
    -h|--help) usage 0 ;;
    -*) echo "unknown option: $1" >&2; usage 2 ;;
    *) names+=("$1"); shift ;;
  esac
done
case "$days" in ''|*[!0-9]*) echo "--days needs a whole number of days" >&2; exit 2 ;; esac
command -v openssl >/dev/null || { echo "openssl is required (apt-get install openssl)" >&2; exit 1; }

if [ ${#names[@]} -eq 0 ]; then
  names=(localhost 127.0.0.1 ::1)
  host=$(hostname 2>/dev/null || true)
  if [ -n "$host" ] && [ "$host" != localhost ]; then names+=("$host"); fi
fi

san=""
for name in "${names[@]}"; do
  if [[ "$name" =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}$ ]] || [[ "$name" == *:* ]]; then
    entry="IP:${name}"
  elif [[ "$name" =~ ^(\*\.)?[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*$ ]]; then
    entry="DNS:${name}"
  else
    echo "'$name' is neither a DNS name nor an IP address" >&2
    exit 2
  fi
  san="${san:+${san},}${entry}"
done

mkdir -p "$out"
chmod 700 "$out"
umask 077

if [ ! -f "$out/ca.key" ] || [ ! -f "$out/ca.crt" ]; then
  openssl ecparam -name prime256v1 -genkey -noout -out "$out/ca.key"
  openssl req -x509 -new -key "$out/ca.key" -sha256 -days 3650 -subj "/O=SecureXfer/CN=SecureXfer development CA" \
    -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out "$out/ca.crt"
fi

# The names a certificate carries, as openssl prints them, one line.
names_of() { openssl x509 -in "$1" -noout -ext subjectAltName 2>/dev/null | tail -n +2 | tr -d ' '; }
wanted=$(printf '%s' "$san" | sed 's/IP:/IPAddress:/g')
if [ "$renew" = no ] && [ -f "$out/server.crt" ] && [ -f "$out/server.key" ] \
  && openssl verify -CAfile "$out/ca.crt" "$out/server.crt" >/dev/null 2>&1 \
  && openssl x509 -in "$out/server.crt" -noout -checkend $((30 * 24 * 3600)) >/dev/null \
  && [ "$(names_of "$out/server.crt" | sed 's/IPAddress:0:0:0:0:0:0:0:1/IPAddress:::1/g')" = "$wanted" ]; then
  echo "server certificate: $out/server.crt is current for ${san}; kept (--renew makes a new one)"
  cp "$out/ca.crt" "$out/client-trust.pem"
  exit 0
fi

openssl ecparam -name prime256v1 -genkey -noout -out "$out/server.key.new"
openssl req -new -key "$out/server.key.new" -subj "/O=SecureXfer/CN=${names[0]}" -out "$out/server.csr"
cat > "$out/server.ext" <<EXT
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=${san}
EXT
openssl x509 -req -in "$out/server.csr" -CA "$out/ca.crt" -CAkey "$out/ca.key" -CAcreateserial \
  -days "$days" -sha256 -extfile "$out/server.ext" -out "$out/server.crt.new" 2>/dev/null
mv "$out/server.key.new" "$out/server.key"
mv "$out/server.crt.new" "$out/server.crt"
rm -f "$out/server.csr" "$out/server.ext" "$out/ca.srl"
cp "$out/ca.crt" "$out/client-trust.pem"
chmod 644 "$out/ca.crt" "$out/server.crt" "$out/client-trust.pem"
chmod 600 "$out/ca.key" "$out/server.key"

echo "CA certificate:      $out/ca.crt"
echo "server certificate:  $out/server.crt  (names: ${san})"
echo "server key:          $out/server.key"
echo "client trust bundle: $out/client-trust.pem"
echo "fingerprint:         SHA256:$(openssl x509 -in "$out/server.crt" -outform der | sha256sum | cut -d' ' -f1)"
echo
echo "server:  SecureXfer__Tls__CertificatePath=$out/server.crt SecureXfer__Tls__KeyPath=$out/server.key dotnet run --project Api"
echo "clients: sxfer login --server https://${names[0]}:8443 --user NAME --ca $out/client-trust.pem"
