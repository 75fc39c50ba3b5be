"""Benchmark databases on the local PostgreSQL (shared by the benchmark scripts)."""
from __future__ import annotations

import os
from urllib.parse import urlparse, urlunparse


def bench_database_url(base_url: str, name: str) -> str:
    """``base_url`` (a postgresql:// URL) pointing at database ``name`` instead."""
    parsed = urlparse(base_url)
    if parsed.scheme not in {"postgres", "postgresql"}:
        raise SystemExit("DATABASE_URL must point at PostgreSQL: run `eval \"$(scripts/services.sh env)\"` first.")
    return urlunparse(parsed._replace(path="/" + name))


def database_ensure(url: str) -> None:
    """Create the database of ``url`` if it does not exist yet."""
    import psycopg
    from psycopg import sql

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin = urlunparse(parsed._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            print(f"created database {name}")


def django_setup(database_url: str) -> None:
    """Django on ``database_url`` (migrated), with the embedded bus and eager tasks: the
    consumer's store runs in-process, and no Kafka, Celery broker or Redis is used."""
    os.environ["DATABASE_URL"] = database_url
    for name in ("KAFKA_BOOTSTRAP_SERVERS", "CELERY_BROKER_URL", "REDIS_URL"):
        os.environ.pop(name, None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("FLYWHEEL_LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
