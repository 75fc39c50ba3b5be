"""``manage.py train_reward_model``: train a reward model on a preference dataset and register it."""
from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError, CommandParser

from rewards.core.config import BaselineConfig, BradleyTerryConfig
from rewards.models import PreferenceDataset, RewardModelKind
from rewards.selectors import preference_dataset_get, preference_dataset_latest
from rewards.services import reward_model_promote, reward_model_train
from telemetry.models import Organization


class Command(BaseCommand):
    help = "Train a reward model (scikit-learn baseline or torch Bradley-Terry) on a preference dataset; register the version."

    def add_arguments(self, parser: CommandParser) -> None:
        bt = BradleyTerryConfig()
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--dataset", help="dataset version (see mine_preferences)")
        source.add_argument("--org", help="organization slug: its latest dataset")
        parser.add_argument("--kind", choices=RewardModelKind.values, default=RewardModelKind.BRADLEY_TERRY)
        parser.add_argument("--backbone", default=bt.backbone, help="local Hugging Face checkpoint dir (default: a tiny model created here)")
        parser.add_argument("--epochs", type=int, default=bt.epochs)
        parser.add_argument("--batch-size", type=int, default=bt.batch_size)
        parser.add_argument("--learning-rate", type=float, default=bt.learning_rate)
        parser.add_argument("--max-length", type=int, default=bt.max_length)
        parser.add_argument("--device", default=bt.device, help="cpu, cuda or auto")
        parser.add_argument("--seed", type=int, default=bt.seed)
        parser.add_argument("--no-length-control", action="store_true",
                            help="let the answer's length raise the score too (RL then learns to pad answers)")
        parser.add_argument("--promote", action="store_true", help="make it the active version when trained")
        parser.add_argument("--no-progress", action="store_true")
        parser.add_argument("--json", action="store_true", help="one JSON object on the last line")

    def handle(self, *args, **options) -> None:
        dataset = self._dataset(options)
        try:
            bt_config = BradleyTerryConfig(
                backbone=options["backbone"], epochs=options["epochs"], batch_size=options["batch_size"],
                learning_rate=options["learning_rate"], max_length=options["max_length"], device=options["device"],
                seed=options["seed"], length_controlled=not options["no_length_control"],
            )
            baseline_config = BaselineConfig(seed=options["seed"], length_controlled=not options["no_length_control"])
            version = reward_model_train(
                dataset=dataset, kind=options["kind"], baseline_config=baseline_config,
                bradley_terry_config=bt_config, progress=not options["no_progress"],
            )
            if options["promote"]:
                reward_model_promote(version=version)
        except (ValueError, FileNotFoundError) as exc:
            raise CommandError(str(exc)) from exc
        summary = {
            "version": version.version, "kind": version.kind, "dataset": dataset.version,
            "pairwise_accuracy": version.pairwise_accuracy, "ece": version.ece, "train_pairs": version.train_pairs,
            "validation_pairs": version.validation_pairs, "train_seconds": round(version.train_seconds, 3),
            "active": version.is_active, "artifact": version.artifact_path,
        }
        if options["json"]:
            self.stdout.write(json.dumps(summary))
            return
        accuracy = "n/a (no validation pairs)" if version.pairwise_accuracy is None else f"{version.pairwise_accuracy:.3f}"
        self.stdout.write(f"{version.version} ({version.kind}) on {dataset.version}: held-out pairwise accuracy {accuracy}, "
                          f"{version.train_pairs} train pairs, {version.train_seconds:.1f}s{' — active' if version.is_active else ''}")

    def _dataset(self, options) -> PreferenceDataset:
        if options["dataset"]:
            try:
                return preference_dataset_get(version=options["dataset"])
            except PreferenceDataset.DoesNotExist:
                raise CommandError(f"no dataset {options['dataset']!r}; run `manage.py mine_preferences` first") from None
        org = Organization.objects.filter(slug=options["org"]).first()
        dataset = preference_dataset_latest(org=org) if org is not None else None
        if dataset is None:
            raise CommandError(f"no dataset for organization {options['org']!r}; run `manage.py mine_preferences --org {options['org']}` first")
        return dataset
