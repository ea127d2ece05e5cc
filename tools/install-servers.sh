#!/usr/bin/env bash
# Installs the real servers the tests start (PostgreSQL, PgBouncer, Redis) from Debian packages,
# Prometheus for promtool (rule checks and rule unit tests) and Alertmanager for amtool
# (checks the rendered routing config), and Node.js where missing (parses the k6 scripts).
# Idempotent: does nothing when they are already there.
set -euo pipefail

have_all() {
  compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null \
    && compgen -G "/usr/lib/postgresql/*/bin/pgbench" >/dev/null \
    && command -v psql >/dev/null && command -v pgbouncer >/dev/null && command -v redis-server >/dev/null \
    && command -v promtool >/dev/null && command -v amtool >/dev/null && command -v node >/dev/null
}

if have_all; then
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then sudo="sudo"; else
    echo "install-servers: need root (or sudo) to apt-get install postgresql pgbouncer redis-server" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends postgresql postgresql-contrib pgbouncer redis-server prometheus prometheus-alertmanager $(command -v node >/dev/null || echo nodejs) >/dev/null
# The packages start their own default instances where a service manager exists; the tests
# start private servers on free ports and need none of them.
echo "install-servers: installed $(pgbouncer --version | head -1), $(redis-server --version | cut -d' ' -f1-3)"
