"""Metric data points: their values, cumulative → delta, and N events for a counter delta of N.

A cumulative point repeats the running total since its start time, so it is turned into a
delta against the last point seen of the same series (the caller keeps those in a store:
``baselines`` in, ``MappingResult.series_updates`` out). A point not newer than the
baseline is a re-sent duplicate and is ignored; a first point, or one whose start time
changed (a restart), counts in full.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from opentelemetry.proto.metrics.v1.metrics_pb2 import AggregationTemporality

from telemetry.otlp.common import (
    MAX_EVENTS_PER_POINT,
    Attrs,
    Draft,
    MappingOptions,
    MappingResult,
    RecordInvalid,
    SeriesPoint,
    Source,
    attributes_flat,
    digest,
)
from telemetry.otlp.envelope import map_source


@dataclass(frozen=True)
class PointValue:
    """One data point, reduced to what the metric mappers need."""

    attrs: Attrs
    start_time_unix_nano: int
    time_unix_nano: int
    value: float
    cumulative: bool
    series: str


class SeriesTracker:
    """Turns cumulative points into deltas against the last point seen of each series."""

    def __init__(self, baselines: Mapping[str, SeriesPoint]) -> None:
        self.baselines = dict(baselines)
        self.updates: dict[str, SeriesPoint] = {}

    def delta(self, point: PointValue) -> float | None:
        """The point's increment; None for a point already counted (not newer than the baseline)."""
        if not point.cumulative:
            return point.value
        last = self.baselines.get(point.series)
        if last is not None and last.start_time_unix_nano == point.start_time_unix_nano:
            if point.time_unix_nano <= last.time_unix_nano:
                return None
            increment = point.value - last.value
            increment = point.value if increment < 0 else increment  # a reset within the same start
        else:
            increment = point.value
        newest = SeriesPoint(point.start_time_unix_nano, point.time_unix_nano, point.value)
        self.baselines[point.series] = newest
        self.updates[point.series] = newest
        return increment


MetricMapper = Callable[["MetricContext", list[PointValue]], None]


@dataclass
class MetricContext:
    result: MappingResult
    tracker: SeriesTracker
    options: MappingOptions
    metric_name: str
    where: str
    next_owner: Callable[[], int]


def point_number(point: Any) -> float:
    if hasattr(point, "as_int"):
        kind = point.WhichOneof("value")
        if kind is None:
            raise RecordInvalid("the data point has no value")
        value = float(getattr(point, kind))
    else:
        if point.DESCRIPTOR.fields_by_name["sum"].has_presence and not point.HasField("sum"):
            raise RecordInvalid("the data point has no sum")
        value = point.sum
    if not math.isfinite(value) or value < 0:
        raise RecordInvalid(f"value {value!r} is not a finite non-negative number")
    return value


def point_from_proto(point: Any, resource: Mapping[str, Any], series_base: tuple, temporality: int | None) -> PointValue:
    if temporality not in (AggregationTemporality.AGGREGATION_TEMPORALITY_DELTA, AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE):
        raise RecordInvalid("aggregation_temporality must be DELTA or CUMULATIVE")
    attrs = Attrs(attributes_flat(point.attributes), resource)
    return PointValue(
        attrs=attrs,
        start_time_unix_nano=point.start_time_unix_nano,
        time_unix_nano=point.time_unix_nano,
        value=point_number(point),
        cumulative=temporality == AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE,
        series=digest("series", *series_base, attrs.record),
    )


def repeated_events(context: MetricContext, point: PointValue, draft_of: Callable[[Source, int], Draft | None]) -> None:
    """N events for a counter increment of N, each with its own id."""
    where = f"{context.where} point at {point.time_unix_nano}"
    try:
        increment = context.tracker.delta(point)
    except RecordInvalid as exc:
        context.result.reject(units=1, where=where, reason=str(exc))
        return
    if increment is None or round(increment) <= 0:
        context.result.ignored += 1
        return
    count = round(increment)
    if count > MAX_EVENTS_PER_POINT:
        context.result.reject(units=1, where=where, reason=f"an increment of {count} exceeds {MAX_EVENTS_PER_POINT} events per data point")
        return
    source = Source(context.metric_name, point.attrs, point.time_unix_nano, digest("metric", point.series, point.start_time_unix_nano, point.time_unix_nano), where)
    first = draft_of(source, 0)
    if first is None:
        context.result.ignored += 1
        return
    drafts = [first] + [d for i in range(1, count) if (d := draft_of(source, i)) is not None]
    map_source(context.result, context.next_owner(), source, lambda s, o: drafts, context.options, units=1)
