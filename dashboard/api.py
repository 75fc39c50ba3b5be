"""The JSON endpoints behind every dashboard chart (thin DRF adapters over dashboard.selectors).

All read the caller's organization only (``telemetry.auth.request_org``: the logged-in
user's membership, ``?org=<slug>`` to pick one of several, or an API key's org). A model
version the organization has no data for is a 404, never another org's numbers.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import permissions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from dashboard import selectors
from dashboard.catalog import DEFAULT_RETENTION, METRICS, RETENTION_LABELS
from dashboard.pipeline import pipeline_status
from dashboard.tasks import dead_letters_replay_task
from telemetry.api_errors import error_response
from telemetry.auth import request_org
from telemetry.models import ApiKey

LAST_CHOICES = {"1h": timedelta(hours=1), "24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30), "90d": timedelta(days=90), "all": None}
TAGS = ["dashboard"]


class MemberOrApiKey(permissions.BasePermission):
    """A logged-in user (their org is checked by request_org) or an organization's API key."""

    message = "Log in, or send an API key."

    def has_permission(self, request, view) -> bool:
        return isinstance(request.auth, ApiKey) or bool(request.user and request.user.is_authenticated)


# --- query parameters ---------------------------------------------------------------


class OrgQuery(serializers.Serializer):
    org = serializers.SlugField(required=False, help_text="Organization slug, for users in several organizations.")


class ScopeQuery(OrgQuery):
    """Parameters every read endpoint takes."""

    model_version = serializers.ListField(
        child=serializers.CharField(max_length=128), required=False,
        help_text="Versions to include: repeat the parameter or comma-separate. Default: all of the org's versions.",
    )
    since = serializers.DateTimeField(required=False, help_text="Start (inclusive, floored to the hour).")
    until = serializers.DateTimeField(required=False, help_text="End (exclusive).")
    last = serializers.ChoiceField(choices=list(LAST_CHOICES), required=False, help_text="Shortcut for since = now - last. Ignored when since is given.")
    retention = serializers.ChoiceField(choices=list(RETENTION_LABELS), default=DEFAULT_RETENTION, help_text="Code-retention checkpoint T.")

    def validate(self, attrs):
        if attrs.get("since") is None and attrs.get("last") and LAST_CHOICES[attrs["last"]] is not None:
            attrs["since"] = timezone.now() - LAST_CHOICES[attrs["last"]]
        if attrs.get("since") and attrs.get("until") and attrs["since"] >= attrs["until"]:
            raise serializers.ValidationError({"until": "until must be after since"})
        return attrs


class OverviewQuery(ScopeQuery):
    baseline = serializers.CharField(max_length=128, required=False, help_text="Version the deltas are against. Default: the one before the newest.")


class CompareQuery(ScopeQuery):
    a = serializers.CharField(max_length=128, required=False, help_text="Baseline version. Default: the one before the newest.")
    b = serializers.CharField(max_length=128, required=False, help_text="Candidate version. Default: the newest.")


class TrendsQuery(ScopeQuery):
    bucket = serializers.ChoiceField(choices=["auto", "hour", "day"], default="auto", help_text="auto: hours for spans up to 72 h, else days.")
    metric = serializers.ListField(
        child=serializers.ChoiceField(choices=sorted(METRICS)), required=False,
        help_text="Metrics to chart (repeat or comma-separate). Default: the four headline metrics.",
    )


class DimensionFilters(serializers.Serializer):
    os = serializers.CharField(max_length=32, required=False)
    shell = serializers.CharField(max_length=32, required=False)
    ide = serializers.CharField(max_length=64, required=False)
    language = serializers.CharField(max_length=64, required=False)
    tool = serializers.CharField(max_length=64, required=False)


class BreakdownQuery(ScopeQuery, DimensionFilters):
    dimension = serializers.ChoiceField(choices=list(selectors.DIMENSIONS), default="os")


class ToolErrorsQuery(ScopeQuery):
    os = serializers.CharField(max_length=32, required=False)
    shell = serializers.CharField(max_length=32, required=False)
    tool = serializers.CharField(max_length=64, required=False)
    limit = serializers.IntegerField(min_value=1, max_value=50, default=10)


class IngestionQuery(OrgQuery):
    minutes = serializers.IntegerField(min_value=5, max_value=24 * 60, default=60, help_text="Events-per-minute window.")
    hours = serializers.IntegerField(min_value=1, max_value=24 * 30, default=24, help_text="Rejections window.")


# --- responses (for the OpenAPI schema) ---------------------------------------------------


class EstimateOut(serializers.Serializer):
    value = serializers.FloatField(allow_null=True)
    low = serializers.FloatField(allow_null=True, help_text="95% interval, lower end")
    high = serializers.FloatField(allow_null=True, help_text="95% interval, upper end")
    se = serializers.FloatField(allow_null=True, help_text="standard error")
    n = serializers.IntegerField(help_text="units behind the estimate: calls, checks, tasks or decisions")


class DifferenceOut(serializers.Serializer):
    diff = serializers.FloatField(allow_null=True, help_text="candidate - baseline")
    low = serializers.FloatField(allow_null=True)
    high = serializers.FloatField(allow_null=True)
    relative = serializers.FloatField(allow_null=True, help_text="candidate / baseline - 1")
    relative_low = serializers.FloatField(allow_null=True)
    relative_high = serializers.FloatField(allow_null=True)
    p_value = serializers.FloatField(allow_null=True)
    significant = serializers.BooleanField(help_text="p < 0.05")
    test = serializers.CharField()
    verdict = serializers.ChoiceField(choices=["better", "worse", "no_change"])


class MetricOut(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    kind = serializers.ChoiceField(choices=["proportion", "ratio", "mean", "point"])
    better = serializers.ChoiceField(choices=["higher", "lower"])
    unit = serializers.ChoiceField(choices=["share", "tokens"])
    description = serializers.CharField()


class VersionOut(serializers.Serializer):
    model_version = serializers.CharField()
    first_seen = serializers.DateTimeField()
    last_seen = serializers.DateTimeField()
    events = serializers.IntegerField()


class VersionsOut(serializers.Serializer):
    organization = serializers.CharField()
    versions = VersionOut(many=True)


class OverviewCellOut(serializers.Serializer):
    estimate = EstimateOut()
    delta = DifferenceOut(required=False, help_text="against the baseline; absent on the baseline itself")


class OverviewVersionOut(VersionOut):
    is_baseline = serializers.BooleanField()
    metrics = serializers.DictField(child=OverviewCellOut(), help_text="by metric key")


class OverviewOut(serializers.Serializer):
    organization = serializers.CharField()
    retention = serializers.CharField()
    baseline = serializers.CharField(allow_null=True)
    newest = serializers.CharField(allow_null=True)
    selected = serializers.ListField(child=serializers.CharField())
    metrics = MetricOut(many=True)
    versions = OverviewVersionOut(many=True)


class ComparisonOut(MetricOut):
    a = EstimateOut()
    b = EstimateOut()
    difference = DifferenceOut()


class BreakdownEntryOut(serializers.Serializer):
    value = serializers.CharField()
    metrics = ComparisonOut(many=True)


class ErrorKindCompareOut(serializers.Serializer):
    error_kind = serializers.CharField()
    count_a = serializers.IntegerField()
    count_b = serializers.IntegerField()
    rate_a = serializers.FloatField(allow_null=True, help_text="errors of this kind per tool call")
    rate_b = serializers.FloatField(allow_null=True)
    difference = serializers.DictField()


class CompareOut(serializers.Serializer):
    organization = serializers.CharField()
    a = serializers.CharField(allow_null=True)
    b = serializers.CharField(allow_null=True)
    retention = serializers.CharField()
    metrics = ComparisonOut(many=True)
    breakdowns = serializers.DictField(child=BreakdownEntryOut(many=True), help_text="by dimension: os, shell, ide, language, tool")
    error_kinds = ErrorKindCompareOut(many=True)
    summary = serializers.DictField(help_text="counters_to_metrics() of each version, with first/last seen")


class SeriesOut(serializers.Serializer):
    model_version = serializers.CharField()
    metrics = serializers.DictField(help_text="metric key -> {value: [...], low: [...], high: [...], n: [...]}, aligned on buckets")


class MarkerOut(serializers.Serializer):
    model_version = serializers.CharField()
    first_seen = serializers.DateTimeField()


class TrendsOut(serializers.Serializer):
    organization = serializers.CharField()
    bucket = serializers.ChoiceField(choices=["hour", "day"])
    buckets = serializers.ListField(child=serializers.DateTimeField())
    metrics = MetricOut(many=True)
    series = SeriesOut(many=True)
    markers = MarkerOut(many=True)


class BreakdownValueOut(serializers.Serializer):
    value = serializers.CharField()
    versions = serializers.DictField(help_text="version -> metric key -> estimate")


class BreakdownOut(serializers.Serializer):
    organization = serializers.CharField()
    dimension = serializers.CharField()
    filters = serializers.DictField(child=serializers.CharField())
    metrics = MetricOut(many=True)
    versions = serializers.ListField(child=serializers.CharField())
    values = BreakdownValueOut(many=True)


class ErrorKindOut(serializers.Serializer):
    error_kind = serializers.CharField()
    total = serializers.IntegerField()
    by_version = serializers.DictField(help_text="version -> {count, per_call}")


class ToolErrorsOut(serializers.Serializer):
    organization = serializers.CharField()
    versions = serializers.ListField(child=serializers.CharField())
    kinds = ErrorKindOut(many=True)


class PipelineOut(serializers.Serializer):
    mode = serializers.ChoiceField(choices=["kafka", "embedded"])
    consumer_group = serializers.CharField(allow_null=True)
    topic = serializers.CharField(allow_null=True)
    dlq_topic = serializers.CharField(allow_null=True)
    consumer_lag = serializers.IntegerField(allow_null=True, help_text="messages not yet consumed (pipeline-wide)")
    partitions = serializers.ListField(child=serializers.DictField())
    dead_letters = serializers.IntegerField(allow_null=True, help_text="dead-lettered messages not yet replayed (pipeline-wide)")
    error = serializers.CharField(allow_null=True)


class MinuteOut(serializers.Serializer):
    minute = serializers.DateTimeField()
    stored = serializers.IntegerField()


class ReasonOut(serializers.Serializer):
    reason = serializers.CharField()
    count = serializers.IntegerField()


class IngestionOut(serializers.Serializer):
    organization = serializers.CharField()
    window_minutes = serializers.IntegerField()
    per_minute = MinuteOut(many=True)
    events_per_minute = serializers.FloatField(help_text="mean over the last 5 minutes")
    stored_in_window = serializers.IntegerField()
    rejections_window_hours = serializers.IntegerField()
    rejections = ReasonOut(many=True)
    rejected_in_window = serializers.IntegerField()
    pipeline = PipelineOut()
    can_replay = serializers.BooleanField()


class ReplayOut(serializers.Serializer):
    status = serializers.ChoiceField(choices=["queued"])
    dead_letters = serializers.IntegerField(allow_null=True, help_text="backlog when the replay was queued")


# --- views ----------------------------------------------------------------------------


def query_data(request, list_fields: tuple[str, ...] = ("model_version",)) -> dict[str, Any]:
    """Query parameters as a dict; list fields accept repeats and commas."""
    data: dict[str, Any] = {}
    for key in request.query_params:
        if key in list_fields:
            values = [v.strip() for raw in request.query_params.getlist(key) for v in raw.split(",") if v.strip()]
            if values:
                data[key] = values
        else:
            data[key] = request.query_params.get(key)
    return data


ERRORS = {
    400: OpenApiResponse(description="Invalid parameters"),
    403: OpenApiResponse(description="Not logged in / not a member of the organization"),
}
NOT_FOUND = {404: OpenApiResponse(description="A model version this organization has no data for")}


class DashboardApi(APIView):
    permission_classes = [MemberOrApiKey]
    query_class: type[serializers.Serializer] = ScopeQuery
    list_fields: tuple[str, ...] = ("model_version",)

    def get(self, request):
        query = self.query_class(data=query_data(request, self.list_fields))
        query.is_valid(raise_exception=True)
        org = request_org(request)
        try:
            payload = self.build(org, query.validated_data)
        except selectors.UnknownVersion as exc:
            return error_response(404, str(exc), field="model_version")
        return Response({"organization": org.slug, **payload})

    def build(self, org, q: dict[str, Any]) -> dict[str, Any]:  # pragma: no cover - abstract
        raise NotImplementedError


def _scope(q: dict[str, Any]) -> dict[str, Any]:
    return {"since": q.get("since"), "until": q.get("until")}


class VersionsApi(DashboardApi):
    """The organization's model versions, oldest first."""

    query_class = OrgQuery
    list_fields = ()

    @extend_schema(tags=TAGS, operation_id="dashboard_versions", parameters=[OrgQuery], responses={200: VersionsOut, **ERRORS})
    def get(self, request):
        return super().get(request)

    def build(self, org, q):
        return {"versions": selectors.dashboard_versions(org=org)}


class OverviewApi(DashboardApi):
    """Overview chart data: headline metrics per version with 95% CIs and deltas vs a baseline."""

    query_class = OverviewQuery

    @extend_schema(
        tags=TAGS, operation_id="dashboard_overview", parameters=[OverviewQuery], responses={200: OverviewOut, **ERRORS, **NOT_FOUND},
        description=(
            "Per model version: code retention at T (default 5 min), tool-call error rate, tokens per task and "
            "acceptance rate, each with a 95% confidence interval, and its difference against the baseline version "
            "(absolute and relative, 95% CI, p-value). Read from hourly rollups."
        ),
    )
    def get(self, request):
        return super().get(request)

    def build(self, org, q):
        return selectors.overview_get(
            org=org, versions=q.get("model_version", []), baseline=q.get("baseline"), retention=q["retention"], **_scope(q)
        )


class CompareApi(DashboardApi):
    """Compare chart data: two versions on every metric and breakdown."""

    query_class = CompareQuery

    @extend_schema(
        tags=TAGS, operation_id="dashboard_compare", parameters=[CompareQuery], responses={200: CompareOut, **ERRORS, **NOT_FOUND},
        description=(
            "Version b against version a: every metric (retention at every T, unchanged shares, tool-call error rate, "
            "tokens per task and per accepted line, acceptance, task success, feedback) with the difference, its 95% CI "
            "and p-value (two-proportion z-test for rates, Welch t-test for ratios and means); the same per OS, shell, "
            "IDE, language and tool; and tool-error kinds."
        ),
    )
    def get(self, request):
        return super().get(request)

    def build(self, org, q):
        return selectors.compare_get(org=org, a=q.get("a"), b=q.get("b"), retention=q["retention"], **_scope(q))


class TrendsApi(DashboardApi):
    """Trends chart data: metrics per version over time."""

    query_class = TrendsQuery
    list_fields = ("model_version", "metric")

    @extend_schema(
        tags=TAGS, operation_id="dashboard_trends", parameters=[TrendsQuery], responses={200: TrendsOut, **ERRORS, **NOT_FOUND},
        description="Metrics per model version per hour or day (with 95% CIs), and the hour each version first appeared.",
    )
    def get(self, request):
        return super().get(request)

    def build(self, org, q):
        return selectors.trends_get(
            org=org, versions=q.get("model_version", []), metric_keys=q.get("metric", []), bucket=q["bucket"],
            retention=q["retention"], **_scope(q),
        )


class BreakdownApi(DashboardApi):
    """Breakdown chart data: metrics per OS, shell, IDE, language or tool."""

    query_class = BreakdownQuery

    @extend_schema(
        tags=TAGS, operation_id="dashboard_breakdown", parameters=[BreakdownQuery], responses={200: BreakdownOut, **ERRORS, **NOT_FOUND},
        description=(
            "Metrics per value of one dimension and per version, with 95% CIs, optionally filtered on the others. "
            "Windows terminal-command accuracy: dimension=shell&os=windows&tool=shell."
        ),
    )
    def get(self, request):
        return super().get(request)

    def build(self, org, q):
        filters = {d: q[d] for d in selectors.DIMENSIONS if q.get(d)}
        return selectors.breakdown_get(
            org=org, dimension=q["dimension"], versions=q.get("model_version", []), retention=q["retention"], filters=filters, **_scope(q)
        )


class ToolErrorsApi(DashboardApi):
    """Tool-error chart data: the most frequent error kinds."""

    query_class = ToolErrorsQuery

    @extend_schema(
        tags=TAGS, operation_id="dashboard_tool_errors", parameters=[ToolErrorsQuery], responses={200: ToolErrorsOut, **ERRORS, **NOT_FOUND},
        description="The most frequent tool-error kinds per version, as counts and per tool call, optionally by OS, shell and tool.",
    )
    def get(self, request):
        return super().get(request)

    def build(self, org, q):
        filters = {d: q[d] for d in ("os", "shell", "tool") if q.get(d)}
        return selectors.tool_errors_get(org=org, versions=q.get("model_version", []), filters=filters, limit=q["limit"], **_scope(q))


def can_replay(user) -> bool:
    """Replaying the shared dead-letter queue is an operator action: staff only."""
    return bool(user and user.is_authenticated and user.is_staff)


class IngestionApi(DashboardApi):
    """Ingestion-health chart data."""

    query_class = IngestionQuery
    list_fields = ()

    @extend_schema(
        tags=TAGS, operation_id="dashboard_ingestion", parameters=[IngestionQuery], responses={200: IngestionOut, **ERRORS},
        description=(
            "Events stored per minute and rejected events by reason for the organization; consumer lag and "
            "dead-letter backlog of the (shared) pipeline: Kafka offsets when Kafka is configured, else 0 and "
            "the unreplayed DeadLetter rows."
        ),
    )
    def get(self, request):
        return super().get(request)

    def build(self, org, q):
        return {
            **selectors.ingestion_get(org=org, minutes=q["minutes"], hours=q["hours"]),
            "pipeline": pipeline_status(),
            "can_replay": can_replay(self.request.user),
        }


class DeadLetterReplayApi(APIView):
    """Replay the dead-letter queue (staff only)."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        tags=TAGS, operation_id="dashboard_dead_letters_replay", request=None,
        responses={202: ReplayOut, 403: OpenApiResponse(description="Staff only")},
        description=(
            "Queues a replay of every unreplayed dead-lettered message into the pipeline (Celery task, dispatched "
            "after commit). Idempotent: events already stored are not counted twice."
        ),
    )
    def post(self, request):
        if not can_replay(request.user):
            return error_response(403, "Only staff can replay the dead-letter queue.")
        backlog = pipeline_status(fresh=True)["dead_letters"]
        transaction.on_commit(lambda: dead_letters_replay_task.delay())
        return Response({"status": "queued", "dead_letters": backlog}, status=202)


__all__ = [
    "BreakdownApi", "CompareApi", "DeadLetterReplayApi", "IngestionApi", "OverviewApi", "ToolErrorsApi", "TrendsApi", "VersionsApi",
]


# --- deployments (model registry, canaries) --------------------------------------------


class DeploymentsApi(DashboardApi):
    """Model versions with lineage and state; canary rollouts with progress and every decision."""

    query_class = OrgQuery
    list_fields = ()

    @extend_schema(
        tags=TAGS, operation_id="dashboard_deployments", parameters=[OrgQuery], responses={200: OpenApiTypes.OBJECT, **ERRORS},
        description=(
            "versions: name, state (candidate, canary, serving, retired, rolled_back), artifact, parent, RL run, "
            "reward-model version, gate result; rollouts: candidate, control, status, canary share, sessions per arm "
            "against the minimum (progress), deadline, and every decision with its verdict, reason and per-metric numbers."
        ),
    )
    def get(self, request):
        return super().get(request)

    def build(self, org, q):
        from training.selectors.deployments import deployments_overview

        return deployments_overview(org=org)
