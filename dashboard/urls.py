"""Dashboard URLs: one page per registered ``dashboard.pages.Page``, and the JSON endpoints."""
from django.urls import path

from dashboard import api, api_rewards, api_training
from dashboard.pages import PAGES
from dashboard.views import DashboardPageView
from rewards.api import HackingReportsApi

app_name = "dashboard"

api_urlpatterns = [
    path("api/versions", api.VersionsApi.as_view(), name="api-versions"),
    path("api/overview", api.OverviewApi.as_view(), name="api-overview"),
    path("api/compare", api.CompareApi.as_view(), name="api-compare"),
    path("api/trends", api.TrendsApi.as_view(), name="api-trends"),
    path("api/breakdown", api.BreakdownApi.as_view(), name="api-breakdown"),
    path("api/tool-errors", api.ToolErrorsApi.as_view(), name="api-tool-errors"),
    path("api/ingestion", api.IngestionApi.as_view(), name="api-ingestion"),
    path("api/deployments", api.DeploymentsApi.as_view(), name="api-deployments"),
    path("api/dead-letters/replay", api.DeadLetterReplayApi.as_view(), name="api-dead-letters-replay"),
    path("api/reward-models", api_rewards.RewardModelsApi.as_view(), name="api-reward-models"),
    path("api/hacking-reports", HackingReportsApi.as_view(), name="api-hacking-reports"),
    path("api/training-runs", api_training.TrainingRunsApi.as_view(), name="api-training-runs"),
    path("api/training-runs/<uuid:run_id>/stop", api_training.TrainingRunStopApi.as_view(), name="api-training-run-stop"),
]

page_urlpatterns = [
    path(f"{page.slug}/" if page.slug else "", DashboardPageView.as_view(page=page), name=page.url_name)
    for page in PAGES
]

urlpatterns = [*api_urlpatterns, *page_urlpatterns]
