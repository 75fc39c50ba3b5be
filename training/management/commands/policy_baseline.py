"""``manage.py policy_baseline``: a policy's starting point on the held-out split (thin adapter)."""
from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from training.policy.evaluate import policy_baseline, report_lines
from training.policy.model import policy_load
from training.policy.probe import PROBE_COMMAND, PROBE_PROMPT, copy_probe, copy_summary, held_out_names, made_up_names


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
        parser.add_argument(
            "--copy-probe", action="store_true",
            help="instead, probe how the policy copies an argument: made-up names like RL's task variants' and the eval split's real ones",
        )

    def handle(self, *args: object, **options: object) -> None:
        policy = options["policy"] or str(Path(settings.VAR_DIR) / "policies" / "v0")
        if options["copy_probe"]:
            self._copy_probe(policy, as_json=bool(options["json"]))
            return
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

    def _copy_probe(self, policy: str, *, as_json: bool) -> None:
        try:
            model, tokenizer = policy_load(policy)
        except OSError as exc:
            raise CommandError(f"{policy} is not a policy checkpoint: {exc}") from exc
        probes = copy_probe(model, tokenizer, {"made_up": made_up_names(20), "held_out": held_out_names()})
        summary = copy_summary(probes)
        if as_json:
            self.stdout.write(json.dumps({"summary": summary, "probes": [asdict(p) for p in probes]}, indent=2))
            return
        self.stdout.write(f"copy probe of {policy}: \"{PROBE_PROMPT}\" -> \"{PROBE_COMMAND} <name>\"")
        for group, row in summary.items():
            later = "n/a" if row["later_tokens_nll"] is None else f"{row['later_tokens_nll']:.2f}"
            self.stdout.write(f"  {group:<9} {row['names']:>3} names, {100 * row['copied']:5.1f}% copied greedily; "
                              f"NLL first token {row['first_token_nll']:.2f}, later tokens {later} nats")
        for p in probes:
            self.stdout.write(f"    {'ok' if p.copied else '--'} {p.group:<9} {p.name:<18} {' '.join(p.tokens)}")
