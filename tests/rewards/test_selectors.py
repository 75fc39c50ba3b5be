"""The active reward model: loaded once per process, swapped without downtime on promotion."""
from __future__ import annotations

import threading
import time

import pytest

from rewards import selectors
from rewards.core.config import BradleyTerryConfig
from rewards.selectors import reward_model_active
from rewards.services import reward_model_promote, reward_model_train

pytestmark = pytest.mark.django_db(transaction=True)

PROMPT = "Windows, cmd.exe. List the files in the `src` directory."


def test_no_active_version_means_none(db):
    assert reward_model_active() is None


def test_promoted_version_is_loaded_once_and_scores(reference_dataset, django_assert_max_num_queries):
    version = reward_model_train(dataset=reference_dataset, kind="baseline")
    reward_model_promote(version=version)
    model = reward_model_active()
    assert model is not None and model.version == version.version
    good, linux = model.score([PROMPT, PROMPT], ["$ dir src", "$ ls src"])
    assert good > linux
    with django_assert_max_num_queries(0):  # within the check interval: no query, the same object
        assert reward_model_active() is model


def test_promotion_swaps_the_model_while_callers_keep_scoring(reference_dataset, monkeypatch):
    monkeypatch.setattr(selectors, "ACTIVE_CHECK_S", 0.05)
    first = reward_model_train(dataset=reference_dataset, kind="baseline")
    second = reward_model_train(
        dataset=reference_dataset, kind="bradley_terry",
        bradley_terry_config=BradleyTerryConfig(epochs=1, batch_size=32, hidden_size=32, num_hidden_layers=1, max_length=96),
    )
    assert second.parent is None or second.parent == first
    reward_model_promote(version=first)
    assert reward_model_active().version == first.version

    seen_by_thread: list[list[str]] = [[], []]
    failures: list[BaseException] = []
    stop = threading.Event()

    def caller(seen: list[str]) -> None:
        try:
            while not stop.is_set():
                model = reward_model_active()
                assert model is not None  # never a gap while the next version loads
                assert len(model.score([PROMPT], ["$ dir src"])) == 1
                seen.append(model.version)
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)
        finally:
            from django.db import connection
            connection.close()

    threads = [threading.Thread(target=caller, args=(seen,)) for seen in seen_by_thread]
    for thread in threads:
        thread.start()
    time.sleep(0.2)
    reward_model_promote(version=second)
    deadline = time.monotonic() + 30
    while not all(second.version in seen for seen in seen_by_thread) and time.monotonic() < deadline and not failures:
        time.sleep(0.05)
    stop.set()
    for thread in threads:
        thread.join()
    assert not failures, failures
    for seen in seen_by_thread:
        assert seen[0] == first.version and seen[-1] == second.version
        # once swapped, a caller never goes back to the old one
        assert first.version not in seen[seen.index(second.version):]


def test_a_version_that_cannot_load_is_not_promoted(reference_dataset, tmp_path):
    version = reward_model_train(dataset=reference_dataset, kind="baseline")
    version.artifact_path = str(tmp_path / "missing")
    version.save()
    with pytest.raises(FileNotFoundError, match="manifest"):
        reward_model_promote(version=version)
    version.refresh_from_db()
    assert not version.is_active


def test_resolving_urls_does_not_load_the_ml_stack():
    """Every manage.py command (the Kafka consumer too) resolves URLs in its system checks:
    torch and scikit-learn must load only where a reward model is scored."""
    import os
    import subprocess
    import sys

    code = (
        "import django, sys; django.setup(); from django.urls import get_resolver; get_resolver().url_patterns; "
        "print(sorted(m for m in ('torch', 'sklearn', 'transformers') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"})
    assert out.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize("accuracy, active_accuracy, refused", [
    (None, None, "no held-out pairs"),
    (0.458, None, "no better than chance"),
    (0.5, None, "no better than chance"),
    (0.75, None, None),
    (0.75, 0.8, "below the active rm-0001's 0.800"),
    (0.8, 0.8, None),
])
def test_a_reward_model_is_promoted_only_when_it_ranks_held_out_pairs_better_than_chance(accuracy, active_accuracy, refused):
    from rewards.models import RewardModelVersion
    from rewards.services import reward_model_promotion_refusal

    active = RewardModelVersion(version="rm-0001", pairwise_accuracy=active_accuracy) if active_accuracy else None
    refusal = reward_model_promotion_refusal(RewardModelVersion(version="rm-0002", pairwise_accuracy=accuracy), active=active)
    assert refusal is None if refused is None else refused in refusal
