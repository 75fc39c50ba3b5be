"""Model assignment HTTP API: which version an IDE session uses (thin adapter)."""
from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from telemetry.api_errors import error_response
from telemetry.auth import ApiKeyAuthentication, HasApiKey
from training.selectors.deployments import NoServingVersion, assignment_get


class AssignmentQuerySerializer(serializers.Serializer):
    session_id = serializers.CharField(max_length=128, help_text="The IDE session asking.")
    user = serializers.CharField(max_length=256, required=False, help_text="The (hashed) user: all their sessions get one version.")


class AssignmentSerializer(serializers.Serializer):
    version = serializers.CharField(help_text="Model version to use for this session (send it as model.version).")
    arm = serializers.ChoiceField(choices=["serving", "control", "canary"])
    serving_version = serializers.CharField()
    canary_version = serializers.CharField(allow_null=True)
    canary_share = serializers.FloatField()
    rollout_id = serializers.IntegerField(allow_null=True)
    poll_interval_s = serializers.IntegerField(help_text="Ask again after this many seconds (also Cache-Control max-age).")


class AssignmentApi(APIView):
    """Which model version an IDE session should use now."""

    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [HasApiKey]

    @extend_schema(
        parameters=[
            OpenApiParameter("session_id", OpenApiTypes.STR, required=True, description="The IDE session asking."),
            OpenApiParameter("user", OpenApiTypes.STR, description="The user; keeps every session of a user on one version."),
        ],
        responses={
            200: AssignmentSerializer,
            400: OpenApiResponse(description="session_id missing or too long (the field is named)"),
            401: OpenApiResponse(description="Missing or invalid API key"),
            404: OpenApiResponse(description="The organization has no serving model version"),
        },
        description=(
            "Sticky per user (or per session without a user): a canary share of the organization's traffic goes "
            "to the canary while one runs. A promotion or rollback changes the answer immediately; clients "
            "re-ask every poll_interval_s seconds (Cache-Control: max-age says the same)."
        ),
    )
    def get(self, request):
        query = AssignmentQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        try:
            assignment = assignment_get(
                org=request.auth.org, session_id=query.validated_data["session_id"], user=query.validated_data.get("user"),
            )
        except NoServingVersion as exc:
            return error_response(404, str(exc))
        return Response(
            assignment.to_dict(), headers={"Cache-Control": f"private, max-age={assignment.poll_interval_s}"}
        )
