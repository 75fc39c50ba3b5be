"""``manage.py promote_reward_model <version>``: make a registered version the active one."""
from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from rewards.models import RewardModelVersion
from rewards.selectors import reward_model_get
from rewards.services import reward_model_promote


class Command(BaseCommand):
    help = "Make a reward-model version active; serving processes swap to it within a second or two, without downtime."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("version", help="e.g. rm-0003 (see the dashboard's reward models page)")

    def handle(self, *args, **options) -> None:
        try:
            version = reward_model_get(version=options["version"])
        except RewardModelVersion.DoesNotExist:
            raise CommandError(f"no reward-model version {options['version']!r}; train one with `manage.py train_reward_model`") from None
        try:
            reward_model_promote(version=version)
        except (FileNotFoundError, ValueError) as exc:
            raise CommandError(f"{version.version} cannot be loaded, so it was not promoted: {exc}") from exc
        self.stdout.write(f"{version.version} is active")
