#!/usr/bin/env bash
# Build the dashboard's front-end assets from npm into dashboard/static/dashboard/vendor/.
#
# Chart.js comes from the npm registry at the version pinned in package-lock.json
# (`npm ci`: exact, reproducible, no lockfile rewrite). Its self-contained UMD build is
# copied next to our own static files, so pages load it from our origin: nothing is
# fetched from a CDN at run time. Needs only Node/npm and the npm registry (or an npm
# cache that already holds the packages: `npm ci --offline` is tried first).
# Idempotent; `make install` calls it.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENDOR="$ROOT/dashboard/static/dashboard/vendor"
cd "$ROOT"

if ! command -v npm >/dev/null 2>&1; then
  echo "build_dashboard_assets: npm not found; install Node.js 18+ first" >&2
  exit 1
fi

# Reuse node_modules when it already holds the locked version; else a clean, exact install.
want="$(node -p 'require("./package-lock.json").packages["node_modules/chart.js"].version')"
have="$(node -p 'try { require("./node_modules/chart.js/package.json").version } catch (e) { "" }')"
if [ "$want" != "$have" ]; then
  npm ci --offline --no-audit --no-fund --loglevel=error 2>/dev/null \
    || npm ci --no-audit --no-fund --loglevel=error
fi

mkdir -p "$VENDOR"
cp node_modules/chart.js/dist/chart.umd.min.js "$VENDOR/chart.umd.min.js"
cp node_modules/chart.js/LICENSE.md "$VENDOR/chart.js.LICENSE.md"
version="$(node -p 'require("./node_modules/chart.js/package.json").version')"
echo "$version" > "$VENDOR/chart.js.VERSION"
echo "build_dashboard_assets: Chart.js $version -> ${VENDOR#"$ROOT"/}/chart.umd.min.js"
