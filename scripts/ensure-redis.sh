#!/usr/bin/env bash
# Makes sure Debian's redis-server is installed, then starts one on loopback for a TreePO cluster.
#   scripts/ensure-redis.sh [PORT] [DIR]
# PORT defaults to 6379. DIR (default: a new temporary folder) holds the pid file and log. Nothing is persisted to
# disk (--save '' --appendonly no): membership and tree state live as long as the server.
# Prints "redis 127.0.0.1:PORT pid PID dir DIR" when it answers PING; exits non-zero with the reason otherwise.
set -euo pipefail
port="${1:-6379}"
dir="${2:-$(mktemp -d -t treepo-redis.XXXXXX)}"
mkdir -p "$dir"

# Tests start several servers at once: serialise the install, and let apt wait for its own lock too.
exec 9>"${TMPDIR:-/tmp}/treepo-ensure-redis.lock"
flock -w 600 9 || { echo "ensure-redis: timed out waiting for another install to finish" >&2; exit 3; }
if ! command -v redis-server >/dev/null 2>&1; then
  sudo=""
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "ensure-redis: redis-server is missing and installing it needs root (no sudo)" >&2; exit 3; }
    sudo="sudo -n"
  fi
  echo "ensure-redis: installing redis-server (apt-get update, then install)" >&2
  if ! timeout 300 $sudo apt-get -o DPkg::Lock::Timeout=240 update -qq >"$dir/apt.log" 2>&1 ||
     ! DEBIAN_FRONTEND=noninteractive timeout 300 $sudo apt-get -o DPkg::Lock::Timeout=240 install -y -qq --no-install-recommends redis-server >>"$dir/apt.log" 2>&1; then
    echo "ensure-redis: could not install redis-server (no network or no package source?); see $dir/apt.log:" >&2
    tail -n 5 "$dir/apt.log" >&2 || true
    exit 3
  fi
fi
flock -u 9
exec 9>&-

redis-server --port "$port" --bind 127.0.0.1 --protected-mode yes --save '' --appendonly no \
  --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --dir "$dir"

for _ in $(seq 1 50); do
  if redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null | grep -q PONG; then
    echo "redis 127.0.0.1:$port pid $(cat "$dir/redis.pid") dir $dir"
    exit 0
  fi
  sleep 0.1
done
echo "ensure-redis: redis-server did not answer on 127.0.0.1:$port within 5 s; log $dir/redis.log:" >&2
tail -n 5 "$dir/redis.log" >&2 || true
exit 4
