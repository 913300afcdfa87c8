#!/usr/bin/env bash
# Makes a self-signed cluster certificate for TLS between TreePO silos and clients (development and tests; for
# production use certificates from your own CA and Cluster:Tls:CaPath).
#   scripts/make-dev-cert.sh [DIR] [NAME]
# Writes DIR/NAME.pem (certificate), DIR/NAME.key (private key, mode 600) and DIR/NAME.pfx (both, no password);
# DIR defaults to ./certs, NAME to treepo-cluster. Every process of the cluster gets the same files:
#   --cluster.tls.enabled=true --cluster.tls.certificatePath=DIR/NAME.pfx
set -euo pipefail
dir="${1:-certs}"
name="${2:-treepo-cluster}"
command -v openssl >/dev/null 2>&1 || { echo "make-dev-cert: openssl is missing (apt-get install openssl)" >&2; exit 3; }
mkdir -p "$dir"
umask 077
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 365 \
  -subj "/CN=$name" \
  -addext "subjectAltName=DNS:localhost,DNS:$name,IP:127.0.0.1" \
  -addext "keyUsage=critical,digitalSignature" \
  -addext "extendedKeyUsage=serverAuth,clientAuth" \
  -keyout "$dir/$name.key" -out "$dir/$name.pem" 2>/dev/null
openssl pkcs12 -export -inkey "$dir/$name.key" -in "$dir/$name.pem" -out "$dir/$name.pfx" -passout pass: 2>/dev/null
chmod 644 "$dir/$name.pem"
echo "$dir/$name.pfx"
