"""Scheduled retraining: `retrain_if_due` by hand, then on a real Celery worker and beat over Redis."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache

from rewards.models import PreferenceDataset, RewardModelVersion
from telemetry.services import events_ingest, organization_get_or_create
from tests.training.rl.conftest import local_ray, rl_policy  # noqa: F401
from tests.training.rl.factories import RL_TASK_PREFIXES
from training.models.runs import RunStatus, TrainingRun
from training.services.runs import retrain_if_due, retrain_org, retrain_schedule_get_or_create, run_create
from training.simulator import HashSplit, ReferenceResponder, SimulationConfig, simulate

REPO = Path(__file__).resolve().parents[2]


def simulated_org(slug: str, *, sessions: int = 40, seed: int = 3):
    org = organization_get_or_create(slug=slug)
    org.content_capture = "full"
    org.save()

    def sink(record, json_events, otlp_events) -> None:
        assert events_ingest(org=org, events=json_events).accepted == len(json_events)

    simulate(SimulationConfig(sessions=sessions, seed=seed, split="train"), responder=ReferenceResponder(),
             assigner=HashSplit(["v1", "v2"]), sink=sink, keep_events=False)
    return org


def rl_config(policy) -> dict:
    return {"policy_path": str(policy), "task_id_prefixes": list(RL_TASK_PREFIXES), "steps": 2, "group_size": 4,
            "prompts_per_step": 2, "max_new_tokens": 16, "overlong_buffer": 4, "reward_source": "environment"}


@pytest.fixture
def private_var(settings, tmp_path):
    settings.VAR_DIR = tmp_path / "var"
    settings.TRAINING_RUNS_DIR = tmp_path / "runs"
    settings.RAY_ADDRESS = ""
    return tmp_path


@pytest.mark.django_db(transaction=True)
def test_due_check_snapshots_trains_the_reward_model_and_queues_one_run(private_var, monkeypatch):
    org = simulated_org("retrain-a")
    dispatched: list[str] = []
    monkeypatch.setattr("training.services.runs._run_dispatch", lambda run_id, token: dispatched.append(str(run_id)))
    schedule = retrain_schedule_get_or_create(org=org, min_new_events=10, interval_s=0, reward_model_min_pairs=1,
                                              reward_model_kind="baseline", rl_config={"steps": 3})
    outcome = retrain_org(schedule=schedule)
    run = TrainingRun.objects.get()
    assert outcome.startswith(f"started run {run.pk}") and dispatched == [str(run.pk)]
    dataset = PreferenceDataset.objects.get(org=org)
    assert run.dataset_snapshot_id == dataset.version
    # The reward model was trained on the snapshot, but 40 sessions leave no held-out pairs to show it
    # ranks better than chance: it is not promoted, and the run is rewarded without one.
    trained = RewardModelVersion.objects.get(dataset=dataset)
    assert dataset.pairs_train > 0 and dataset.pairs_validation == 0 and trained.pairwise_accuracy is None
    assert not trained.is_active and run.reward_model_version == ""
    assert run.trigger == "schedule" and run.data_key == f"retrain-a:{dataset.watermark_event_id}"
    # nothing new since: the next check is not due, and no second run appears
    assert "not due" in retrain_if_due()[0]
    assert TrainingRun.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_triggers_never_start_two_runs_for_the_same_data(private_var, monkeypatch):
    org = simulated_org("retrain-b", sessions=20)
    monkeypatch.setattr("training.services.runs._run_dispatch", lambda run_id, token: None)
    schedule = retrain_schedule_get_or_create(org=org, min_new_events=1, interval_s=0, reward_model_min_pairs=10**6)
    # a concurrent trigger holds the org's lock: this one backs off
    assert cache.add(f"flywheel:retrain:{org.pk}", "1", 60)
    assert retrain_org(schedule=schedule).startswith("skipped: another check")
    cache.delete(f"flywheel:retrain:{org.pk}")
    # a trigger that got past the lock finds the data already claimed by a run (unique data_key)
    from telemetry.models import Event

    high = Event.objects.filter(org=org).order_by("-id").values_list("id", flat=True).first()
    run_create(config={}, org=org, data_key=f"retrain-b:{high}")
    assert retrain_org(schedule=schedule).startswith("skipped: a run for snapshot watermark")
    assert TrainingRun.objects.count() == 1


@pytest.fixture
def worker_and_beat(service_urls, private_var, tmp_path):
    """A real Celery worker and beat on the Redis broker, against this test's database."""
    from config.celery import app as celery_app

    db = settings.DATABASES["default"]
    env = {k: v for k, v in os.environ.items() if k not in ("KAFKA_BOOTSTRAP_SERVERS", "RAY_ADDRESS")}
    env.update(DATABASE_URL=f"postgresql://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
               TRAINING_RETRAIN_CHECK_S="2", FLYWHEEL_VAR_DIR=str(tmp_path / "var"), TRAINING_RUNS_DIR=str(tmp_path / "runs"),
               PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")
    logs = {name: open(tmp_path / f"{name}.log", "wb") for name in ("worker", "beat")}
    worker = subprocess.Popen([sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo", "--loglevel=INFO",
                               "--without-gossip", "--without-mingle"], cwd=REPO, env=env, stdout=logs["worker"], stderr=subprocess.STDOUT)
    beat = subprocess.Popen([sys.executable, "-m", "celery", "-A", "config", "beat", "--loglevel=INFO",
                             "--schedule", str(tmp_path / "beat-schedule")], cwd=REPO, env=env, stdout=logs["beat"], stderr=subprocess.STDOUT)
    celery_app.conf.task_always_eager = False
    yield tmp_path
    for process in (beat, worker):
        process.terminate()
    for process in (beat, worker):
        process.wait(timeout=60)


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_beat_and_a_worker_retrain_once_per_new_data(worker_and_beat, rl_policy):
    org = simulated_org("retrain-c", sessions=20)
    schedule = retrain_schedule_get_or_create(org=org, min_new_events=1, interval_s=0, reward_model_min_pairs=1,
                                              reward_model_kind="baseline", rl_config=rl_config(rl_policy))
    deadline = time.monotonic() + 400
    run = None
    while time.monotonic() < deadline:
        run = TrainingRun.objects.filter(org=org).first()
        if run is not None and run.finished:
            break
        time.sleep(2)
    logs = (worker_and_beat / "worker.log").read_text(errors="replace")[-3000:]
    assert run is not None and run.status == RunStatus.SUCCEEDED, logs
    assert run.dataset_snapshot_id and run.step == 2
    trained = RewardModelVersion.objects.get(dataset__version=run.dataset_snapshot_id)  # retrained on the snapshot,
    assert trained.pairwise_accuracy is None and not trained.is_active  # with no held-out pairs to be promoted on,
    assert run.reward_model_version == ""  # so the run was rewarded without one
    time.sleep(6)  # more beat ticks: nothing new arrived, so nothing starts
    schedule.refresh_from_db()
    assert TrainingRun.objects.filter(org=org).count() == 1
    assert schedule.last_outcome.startswith("not due"), schedule.last_outcome
