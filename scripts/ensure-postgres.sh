#!/usr/bin/env bash
# Makes sure Debian's PostgreSQL is installed, then runs a server of its own on loopback for a TreePO cluster.
#   scripts/ensure-postgres.sh [PORT] [DIR] [DATABASE]
# PORT defaults to 5432, DATABASE to treepo. DIR (default: a new temporary folder) holds the data directory
# (DIR/data), the log (DIR/postgres.log) and the server's Unix socket. The server listens on 127.0.0.1 only and
# trusts every local connection (user postgres, no password): fine on one machine, see docs/deploy.md otherwise.
# Idempotent: an initialised DIR is reused, a running server is left running, an existing database is kept.
# Prints "postgres 127.0.0.1:PORT pid PID dir DIR" once the database answers; exits non-zero with the reason otherwise.
set -euo pipefail
port="${1:-5432}"
dir="${2:-$(mktemp -d -t treepo-postgres.XXXXXX)}"
database="${3:-treepo}"
[[ "$port" =~ ^[0-9]+$ ]] || { echo "ensure-postgres: PORT must be a number, got '$port'" >&2; exit 2; }
[[ "$database" =~ ^[A-Za-z_][A-Za-z0-9_-]*$ ]] || { echo "ensure-postgres: DATABASE must be a plain name, got '$database'" >&2; exit 2; }
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"

# Debian keeps the server programs out of PATH (/usr/lib/postgresql/VERSION/bin): take the newest there.
find_bin() {
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    [ -x "$d/pg_ctl" ] && [ -x "$d/initdb" ] && { echo "$d"; return 0; }
  done
  command -v pg_ctl >/dev/null 2>&1 && command -v initdb >/dev/null 2>&1 && { dirname "$(command -v pg_ctl)"; return 0; }
  return 1
}

# Tests start several servers at once: serialise the install, and let apt wait for its own lock too.
exec 9>"${TMPDIR:-/tmp}/treepo-ensure-postgres.lock"
flock -w 600 9 || { echo "ensure-postgres: timed out waiting for another install to finish" >&2; exit 3; }
if ! bin="$(find_bin)"; then
  sudo=""
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "ensure-postgres: PostgreSQL is missing and installing it needs root (no sudo)" >&2; exit 3; }
    sudo="sudo -n"
  fi
  echo "ensure-postgres: installing postgresql (apt-get update, then install)" >&2
  # This script runs its own servers: ask the package not to create and start the default cluster on port 5432.
  if [ ! -e /etc/postgresql-common/createcluster.conf ]; then
    $sudo mkdir -p /etc/postgresql-common
    echo "create_main_cluster = false" | $sudo tee /etc/postgresql-common/createcluster.conf >/dev/null
  fi
  if ! timeout 300 $sudo apt-get -o DPkg::Lock::Timeout=240 update -qq >"$dir/apt.log" 2>&1 ||
     ! DEBIAN_FRONTEND=noninteractive timeout 600 $sudo apt-get -o DPkg::Lock::Timeout=240 -o Dpkg::Options::=--force-confold \
         install -y -qq --no-install-recommends postgresql >>"$dir/apt.log" 2>&1; then
    echo "ensure-postgres: could not install postgresql (no network or no package source?); see $dir/apt.log:" >&2
    tail -n 5 "$dir/apt.log" >&2 || true
    exit 3
  fi
  bin="$(find_bin)" || { echo "ensure-postgres: postgresql installed but no pg_ctl/initdb found" >&2; exit 3; }
fi
flock -u 9
exec 9>&-

# PostgreSQL refuses to run as root: then the server belongs to the postgres user, and so does DIR.
as_owner() { "$@"; }
if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || { echo "ensure-postgres: running as root needs the 'postgres' user (the package creates it)" >&2; exit 3; }
  chown -R postgres: "$dir"
  as_owner() { runuser -u postgres -- "$@"; }
  as_owner test -w "$dir" || { echo "ensure-postgres: the postgres user cannot reach $dir (a folder above it is closed to it); choose a DIR under /tmp or /var/lib" >&2; exit 3; }
fi
chmod 700 "$dir"
data="$dir/data"

if [ ! -s "$data/PG_VERSION" ]; then
  as_owner "$bin/initdb" -D "$data" -U postgres -E UTF8 --locale=C --auth=trust >"$dir/initdb.log" 2>&1 || {
    echo "ensure-postgres: initdb failed; see $dir/initdb.log:" >&2; tail -n 5 "$dir/initdb.log" >&2; exit 4; }
  cat >"$data/pg_hba.conf" <<'EOF'
# TreePO loopback server (scripts/ensure-postgres.sh): trust on loopback and the socket in DIR, nothing else.
local all all              trust
host  all all 127.0.0.1/32 trust
EOF
  chown --reference="$data/PG_VERSION" "$data/pg_hba.conf"
fi
if ! as_owner "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
  # The port is set on every start, so a stopped DIR may be started again on another one.
  cat >"$data/postgresql.auto.conf" <<EOF
# Written by scripts/ensure-postgres.sh
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
EOF
  chown --reference="$data/PG_VERSION" "$data/postgresql.auto.conf"
  as_owner "$bin/pg_ctl" -D "$data" -l "$dir/postgres.log" -w -t 30 start >/dev/null 2>&1 || {
    echo "ensure-postgres: the server did not start on 127.0.0.1:$port within 30 s; log $dir/postgres.log:" >&2
    tail -n 5 "$dir/postgres.log" >&2 || true
    exit 4
  }
fi

psql() { "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 -qtA "$@"; }
answered=0
for _ in $(seq 1 50); do
  psql -c 'SELECT 1' >/dev/null 2>&1 && { answered=1; break; }
  sleep 0.1
done
[ "$answered" = 1 ] || {
  echo "ensure-postgres: the server in $dir does not answer on 127.0.0.1:$port within 5 s (running on another port?); log $dir/postgres.log:" >&2
  tail -n 5 "$dir/postgres.log" >&2 || true
  exit 4
}
if [ "$(psql -c "SELECT 1 FROM pg_database WHERE datname = '$database'" 2>&1)" != 1 ]; then
  psql -c "CREATE DATABASE \"$database\"" >/dev/null 2>"$dir/createdb.log" ||
    psql -c "SELECT 1 FROM pg_database WHERE datname = '$database'" | grep -q 1 || {   # another caller made it first
      echo "ensure-postgres: could not create database '$database' on 127.0.0.1:$port:" >&2; cat "$dir/createdb.log" >&2; exit 4; }
fi
echo "postgres 127.0.0.1:$port pid $(head -n 1 "$data/postmaster.pid") dir $dir"
