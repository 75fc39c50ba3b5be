"""Daily compaction of the telemetry rollups, owned by the dashboard (read side only).

``HourlyRollup`` is keyed by hour and seven dimensions; 10 million events a month make a
quarter of a million rows, too many to sum for every page view. ``dashboard.compaction``
sums each complete UTC day of it three ways, each a fraction of its size:

- ``DailyRollup``: per day, all dimensions (filtered breakdowns), ~24x fewer rows;
- ``VersionHourRollup``: per hour, no dimensions (totals, hourly and daily trends);
- ``SliceDailyRollup``: per day and one dimension value (unfiltered breakdowns, compare);

and ``DailyToolErrorRollup``. Reads take the compacted days from the smallest table that
can answer and every other hour (today, partial days of a range) from the hourly ones, so
the numbers are the same sums either way (tests check equality on every endpoint).

A day already compacted is recompacted when its checksum (sum of ``events`` and of
``finished_task_tokens`` over its hourly rows; every stored event changes the first, and
tokens reaching an already finished task change the second) no longer matches, so late
events reach the daily tables at the next compaction run.
"""
from __future__ import annotations

from django.db import models

from telemetry.models import COUNTER_FIELDS, Organization

DIMENSION_FIELDS: tuple[str, ...] = ("os", "shell", "ide", "language", "tool")


class DailyRollup(models.Model):
    """HourlyRollup summed over one UTC day (``day`` = midnight UTC)."""

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    model_version = models.CharField(max_length=128)
    day = models.DateTimeField()
    os = models.CharField(max_length=32, default="")
    shell = models.CharField(max_length=32, default="")
    ide = models.CharField(max_length=64, default="")
    language = models.CharField(max_length=64, default="")
    tool = models.CharField(max_length=64, default="")
    # One BigIntegerField per HourlyRollup counter, with the same names (added below).

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["org", "model_version", "day", *DIMENSION_FIELDS], name="dashboard_daily_rollup_unique"
            )
        ]
        indexes = [models.Index(fields=["org", "day"], name="dashboard_daily_org_day")]


class VersionHourRollup(models.Model):
    """HourlyRollup summed over the five dimensions: per (org, version, hour), compacted days."""

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    model_version = models.CharField(max_length=128)
    hour = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["org", "model_version", "hour"], name="dashboard_version_hour_unique")]
        indexes = [models.Index(fields=["org", "hour"], name="dashboard_vh_org_hour")]


class SliceDailyRollup(models.Model):
    """DailyRollup summed over all dimensions but one: per (org, version, day, dimension, value)."""

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    model_version = models.CharField(max_length=128)
    day = models.DateTimeField()
    dimension = models.CharField(max_length=16)
    value = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["org", "model_version", "day", "dimension", "value"], name="dashboard_slice_daily_unique")
        ]
        indexes = [models.Index(fields=["org", "dimension", "day"], name="dashboard_slice_org_dim_day")]


for _model in (DailyRollup, VersionHourRollup, SliceDailyRollup):
    for _counter in COUNTER_FIELDS:
        _model.add_to_class(_counter, models.BigIntegerField(default=0))


class DailyToolErrorRollup(models.Model):
    """ToolErrorRollup summed over one UTC day."""

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    model_version = models.CharField(max_length=128)
    day = models.DateTimeField()
    os = models.CharField(max_length=32, default="")
    shell = models.CharField(max_length=32, default="")
    tool = models.CharField(max_length=64, default="")
    error_kind = models.CharField(max_length=32)
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["org", "model_version", "day", "os", "shell", "tool", "error_kind"], name="dashboard_daily_tool_error_unique"
            )
        ]
        indexes = [models.Index(fields=["org", "day"], name="dashboard_daily_err_org_day")]


class CompactedDay(models.Model):
    """A day of an org held in the daily tables, with the checksum it was compacted at."""

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    day = models.DateTimeField()
    events = models.BigIntegerField()
    finished_task_tokens = models.BigIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["org", "day"], name="dashboard_compacted_day_unique")]


class CompactedVersion(models.Model):
    """Per model version over the compacted days: first and last hour seen, events."""

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    model_version = models.CharField(max_length=128)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    events = models.BigIntegerField()
    compacted_until = models.DateTimeField(help_text="the watermark these sums stop at (hours before it)")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["org", "model_version"], name="dashboard_compacted_version_unique")]


class RollupCompaction(models.Model):
    """Every hour of the org before ``compacted_until`` (a UTC midnight) is in the daily tables."""

    org = models.OneToOneField(Organization, on_delete=models.CASCADE, primary_key=True, related_name="+")
    compacted_until = models.DateTimeField()
    refreshed_at = models.DateTimeField()
