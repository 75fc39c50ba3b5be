#!/usr/bin/env bash
# Serve Flywheel as a deployment does: gunicorn with gthread workers running config.wsgi.
#
#   bash scripts/serve.sh                         # 127.0.0.1:8000, one worker per core × 4 threads
#   FLYWHEEL_BIND=0.0.0.0:8000 bash scripts/serve.sh --workers 8
#
# Settings live in config/gunicorn.conf.py (env FLYWHEEL_BIND, FLYWHEEL_WORKERS,
# FLYWHEEL_THREADS, FLYWHEEL_TIMEOUT_S, FLYWHEEL_ACCESS_LOG); extra arguments go to gunicorn.
# The app reads its own settings from the environment (DATABASE_URL, KAFKA_BOOTSTRAP_SERVERS,
# REDIS_URL, ...: see config/settings.py); run `manage.py migrate` first and
# `manage.py consume_telemetry` beside it when Kafka is the bus.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${FLYWHEEL_PYTHON:-$ROOT/.venv/bin/python}"
cd "$ROOT"
if ! "$PYTHON" -c 'import gunicorn' 2>/dev/null; then
  echo "serve: gunicorn is not installed for $PYTHON; run \`make install\` first" >&2
  exit 1
fi
exec "$PYTHON" -m gunicorn --config config/gunicorn.conf.py "$@"
