"""The JSON endpoints behind the training-runs page (thin adapters over training.selectors/services)."""
from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import permissions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from dashboard.api import ERRORS, TAGS, DashboardApi, OrgQuery
from telemetry.api_errors import error_response
from telemetry.auth import request_org
from training.models.runs import TrainingRun
from training.selectors.runs import run_list, run_summary
from training.services.runs import run_stop, run_sync


class TrainingRunsQuery(OrgQuery):
    run = serializers.UUIDField(required=False, help_text="The run to show in full (default: the newest).")


class TrainingRunsApi(DashboardApi):
    """Training runs of the organization, newest first, and one of them in full."""

    query_class = TrainingRunsQuery
    list_fields = ()

    @extend_schema(
        tags=TAGS, operation_id="dashboard_training_runs", parameters=[TrainingRunsQuery],
        responses={200: OpenApiTypes.OBJECT, 404: OpenApiResponse(description="No such run in this organization"), **ERRORS},
        description="Every run's status and progress, and for the selected run its metric curves, logs tail, "
                    "artifacts and lineage (Ray-job runs are synced from the Jobs API first).",
    )
    def get(self, request):
        response = super().get(request)
        if response.status_code == 200:
            response.data["can_stop"] = bool(request.user and request.user.is_authenticated and request.user.is_staff)
        return response

    def build(self, org, q):
        runs = list(run_list(org=org))
        selected = next((r for r in runs if r.pk == q.get("run")), None) if q.get("run") else (runs[0] if runs else None)
        if q.get("run") and selected is None:
            from rest_framework.exceptions import NotFound

            raise NotFound(f"No training run {q['run']} in this organization.")
        if selected is not None:
            selected = run_sync(run=selected)
        listing = [{k: v for k, v in run_summary(r).items() if k not in ("metrics", "logs_tail")} for r in runs]
        return {"runs": listing, "selected": run_summary(selected) if selected is not None else None}


class TrainingRunStopApi(APIView):
    """Stop a training run (staff only)."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(tags=TAGS, operation_id="dashboard_training_run_stop", request=None,
                   parameters=[OpenApiParameter("run_id", OpenApiTypes.UUID, OpenApiParameter.PATH)],
                   responses={200: OpenApiTypes.OBJECT, 403: OpenApiResponse(description="Staff only"),
                              404: OpenApiResponse(description="No such run in this organization")})
    def post(self, request, run_id):
        if not request.user.is_staff:
            return error_response(403, "Only staff can stop training runs.")
        run = TrainingRun.objects.filter(pk=run_id).first()
        if run is None or (run.org_id is not None and run.org_id != request_org(request).pk):
            return error_response(404, f"No training run {run_id}.")
        return Response(run_summary(run_stop(run=run)))
