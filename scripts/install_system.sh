#!/usr/bin/env bash
# Install the system packages Flywheel's real local services and browser tests need.
# Idempotent: packages already installed are left alone, and `apt-get update` runs only
# when something is missing (it is the slow part on a fresh machine).
set -euo pipefail

PACKAGES=(
  postgresql            # PostgreSQL server + client (pg_ctl/initdb under /usr/lib/postgresql/*/bin)
  redis-server          # Redis server; pulls in redis-tools (redis-cli)
  chromium              # headless browser for the dashboard browser tests
  chromium-driver
  openjdk-17-jre-headless  # Kafka broker runtime
  maven                 # resolves the Kafka jars from Maven Central (scripts/kafka/pom.xml)
  python3-venv          # `python3 -m venv .venv` on a Debian python3
  util-linux            # setsid, flock, runuser
  fonts-dejavu-core     # Chromium needs at least one font to render pages
  ca-certificates
)

is_installed() {
  [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true)" = "installed" ]
}

missing=()
for pkg in "${PACKAGES[@]}"; do
  is_installed "$pkg" || missing+=("$pkg")
done

# Node.js/npm build the dashboard assets (scripts/build_dashboard_assets.sh). Checked by
# command, not package: a NodeSource `nodejs` already ships npm.
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)

if [ ${#missing[@]} -eq 0 ]; then
  echo "install_system: all system packages present"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install_system: missing packages (${missing[*]}); run as root or install them yourself" >&2
  exit 1
fi

echo "install_system: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# --no-install-recommends keeps it small; the packages above name everything we use.
apt-get install -y -q --no-install-recommends "${missing[@]}"
