"""The JSON endpoint behind the reward-models page (thin adapter over ``rewards.selectors``)."""
from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers

from dashboard.api import ERRORS, TAGS, DashboardApi, OrgQuery
from rewards.selectors import reward_models_summary


class CalibrationBinOut(serializers.Serializer):
    lower = serializers.FloatField(help_text="confidence bin lower edge (>= 0.5)")
    upper = serializers.FloatField()
    count = serializers.IntegerField(help_text="held-out pairs in the bin")
    confidence = serializers.FloatField(allow_null=True, help_text="mean of max(p, 1 - p), p = sigmoid(r_chosen - r_rejected)")
    accuracy = serializers.FloatField(allow_null=True, help_text="share of those pairs the model ranked right")


class RewardModelOut(serializers.Serializer):
    version = serializers.CharField()
    kind = serializers.CharField(help_text="baseline (scikit-learn on signal features) or bradley_terry (torch, over text)")
    dataset = serializers.CharField(help_text="preference dataset snapshot it was trained on")
    parent = serializers.CharField(allow_null=True, help_text="the version active when it was trained")
    pairwise_accuracy = serializers.FloatField(allow_null=True, help_text="held-out (validation prompts) pairwise accuracy")
    ece = serializers.FloatField(allow_null=True, help_text="expected calibration error on the held-out pairs")
    calibration = CalibrationBinOut(many=True)
    train_pairs = serializers.IntegerField()
    validation_pairs = serializers.IntegerField()
    train_seconds = serializers.FloatField()
    created_at = serializers.DateTimeField()
    promoted_at = serializers.DateTimeField(allow_null=True)
    is_active = serializers.BooleanField()


class RewardModelsOut(serializers.Serializer):
    organization = serializers.CharField()
    versions = RewardModelOut(many=True)
    active = serializers.CharField(allow_null=True, help_text="the active version, when trained on this organization's data")


class RewardModelsApi(DashboardApi):
    """Reward-model versions of the organization, with held-out accuracy and calibration."""

    query_class = OrgQuery
    list_fields = ()

    @extend_schema(
        tags=TAGS, operation_id="dashboard_reward_models", parameters=[OrgQuery], responses={200: RewardModelsOut, **ERRORS},
        description=(
            "Every reward-model version trained on the organization's preference data, newest first: kind, dataset "
            "snapshot, parent, held-out pairwise accuracy, calibration bins and ECE, and which one is active."
        ),
    )
    def get(self, request):
        return super().get(request)

    def build(self, org, q):
        return reward_models_summary(org=org)
