"""Dashboard reads. Every number comes from the rollups (HourlyRollup, ToolErrorRollup,
RejectionRollup, IngestMinute, and their daily compaction in dashboard.models), never from
raw events; statistics are in ``dashboard.stats`` and the payloads are assembled by
``dashboard.reports``.

Each selector runs one grouped query (``SUM`` of just the counters its metrics need) and
hands the sums to a pure report function. Selectors take a ``ReadSource`` (default: the
rollups) so that the benchmark can run the very same code over raw events.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone as dt_timezone
from typing import Any

from django.db.models import F, Max, Min, Q, Sum
from django.db.models.functions import TruncDay
from django.utils import timezone

from dashboard import compaction, reports
from dashboard.catalog import (
    METRICS,
    TOOL_CALL_ERROR_RATE,
    TOOL_CALL_SUCCESS_RATE,
    Metric,
    all_metrics,
    counters_for,
    headline_metrics,
)
from dashboard.models import CompactedVersion, DailyRollup, DailyToolErrorRollup, SliceDailyRollup, VersionHourRollup
from telemetry.models import IngestMinute, Organization, RejectionRollup, ToolErrorRollup
from telemetry.selectors import COUNTER_FIELDS, counters_to_metrics, rollups_filter

DIMENSIONS: tuple[str, ...] = ("os", "shell", "ide", "language", "tool")
DIMENSION_TITLES = {"os": "OS", "shell": "Shell", "ide": "IDE", "language": "Language", "tool": "Tool"}
# Tool-call metrics only: the tool is known for tool.call events alone.
TOOL_DIMENSION_METRICS: tuple[Metric, ...] = (TOOL_CALL_ERROR_RATE, TOOL_CALL_SUCCESS_RATE)
BUCKETS = ("hour", "day")
AUTO_HOURLY_MAX_SPAN = timedelta(hours=72)


class UnknownVersion(LookupError):
    """A model version the organization has no data for (foreign or mistyped)."""


def dashboard_versions(*, org: Organization) -> list[dict[str, Any]]:
    """The org's model versions, oldest first: first/last hour seen and events.

    Compacted days come from CompactedVersion, later hours from HourlyRollup.
    """
    merged: dict[str, dict[str, Any]] = {}
    compacted = list(CompactedVersion.objects.filter(org=org).values("model_version", "first_seen", "last_seen", "events", "compacted_until"))
    for row in compacted:
        merged[row["model_version"]] = {k: row[k] for k in ("model_version", "first_seen", "last_seen", "events")}
    recent = rollups_filter(org=org)
    if compacted:
        recent = recent.filter(hour__gte=compacted[0]["compacted_until"])
    for row in recent.values("model_version").annotate(first_seen=Min("hour"), last_seen=Max("hour"), events=Sum("events")).order_by():
        seen = merged.get(row["model_version"])
        if seen is None:
            merged[row["model_version"]] = dict(row)
        else:
            seen.update(
                first_seen=min(seen["first_seen"], row["first_seen"]),
                last_seen=max(seen["last_seen"], row["last_seen"]),
                events=seen["events"] + (row["events"] or 0),
            )
    return sorted(merged.values(), key=lambda v: (v["first_seen"], v["model_version"]))


def versions_check(*, known: Sequence[Mapping[str, Any]], requested: Iterable[str]) -> list[str]:
    """``requested`` if every one is a version of the org; raises UnknownVersion otherwise."""
    names = {v["model_version"] for v in known}
    requested = list(dict.fromkeys(requested))
    missing = [v for v in requested if v not in names]
    if missing:
        raise UnknownVersion(f"No data for model version(s) {', '.join(missing)} in this organization.")
    return requested


def _ceil_hour(moment: datetime) -> datetime:
    floor = moment.replace(minute=0, second=0, microsecond=0)
    return floor if floor == moment else floor + timedelta(hours=1)


def daily_span(*, since: datetime | None, until: datetime | None, watermark: datetime | None) -> tuple[datetime | None, datetime] | None:
    """The whole compacted days [start, end) inside the hour range of since/until, or None.

    The rollups' hour range is floor(since) <= hour < until, i.e. hours before
    ceil_hour(until). ``start`` None means "from the first day".
    """
    if watermark is None:
        return None
    low = since.replace(minute=0, second=0, microsecond=0) if since is not None else None
    start = None if low is None else compaction.day_floor(low) + (timedelta(0) if low == compaction.day_floor(low) else compaction.DAY)
    end = watermark if until is None else min(watermark, compaction.day_floor(_ceil_hour(until)))
    if start is not None and start >= end:
        return None
    return start, end


def hour_span(*, since: datetime | None, until: datetime | None, watermark: datetime | None) -> tuple[datetime | None, datetime] | None:
    """The compacted hours [start, end) inside the hour range of since/until, or None."""
    if watermark is None:
        return None
    start = since.replace(minute=0, second=0, microsecond=0) if since is not None else None
    end = watermark if until is None else min(watermark, _ceil_hour(until))
    if start is not None and start >= end:
        return None
    return start, end


def _exclude_span(rows, span: tuple[datetime | None, datetime] | None, field: str):
    if span is None:
        return rows
    start, end = span
    after = Q(**{f"{field}__gte": end})
    return rows.filter(after | Q(**{f"{field}__lt": start}) if start is not None else after)


def _within_span(rows, span: tuple[datetime | None, datetime], field: str = "day"):
    start, end = span
    rows = rows.filter(**{f"{field}__lt": end})
    return rows.filter(**{f"{field}__gte": start}) if start is not None else rows


def _merge(parts: Iterable[Iterable[Mapping[str, Any]]], keys: Sequence[str], counters: Sequence[str]) -> list[dict[str, Any]]:
    merged: dict[tuple, dict[str, Any]] = {}
    for part in parts:
        for row in part:
            key = tuple(row[k] for k in keys)
            into = merged.get(key)
            if into is None:
                merged[key] = {**row, **{c: row[c] or 0 for c in counters}}
            else:
                for c in counters:
                    into[c] += row[c] or 0
    return list(merged.values())


def _compacted_part(*, org, group_by: Sequence[str], bucket: str | None, filters: Mapping[str, str], since, until):
    """The compacted table that can answer this grouping, its rows in range, and the span it covers.

    - no dimension grouped or filtered: VersionHourRollup (hour grain: any bucket);
    - one dimension grouped, none filtered, no hourly bucket: SliceDailyRollup;
    - otherwise, no hourly bucket: DailyRollup;
    - hourly buckets by dimension: nothing compacted (HourlyRollup only).
    Returns (rows in the compacted span, the span) or (None, None).
    """
    watermark = compaction.compaction_watermark(org=org)
    dimensions = [k for k in group_by if k != "model_version"]
    if not filters and not dimensions:
        span = hour_span(since=since, until=until, watermark=watermark)
        if span is None:
            return None, None
        rows = _within_span(VersionHourRollup.objects.filter(org=org), span, "hour")
        if bucket == "day":
            rows = rows.annotate(bucket=TruncDay("hour", tzinfo=dt_timezone.utc))
        elif bucket == "hour":
            rows = rows.annotate(bucket=F("hour"))
        return rows, span
    if bucket == "hour":
        return None, None
    span = daily_span(since=since, until=until, watermark=watermark)
    if span is None:
        return None, None
    if not filters and len(dimensions) == 1:
        rows = _within_span(SliceDailyRollup.objects.filter(org=org, dimension=dimensions[0]), span).annotate(**{dimensions[0]: F("value")})
    else:
        rows = _within_span(DailyRollup.objects.filter(org=org, **filters), span)
    if bucket == "day":
        rows = rows.annotate(bucket=F("day"))
    return rows, span


def rollup_totals(
    *,
    org: Organization,
    counters: Sequence[str],
    group_by: Sequence[str] = ("model_version",),
    bucket: str | None = None,
    versions: Sequence[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    filters: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Summed ``counters`` per ``group_by`` (and per hour/day ``bucket``).

    Compacted hours come from the smallest compacted table that can answer (see
    ``_compacted_part``), every other hour of the range from HourlyRollup; the parts are
    added up.
    """
    filters = {k: v for k, v in (filters or {}).items() if v is not None}
    compacted, span = _compacted_part(org=org, group_by=group_by, bucket=bucket, filters=filters, since=since, until=until)
    hourly = _exclude_span(rollups_filter(org=org, model_versions=list(versions or []), since=since, until=until, **filters), span, "hour")
    keys = list(group_by)
    if bucket == "day":
        hourly = hourly.annotate(bucket=TruncDay("hour", tzinfo=dt_timezone.utc))
    elif bucket == "hour":
        hourly = hourly.annotate(bucket=F("hour"))
    if bucket:
        keys.append("bucket")
    sums = {c: Sum(c) for c in counters}
    parts = [hourly.values(*keys).annotate(**sums).order_by()]
    if compacted is not None:
        if versions:
            compacted = compacted.filter(model_version__in=list(versions))
        parts.append(compacted.values(*keys).annotate(**sums).order_by())
    return _merge(parts, keys, counters)


def rollup_error_kinds(
    *,
    org: Organization,
    versions: Sequence[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    filters: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Failed tool calls per (version, error kind), from the tool-error rollups (filters: os, shell, tool)."""
    filters = dict(filters or {})
    span = daily_span(since=since, until=until, watermark=compaction.compaction_watermark(org=org))
    hourly = _exclude_span(ToolErrorRollup.objects.filter(org=org, **_hour_range(since, until), **filters), span, "hour")
    parts = [hourly]
    if span is not None:
        parts.append(_within_span(DailyToolErrorRollup.objects.filter(org=org, **filters), span))
    if versions:
        parts = [p.filter(model_version__in=list(versions)) for p in parts]
    keys = ["model_version", "error_kind"]
    return _merge([p.values(*keys).annotate(count=Sum("count")).order_by() for p in parts], keys, ["count"])


def rollup_stored_per_minute(*, org: Organization, start: datetime, end: datetime) -> dict[datetime, int]:
    """Events stored per minute of arrival in [start, end], from IngestMinute."""
    return dict(IngestMinute.objects.filter(org=org, minute__gte=start, minute__lte=end).values_list("minute", "stored"))


@dataclass(frozen=True)
class ReadSource:
    """Where the selectors read their sums from.

    The dashboard always reads the rollups (``ROLLUPS``). The benchmark plugs in a source
    that computes the same sums from raw events, so that both paths run the same
    selector and report code and only the read differs.
    """

    versions: Callable[..., list[dict[str, Any]]]
    """(org) -> [{model_version, first_seen, last_seen, events}] oldest first"""
    totals: Callable[..., list[dict[str, Any]]]
    """rollup_totals' signature"""
    error_kinds: Callable[..., list[dict[str, Any]]]
    """rollup_error_kinds' signature"""
    stored_per_minute: Callable[..., dict[datetime, int]]
    """rollup_stored_per_minute's signature"""


ROLLUPS = ReadSource(
    versions=dashboard_versions, totals=rollup_totals, error_kinds=rollup_error_kinds, stored_per_minute=rollup_stored_per_minute,
)


def _by_version(rows: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    return {row["model_version"]: dict(row) for row in rows}


def overview_get(
    *,
    org: Organization,
    versions: Sequence[str] = (),
    baseline: str | None = None,
    retention: str = "5m",
    since: datetime | None = None,
    until: datetime | None = None,
    source: ReadSource = ROLLUPS,
) -> dict[str, Any]:
    """Headline metrics per version with 95% CIs and deltas against ``baseline``.

    ``baseline`` defaults to the version before the newest (of the selected ones).
    """
    known = source.versions(org=org)
    selected = versions_check(known=known, requested=versions) if versions else [v["model_version"] for v in known]
    if baseline:
        versions_check(known=known, requested=[baseline])
    else:
        baseline = reports.default_pair(selected)[0]
    wanted = set(selected) | ({baseline} if baseline else set())
    metrics = headline_metrics(retention)
    totals = _by_version(source.totals(org=org, counters=counters_for(metrics), versions=sorted(wanted), since=since, until=until))
    shown = [v for v in known if v["model_version"] in wanted]
    report = reports.overview_report(versions=shown, totals_by_version=totals, baseline=baseline, metrics=metrics, retention=retention)
    report["selected"] = selected
    # The version the headline cards show: the newest selected one that is not the baseline.
    candidates = [v for v in selected if v != baseline]
    report["newest"] = candidates[-1] if candidates else baseline
    return report


def compare_get(
    *,
    org: Organization,
    a: str | None = None,
    b: str | None = None,
    retention: str = "5m",
    since: datetime | None = None,
    until: datetime | None = None,
    source: ReadSource = ROLLUPS,
) -> dict[str, Any]:
    """Version ``b`` against ``a`` on every metric, on every breakdown, and on tool-error kinds.

    One grouped read for the totals (every counter: the summary reuses counters_to_metrics)
    and one per dimension (just the counters of that breakdown's metrics).
    """
    known = source.versions(org=org)
    default_a, default_b = reports.default_pair([v["model_version"] for v in known])
    a, b = a or default_a, b or default_b
    if a is None or b is None:
        return {"a": None, "b": None, "retention": retention, "metrics": [], "breakdowns": {}, "error_kinds": [], "summary": {}}
    versions_check(known=known, requested=[a, b])
    metrics = all_metrics(retention)
    scope = {"org": org, "versions": [a, b], "since": since, "until": until}
    totals = {name: dict.fromkeys(COUNTER_FIELDS, 0) for name in (a, b)}
    for row in source.totals(counters=list(COUNTER_FIELDS), **scope):
        totals[row["model_version"]].update({c: row[c] or 0 for c in COUNTER_FIELDS})
    breakdowns = {}
    for d in DIMENSIONS:
        dim_metrics = TOOL_DIMENSION_METRICS if d == "tool" else tuple(headline_metrics(retention))
        rows = source.totals(counters=counters_for(dim_metrics), group_by=("model_version", d), **scope)
        # Events without a tool (everything but tool calls) are not a tool breakdown.
        breakdowns[d] = (dim_metrics, [{**row, "value": row[d]} for row in rows if not (d == "tool" and row[d] == "")])
    kinds = source.error_kinds(org=org, versions=[a, b], since=since, until=until)
    info = {v["model_version"]: v for v in known}
    summary = {
        name: {**{k: info[name][k] for k in ("first_seen", "last_seen")}, **counters_to_metrics(totals[name])}
        for name in (a, b)
    }
    return reports.compare_report(
        a=a, b=b, totals_a=totals[a], totals_b=totals[b], metrics=metrics, breakdowns=breakdowns,
        error_kinds=kinds, retention=retention, summary=summary,
    )


def trends_bucket(*, bucket: str | None, since: datetime | None, until: datetime | None, known: Sequence[Mapping[str, Any]]) -> str:
    """"hour" or "day"; "auto" (or None) picks hours for spans up to 72 h."""
    if bucket in BUCKETS:
        return bucket
    if not known:
        return "hour"
    start = since or min(v["first_seen"] for v in known)
    end = until or (max(v["last_seen"] for v in known) + timedelta(hours=1))
    return "hour" if end - start <= AUTO_HOURLY_MAX_SPAN else "day"


def trends_get(
    *,
    org: Organization,
    versions: Sequence[str] = (),
    metric_keys: Sequence[str] = (),
    bucket: str | None = None,
    retention: str = "5m",
    since: datetime | None = None,
    until: datetime | None = None,
    source: ReadSource = ROLLUPS,
) -> dict[str, Any]:
    """Metrics per version per hour or day, with each version's first appearance."""
    known = source.versions(org=org)
    selected = versions_check(known=known, requested=versions) if versions else []
    metrics = [METRICS[k] for k in metric_keys if k in METRICS] or headline_metrics(retention)
    bucket = trends_bucket(bucket=bucket, since=since, until=until, known=known)
    rows = source.totals(org=org, counters=counters_for(metrics), bucket=bucket, versions=selected, since=since, until=until)
    shown = [v for v in known if not selected or v["model_version"] in selected]
    return reports.trends_report(rows=rows, metrics=metrics, bucket=bucket, versions=shown)


def breakdown_get(
    *,
    org: Organization,
    dimension: str,
    versions: Sequence[str] = (),
    retention: str = "5m",
    filters: Mapping[str, str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    source: ReadSource = ROLLUPS,
) -> dict[str, Any]:
    """Metrics per value of ``dimension`` (os, shell, ide, language, tool) and version."""
    if dimension not in DIMENSIONS:
        raise ValueError(f"dimension must be one of {', '.join(DIMENSIONS)}")
    known = source.versions(org=org)
    selected = versions_check(known=known, requested=versions) if versions else []
    filters = {k: v for k, v in (filters or {}).items() if k in DIMENSIONS and v}
    tool_scoped = dimension == "tool" or "tool" in filters
    metrics = list(TOOL_DIMENSION_METRICS) if tool_scoped else [*headline_metrics(retention), TOOL_CALL_SUCCESS_RATE]
    rows = source.totals(
        org=org, counters=counters_for(metrics), group_by=("model_version", dimension), versions=selected,
        since=since, until=until, filters=filters,
    )
    rows = [{**row, "value": row[dimension]} for row in rows if not (dimension == "tool" and row[dimension] == "")]
    order = [v["model_version"] for v in known]
    return reports.breakdown_report(dimension=dimension, rows=rows, metrics=metrics, versions=order, filters=filters)


def tool_errors_get(
    *,
    org: Organization,
    versions: Sequence[str] = (),
    filters: Mapping[str, str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 10,
    source: ReadSource = ROLLUPS,
) -> dict[str, Any]:
    """The most frequent tool-error kinds per version, and their share of tool calls."""
    known = source.versions(org=org)
    selected = versions_check(known=known, requested=versions) if versions else []
    filters = {k: v for k, v in (filters or {}).items() if k in ("os", "shell", "tool") and v}
    rows = source.error_kinds(org=org, versions=selected, since=since, until=until, filters=filters)
    calls = source.totals(org=org, counters=["tool_calls"], versions=selected, since=since, until=until, filters=filters)
    order = [v["model_version"] for v in known]
    return reports.tool_errors_report(
        rows=rows, versions=order, calls_by_version={r["model_version"]: r["tool_calls"] or 0 for r in calls}, limit=limit,
    )


def _hour_range(since: datetime | None, until: datetime | None) -> dict[str, datetime]:
    out = {}
    if since is not None:
        out["hour__gte"] = since.replace(minute=0, second=0, microsecond=0)
    if until is not None:
        out["hour__lt"] = until
    return out


def ingestion_get(
    *, org: Organization, minutes: int = 60, hours: int = 24, now: datetime | None = None, source: ReadSource = ROLLUPS,
) -> dict[str, Any]:
    """Events stored per minute (last ``minutes``) and rejected events by reason (last ``hours``)."""
    now = (now or timezone.now()).replace(second=0, microsecond=0)
    start = now - timedelta(minutes=minutes - 1)
    stored = source.stored_per_minute(org=org, start=start, end=now)
    per_minute = [
        {"minute": (start + timedelta(minutes=i)).isoformat(), "stored": stored.get(start + timedelta(minutes=i), 0)}
        for i in range(minutes)
    ]
    rejected_since = now.replace(minute=0) - timedelta(hours=hours - 1)
    rejections = list(
        RejectionRollup.objects.filter(org=org, hour__gte=rejected_since)
        .values("reason")
        .annotate(count=Sum("count"))
        .order_by("-count", "reason")
    )
    recent = per_minute[-5:]
    return {
        "window_minutes": minutes,
        "per_minute": per_minute,
        "events_per_minute": round(sum(p["stored"] for p in recent) / len(recent), 2) if recent else 0.0,
        "stored_in_window": sum(p["stored"] for p in per_minute),
        "rejections_window_hours": hours,
        "rejections": rejections,
        "rejected_in_window": sum(r["count"] for r in rejections),
    }


__all__ = [
    "DIMENSIONS",
    "ROLLUPS",
    "ReadSource",
    "UnknownVersion",
    "breakdown_get",
    "compare_get",
    "dashboard_versions",
    "ingestion_get",
    "overview_get",
    "rollup_error_kinds",
    "rollup_stored_per_minute",
    "rollup_totals",
    "tool_errors_get",
    "trends_get",
]
