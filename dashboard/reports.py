"""Turning summed rollup counters into the dashboard's JSON payloads (pure, no Django).

Selectors fetch the sums (``dashboard.selectors``); these functions only compute. The
benchmark feeds them sums computed from raw events instead, so both paths produce the
same numbers by construction and the comparison measures the read path alone.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from dashboard.catalog import Metric, Totals
from dashboard.stats import Difference, Estimate, proportion_difference

SIGNIFICANT_DIGITS = 6


def _round(value: float | None) -> float | None:
    if value is None:
        return None
    return float(f"{value:.{SIGNIFICANT_DIGITS}g}")


def estimate_json(estimate: Estimate) -> dict[str, Any]:
    return {k: (_round(v) if k != "n" else v) for k, v in estimate.as_dict().items()}


def difference_json(difference: Difference, metric: Metric) -> dict[str, Any]:
    out = {k: (_round(v) if isinstance(v, float) else v) for k, v in difference.as_dict().items()}
    out["verdict"] = verdict(difference, metric)
    return out


def verdict(difference: Difference, metric: Metric) -> str:
    """"better", "worse" (significant at 5%, in the metric's direction), or "no_change"."""
    if difference.diff is None or not difference.significant or difference.diff == 0:
        return "no_change"
    improved = difference.diff > 0 if metric.better == "higher" else difference.diff < 0
    return "better" if improved else "worse"


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def versions_json(versions: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [{k: _iso(v) for k, v in row.items()} for row in versions]


def default_pair(versions: Sequence[str]) -> tuple[str | None, str | None]:
    """(baseline, candidate) by default: the version before the newest, and the newest."""
    if not versions:
        return None, None
    if len(versions) == 1:
        return versions[0], versions[0]
    return versions[-2], versions[-1]


def overview_report(
    *,
    versions: Sequence[Mapping[str, Any]],
    totals_by_version: Mapping[str, Totals],
    baseline: str | None,
    metrics: Sequence[Metric],
    retention: str,
) -> dict[str, Any]:
    """Per version: each metric's estimate and its difference against ``baseline``.

    ``versions`` is ordered by first appearance (oldest first) and carries model_version,
    first_seen, last_seen and events.
    """
    names = [v["model_version"] for v in versions]
    base_totals = totals_by_version.get(baseline) if baseline else None
    rows = []
    for info in versions:
        name = info["model_version"]
        totals = totals_by_version.get(name, {})
        cells = {}
        for metric in metrics:
            cell = {"estimate": estimate_json(metric.estimate(totals))}
            if base_totals is not None and name != baseline:
                cell["delta"] = difference_json(metric.difference(base_totals, totals), metric)
            cells[metric.key] = cell
        rows.append({**{k: _iso(v) for k, v in info.items()}, "is_baseline": name == baseline, "metrics": cells})
    return {
        "retention": retention,
        "baseline": baseline,
        "newest": names[-1] if names else None,
        "metrics": [m.describe() for m in metrics],
        "versions": rows,
    }


def comparison_rows(metrics: Iterable[Metric], a: Totals, b: Totals) -> list[dict[str, Any]]:
    return [
        {
            **metric.describe(),
            "a": estimate_json(metric.estimate(a)),
            "b": estimate_json(metric.estimate(b)),
            "difference": difference_json(metric.difference(a, b), metric),
        }
        for metric in metrics
    ]


def compare_report(
    *,
    a: str,
    b: str,
    totals_a: Totals,
    totals_b: Totals,
    metrics: Sequence[Metric],
    breakdowns: Mapping[str, tuple[Sequence[Metric], Sequence[Mapping[str, Any]]]],
    error_kinds: Sequence[Mapping[str, Any]],
    retention: str,
    summary: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """Version ``b`` against ``a`` on every metric, every breakdown and tool-error kinds.

    ``breakdowns`` maps a dimension to (its metrics, rows of {model_version, value,
    counters...}); ``error_kinds`` rows hold model_version, error_kind and count.
    """
    out_breakdowns: dict[str, list[dict[str, Any]]] = {}
    for dimension, (dim_metrics, rows) in breakdowns.items():
        by_value: dict[str, dict[str, Totals]] = {}
        for row in rows:
            by_value.setdefault(row["value"], {})[row["model_version"]] = row
        entries = []
        for value, per_version in by_value.items():
            ta, tb = per_version.get(a, {}), per_version.get(b, {})
            entries.append({"value": value, "metrics": comparison_rows(dim_metrics, ta, tb)})
        entries.sort(key=lambda e: e["value"])
        out_breakdowns[dimension] = entries
    kinds: dict[str, dict[str, int]] = {}
    for row in error_kinds:
        kinds.setdefault(row["error_kind"], {"a": 0, "b": 0})["a" if row["model_version"] == a else "b"] += row["count"]
    calls_a, calls_b = (t.get("tool_calls") or 0 for t in (totals_a, totals_b))
    kind_rows = []
    for kind, counts in kinds.items():
        diff = proportion_difference(successes_a=counts["a"], trials_a=calls_a, successes_b=counts["b"], trials_b=calls_b)
        kind_rows.append({
            "error_kind": kind,
            "count_a": counts["a"],
            "count_b": counts["b"],
            "rate_a": _round(counts["a"] / calls_a) if calls_a else None,
            "rate_b": _round(counts["b"] / calls_b) if calls_b else None,
            "difference": {k: (_round(v) if isinstance(v, float) else v) for k, v in diff.as_dict().items()},
        })
    kind_rows.sort(key=lambda r: (-(r["count_a"] + r["count_b"]), r["error_kind"]))
    return {
        "a": a,
        "b": b,
        "retention": retention,
        "metrics": comparison_rows(metrics, totals_a, totals_b),
        "breakdowns": out_breakdowns,
        "error_kinds": kind_rows,
        "summary": {k: {kk: _iso(vv) for kk, vv in v.items()} for k, v in (summary or {}).items()},
    }


def trends_report(
    *,
    rows: Sequence[Mapping[str, Any]],
    metrics: Sequence[Metric],
    bucket: str,
    versions: Sequence[Mapping[str, Any]],
) -> dict[str, Any]:
    """Per version, one series per metric over time buckets; plus first-appearance markers.

    ``rows`` hold model_version, bucket (a datetime) and counters; series are aligned on
    the union of buckets (None where a version has no data).
    """
    buckets = sorted({row["bucket"] for row in rows})
    index = {b: i for i, b in enumerate(buckets)}
    names = [v["model_version"] for v in versions]
    series: dict[str, dict[str, dict[str, list]]] = {}
    for row in rows:
        name = row["model_version"]
        per_metric = series.setdefault(name, {
            m.key: {"value": [None] * len(buckets), "low": [None] * len(buckets), "high": [None] * len(buckets), "n": [0] * len(buckets)}
            for m in metrics
        })
        i = index[row["bucket"]]
        for metric in metrics:
            estimate = metric.estimate(row)
            cell = per_metric[metric.key]
            cell["value"][i], cell["low"][i], cell["high"][i], cell["n"][i] = (
                _round(estimate.value), _round(estimate.low), _round(estimate.high), estimate.n,
            )
    ordered = [name for name in names if name in series] + sorted(set(series) - set(names))
    return {
        "bucket": bucket,
        "buckets": [_iso(b) for b in buckets],
        "metrics": [m.describe() for m in metrics],
        "series": [{"model_version": name, "metrics": series[name]} for name in ordered],
        "markers": [{"model_version": v["model_version"], "first_seen": _iso(v["first_seen"])} for v in versions],
    }


def breakdown_report(
    *,
    dimension: str,
    rows: Sequence[Mapping[str, Any]],
    metrics: Sequence[Metric],
    versions: Sequence[str],
    filters: Mapping[str, str],
) -> dict[str, Any]:
    """Each value of ``dimension`` x each version: every metric's estimate with its interval."""
    values: dict[str, dict[str, Any]] = {}
    for row in rows:
        entry = values.setdefault(row["value"], {"value": row["value"], "versions": {}})
        entry["versions"][row["model_version"]] = {m.key: estimate_json(m.estimate(row)) for m in metrics}
    ordered_versions = [v for v in versions if any(v in e["versions"] for e in values.values())]
    return {
        "dimension": dimension,
        "filters": dict(filters),
        "metrics": [m.describe() for m in metrics],
        "versions": ordered_versions,
        "values": sorted(values.values(), key=lambda e: e["value"]),
    }


def tool_errors_report(
    *,
    rows: Sequence[Mapping[str, Any]],
    versions: Sequence[str],
    calls_by_version: Mapping[str, int],
    limit: int,
) -> dict[str, Any]:
    """The most frequent tool-error kinds: count per version and share of that version's calls."""
    kinds: dict[str, dict[str, int]] = {}
    for row in rows:
        kinds.setdefault(row["error_kind"], {})[row["model_version"]] = row["count"]
    ranked = sorted(kinds.items(), key=lambda item: (-sum(item[1].values()), item[0]))[:limit]
    ordered_versions = [v for v in versions if any(v in counts for _, counts in ranked)]
    return {
        "versions": ordered_versions,
        "kinds": [
            {
                "error_kind": kind,
                "total": sum(counts.values()),
                "by_version": {
                    v: {"count": counts.get(v, 0), "per_call": _round(counts.get(v, 0) / calls_by_version[v]) if calls_by_version.get(v) else None}
                    for v in ordered_versions
                },
            }
            for kind, counts in ranked
        ],
    }
