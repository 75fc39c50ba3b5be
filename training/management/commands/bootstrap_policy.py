"""``manage.py bootstrap_policy``: build the base policy v0 (thin adapter over ``policy_bootstrap``)."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from training.policy.bootstrap import policy_bootstrap
from training.policy.config import BootstrapConfig


class Command(BaseCommand):
    help = "Train the base policy v0 on the deliberately imperfect corpus from the environment's train split."

    def add_arguments(self, parser: CommandParser) -> None:
        defaults = BootstrapConfig()
        parser.add_argument("--output", default=None, help="checkpoint directory (default: var/policies/<version>)")
        parser.add_argument("--name", default=defaults.version, help="version name recorded in flywheel_policy.json")
        parser.add_argument("--steps", type=int, default=defaults.steps, help="optimizer steps")
        parser.add_argument("--seed", type=int, default=defaults.seed)
        parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
        parser.add_argument("--threads", type=int, default=defaults.threads, help="torch CPU threads")

    def handle(self, *args: object, **options: object) -> None:
        output = options["output"] or str(Path(settings.VAR_DIR) / "policies" / str(options["name"]))
        config = replace(
            BootstrapConfig(),
            output_dir=str(output),
            version=str(options["name"]),
            steps=int(options["steps"]),
            seed=int(options["seed"]),
            batch_size=int(options["batch_size"]),
            threads=int(options["threads"]),
        )
        result = policy_bootstrap(config, progress=True)
        self.stdout.write(
            self.style.SUCCESS(
                f"policy {config.version}: {result.params:,} params, {result.examples} examples, "
                f"final loss {result.final_loss:.3f}, {result.wall_time_s:.0f}s -> {result.path}"
            )
        )
