"""``manage.py demo``: the main job on the embedded default, with no servers.

Serves the app locally, plays simulated IDE users of two model versions through the real
HTTP ingestion endpoint, checks that Flywheel's metrics equal the simulator's ground
truth, and prints the headline metrics per model version.
"""
from __future__ import annotations

from datetime import datetime, timezone

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from telemetry.local_app import summary_table
from telemetry.models import Organization
from telemetry.selectors import metrics_summary


class Command(BaseCommand):
    help = "Run the main job on the embedded default: simulated IDE users → HTTP ingestion → metrics per model version."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--sessions", type=int, default=300, help="simulated IDE sessions")
        parser.add_argument("--seed", type=int, default=7)

    def handle(self, *args: object, sessions: int, seed: int, **options: object) -> None:
        # A fresh organization per run keeps the ground-truth check exact on a reused SQLite file.
        org_slug = f"demo-{datetime.now(timezone.utc):%Y%m%d-%H%M%S}"
        call_command(
            "simulate", "--reference", "--versions", "v1,v2", "--sessions", str(sessions), "--seed", str(seed),
            "--org", org_slug, "--check", stdout=self.stdout,
        )
        summary = metrics_summary(org=Organization.objects.get(slug=org_slug))
        self.stdout.write(f"\nFlywheel's headline metrics for organization '{org_slug}' (GET /api/v1/metrics/summary):")
        self.stdout.write(summary_table(summary))
