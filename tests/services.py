"""Start and stop the real local services from tests (fault injection).

Thin wrappers over ``scripts/services.sh``, which owns how each service runs. Both calls
are idempotent and return only once the service is really down, or really answering.
"""
from __future__ import annotations

import subprocess
from pathlib import Path

SERVICES_SH = Path(__file__).resolve().parents[1] / "scripts" / "services.sh"
SERVICE_NAMES = ("postgres", "redis", "kafka", "ray")

# Connection settings exported by `scripts/services.sh env` (and so by `make test`).
SERVICE_ENV_VARS = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "KAFKA_BOOTSTRAP_SERVERS", "RAY_ADDRESS")


class ServiceCommandError(RuntimeError):
    """``scripts/services.sh`` failed; the message carries its output (with a log tail)."""


def _services_run(action: str, name: str, *, timeout_s: float) -> None:
    if name not in SERVICE_NAMES:
        raise ValueError(f"unknown service {name!r}; expected one of {SERVICE_NAMES}")
    result = subprocess.run(
        ["bash", str(SERVICES_SH), action, name],
        capture_output=True, text=True, timeout=timeout_s, stdin=subprocess.DEVNULL,
    )
    if result.returncode != 0:
        raise ServiceCommandError(
            f"scripts/services.sh {action} {name} exited {result.returncode}:\n{result.stdout}{result.stderr}"
        )


def service_stop(name: str, *, timeout_s: float = 120) -> None:
    """Stop ``name`` (SIGTERM, SIGKILL after a grace period); its data is kept."""
    _services_run("stop", name, timeout_s=timeout_s)


def service_start(name: str, *, timeout_s: float = 300) -> None:
    """Start ``name`` if it is not running and wait until it answers requests.

    After PostgreSQL comes back, this process's Django connections are dead sockets:
    they are closed so the next query reconnects instead of failing every later test.
    """
    _services_run("start", name, timeout_s=timeout_s)
    if name == "postgres":
        from django.db import connections

        connections.close_all()


def service_restart(name: str, *, timeout_s: float = 300) -> None:
    service_stop(name, timeout_s=timeout_s)
    service_start(name, timeout_s=timeout_s)
