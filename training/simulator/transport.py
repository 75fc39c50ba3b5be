"""Sending simulated telemetry to a Flywheel deployment over its real HTTP endpoints.

``TelemetrySender`` buffers events and POSTs them in batches: schema-v1 JSON to
``/api/v1/events``, and, for sessions sent the Claude Code way, OTLP/HTTP protobuf log
exports to ``/v1/logs``. Anything refused is an error (the ground truth assumes every event
is stored); a 429 or 503 is retried after its Retry-After. ``summary_get`` reads
``GET /api/v1/metrics/summary`` back.
"""
from __future__ import annotations

import time
from typing import Any

import requests

from training.simulator.claude_code import claude_code_export

MAX_RETRIES = 8
RETRY_STATUSES = frozenset({429, 503})


class IngestRefused(RuntimeError):
    """The deployment refused (some of) the telemetry: the ground truth no longer holds."""


class TelemetrySender:
    """Batches events to one deployment. ``close()`` (or leaving the ``with``) flushes."""

    def __init__(self, base_url: str, api_key: str, *, batch_size: int = 500, timeout_s: float = 120.0) -> None:
        if not 1 <= batch_size <= 1000:
            raise ValueError("batch_size must be within 1..1000 (the ingestion limit)")
        self.base_url = base_url.rstrip("/")
        self.batch_size = batch_size
        self.timeout_s = timeout_s
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {api_key}"
        self._json: list[dict[str, Any]] = []
        self._otlp: list[dict[str, Any]] = []
        self.sent_json = 0
        self.sent_otlp_records = 0
        self.requests = 0

    def add(self, events: list[dict[str, Any]], *, otlp: bool = False) -> None:
        """Queue events: over OTLP as Claude Code records (``otlp``), else as JSON."""
        buffer = self._otlp if otlp else self._json
        buffer.extend(events)
        if len(self._json) >= self.batch_size:
            self._flush_json()
        if len(self._otlp) >= self.batch_size:
            self._flush_otlp()

    def flush(self) -> None:
        while self._json:
            self._flush_json()
        while self._otlp:
            self._flush_otlp()

    def close(self) -> None:
        self.flush()
        self.http.close()

    def __enter__(self) -> "TelemetrySender":
        return self

    def __exit__(self, exc_type, *exc: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.http.close()

    def _flush_json(self) -> None:
        batch, self._json = self._json[: self.batch_size], self._json[self.batch_size:]
        response = self._post("/api/v1/events", json={"events": batch})
        try:
            body = response.json()
        except ValueError:
            body = {"body": response.text[:1000]}
        if response.status_code != 202 or not isinstance(body, dict) or body.get("accepted") != len(batch):
            raise IngestRefused(f"/api/v1/events answered {response.status_code}: {str(body)[:1000]}")
        self.sent_json += len(batch)

    def _flush_otlp(self) -> None:
        from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse

        batch, self._otlp = self._otlp[: self.batch_size], self._otlp[self.batch_size:]
        body = claude_code_export(batch).SerializeToString()
        response = self._post("/v1/logs", data=body, headers={"Content-Type": "application/x-protobuf"})
        if response.status_code != 200:
            raise IngestRefused(f"/v1/logs answered {response.status_code}: {response.content[:500]!r}")
        answer = ExportLogsServiceResponse.FromString(response.content)
        if answer.HasField("partial_success") and answer.partial_success.rejected_log_records:
            raise IngestRefused(f"/v1/logs rejected records: {answer.partial_success.error_message}")
        self.sent_otlp_records += len(batch)

    def _post(self, path: str, **kwargs: Any) -> requests.Response:
        for attempt in range(MAX_RETRIES + 1):
            response = self.http.post(f"{self.base_url}{path}", timeout=self.timeout_s, **kwargs)
            self.requests += 1
            if response.status_code not in RETRY_STATUSES or attempt == MAX_RETRIES:
                return response
            time.sleep(float(response.headers.get("Retry-After", "1") or 1))
        raise AssertionError("unreachable")


def summary_get(base_url: str, api_key: str, *, versions: list[str] | None = None, timeout_s: float = 60.0) -> dict[str, Any]:
    """``GET /api/v1/metrics/summary`` of the key's organization (optionally some versions)."""
    params = {"model_version": ",".join(versions)} if versions else None
    response = requests.get(
        f"{base_url.rstrip('/')}/api/v1/metrics/summary",
        headers={"Authorization": f"Bearer {api_key}"},
        params=params,
        timeout=timeout_s,
    )
    response.raise_for_status()
    return response.json()
