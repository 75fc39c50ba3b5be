"""Server-rendered dashboard pages. Each renders its shell and filters; its charts and tables
are filled from the JSON endpoints in ``dashboard.api`` (the same data anyone can fetch)."""
from __future__ import annotations

from typing import Any

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.views.generic import TemplateView
from rest_framework import exceptions as drf_exceptions

from dashboard import selectors
from dashboard.api import LAST_CHOICES, can_replay
from dashboard.catalog import DEFAULT_RETENTION, RETENTION_LABELS, RETENTION_TITLES
from dashboard.pages import PAGES, Page, sections
from dashboard.reports import default_pair
from telemetry.auth import request_org
from telemetry.models import Organization

RANGE_TITLES = {"all": "All time", "1h": "Last hour", "24h": "Last 24 hours", "7d": "Last 7 days", "30d": "Last 30 days", "90d": "Last 90 days"}
BUCKET_TITLES = {"auto": "Auto", "hour": "Hourly", "day": "Daily"}


class _SessionRequest:
    """What ``request_org`` reads from a DRF request, for a plain Django (session) request."""

    auth = None

    def __init__(self, request) -> None:
        self.user = request.user
        self.GET = request.GET


def page_org(request) -> Organization:
    """The organization the page shows (a Django-side adapter over ``request_org``)."""
    try:
        return request_org(_SessionRequest(request))
    except (drf_exceptions.PermissionDenied, drf_exceptions.NotAuthenticated) as exc:
        raise PermissionDenied(str(exc.detail)) from exc


class DashboardPageView(LoginRequiredMixin, TemplateView):
    """One registered ``Page``: navigation, filters and the endpoints its charts read."""

    page: Page | None = None

    def get_template_names(self) -> list[str]:
        return [self.page.template]

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        request = self.request
        org = page_org(request)
        versions = selectors.dashboard_versions(org=org)
        names = [v["model_version"] for v in versions]
        default_a, default_b = default_pair(names)
        selected = [v for raw in request.GET.getlist("model_version") for v in raw.split(",") if v in names]
        chosen_baseline = request.GET.get("baseline")
        chosen_baseline = chosen_baseline if chosen_baseline in names else default_pair(selected or names)[0]
        orgs = list(Organization.objects.filter(memberships__user=request.user).order_by("slug"))
        config = {
            "page": self.page.url_name,
            "org": org.slug if len(orgs) > 1 else None,
            "endpoints": {name: reverse(f"dashboard:{name}") for name in self.page.endpoints},
            "replay": reverse("dashboard:api-dead-letters-replay"),
            "versions": names,
        }
        context.update(
            page=self.page,
            pages=PAGES,
            sections=sections(),
            org=org,
            orgs=orgs,
            versions=versions,
            version_names=names,
            selected_versions=selected,
            baseline=chosen_baseline,
            pair_a=request.GET.get("a") if request.GET.get("a") in names else default_a,
            pair_b=request.GET.get("b") if request.GET.get("b") in names else default_b,
            retention=request.GET.get("retention") if request.GET.get("retention") in RETENTION_LABELS else DEFAULT_RETENTION,
            retention_choices=[(label, RETENTION_TITLES[label]) for label in RETENTION_LABELS],
            last=request.GET.get("last") if request.GET.get("last") in LAST_CHOICES else "all",
            range_choices=[(key, RANGE_TITLES[key]) for key in ("all", "1h", "24h", "7d", "30d", "90d")],
            bucket=request.GET.get("bucket") if request.GET.get("bucket") in BUCKET_TITLES else "auto",
            bucket_choices=list(BUCKET_TITLES.items()),
            dimension_titles=selectors.DIMENSION_TITLES,
            # Page-specific parameters the filter form must keep when it is re-submitted.
            hidden_params=[(k, request.GET[k]) for k in ("dimension", *selectors.DIMENSIONS) if request.GET.get(k)],
            can_replay=can_replay(request.user),
            dashboard_config=config,
        )
        return context
