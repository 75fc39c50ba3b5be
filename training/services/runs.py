"""Training runs: create, start (local Ray in-process or the Ray Jobs API), report, stop, sync.

The record is the source of truth; the job, the Celery task and the command only move it
forward through these functions. Writes only; reads are in ``training.selectors.runs``.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import secrets
import shlex
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from training.models.runs import FINISHED_STATUSES, RunBackend, RunKind, RunStatus, TrainingRun
from training.rl.config import RLConfig, rl_config_from_dict, rl_config_to_dict
from training.rl.reporting import RunReport

logger = logging.getLogger("flywheel.training")

LOGS_TAIL_LINES = 200
RESULT_LINE = re.compile(r"^RESULT (\{.*\})$", re.MULTILINE)
# Ray job states (ray.job_submission.JobStatus values) -> run status
RAY_JOB_STATUSES = {"PENDING": RunStatus.QUEUED, "RUNNING": RunStatus.RUNNING, "SUCCEEDED": RunStatus.SUCCEEDED,
                    "FAILED": RunStatus.FAILED, "STOPPED": RunStatus.STOPPED}


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def run_create(
    *,
    config: dict[str, Any],
    org=None,
    trigger: str = "manual",
    dataset_snapshot_id: str = "",
    reward_model_version: str = "",
    data_key: str | None = None,
) -> tuple[TrainingRun, str]:
    """A queued RL run for ``config`` (validated; raises ``RLConfigError`` naming the field).

    Fills in what the run owns: ``output_dir`` (``TRAINING_RUNS_DIR/<id>``) and ``version``
    unless given. Returns (run, report token); only the token's hash is stored. Raises
    ``IntegrityError`` when a run for the same ``data_key`` exists.
    """
    parsed = rl_config_from_dict(config)
    run = TrainingRun(kind=RunKind.RL, org=org, trigger=trigger, dataset_snapshot_id=dataset_snapshot_id,
                      reward_model_version=reward_model_version, data_key=data_key)
    if "output_dir" not in config:
        parsed = replace(parsed, output_dir=str(Path(settings.TRAINING_RUNS_DIR) / str(run.id)))
    if "version" not in config:
        parsed = replace(parsed, version=f"rl-{str(run.id)[:8]}")
    token = secrets.token_urlsafe(32)
    run.config = rl_config_to_dict(parsed)
    run.parent_policy = parsed.policy_path
    run.total_steps = parsed.steps
    run.report_token_hash = _token_hash(token)
    run.save()
    return run, token


def run_token_check(*, run: TrainingRun, token: str) -> bool:
    """True when ``token`` is the run's report token."""
    return bool(run.report_token_hash) and hmac.compare_digest(run.report_token_hash, _token_hash(token))


def run_report(*, run_id: Any, report: RunReport) -> bool:
    """Record a job's progress report; returns True when the job should stop.

    Appends each metric to its curve, keeps the last ``LOGS_TAIL_LINES`` log lines, records
    the checkpoint, and moves a queued run to running. Reports to a finished run change
    nothing and answer "stop".
    """
    with transaction.atomic():
        run = TrainingRun.objects.select_for_update().get(pk=run_id)
        if run.status in FINISHED_STATUSES:
            return True
        if run.status == RunStatus.QUEUED:
            run.status = RunStatus.RUNNING
            run.started_at = run.started_at or timezone.now()
        run.step = max(run.step, report.step)
        run.total_steps = report.total_steps or run.total_steps
        if report.metrics:
            curves = dict(run.metrics)
            for key, value in report.metrics.items():
                points = [p for p in curves.get(key, []) if p[0] < report.step]  # a resumed run redoes steps
                curves[key] = points + [[report.step, float(value)]]
            run.metrics = curves
            run.last_metrics = {k: float(v) for k, v in report.metrics.items()}
        if report.logs:
            lines = (run.logs_tail.splitlines() if run.logs_tail else []) + list(report.logs)
            run.logs_tail = "\n".join(lines[-LOGS_TAIL_LINES:])
        if report.checkpoint:
            artifacts = dict(run.artifacts)
            artifacts["checkpoint_dir"] = report.checkpoint
            artifacts["checkpoints"] = sorted(set(artifacts.get("checkpoints", [])) | {report.checkpoint})
            run.artifacts = artifacts
        run.save()
        return run.stop_requested


def run_finish(*, run_id: Any, status: str, error: str = "", result: dict[str, Any] | None = None) -> TrainingRun:
    """Move a run to a finished status (idempotent: a finished run keeps its first outcome)."""
    with transaction.atomic():
        run = TrainingRun.objects.select_for_update().get(pk=run_id)
        if run.status in FINISHED_STATUSES:
            return run
        run.status = status
        run.error = error[-4000:]
        run.finished_at = timezone.now()
        if result:
            run.result = result
            if result.get("checkpoint_dir"):
                artifacts = dict(run.artifacts)
                artifacts["checkpoint_dir"] = result["checkpoint_dir"]
                run.artifacts = artifacts
        run.save()
        return run


def run_start(*, run: TrainingRun, token: str, progress: Callable[[TrainingRun], None] | None = None) -> TrainingRun:
    """Start the run: Ray Jobs API when ``RAY_ADDRESS`` is set (returns once submitted),
    else local Ray in-process (returns when the run has finished)."""
    if settings.RAY_ADDRESS:
        return run_submit_ray_job(run=run, token=token)
    return run_execute_local(run_id=run.pk, progress=progress)


class _DatabaseReporter:
    """The in-process job reports straight into the record (the same ``run_report``)."""

    def __init__(self, run_id: Any, progress: Callable[[TrainingRun], None] | None) -> None:
        self.run_id = run_id
        self.progress = progress

    def report(self, report: RunReport) -> bool:
        stop = run_report(run_id=self.run_id, report=report)
        if self.progress is not None:
            self.progress(TrainingRun.objects.get(pk=self.run_id))
        return not stop


def run_execute_local(*, run_id: Any, progress: Callable[[TrainingRun], None] | None = None) -> TrainingRun:
    """Run the job with local Ray in this process and record its outcome."""
    from training.rl.driver import RLStopped, rl_train

    run = TrainingRun.objects.get(pk=run_id)
    if run.finished:
        return run
    TrainingRun.objects.filter(pk=run_id).update(backend=RunBackend.LOCAL, attempts=run.attempts + 1)
    config = rl_config_from_dict(run.config)
    try:
        result = rl_train(config, reporter=_DatabaseReporter(run_id, progress))
    except RLStopped as stopped:
        return run_finish(run_id=run_id, status=RunStatus.STOPPED, error=str(stopped))
    except Exception as error:  # the record must say failed whatever broke; the cause goes in `error`
        logger.exception("run %s failed", run_id)
        return run_finish(run_id=run_id, status=RunStatus.FAILED, error=f"{type(error).__name__}: {error}")
    return run_finish(run_id=run_id, status=RunStatus.SUCCEEDED, result=_result_summary(result))


def _result_summary(result: Any) -> dict[str, Any]:
    return {
        "checkpoint_dir": result.checkpoint_dir, "steps": result.steps, "resumed_from_step": result.resumed_from_step,
        "metrics": result.metrics, "heldout_success_before": result.heldout_success_before,
        "heldout_success_after": result.heldout_success_after, "wall_time_s": round(result.wall_time_s, 1),
    }


# --- Ray Jobs API ------------------------------------------------------------------------

def ray_job_client():
    """A ``JobSubmissionClient`` for ``RAY_ADDRESS`` (the head's dashboard URL)."""
    from ray.job_submission import JobSubmissionClient

    return JobSubmissionClient(settings.RAY_ADDRESS)


def ray_runtime_env(*, token: str) -> dict[str, Any]:
    """The job's ``runtime_env``: this project as working dir, its job requirements, the report token."""
    env = {
        "working_dir": str(settings.BASE_DIR),
        "excludes": list(settings.TRAINING_RAY_EXCLUDES),
        "env_vars": {"FLYWHEEL_REPORT_TOKEN": token, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
                     "TOKENIZERS_PARALLELISM": "false"},
    }
    if settings.TRAINING_RAY_PIP:
        env["pip"] = list(settings.TRAINING_RAY_PIP)
    return env


def ray_entrypoint(*, run: TrainingRun) -> str:
    """``python -m training.rl.driver`` with the run's config inline and where to report."""
    return " ".join([
        "python", "-m", "training.rl.driver",
        "--config-json", shlex.quote(json.dumps(run.config, separators=(",", ":"))),
        "--report-url", shlex.quote(settings.FLYWHEEL_PUBLIC_URL),
        "--run-id", str(run.pk),
    ])


def run_submit_ray_job(*, run: TrainingRun, token: str) -> TrainingRun:
    """Submit (or, for a later attempt, resubmit) the run to the Ray cluster.

    Submission id = run id for the first attempt, ``<run id>-r<n>`` for resumed attempts
    (Ray never reuses a submission id); the job resumes from its last checkpoint.
    """
    attempt = run.attempts + 1
    submission_id = str(run.pk) if attempt == 1 else f"{run.pk}-r{attempt - 1}"
    ray_job_client().submit_job(
        entrypoint=ray_entrypoint(run=run), submission_id=submission_id, runtime_env=ray_runtime_env(token=token),
        metadata={"flywheel_run": str(run.pk), "attempt": str(attempt)},
    )
    TrainingRun.objects.filter(pk=run.pk).update(backend=RunBackend.RAY_JOB, submission_id=submission_id, attempts=attempt,
                                                 status=RunStatus.QUEUED, finished_at=None, stop_requested=False, error="")
    return TrainingRun.objects.get(pk=run.pk)


def run_resume(*, run: TrainingRun) -> tuple[TrainingRun, str]:
    """Start a new attempt of a failed or stopped run; it continues from its last checkpoint.

    Returns (run, new report token). Local runs execute now; Ray runs are resubmitted.
    """
    if run.status not in (RunStatus.FAILED, RunStatus.STOPPED):
        raise ValueError(f"only failed or stopped runs can be resumed; run {run.pk} is {run.status}")
    token = secrets.token_urlsafe(32)
    TrainingRun.objects.filter(pk=run.pk).update(status=RunStatus.QUEUED, report_token_hash=_token_hash(token),
                                                 finished_at=None, stop_requested=False, error="")
    run.refresh_from_db()
    return run_start(run=run, token=token), token


def run_sync(*, run: TrainingRun) -> TrainingRun:
    """Bring a Ray-job run's status and logs tail up to date from the Jobs API."""
    if run.backend != RunBackend.RAY_JOB or not run.submission_id or run.finished:
        return run
    client = ray_job_client()
    job_status = str(client.get_job_status(run.submission_id).value)
    logs = client.get_job_logs(run.submission_id)
    status = RAY_JOB_STATUSES.get(job_status, RunStatus.RUNNING)
    tail = "\n".join(logs.splitlines()[-LOGS_TAIL_LINES:])
    if status in FINISHED_STATUSES:
        if status == RunStatus.FAILED and run.stop_requested:
            status = RunStatus.STOPPED
        result = None
        match = RESULT_LINE.search(logs)
        if match:
            result = json.loads(match.group(1))
        error = "" if status == RunStatus.SUCCEEDED else _failure_reason(client, run.submission_id, tail)
        run = run_finish(run_id=run.pk, status=status, error=error, result=result)
        TrainingRun.objects.filter(pk=run.pk).update(logs_tail=tail)
        if status != RunStatus.SUCCEEDED:
            _partial_checkpoints_remove(run)
    else:
        updates: dict[str, Any] = {"logs_tail": tail}
        if status == RunStatus.RUNNING and run.status == RunStatus.QUEUED:
            updates.update(status=RunStatus.RUNNING, started_at=run.started_at or timezone.now())
        TrainingRun.objects.filter(pk=run.pk).update(**updates)
    run.refresh_from_db()
    return run


def _partial_checkpoints_remove(run: TrainingRun) -> None:
    """A killed job may leave a hidden temporary checkpoint dir behind; remove it (complete
    checkpoints stay for resuming). Only where the run's output dir is on this machine."""
    from training.rl.checkpoint import checkpoint_latest

    output_dir = run.config.get("output_dir")
    if output_dir:
        checkpoint_latest(Path(output_dir) / "checkpoints")


def _failure_reason(client: Any, submission_id: str, tail: str) -> str:
    info = client.get_job_info(submission_id)
    message = getattr(info, "message", "") or ""
    return f"{message}\n{tail[-2000:]}".strip()


def run_stop(*, run: TrainingRun) -> TrainingRun:
    """Stop a run: a queued local run ends now; a running local run stops at its next report;
    a Ray job is stopped through the Jobs API. The last complete checkpoint stays."""
    if run.finished:
        return run
    TrainingRun.objects.filter(pk=run.pk).update(stop_requested=True)
    if run.backend == RunBackend.RAY_JOB and run.submission_id:
        ray_job_client().stop_job(run.submission_id)
        return run_finish(run_id=run.pk, status=RunStatus.STOPPED, error="stopped on request")
    if run.status == RunStatus.QUEUED:
        return run_finish(run_id=run.pk, status=RunStatus.STOPPED, error="stopped before it started")
    run.refresh_from_db()
    return run


# --- scheduled retraining ----------------------------------------------------------------

RETRAIN_LOCK_S = 3600


def retrain_schedule_get_or_create(*, org, **fields: Any):
    """The org's schedule, created with the ``TRAINING_RETRAIN_DEFAULTS`` (overridden by ``fields``)."""
    from training.models.runs import RetrainSchedule

    defaults = dict(settings.TRAINING_RETRAIN_DEFAULTS) | fields
    schedule, created = RetrainSchedule.objects.get_or_create(org=org, defaults=defaults)
    if not created and fields:
        for name, value in fields.items():
            setattr(schedule, name, value)
        schedule.save()
    return schedule


def retrain_if_due(*, now=None) -> list[str]:
    """Check every enabled schedule that is due; returns one outcome line per schedule checked."""
    from training.models.runs import RetrainSchedule

    now = now or timezone.now()
    outcomes = []
    for schedule in RetrainSchedule.objects.filter(enabled=True).select_related("org"):
        if schedule.last_checked_at and (now - schedule.last_checked_at).total_seconds() < schedule.interval_s:
            continue
        outcomes.append(f"{schedule.org.slug}: {retrain_org(schedule=schedule, now=now)}")
    return outcomes


def retrain_org(*, schedule, now=None) -> str:
    """One check of one org: snapshot -> reward model (when due) -> RL run, or why not.

    Never two runs for the same data: a lock per org keeps two triggers from mining at
    once, and a run's ``data_key`` (org + snapshot watermark) is unique per kind in the
    database, so a second trigger that gets past the lock still cannot create a run.
    """
    from django.core.cache import cache
    from django.db import IntegrityError

    from rewards.selectors import preference_dataset_latest
    from telemetry.models import Event

    org = schedule.org
    lock = f"flywheel:retrain:{org.pk}"
    if not cache.add(lock, "1", RETRAIN_LOCK_S):
        return "skipped: another check of this organization is running"
    try:
        previous = preference_dataset_latest(org=org)
        watermark = previous.watermark_event_id if previous is not None else 0
        new_events = Event.objects.filter(org=org, id__gt=watermark).count()
        if new_events < max(1, schedule.min_new_events):
            return _retrain_outcome(schedule, now, f"not due: {new_events} new events < {schedule.min_new_events}")
        dataset, reward_model, pairs_new = _retrain_data(schedule=schedule)
        if pairs_new < schedule.min_new_pairs:
            return _retrain_outcome(schedule, now, f"not due: {pairs_new} new pairs < {schedule.min_new_pairs} (snapshot {dataset.version})")
        try:
            with transaction.atomic():
                run, token = run_create(
                    config=dict(schedule.rl_config), org=org, trigger="schedule", dataset_snapshot_id=dataset.version,
                    reward_model_version=reward_model or "", data_key=f"{org.slug}:{dataset.watermark_event_id}",
                )
                transaction.on_commit(lambda: _run_dispatch(run_id=run.pk, token=token))
        except IntegrityError:
            return _retrain_outcome(schedule, now, f"skipped: a run for snapshot watermark {dataset.watermark_event_id} exists")
        return _retrain_outcome(schedule, now, f"started run {run.pk} on {dataset.version} (reward model {reward_model or 'none'})")
    finally:
        cache.delete(lock)


def _retrain_data(*, schedule) -> tuple[Any, str | None, int]:
    """Snapshot the dataset; retrain the reward model when due, and promote it when it ranks
    held-out pairs better than chance and no worse than the active one.

    Returns (dataset, reward-model version used, pairs new since the last run's snapshot).
    """
    from rewards.models import PreferenceDataset
    from rewards.selectors import reward_model_version_active
    from rewards.services import preferences_mine, reward_model_promote, reward_model_promotion_refusal, reward_model_train

    org = schedule.org
    dataset = preferences_mine(org=org)
    last_run = TrainingRun.objects.filter(org=org, kind=RunKind.RL).exclude(dataset_snapshot_id="").order_by("-created_at").first()
    last_pairs = 0
    if last_run is not None:
        last = PreferenceDataset.objects.filter(version=last_run.dataset_snapshot_id).first()
        last_pairs = (last.pairs_train + last.pairs_validation) if last is not None else 0
    pairs_new = dataset.pairs_train + dataset.pairs_validation - last_pairs
    active = reward_model_version_active()
    used = active.version if active is not None else None
    if dataset.pairs_train >= max(1, schedule.reward_model_min_pairs):
        trained = reward_model_train(dataset=dataset, kind=schedule.reward_model_kind)
        if reward_model_promotion_refusal(trained, active=active) is None:
            used = reward_model_promote(version=trained).version
    return dataset, used, pairs_new


def _retrain_outcome(schedule, now, outcome: str) -> str:
    schedule.last_checked_at = now or timezone.now()
    schedule.last_outcome = outcome[:300]
    schedule.save(update_fields=["last_checked_at", "last_outcome"])
    return outcome


def _run_dispatch(*, run_id: Any, token: str) -> None:
    """After commit: submit to Ray (RAY_ADDRESS) or queue the local execution as a Celery task."""
    if settings.RAY_ADDRESS:
        run_submit_ray_job(run=TrainingRun.objects.get(pk=run_id), token=token)
        return
    from training.tasks import rl_run_execute_task

    rl_run_execute_task.delay(str(run_id))
