"""OTLP metric data points → events, through the producers' metric mappers."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.metrics.v1.metrics_pb2 import AggregationTemporality, Metric

from telemetry.otlp import claude_code, gemini_cli, gen_ai, qwen_code
from telemetry.otlp.common import (
    VENDOR_PRODUCERS,
    MappingOptions,
    MappingResult,
    RecordInvalid,
    SeriesPoint,
    as_str,
    attributes_flat,
    digest,
)
from telemetry.otlp.points import MetricContext, MetricMapper, PointValue, SeriesTracker, point_from_proto

# Vendor metrics that duplicate vendor log events: mapped only with ``facts_from_metrics``.
VENDOR_METRIC_MAPPERS: dict[str, MetricMapper] = {
    **claude_code.METRIC_MAPPERS,
    **gemini_cli.METRIC_MAPPERS,
    **qwen_code.METRIC_MAPPERS,
}


def _points(metric: Metric) -> tuple[list[Any], int | None]:
    """A metric's data points and its temporality (None for gauges)."""
    kind = metric.WhichOneof("data")
    if kind == "sum":
        return list(metric.sum.data_points), metric.sum.aggregation_temporality
    if kind == "histogram":
        return list(metric.histogram.data_points), metric.histogram.aggregation_temporality
    if kind == "exponential_histogram":
        return list(metric.exponential_histogram.data_points), metric.exponential_histogram.aggregation_temporality
    if kind == "gauge":
        return list(metric.gauge.data_points), None
    if kind == "summary":
        return list(metric.summary.data_points), AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE
    return [], None


def metric_series_keys(request: ExportMetricsServiceRequest, *, options: MappingOptions = MappingOptions()) -> list[str]:
    """The series whose baselines ``metrics_map`` will need (cumulative points of mapped metrics)."""
    keys: list[str] = []
    for resource, scope, metric, points, temporality in _metrics_walk(request):
        if temporality != AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE or _metric_mapper(metric.name, resource, options) is None:
            continue
        for point in points:
            keys.append(digest("series", resource, scope, metric.name, attributes_flat(point.attributes)))
    return keys


def _metrics_walk(request: ExportMetricsServiceRequest):
    for ri, resource_metrics in enumerate(request.resource_metrics):
        resource = attributes_flat(resource_metrics.resource.attributes)
        for si, scope_metrics in enumerate(resource_metrics.scope_metrics):
            scope = (scope_metrics.scope.name, scope_metrics.scope.version)
            for mi, metric in enumerate(scope_metrics.metrics):
                points, temporality = _points(metric)
                yield resource, scope, metric, points, temporality


def metrics_map(
    request: ExportMetricsServiceRequest,
    *,
    baselines: Mapping[str, SeriesPoint] | None = None,
    options: MappingOptions = MappingOptions(),
) -> MappingResult:
    """Map the data points of an export; ``baselines`` holds the series of ``metric_series_keys``."""
    result = MappingResult()
    tracker = SeriesTracker(baselines or {})
    owners = iter(range(1 << 62))
    for ri, resource_metrics in enumerate(request.resource_metrics):
        resource = attributes_flat(resource_metrics.resource.attributes)
        for si, scope_metrics in enumerate(resource_metrics.scope_metrics):
            scope = (scope_metrics.scope.name, scope_metrics.scope.version)
            for mi, metric in enumerate(scope_metrics.metrics):
                where = f"{metric.name[:100]} at resourceMetrics[{ri}].scopeMetrics[{si}].metrics[{mi}]"
                points, temporality = _points(metric)
                mapper = _metric_mapper(metric.name, resource, options)
                if mapper is None:
                    result.ignored += len(points)
                    continue
                context = MetricContext(result, tracker, options, metric.name, where, lambda: next(owners))
                decoded: list[PointValue] = []
                for pi, point in enumerate(points):
                    try:
                        decoded.append(point_from_proto(point, resource, (resource, scope, metric.name), temporality))
                    except RecordInvalid as exc:
                        result.reject(units=1, where=f"{where}.dataPoints[{pi}]", reason=str(exc))
                # Oldest first, so a batch holding several exports of one series yields each increment once.
                mapper(context, sorted(decoded, key=lambda p: p.time_unix_nano))
    result.series_updates = tracker.updates
    return result


def _metric_mapper(name: str, resource: Mapping[str, Any], options: MappingOptions) -> MetricMapper | None:
    """The mapper for a metric from this producer under these options, or None (ignored)."""
    vendor = as_str(resource.get("service.name")) in VENDOR_PRODUCERS
    if name == "gen_ai.client.token.usage":
        return None if vendor else gen_ai.gen_ai_token_usage
    if not options.facts_from_metrics:
        return None
    return VENDOR_METRIC_MAPPERS.get(name)
