"""Runs submitted to the real Ray head (scripts/services.sh) through the Ray Jobs API.

The job reports to this test's live server over HTTP with its run token; the test polls
the record the way ``rl_train --wait`` does (``run_sync``).
"""
from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from training.models.runs import RunStatus, TrainingRun
from training.services.runs import ray_job_client, run_create, run_resume, run_start, run_stop, run_sync

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
JOB_TIMEOUT_S = 420


@pytest.fixture
def ray_jobs(service_urls, settings, live_server, tmp_path):
    settings.RAY_ADDRESS = service_urls["RAY_ADDRESS"]
    settings.FLYWHEEL_PUBLIC_URL = live_server.url
    settings.TRAINING_RUNS_DIR = tmp_path / "runs"
    settings.TRAINING_RAY_PIP = []  # the head runs from the project venv: skip building a pip env per job (~40 s here)
    return settings


def wait_for(run: TrainingRun, done, *, timeout_s: float = JOB_TIMEOUT_S) -> TrainingRun:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        run = run_sync(run=TrainingRun.objects.get(pk=run.pk))
        if done(run):
            return run
        time.sleep(1.0)
    logs = ray_job_client().get_job_logs(run.submission_id)[-3000:] if run.submission_id else ""
    raise AssertionError(f"run {run.pk} still {run.status} at step {run.step} after {timeout_s}s\n{logs}")


def test_a_submitted_job_succeeds_and_reports_over_http(ray_jobs, small_config):
    run, token = run_create(config=small_config)
    run = run_start(run=run, token=token)
    assert run.submission_id == str(run.pk) and run.backend == "ray_job"
    run = wait_for(run, lambda r: r.finished)
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert [p[0] for p in run.metrics["reward/mean"]] == [1, 2, 3]  # arrived through the report endpoint
    assert Path(run.result["checkpoint_dir"], "model.safetensors").is_file()
    assert "RESULT" in run.logs_tail


def test_a_job_with_a_bad_config_fails(ray_jobs, small_config, tmp_path):
    run, token = run_create(config=small_config | {"policy_path": str(tmp_path / "missing-policy")})
    run = wait_for(run_start(run=run, token=token), lambda r: r.finished)
    assert run.status == RunStatus.FAILED
    assert "missing-policy" in run.error or "missing-policy" in run.logs_tail
    assert not Path(run.config["output_dir"], "checkpoints").exists()


def test_a_stopped_job_is_marked_stopped_with_no_half_written_checkpoint(ray_jobs, small_config):
    run, token = run_create(config=small_config | {"steps": 400, "checkpoint_every": 1})
    run = wait_for(run_start(run=run, token=token), lambda r: r.step >= 2)
    run = run_stop(run=run)
    assert run.status == RunStatus.STOPPED
    deadline = time.monotonic() + 60
    while str(ray_job_client().get_job_status(run.submission_id).value) not in ("STOPPED", "FAILED") and time.monotonic() < deadline:
        time.sleep(1)
    assert str(ray_job_client().get_job_status(run.submission_id).value) == "STOPPED"
    checkpoints = Path(run.config["output_dir"], "checkpoints")
    assert not [p for p in checkpoints.iterdir() if p.name.startswith(".tmp")] if checkpoints.exists() else True
    assert all((p / "rl_state.json").is_file() for p in checkpoints.iterdir())


def test_a_killed_job_resumes_from_its_last_checkpoint(ray_jobs, small_config):
    run, token = run_create(config=small_config | {"steps": 8, "checkpoint_every": 2})
    run = wait_for(run_start(run=run, token=token), lambda r: r.artifacts.get("checkpoints") and r.step >= 3)
    driver_pid = ray_job_client().get_job_info(run.submission_id).driver_info.pid
    os.kill(int(driver_pid), signal.SIGKILL)  # a crash: no chance to clean up
    run = wait_for(run, lambda r: r.finished)
    assert run.status == RunStatus.FAILED
    run, _ = run_resume(run=run)
    assert run.submission_id == f"{run.pk}-r1"
    run = wait_for(run, lambda r: r.finished)
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.result["resumed_from_step"] >= 2 and run.result["steps"] == 8
    assert [p[0] for p in run.metrics["reward/mean"]] == list(range(1, 9))
