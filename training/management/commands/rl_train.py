"""``manage.py rl_train``: start an RL run, or show/stop one (thin adapter over training.services.runs).

    rl_train [--config FILE] [--set key=value ...] [--wait]   start a run
    rl_train --status ID                                      status, progress, last metrics, logs tail
    rl_train --stop ID                                        stop it
    rl_train --resume ID                                      new attempt of a failed/stopped run

With RAY_ADDRESS set the run is submitted through the Ray Jobs API (``--wait`` follows it
with a progress bar); without it, local Ray runs it in this process, with a progress bar.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm.auto import tqdm

from training.models.runs import TrainingRun
from training.rl.config import RLConfigError
from training.selectors.runs import run_get
from training.services.runs import run_create, run_resume, run_start, run_stop, run_sync

POLL_S = 2.0


class Command(BaseCommand):
    help = "Start a GRPO/DAPO RL run (Ray Jobs API with RAY_ADDRESS, else local Ray), or act on one."

    def add_arguments(self, parser: CommandParser) -> None:
        action = parser.add_mutually_exclusive_group()
        action.add_argument("--status", metavar="ID", help="show a run")
        action.add_argument("--stop", metavar="ID", help="stop a run")
        action.add_argument("--resume", metavar="ID", help="start a new attempt of a failed or stopped run from its last checkpoint")
        parser.add_argument("--config", help="JSON file with RLConfig fields (training/rl/config.py)")
        parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                            help="override one config field (VALUE parsed as JSON, else taken as a string)")
        parser.add_argument("--wait", action="store_true", help="follow a Ray job until it finishes, with a progress bar")

    def handle(self, *args, **options) -> None:
        if options["status"]:
            run = run_sync(run=self._run(options["status"]))
            self._show(run)
            return
        if options["stop"]:
            run = run_stop(run=self._run(options["stop"]))
            self.stdout.write(f"run {run.pk}: {run.status}" + (" (stop requested)" if run.stop_requested and not run.finished else ""))
            return
        if options["resume"]:
            try:
                run, _ = run_resume(run=self._run(options["resume"]))
            except ValueError as error:
                raise CommandError(str(error)) from None
            self._follow(run, wait=options["wait"])
            return
        config = self._config(options["config"], options["set"])
        try:
            run, token = run_create(config=config)
        except RLConfigError as error:
            raise CommandError(f"invalid config: {error.field}: {error.message}") from None
        self.stdout.write(f"run {run.pk} created ({'Ray Jobs API at ' + settings.RAY_ADDRESS if settings.RAY_ADDRESS else 'local Ray'})")
        bar = tqdm(total=run.total_steps, desc=f"rl {str(run.pk)[:8]}", unit="step")
        run = run_start(run=run, token=token, progress=lambda r: self._advance(bar, r))
        self._follow(run, wait=options["wait"], bar=bar)

    def _follow(self, run: TrainingRun, *, wait: bool, bar=None) -> None:
        if not run.finished and wait:
            bar = bar or tqdm(total=run.total_steps, desc=f"rl {str(run.pk)[:8]}", unit="step")
            while not run.finished:
                time.sleep(POLL_S)
                run = run_sync(run=run_get(run_id=run.pk))
                self._advance(bar, run)
            bar.close()
        elif bar is not None:
            bar.close()
        self._show(run)
        if run.status == "failed":
            raise CommandError(f"run {run.pk} failed: {run.error.splitlines()[0] if run.error else 'see its logs'}")

    @staticmethod
    def _advance(bar, run: TrainingRun) -> None:
        bar.n = run.step
        reward = run.last_metrics.get("reward/mean")
        if reward is not None:
            bar.set_postfix({"reward/mean": f"{reward:.3f}"}, refresh=False)
        bar.refresh()

    def _run(self, run_id: str) -> TrainingRun:
        try:
            return run_get(run_id=run_id)
        except (TrainingRun.DoesNotExist, ValidationError, ValueError):
            raise CommandError(f"no training run {run_id!r}") from None

    def _config(self, path: str | None, overrides: list[str]) -> dict:
        config: dict = {}
        if path:
            try:
                config = json.loads(Path(path).read_text())
            except FileNotFoundError:
                raise CommandError(f"--config: {path} does not exist") from None
            except json.JSONDecodeError as error:
                raise CommandError(f"--config: {path} is not JSON: {error}") from None
            if not isinstance(config, dict):
                raise CommandError("--config: the file must hold a JSON object")
        for item in overrides:
            key, sep, raw = item.partition("=")
            if not sep or not key:
                raise CommandError(f"--set {item!r}: expected KEY=VALUE")
            try:
                config[key] = json.loads(raw)
            except json.JSONDecodeError:
                config[key] = raw
        return config

    def _show(self, run: TrainingRun) -> None:
        self.stdout.write(f"run {run.pk}  status={run.status}  step {run.step}/{run.total_steps} ({run.progress:.0%})  backend={run.backend}")
        for key in ("reward/mean", "loss/policy", "clip/fraction", "entropy", "tokens/response_mean", "sampling/kept_groups"):
            if key in run.last_metrics:
                self.stdout.write(f"  {key} = {run.last_metrics[key]:.4f}")
        if run.artifacts.get("checkpoint_dir"):
            self.stdout.write(f"  checkpoint: {run.artifacts['checkpoint_dir']}")
        if run.result:
            self.stdout.write(f"  result: {json.dumps({k: v for k, v in run.result.items() if k != 'metrics'})}")
        if run.error:
            self.stdout.write(f"  error: {run.error.splitlines()[0] if run.error else ''}")
        tail = run.logs_tail.splitlines()[-5:]
        for line in tail:
            self.stdout.write(f"  | {line}")
