"""Training-runs HTTP API: the job's progress report, run reads and the staff stop action.

Thin adapters: decode, one service/selector call, encode.
"""
from __future__ import annotations

import math

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import permissions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from telemetry.api_errors import error_response
from telemetry.auth import HasApiKeyOrLogin, request_org
from training.models.runs import TrainingRun
from training.rl.reporting import RunReport
from training.selectors.runs import run_get, run_list, run_summary
from training.services.runs import run_report, run_stop, run_sync, run_token_check


class FiniteFloatField(serializers.FloatField):
    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if not math.isfinite(value):
            raise serializers.ValidationError("must be a finite number")
        return value


class RunReportSerializer(serializers.Serializer):
    step = serializers.IntegerField(min_value=0)
    total_steps = serializers.IntegerField(min_value=0)
    metrics = serializers.DictField(child=FiniteFloatField(), required=False, default=dict,
                                    help_text="Namespaced metrics of this step, e.g. reward/mean, loss/policy")
    logs = serializers.ListField(child=serializers.CharField(allow_blank=True, max_length=4000), required=False, default=list,
                                 max_length=500)
    checkpoint = serializers.CharField(required=False, allow_null=True, default=None, max_length=1000)


class RunReportAnswerSerializer(serializers.Serializer):
    stop = serializers.BooleanField(help_text="True when the job should stop (a stop was requested, or the run is finished)")


def _bearer(request) -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


class RunReportApi(APIView):
    """A running job reports its progress (authenticated by the run's own report token)."""

    authentication_classes: list = []
    permission_classes = [permissions.AllowAny]

    @extend_schema(
        request=RunReportSerializer,
        responses={
            200: RunReportAnswerSerializer,
            400: OpenApiResponse(description="Invalid report; `field` names the bad field"),
            401: OpenApiResponse(description="Missing or wrong run report token (Authorization: Bearer <token>)"),
            404: OpenApiResponse(description="No such run"),
        },
        description="Progress, metric values, new log lines and checkpoints of a running job. Answers whether to stop.",
    )
    def post(self, request, run_id):
        try:
            run = run_get(run_id=run_id)
        except TrainingRun.DoesNotExist:
            return error_response(404, f"No training run {run_id}.")
        if not run_token_check(run=run, token=_bearer(request)):
            return error_response(401, "Send the run's report token: 'Authorization: Bearer <token>'.")
        body = RunReportSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        stop = run_report(run_id=run.pk, report=RunReport(
            step=data["step"], total_steps=data["total_steps"], metrics=data["metrics"],
            logs=tuple(data["logs"]), checkpoint=data["checkpoint"]))
        return Response({"stop": stop})


def _visible_run(request, run_id) -> TrainingRun | None:
    try:
        run = run_get(run_id=run_id)
    except TrainingRun.DoesNotExist:
        return None
    if run.org_id is not None and run.org_id != request_org(request).pk:
        return None
    return run


class RunListApi(APIView):
    """Training runs of the caller's organization (and runs of no organization), newest first."""

    permission_classes = [HasApiKeyOrLogin]

    @extend_schema(responses={200: OpenApiTypes.OBJECT, 401: OpenApiResponse(description="Log in or send an API key")})
    def get(self, request):
        runs = run_list(org=request_org(request))
        return Response({"runs": [_listing(run) for run in runs]})


def _listing(run: TrainingRun) -> dict:
    summary = run_summary(run)
    summary.pop("metrics")
    summary.pop("logs_tail")
    return summary


class RunDetailApi(APIView):
    """One run: status, progress, metric curves, logs tail, artifacts, lineage (synced from Ray first)."""

    permission_classes = [HasApiKeyOrLogin]

    @extend_schema(responses={200: OpenApiTypes.OBJECT, 401: OpenApiResponse(description="Log in or send an API key"),
                              404: OpenApiResponse(description="No such run in your organization")})
    def get(self, request, run_id):
        run = _visible_run(request, run_id)
        if run is None:
            return error_response(404, f"No training run {run_id}.")
        return Response(run_summary(run_sync(run=run)))


class IsStaff(permissions.BasePermission):
    message = "Only staff can stop training runs."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user is not None and user.is_authenticated and user.is_staff)


class RunStopApi(APIView):
    """Stop a run (staff only): a Ray job is stopped through the Jobs API; a local run at its next step."""

    permission_classes = [IsStaff]

    @extend_schema(request=None, responses={200: OpenApiTypes.OBJECT, 403: OpenApiResponse(description="Not staff"),
                                            404: OpenApiResponse(description="No such run in your organization")})
    def post(self, request, run_id):
        run = _visible_run(request, run_id)
        if run is None:
            return error_response(404, f"No training run {run_id}.")
        return Response(run_summary(run_stop(run=run)))
