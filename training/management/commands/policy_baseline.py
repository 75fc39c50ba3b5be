"""``manage.py policy_baseline``: a policy's starting point on the held-out split (thin adapter)."""
from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from training.policy.evaluate import policy_baseline, report_lines


class Command(BaseCommand):
    help = (
        "Evaluate a policy on the environment's eval split (greedy, or several sampled answers per task) and "
        "print tool-call error rate per shell, unit-test pass rate, helper reuse rate and tokens per task."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--policy", default=None, help="policy directory (default: var/policies/v0)")
        parser.add_argument("--split", default="eval", choices=["eval", "train"])
        parser.add_argument("--max-new-tokens", type=int, default=192)
        parser.add_argument("--samples", type=int, default=1, help="answers per task (more than 1 needs --temperature)")
        parser.add_argument("--temperature", type=float, default=0.0, help="sampling temperature (0: greedy)")
        parser.add_argument("--json", action="store_true", help="print the report as JSON")

    def handle(self, *args: object, **options: object) -> None:
        policy = options["policy"] or str(Path(settings.VAR_DIR) / "policies" / "v0")
        try:
            report = policy_baseline(
                policy,
                split=str(options["split"]),
                max_new_tokens=int(options["max_new_tokens"]),
                samples=int(options["samples"]),
                temperature=float(options["temperature"]),
                progress=not options["json"],
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if options["json"]:
            self.stdout.write(json.dumps(report.to_dict(), indent=2, sort_keys=True))
        else:
            self.stdout.write("\n".join(report_lines(report)))
