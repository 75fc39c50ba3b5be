"""Compacting complete days of the hourly rollups into the daily tables (dashboard.models).

``rollups_compact`` runs periodically (Celery beat: ``dashboard.tasks.rollups_compact_task``,
or ``manage.py compact_rollups``). Without it the dashboard reads the hourly rollups only:
same numbers, slower on large data.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone as dt_timezone

from django.db import connection, models, transaction
from django.db.models import Max, Min, Sum
from django.db.models.functions import TruncDay
from django.utils import timezone

from dashboard.models import (
    DIMENSION_FIELDS,
    CompactedDay,
    CompactedVersion,
    DailyRollup,
    DailyToolErrorRollup,
    RollupCompaction,
    SliceDailyRollup,
    VersionHourRollup,
)
from telemetry.models import COUNTER_FIELDS, HourlyRollup, Organization, ToolErrorRollup

EPOCH = datetime(1970, 1, 1, tzinfo=dt_timezone.utc)
DAY = timedelta(days=1)


@dataclass(frozen=True)
class CompactionResult:
    org: str
    compacted_until: datetime
    days_checked: int
    days_rebuilt: int


def day_floor(moment: datetime) -> datetime:
    return moment.astimezone(dt_timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)


def _db_datetime(value: datetime):
    return models.DateTimeField().get_db_prep_value(value, connection)


def _day_rebuild(org: Organization, day: datetime) -> None:
    """Replace ``day``'s compacted rows of ``org`` by the sums of its hourly rows."""
    DailyRollup.objects.filter(org=org, day=day).delete()
    SliceDailyRollup.objects.filter(org=org, day=day).delete()
    VersionHourRollup.objects.filter(org=org, hour__gte=day, hour__lt=day + DAY).delete()
    DailyToolErrorRollup.objects.filter(org=org, day=day).delete()
    counters = ", ".join(COUNTER_FIELDS)
    sums = ", ".join(f"SUM({c})" for c in COUNTER_FIELDS)
    dims = "model_version, os, shell, ide, language, tool"
    hourly = HourlyRollup._meta.db_table
    where = "WHERE org_id = %s AND hour >= %s AND hour < %s"
    in_day = [org.id, _db_datetime(day), _db_datetime(day + DAY)]
    bounds = [_db_datetime(day), *in_day]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {DailyRollup._meta.db_table} (day, org_id, {dims}, {counters}) "
            f"SELECT %s, org_id, {dims}, {sums} FROM {hourly} {where} GROUP BY org_id, {dims}",
            bounds,
        )
        cursor.execute(
            f"INSERT INTO {VersionHourRollup._meta.db_table} (org_id, model_version, hour, {counters}) "
            f"SELECT org_id, model_version, hour, {sums} FROM {hourly} {where} GROUP BY org_id, model_version, hour",
            in_day,
        )
        for dimension in DIMENSION_FIELDS:
            cursor.execute(
                f"INSERT INTO {SliceDailyRollup._meta.db_table} (day, dimension, org_id, model_version, value, {counters}) "
                f"SELECT %s, %s, org_id, model_version, {dimension}, {sums} FROM {hourly} {where} GROUP BY org_id, model_version, {dimension}",
                [_db_datetime(day), dimension, *in_day],
            )
        error_dims = "model_version, os, shell, tool, error_kind"
        cursor.execute(
            f"INSERT INTO {DailyToolErrorRollup._meta.db_table} (day, org_id, {error_dims}, count) "
            f"SELECT %s, org_id, {error_dims}, SUM(count) FROM {ToolErrorRollup._meta.db_table} "
            f"WHERE org_id = %s AND hour >= %s AND hour < %s GROUP BY org_id, {error_dims}",
            bounds,
        )


def _versions_rebuild(org: Organization, until: datetime) -> None:
    """First/last hour and events per version over the compacted days (hours < ``until``)."""
    CompactedVersion.objects.filter(org=org).delete()
    rows = DailyRollup.objects.filter(org=org).values("model_version").annotate(first=Min("day"), last=Max("day"), events=Sum("events")).order_by()
    versions = []
    for row in rows:
        hourly = HourlyRollup.objects.filter(org=org, model_version=row["model_version"])
        first = hourly.filter(hour__gte=row["first"], hour__lt=row["first"] + DAY).aggregate(h=Min("hour"))["h"]
        last = hourly.filter(hour__gte=row["last"], hour__lt=row["last"] + DAY).aggregate(h=Max("hour"))["h"]
        versions.append(CompactedVersion(
            org=org, model_version=row["model_version"], first_seen=first, last_seen=last, events=row["events"], compacted_until=until,
        ))
    CompactedVersion.objects.bulk_create(versions)


def rollups_compact(*, org: Organization, now: datetime | None = None) -> CompactionResult:
    """Bring the daily tables of ``org`` up to the start of today (UTC); return what was done.

    Every day before today whose hourly checksum differs from the one it was compacted at
    (or that was never compacted) is rebuilt; all in one transaction, so readers see either
    the old or the new daily tables with the matching watermark. Concurrent runs for one
    org serialize on its RollupCompaction row.
    """
    today = day_floor(now or timezone.now())
    RollupCompaction.objects.get_or_create(org=org, defaults={"compacted_until": EPOCH, "refreshed_at": timezone.now()})
    with transaction.atomic():
        state = RollupCompaction.objects.select_for_update().get(org=org)
        checksums = {
            row["day"]: (row["events"] or 0, row["tokens"] or 0)
            for row in HourlyRollup.objects.filter(org=org, hour__lt=today)
            .annotate(day=TruncDay("hour", tzinfo=dt_timezone.utc))
            .values("day")
            .annotate(events=Sum("events"), tokens=Sum("finished_task_tokens"))
            .order_by()
        }
        stored = {d.day: (d.events, d.finished_task_tokens) for d in CompactedDay.objects.filter(org=org)}
        stale = sorted(day for day, sums in checksums.items() if stored.get(day) != sums)
        gone = sorted(day for day in stored if day not in checksums)
        for day in [*stale, *gone]:
            _day_rebuild(org, day)
        if stale or gone:
            CompactedDay.objects.filter(org=org, day__in=[*stale, *gone]).delete()
            CompactedDay.objects.bulk_create([
                CompactedDay(org=org, day=day, events=checksums[day][0], finished_task_tokens=checksums[day][1]) for day in stale
            ])
        if stale or gone or state.compacted_until != today:
            _versions_rebuild(org, today)
        state.compacted_until = today
        state.refreshed_at = timezone.now()
        state.save(update_fields=["compacted_until", "refreshed_at"])
    return CompactionResult(org=org.slug, compacted_until=today, days_checked=len(checksums), days_rebuilt=len(stale) + len(gone))


def rollups_compact_all(*, now: datetime | None = None) -> list[CompactionResult]:
    """``rollups_compact`` for every organization with rollups."""
    org_ids = HourlyRollup.objects.values_list("org_id", flat=True).distinct().order_by()
    return [rollups_compact(org=org, now=now) for org in Organization.objects.filter(id__in=list(org_ids)).order_by("slug")]


def compaction_watermark(*, org: Organization) -> datetime | None:
    """Hours of ``org`` before this are in the compacted tables (None: nothing compacted)."""
    until = RollupCompaction.objects.filter(org=org).values_list("compacted_until", flat=True).first()
    return until if until is not None and until > EPOCH else None
