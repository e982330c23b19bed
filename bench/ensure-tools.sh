#!/usr/bin/env bash
# The bench's baselines are external programs: psql and initdb (Debian's postgresql), rclone,
# openssl, and the MariaDB client and server (Debian's mariadb-client, mariadb-server). Install whichever is missing
# from Debian packages (the only source on these machines).
set -euo pipefail
missing=()
command -v psql >/dev/null 2>&1 && ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
command -v rclone >/dev/null 2>&1 || missing+=(rclone)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v mariadb >/dev/null 2>&1 || command -v mysql >/dev/null 2>&1 || missing+=(mariadb-client)
command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] || [ -x /usr/sbin/mysqld ] || missing+=(mariadb-server)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "bench needs ${missing[*]}: install them (Debian: apt-get install -y ${missing[*]}) and run npm run bench again" >&2
  exit 3
fi
echo "bench: installing ${missing[*]} from Debian packages" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${missing[@]}" >/dev/null
