"""``manage.py mine_preferences``: telemetry since the last snapshot -> a new preference dataset."""
from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError, CommandParser

from rewards.core.config import MiningConfig
from rewards.services import preferences_mine
from telemetry.models import Organization


class Command(BaseCommand):
    help = (
        "Score every completion touched by telemetry stored since the last snapshot (incremental watermark), "
        "pair completions of the same prompt, and write a versioned dataset with TRL and OpenRLHF JSONL exports."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        defaults = MiningConfig()
        parser.add_argument("--org", required=True, help="organization slug")
        parser.add_argument("--min-margin", type=float, default=defaults.min_margin, help="product-score gap below which a pair is a tie and dropped")
        parser.add_argument("--validation-share", type=float, default=defaults.validation_share, help="share of prompt groups held out")
        parser.add_argument("--max-pairs-per-prompt", type=int, default=defaults.max_pairs_per_prompt, help="cap of pairs per prompt group")
        parser.add_argument("--no-progress", action="store_true", help="no progress bars")
        parser.add_argument("--json", action="store_true", help="print the snapshot as one JSON object on the last line")

    def handle(self, *args, **options) -> None:
        org = Organization.objects.filter(slug=options["org"]).first()
        if org is None:
            raise CommandError(f"no organization {options['org']!r}; create it with `manage.py create_api_key {options['org']}`")
        try:
            config = MiningConfig(
                min_margin=options["min_margin"], validation_share=options["validation_share"],
                max_pairs_per_prompt=options["max_pairs_per_prompt"],
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        dataset = preferences_mine(org=org, config=config, progress=not options["no_progress"])
        summary = {
            "version": dataset.version, "parent": dataset.parent.version if dataset.parent else None,
            "events_scanned": dataset.events_scanned, "watermark_event_id": dataset.watermark_event_id,
            "completions": dataset.completions, "completions_with_text": dataset.completions_with_text,
            "pairs_train": dataset.pairs_train, "pairs_validation": dataset.pairs_validation,
            "ties_dropped": dataset.ties_dropped, "path": dataset.path, "files": dataset.files,
        }
        if options["json"]:
            self.stdout.write(json.dumps(summary))
            return
        self.stdout.write(
            f"{dataset.version}: {dataset.events_scanned} new events, {dataset.completions} completions "
            f"({dataset.completions_with_text} with text), pairs train={dataset.pairs_train} "
            f"validation={dataset.pairs_validation}, ties dropped={dataset.ties_dropped}\n{dataset.path}"
        )
