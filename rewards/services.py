"""Rewards writes: mining preferences from telemetry, training and promoting reward models.

Thin Django adapters around ``rewards.core``: read rows, call the pure core, store results.
"""
from __future__ import annotations

import json
import shutil
from collections.abc import Iterable, Iterator
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max, Q, QuerySet
from django.db.models.fields.json import KT
from django.utils import timezone
from tqdm.auto import tqdm

from rewards.core.artifacts import artifact_load, artifact_save
from rewards.core.baseline import baseline_fit
from rewards.core.bradley_terry import bradley_terry_fit, held_out_metrics
from rewards.core.config import BaselineConfig, BradleyTerryConfig, MiningConfig
from rewards.core.export import pairs_export
from rewards.core.facts import completion_facts, completion_merge
from rewards.core.pairs import ScoredCompletion, preference_pairs, split_counts
from rewards.core.product_score import product_score
from rewards.core.signals import best_practice
from rewards.models import MinedCompletion, PreferenceDataset, RewardModelKind, RewardModelVersion
from rewards.selectors import preference_dataset_latest, preference_pairs_of, reward_model_version_active
from telemetry.models import Event, Organization

QUERY_CHUNK = 500
REQUEST_TYPES = ("llm.completion", "llm.usage", "tool.call", "suggestion.shown", "suggestion.accepted", "suggestion.rejected")
SUGGESTION_TYPES = ("suggestion.shown", "suggestion.accepted", "suggestion.rejected")
OUTCOME_TYPES = ("task.finished", "feedback")
EVENT_FIELDS = ("type", "payload", "task_id", "session_id", "model_version", "ts")


def rewards_dir() -> Path:
    return Path(settings.VAR_DIR) / "rewards"


def _key_in(key: str, values: list[str]) -> Q:
    """Events whose payload ``key`` (a string) is one of ``values``.

    On PostgreSQL as ``payload->>'key' IN (..)``, which the partial indexes of telemetry
    migration 0002 serve; SQLite compares the JSON value (Django's text-key ``IN`` is
    broken there: it wraps each value in JSON_EXTRACT).
    """
    if connection.vendor == "postgresql":  # has_key: the request_id index is partial on it
        return Q(**{f"k_{key}__in": values, "payload__has_key": key})
    return Q(**{f"payload__{key}__in": values})


def _with_keys(events: QuerySet, *keys: str) -> QuerySet:
    return events.annotate(**{f"k_{key}": KT(f"payload__{key}") for key in keys})


def _chunks(items: Iterable[Any], size: int = QUERY_CHUNK) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _touched_since(*, org: Organization, watermark: int, high: int, config: MiningConfig, progress: bool) -> tuple[set[str], int]:
    """Request ids of the completions that events in (watermark, high] may change; and the count read."""
    requests: set[str] = set()
    suggestions: set[str] = set()
    tasks: set[str] = set()
    events = (
        Event.objects.filter(org=org, id__gt=watermark, id__lte=high)
        .annotate(request_id=KT("payload__request_id"), suggestion_id=KT("payload__suggestion_id"))
        .order_by("id")
        .values_list("id", "type", "task_id", "request_id", "suggestion_id")
    )
    scanned, last = 0, watermark
    bar = tqdm(total=high - watermark, desc="telemetry scanned (event ids)", unit="id", disable=not progress)
    while True:
        rows = list(events.filter(id__gt=last)[: config.chunk_events])
        if not rows:
            break
        for _, kind, task_id, request_id, suggestion_id in rows:
            if request_id:
                requests.add(request_id)
            elif suggestion_id:
                suggestions.add(suggestion_id)
            if kind == "code.retention" and suggestion_id:
                suggestions.add(suggestion_id)
            if task_id and (kind in OUTCOME_TYPES or kind == "code.retention"):
                tasks.add(task_id)
        bar.update(rows[-1][0] - last)
        scanned += len(rows)
        last = rows[-1][0]
    bar.close()
    for batch in _chunks(sorted(suggestions)):
        requests.update(
            _with_keys(Event.objects.filter(org=org, type__in=SUGGESTION_TYPES), "request_id", "suggestion_id")
            .filter(_key_in("suggestion_id", batch), payload__has_key="request_id")
            .values_list("k_request_id", flat=True)
        )
    for batch in _chunks(sorted(tasks)):
        requests.update(
            _with_keys(Event.objects.filter(org=org, type="llm.completion", task_id__in=batch), "request_id")
            .values_list("k_request_id", flat=True)
        )
    return requests, scanned


def _completion_rows(*, org: Organization, request_ids: list[str], config: MiningConfig) -> list[MinedCompletion]:
    """Facts, product score and signals of the completions among ``request_ids`` (one query set per chunk)."""
    completions = list(
        _with_keys(Event.objects.filter(org=org, type="llm.completion"), "request_id")
        .filter(_key_in("request_id", request_ids))
        .order_by("ts", "id")
        .values(*EVENT_FIELDS)
    )
    if not completions:
        return []
    related = list(
        _with_keys(Event.objects.filter(org=org, type__in=REQUEST_TYPES[1:]), "request_id")
        .filter(_key_in("request_id", request_ids))
        .values(*EVENT_FIELDS)
    )
    suggestion_ids = {s for c in completions for s in c["payload"].get("suggestion_ids") or ()}
    suggestion_ids.update(e["payload"]["suggestion_id"] for e in related if e["type"] in SUGGESTION_TYPES)
    task_ids = {c["task_id"] for c in completions if c["task_id"]}
    for batch in _chunks(sorted(suggestion_ids)):
        related.extend(
            _with_keys(Event.objects.filter(org=org, type="code.retention"), "suggestion_id")
            .filter(_key_in("suggestion_id", batch))
            .values(*EVENT_FIELDS)
        )
        related.extend(  # decisions on listed suggestions that do not name the request
            _with_keys(Event.objects.filter(org=org, type__in=SUGGESTION_TYPES), "suggestion_id")
            .filter(_key_in("suggestion_id", batch))
            .exclude(payload__has_key="request_id")
            .values(*EVENT_FIELDS)
        )
    for batch in _chunks(sorted(task_ids)):
        related.extend(Event.objects.filter(org=org, type__in=OUTCOME_TYPES, task_id__in=batch).order_by("ts", "id").values(*EVENT_FIELDS))
    parts: dict[str, list[dict]] = {}
    for completion in completions:  # in time order: prompt and answer may come as two events
        parts.setdefault(completion["payload"]["request_id"], []).append(completion)
    rows = []
    for request_id, same in parts.items():
        completion = completion_merge(same)
        facts = completion_facts(completion, related)
        score = product_score(facts, config.weights)
        signals = asdict(best_practice(facts.prompt, facts.response)) if facts.has_text else {}
        if not facts.prompt_fingerprint:  # only an answer so far: kept, but it cannot pair
            facts = replace(facts, prompt=None)
        rows.append(MinedCompletion(
            org=org, request_id=request_id, prompt_fingerprint=facts.prompt_fingerprint,
            model_version=facts.model_version, session_id=facts.session_id, task_id=facts.task_id,
            ts=completion["ts"], prompt=facts.prompt, response=facts.response,
            suggestion_ids=list(facts.suggestion_ids), score=score.total,
            components={"values": score.components, "weighted": score.weighted,
                        "facts": {"tool_calls": facts.tool_calls, "tool_errors": facts.tool_errors, "tokens": facts.tokens,
                                  "accepted": facts.accepted, "task_outcome": facts.task_outcome, "feedback": facts.feedback}},
            signals=signals,
        ))
    return rows


MINED_UPDATE_FIELDS = ("prompt_fingerprint", "model_version", "session_id", "task_id", "ts", "prompt", "response",
                       "suggestion_ids", "score", "components", "signals", "updated_at")


def preferences_mine(*, org: Organization, config: MiningConfig | None = None, progress: bool = False) -> PreferenceDataset:
    """Mine telemetry stored since the last snapshot into a new versioned preference dataset.

    Incremental: only events after the previous snapshot's watermark are read, and only the
    completions they touch are recomputed (facts, product score, signals); pairs are then
    rebuilt over every mined completion of ``org`` that has text, and written under
    ``var/rewards/datasets/<version>/`` (pairs, TRL and OpenRLHF JSONL per split).
    """
    config = config or MiningConfig()
    parent = preference_dataset_latest(org=org)
    watermark = parent.watermark_event_id if parent is not None else 0
    high = Event.objects.filter(org=org).aggregate(high=Max("id"))["high"] or watermark
    touched, scanned = _touched_since(org=org, watermark=watermark, high=high, config=config, progress=progress)
    bar = tqdm(total=len(touched), desc="completions scored", unit="completion", disable=not progress)
    for batch in _chunks(sorted(touched)):
        rows = _completion_rows(org=org, request_ids=batch, config=config)
        for row in rows:
            row.updated_at = timezone.now()
        MinedCompletion.objects.bulk_create(
            rows, update_conflicts=True, unique_fields=["org", "request_id"], update_fields=list(MINED_UPDATE_FIELDS)
        )
        bar.update(len(batch))
    bar.close()
    mined = MinedCompletion.objects.filter(org=org)
    with_text = mined.filter(prompt__isnull=False, response__isnull=False)
    pairing = preference_pairs(
        (ScoredCompletion(request_id=m.request_id, prompt_fingerprint=m.prompt_fingerprint, prompt=m.prompt,
                          response=m.response, score=m.score, model_version=m.model_version)
         for m in with_text.order_by("id").iterator(chunk_size=QUERY_CHUNK)),
        config,
    )
    number = PreferenceDataset.objects.filter(org=org).count() + 1
    version = f"{org.slug}-prefs-{number:04d}"
    directory = rewards_dir() / "datasets" / version
    if directory.exists():
        shutil.rmtree(directory)  # left by a run that failed before recording it
    files = pairs_export(pairing.pairs, directory)
    counts = split_counts(pairing.pairs)
    summary = {"version": version, "org": org.slug, "watermark_event_id": high, "pairs": counts,
               "ties_dropped": pairing.ties_dropped, "duplicates_merged": pairing.duplicates_merged,
               "prompt_groups": pairing.groups, "config": config.to_dict()}
    (directory / "manifest.json").write_text(json.dumps(summary, indent=2, sort_keys=True))
    return PreferenceDataset.objects.create(
        org=org, version=version, parent=parent, watermark_event_id=high, events_scanned=scanned,
        completions=mined.count(), completions_with_text=with_text.count(),
        pairs_train=counts["train"], pairs_validation=counts["validation"], ties_dropped=pairing.ties_dropped,
        path=str(directory), files=files, config=config.to_dict(),
    )


def _next_model_version() -> str:
    highest = RewardModelVersion.objects.aggregate(high=Max("id"))["high"] or 0
    return f"rm-{highest + 1:04d}"


def reward_model_train(
    *,
    dataset: PreferenceDataset,
    kind: str,
    baseline_config: BaselineConfig | None = None,
    bradley_terry_config: BradleyTerryConfig | None = None,
    parent: RewardModelVersion | None = None,
    progress: bool = False,
) -> RewardModelVersion:
    """Train a reward model of ``kind`` on the dataset's train split, evaluate it on its
    validation split, save the artifact under ``var/rewards/models/<version>/`` and register it.

    ``parent`` defaults to the active version (the model this one would replace).
    Raises ValueError for an unknown kind or a dataset without training pairs.
    """
    if kind not in RewardModelKind.values:
        raise ValueError(f"unknown reward-model kind {kind!r}; choose one of {RewardModelKind.values}")
    train = preference_pairs_of(dataset=dataset, split="train")
    validation = preference_pairs_of(dataset=dataset, split="validation")
    if not train:
        raise ValueError(f"dataset {dataset.version} has no training pairs: mine more telemetry first")
    if kind == RewardModelKind.BASELINE:
        config: Any = baseline_config or BaselineConfig()
        fit = baseline_fit(train, config)
        model, seconds, curves = fit.model, fit.train_seconds, {}
    else:
        config = bradley_terry_config or BradleyTerryConfig()
        bar = tqdm(desc="reward model steps", unit="step", disable=not progress)

        def on_step(step: int, total: int, loss: float) -> None:
            bar.total = total
            bar.update(1)
            bar.set_postfix(loss=f"{loss:.4f}")

        fit = bradley_terry_fit(train, config, on_step=on_step)
        bar.close()
        model, seconds, curves = fit.reward_model, fit.train_seconds, {"loss/train": fit.losses}
    metrics = held_out_metrics(model, validation) if validation else {"pairwise_accuracy": None, "calibration": {"bins": [], "ece": None}}
    version = _next_model_version()
    directory = rewards_dir() / "models" / version
    if directory.exists():
        shutil.rmtree(directory)
    artifact_save(model, directory, version=version, extra={"dataset": dataset.version})
    if parent is None:
        parent = reward_model_version_active()
    return RewardModelVersion.objects.create(
        version=version, kind=kind, org=dataset.org, dataset=dataset, parent=parent, artifact_path=str(directory),
        pairwise_accuracy=metrics["pairwise_accuracy"], calibration=metrics["calibration"],
        ece=metrics["calibration"]["ece"], train_pairs=len(train), validation_pairs=len(validation),
        train_seconds=seconds, config=config.to_dict(), metrics=curves,
    )


CHANCE_PAIRWISE_ACCURACY = 0.5
"""A coin flip's share of held-out pairs ranked right."""


def reward_model_promotion_refusal(version: RewardModelVersion, *, active: RewardModelVersion | None = None) -> str | None:
    """Why ``version`` must not become the reward model RL trains with, or None when it may.

    It must rank its held-out pairs better than a coin flip (a version without held-out pairs
    cannot show that), and, given the ``active`` version, at least as well as that one does.
    """
    accuracy = version.pairwise_accuracy
    if accuracy is None:
        return "it has no held-out pairs to be measured on"
    if accuracy <= CHANCE_PAIRWISE_ACCURACY:
        return f"its held-out pairwise accuracy {accuracy:.3f} is no better than chance ({CHANCE_PAIRWISE_ACCURACY})"
    if active is not None and active.pairwise_accuracy is not None and accuracy < active.pairwise_accuracy:
        return f"its held-out pairwise accuracy {accuracy:.3f} is below the active {active.version}'s {active.pairwise_accuracy:.3f}"
    return None


def reward_model_promote(*, version: RewardModelVersion) -> RewardModelVersion:
    """Make ``version`` the active one (every serving process picks it up within a second or two).

    The artifact is loaded first: a version that cannot be loaded is never promoted
    (raises FileNotFoundError/ValueError saying what is wrong).
    """
    artifact_load(Path(version.artifact_path))
    with transaction.atomic():
        RewardModelVersion.objects.select_for_update().filter(is_active=True).exclude(pk=version.pk).update(is_active=False)
        version.is_active = True
        version.promoted_at = timezone.now()
        version.save(update_fields=["is_active", "promoted_at"])
    return version
