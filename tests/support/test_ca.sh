#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# test_ca.sh DIR: makes a throwaway CA and a server certificate for
# 127.0.0.1 / localhost signed by it (openssl), plus a second, unrelated CA
# (the "wrong CA" a verification test trusts instead), into DIR:
#   ca.pem  server.pem  server.key  other-ca.pem
set -euo pipefail
d=$1
cd "$d"
q() { "$@" >/dev/null 2>&1; }
q openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 \
  -subj "/CN=mizan test CA"
q openssl req -x509 -newkey rsa:2048 -nodes -keyout other-ca.key -out other-ca.pem -days 2 \
  -subj "/CN=mizan other CA"
q openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj "/CN=127.0.0.1"
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n' >ext.cnf
q openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem \
  -days 2 -extfile ext.cnf
