"""The registry of dashboard pages: navigation, URLs and page views are all built from it.

Adding a page (experiments, reward models, training runs...) is one ``page_register``
call with its template (extending ``dashboard/base.html``) and the JSON endpoints its
charts read; ``dashboard.urls`` gives it a URL and the sidebar a link.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Shortcut:
    """A preset view of a page, linked from the sidebar: ``?query`` appended to the page URL."""

    label: str
    query: str


@dataclass(frozen=True)
class Page:
    slug: str
    """URL segment under /dashboard/ ("" for the landing page); also the URL name."""
    title: str
    template: str
    section: str
    """Sidebar group heading."""
    summary: str
    """One line under the page title."""
    endpoints: tuple[str, ...] = ()
    """URL names (namespace dashboard) of the JSON endpoints the page's charts read."""
    filters: tuple[str, ...] = ()
    """Filter controls the base template renders: versions, baseline, pair, retention, range, bucket."""
    shortcuts: tuple[Shortcut, ...] = field(default_factory=tuple)
    icon: str = "chart"
    """Name of an icon in dashboard/icons.html."""

    @property
    def url_name(self) -> str:
        return self.slug or "overview"


PAGES: list[Page] = []


def page_register(page: Page) -> Page:
    """Add ``page`` to the dashboard (its slug must be new)."""
    if any(p.slug == page.slug for p in PAGES):
        raise ValueError(f"dashboard page {page.slug!r} is already registered")
    PAGES.append(page)
    return page


def sections() -> list[tuple[str, list[Page]]]:
    """Pages grouped by section, in registration order."""
    grouped: dict[str, list[Page]] = {}
    for page in PAGES:
        grouped.setdefault(page.section, []).append(page)
    return list(grouped.items())


WINDOWS_TERMINAL_QUERY = "dimension=shell&os=windows&tool=shell"

OVERVIEW = page_register(Page(
    slug="", title="Overview", template="dashboard/overview.html", section="Model quality", icon="gauge",
    summary="Is the newest model better for users than the last one? Every metric with its 95% interval and its change against a baseline.",
    endpoints=("api-overview", "api-compare"), filters=("versions", "baseline", "retention", "range"),
))
COMPARE = page_register(Page(
    slug="compare", title="Compare", template="dashboard/compare.html", section="Model quality", icon="columns",
    summary="Two model versions side by side on every metric and breakdown, with the size and significance of each difference.",
    endpoints=("api-compare",), filters=("pair", "retention", "range"),
))
TRENDS = page_register(Page(
    slug="trends", title="Trends", template="dashboard/trends.html", section="Model quality", icon="trend",
    summary="The same metrics over time; dashed lines mark the hour each model version first appeared.",
    endpoints=("api-trends",), filters=("versions", "retention", "range", "bucket"),
))
BREAKDOWNS = page_register(Page(
    slug="breakdowns", title="Breakdowns", template="dashboard/breakdowns.html", section="Model quality", icon="bars",
    summary="Metrics by OS, shell, IDE, language and tool, and the most frequent tool-error kinds.",
    endpoints=("api-breakdown", "api-tool-errors"), filters=("versions", "retention", "range"),
    shortcuts=(Shortcut("Windows terminal accuracy", WINDOWS_TERMINAL_QUERY),),
))
INGESTION = page_register(Page(
    slug="ingestion", title="Ingestion health", template="dashboard/ingestion.html", section="Operations", icon="pulse",
    summary="Events stored per minute, consumer lag, dead letters and rejected events.",
    endpoints=("api-ingestion",), filters=(),
))
DEPLOYMENTS = page_register(Page(
    slug="deployments", title="Deployments", template="dashboard/deployments.html", section="Operations", icon="columns",
    summary="Model versions and their lineage, the evaluation gate, canaries in progress, and every promote or rollback decision with its numbers.",
    endpoints=("api-deployments",), filters=(),
))
REWARD_MODELS = page_register(Page(
    slug="reward-models", title="Reward models", template="dashboard/reward_models.html", section="Rewards", icon="chart",
    summary="Reward-model versions trained on preferences mined from this organization's telemetry: held-out accuracy, calibration, the active one.",
    endpoints=("api-reward-models",), filters=(),
))
HACKING = page_register(Page(
    slug="hacking", title="Reward hacking", template="dashboard/hacking.html", section="Rewards", icon="pulse",
    summary="Does the rewarder catch reward hacking? Per detector kind: attacks caught and honest trajectories wrongly flagged, run after run.",
    endpoints=("api-hacking-reports",), filters=(),
))
TRAINING_RUNS = page_register(Page(
    slug="training-runs", title="Training runs", template="dashboard/training_runs.html", section="Training", icon="pulse",
    summary="RL runs on Ray: status, live reward and loss curves, lineage (dataset snapshot, reward model, parent policy), logs.",
    endpoints=("api-training-runs",), filters=(),
))
