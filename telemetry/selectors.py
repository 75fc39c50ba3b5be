"""Telemetry reads. Everything here reads rollups, never raw events."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Min, Q, QuerySet, Sum

from telemetry.metrics import safe_ratio
from telemetry.models import COUNTER_FIELDS, RETENTION_LABELS, HourlyRollup, Organization

RETENTION_SUFFIXES = ("retained", "total", "checks", "unchanged", "mostly_unchanged", "retained_sq", "total_sq", "cross")


def rollups_filter(
    *,
    org: Organization,
    model_versions: list[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    **dimensions: str,
) -> QuerySet[HourlyRollup]:
    """Rollup rows of ``org`` in [since, until) hours, optionally by version and dimension."""
    rows = HourlyRollup.objects.filter(org=org)
    if model_versions:
        rows = rows.filter(model_version__in=model_versions)
    if since is not None:
        rows = rows.filter(hour__gte=since.replace(minute=0, second=0, microsecond=0))
    if until is not None:
        rows = rows.filter(hour__lt=until)
    filters = Q()
    for name, value in dimensions.items():
        if value is not None:
            filters &= Q(**{name: value})
    return rows.filter(filters)


def counters_to_metrics(totals: dict[str, int | None]) -> dict[str, Any]:
    """Turn summed rollup counters into the headline metrics (docs/metrics.md definitions)."""
    t = {k: (v or 0) for k, v in totals.items()}
    retention = {
        label: safe_ratio(t[f"retention_{label}_retained"], t[f"retention_{label}_total"])
        for label in RETENTION_LABELS.values()
    }
    tokens_total = t["input_tokens"] + t["output_tokens"] + t["cache_tokens"]
    return {
        "events": t["events"],
        "code_retention": retention,
        "code_retention_unchanged": {
            label: safe_ratio(t[f"retention_{label}_unchanged"], t[f"retention_{label}_checks"])
            for label in RETENTION_LABELS.values()
        },
        "code_retention_mostly_unchanged": {
            label: safe_ratio(t[f"retention_{label}_mostly_unchanged"], t[f"retention_{label}_checks"])
            for label in RETENTION_LABELS.values()
        },
        "retention_checks": {label: t[f"retention_{label}_checks"] for label in RETENTION_LABELS.values()},
        "tool_calls": t["tool_calls"],
        "tool_errors": t["tool_errors"],
        "tool_call_error_rate": safe_ratio(t["tool_errors"], t["tool_calls"]),
        "tasks_finished": t["tasks_finished"],
        "task_success_rate": safe_ratio(t["tasks_succeeded"], t["tasks_finished"]),
        "tokens_per_task": safe_ratio(t["finished_task_tokens"], t["tasks_finished"]),
        "tokens_total": tokens_total,
        "tokens_per_accepted_line": safe_ratio(tokens_total, t["accepted_lines"]),
        "suggestions_shown": t["suggestions_shown"],
        "suggestions_accepted": t["suggestions_accepted"],
        "suggestions_rejected": t["suggestions_rejected"],
        "acceptance_rate": safe_ratio(t["suggestions_accepted"], t["suggestions_accepted"] + t["suggestions_rejected"]),
        "feedback_up": t["feedback_up"],
        "feedback_down": t["feedback_down"],
    }


def metrics_summary(
    *,
    org: Organization,
    model_versions: list[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[dict[str, Any]]:
    """Headline metrics per model version for ``org``, ordered by first appearance."""
    rows = rollups_filter(org=org, model_versions=model_versions, since=since, until=until)
    grouped = (
        rows.values("model_version")
        .annotate(**{f"sum_{name}": Sum(name) for name in COUNTER_FIELDS})
        .order_by("model_version")
    )
    first_seen = {
        r["model_version"]: r["first"]
        for r in rows.values("model_version").annotate(first=Min("hour")).order_by()
    }
    summaries = []
    for group in grouped:
        totals = {name: group[f"sum_{name}"] for name in COUNTER_FIELDS}
        summaries.append({
            "model_version": group["model_version"],
            "first_seen": first_seen.get(group["model_version"]),
            **counters_to_metrics(totals),
        })
    summaries.sort(key=lambda s: (s["first_seen"], s["model_version"]))
    return summaries

