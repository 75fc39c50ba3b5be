"""Runs as records: local Ray in-process, the job's report endpoint, stop, the command."""
from __future__ import annotations

import json
import uuid

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from training.models.runs import RunStatus, TrainingRun
from training.rl.config import RLConfigError
from training.rl.reporting import RunReport
from training.services.runs import run_create, run_execute_local, run_report, run_stop

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def embedded_compute(settings, tmp_path):
    settings.RAY_ADDRESS = ""
    settings.TRAINING_RUNS_DIR = tmp_path / "runs"


def test_bad_config_is_refused_naming_the_field(small_config):
    with pytest.raises(RLConfigError) as error:
        run_create(config=small_config | {"group_size": 1})
    assert error.value.field == "group_size"
    assert TrainingRun.objects.count() == 0


def test_a_local_run_records_progress_curves_lineage_and_checkpoint(small_config, local_ray):
    run, _ = run_create(config=small_config, dataset_snapshot_id="snap-1", reward_model_version="rm-3")
    assert run.status == RunStatus.QUEUED and run.parent_policy == small_config["policy_path"]
    seen: list[tuple[str, int]] = []
    run = run_execute_local(run_id=run.pk, progress=lambda r: seen.append((r.status, r.step)))
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert ("running", 1) in seen and run.step == 3 and run.progress == 1.0
    assert [point[0] for point in run.metrics["reward/mean"]] == [1, 2, 3]
    for key in ("loss/policy", "clip/fraction", "entropy", "tokens/response_mean", "sampling/kept_groups", "reward/correctness/mean"):
        assert key in run.metrics
    assert run.artifacts["checkpoint_dir"].endswith("step-000003")
    assert (run.dataset_snapshot_id, run.reward_model_version) == ("snap-1", "rm-3")
    assert "step 3/3" in run.logs_tail
    assert run.result["steps"] == 3


def test_a_local_run_that_crashes_is_marked_failed(small_config, local_ray, tmp_path):
    run, _ = run_create(config=small_config | {"policy_path": str(tmp_path / "no-such-policy")})
    run = run_execute_local(run_id=run.pk)
    assert run.status == RunStatus.FAILED
    assert "no-such-policy" in run.error


def test_stop_requested_while_running_stops_at_the_next_report(small_config, local_ray):
    run, _ = run_create(config=small_config | {"steps": 50})

    def stop_after_first_step(record):
        if record.step == 1:
            run_stop(run=record)

    run = run_execute_local(run_id=run.pk, progress=stop_after_first_step)
    assert run.status == RunStatus.STOPPED and run.step == 2  # asked after step 1, seen at the report of step 2
    checkpoints = run.config["output_dir"] + "/checkpoints"
    import os

    assert not os.path.exists(checkpoints) or not [n for n in os.listdir(checkpoints) if n.startswith(".tmp")]


def test_queued_run_stops_at_once(small_config):
    run, _ = run_create(config=small_config)
    assert run_stop(run=run).status == RunStatus.STOPPED


def test_report_endpoint_authenticates_validates_and_answers_stop(small_config):
    run, token = run_create(config=small_config)
    client = APIClient()
    url = f"/api/v1/training/runs/{run.pk}/report"
    body = {"step": 1, "total_steps": 3, "metrics": {"reward/mean": 0.25, "loss/policy": 0.1}, "logs": ["step 1/3"]}
    assert client.post(url, body, format="json").status_code == 401
    assert client.post(url, body, format="json", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    missing = client.post(f"/api/v1/training/runs/{uuid.uuid4()}/report", body, format="json", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert missing.status_code == 404
    bad = client.post(url, body | {"step": -1}, format="json", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert bad.status_code == 400 and bad.json()["field"] == "step"
    bad_metric = client.post(url, body | {"metrics": {"reward/mean": "high"}}, format="json", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert bad_metric.status_code == 400 and bad_metric.json()["field"] == "metrics"
    ok = client.post(url, body, format="json", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert ok.status_code == 200 and ok.json() == {"stop": False}
    run.refresh_from_db()
    assert run.status == RunStatus.RUNNING and run.metrics["reward/mean"] == [[1, 0.25]]
    run_stop(run=run)
    assert client.post(url, body | {"step": 2}, format="json", HTTP_AUTHORIZATION=f"Bearer {token}").json() == {"stop": True}


def test_a_resumed_run_redoing_steps_replaces_their_points():
    run, _ = run_create(config={"steps": 4})
    for step, value in ((1, 0.1), (2, 0.2), (3, 0.3), (2, 0.25), (3, 0.35)):
        run_report(run_id=run.pk, report=RunReport(step=step, total_steps=4, metrics={"reward/mean": value}))
    run.refresh_from_db()
    assert run.metrics["reward/mean"] == [[1, 0.1], [2, 0.25], [3, 0.35]]


def test_report_endpoint_is_in_the_openapi_document():
    schema = APIClient().get("/api/schema/", HTTP_ACCEPT="application/json")
    paths = json.loads(schema.content)["paths"] if schema["Content-Type"].startswith("application/json") else None
    if paths is None:
        import yaml

        paths = yaml.safe_load(schema.content)["paths"]
    report = paths["/api/v1/training/runs/{run_id}/report"]["post"]
    assert {"200", "400", "401", "404"} <= set(report["responses"])
    assert "/api/v1/training/runs/{run_id}/stop" in paths


def test_command_runs_locally_and_shows_status(small_config, local_ray, tmp_path, capsys):
    config_file = tmp_path / "rl.json"
    config_file.write_text(json.dumps(small_config | {"steps": 2}))
    call_command("rl_train", "--config", str(config_file), "--wait")
    run = TrainingRun.objects.get()
    assert run.status == RunStatus.SUCCEEDED
    call_command("rl_train", "--status", str(run.pk))
    out = capsys.readouterr().out
    assert f"run {run.pk}  status=succeeded  step 2/2" in out
    with pytest.raises(CommandError, match="group_size"):
        call_command("rl_train", "--config", str(config_file), "--set", "group_size=1")
    with pytest.raises(CommandError, match="no training run"):
        call_command("rl_train", "--status", "not-a-run")


def test_the_job_runtime_env_ships_the_project_and_its_requirements(small_config):
    from django.conf import settings

    from training.services.runs import ray_entrypoint, ray_runtime_env

    run, token = run_create(config=small_config)
    env = ray_runtime_env(token=token)
    assert env["working_dir"] == str(settings.BASE_DIR) and "var/" in env["excludes"]
    assert any(req.startswith("torch") for req in env["pip"]) and any(req.startswith("peft") for req in env["pip"])
    assert env["env_vars"]["FLYWHEEL_REPORT_TOKEN"] == token
    entrypoint = ray_entrypoint(run=run)
    assert entrypoint.startswith("python -m training.rl.driver --config-json ") and f"--run-id {run.pk}" in entrypoint
