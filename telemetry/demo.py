"""The main job on the embedded default: serve the app, send telemetry over HTTP, report.

Runs with no servers: SQLite, the in-process bus and eager Celery. The app is served by
Django's threaded WSGI server on a free local port, and the telemetry goes through the
real HTTP ingestion endpoint, exactly as an IDE plugin would send it.
"""
from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import requests
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
from django.core.wsgi import get_wsgi_application
from tqdm import tqdm

from telemetry.services import api_key_create, organization_get_or_create
from telemetry.synthetic import burst


@dataclass(frozen=True)
class DemoConfig:
    sessions: int = 300
    """Simulated IDE sessions (about 30 events each)."""
    seed: int = 7
    """Seed of the synthetic burst; the same seed sends the same events."""
    batch_size: int = 500
    """Events per POST /api/v1/events."""
    versions: tuple[tuple[str, float], ...] = (("v1", 0.35), ("v2", 0.7))
    """(model version, quality in [0, 1]) pairs; higher quality means better metrics."""


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *args) -> None:  # keep the demo's output readable
        pass


@contextmanager
def local_app_server() -> Iterator[str]:
    """Serve the Django app on 127.0.0.1 (a free port) in a thread; yield its base URL."""
    server = ThreadedWSGIServer(("127.0.0.1", 0), _QuietHandler, allow_reuse_address=False)
    server.set_app(get_wsgi_application())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def send_events(*, base_url: str, api_key: str, events: list[dict], batch_size: int, progress: bool = True) -> int:
    """POST events in batches; return how many the API accepted. Raises on any non-202."""
    accepted = 0
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {api_key}"
    with tqdm(total=len(events), unit="ev", desc="sending telemetry", disable=not progress) as bar:
        for start in range(0, len(events), batch_size):
            batch = events[start:start + batch_size]
            response = session.post(f"{base_url}/api/v1/events", json={"events": batch}, timeout=60)
            if response.status_code != 202:
                raise RuntimeError(f"ingestion answered {response.status_code}: {response.text[:500]}")
            accepted += response.json()["accepted"]
            bar.update(len(batch))
    return accepted


def demo_run(config: DemoConfig) -> dict:
    """Send one burst through the HTTP API and return the metrics summary it produced."""
    org = organization_get_or_create(slug="demo", name="Demo organization")
    api_key = api_key_create(org=org, name="demo")
    events = burst(seed=config.seed, sessions=config.sessions, versions=dict(config.versions))
    with local_app_server() as base_url:
        accepted = send_events(base_url=base_url, api_key=api_key, events=events, batch_size=config.batch_size)
        summary = requests.get(
            f"{base_url}/api/v1/metrics/summary", headers={"Authorization": f"Bearer {api_key}"}, timeout=30
        ).json()
    return {"sent": len(events), "accepted": accepted, "summary": summary}


def _fmt(value, pattern: str) -> str:
    return "—" if value is None else pattern.format(value)


def summary_table(summary: dict) -> str:
    """The headline metrics per model version, as a fixed-width text table."""
    header = f"{'version':<10}{'events':>9}{'retention@5m':>14}{'tool err':>10}{'tokens/task':>13}{'accept':>9}{'success':>9}"
    lines = [header, "-" * len(header)]
    for row in summary["model_versions"]:
        lines.append(
            f"{row['model_version']:<10}{row['events']:>9}"
            f"{_fmt(row['code_retention']['5m'], '{:.1%}'):>14}"
            f"{_fmt(row['tool_call_error_rate'], '{:.1%}'):>10}"
            f"{_fmt(row['tokens_per_task'], '{:,.0f}'):>13}"
            f"{_fmt(row['acceptance_rate'], '{:.1%}'):>9}"
            f"{_fmt(row['task_success_rate'], '{:.1%}'):>9}"
        )
    return "\n".join(lines)
