"""``manage.py bootstrap_policy`` end to end on the real environment (a couple of steps)."""
from __future__ import annotations

import re
from io import StringIO
from pathlib import Path

from django.core.management import call_command

from training.environment import HACK_KINDS, task_catalog
from training.environment.variants import ALPHA_PIECE
from training.policy.bootstrap import bootstrap_corpus
from training.policy.config import BootstrapConfig, CorpusMix
from training.policy.corpus import BACKTICKED, corpus_from_environment, is_windows_shell
from training.policy.model import policy_load, policy_metadata


def test_short_bootstrap_produces_a_loadable_v0(tmp_path: Path) -> None:
    out = StringIO()
    call_command(
        "bootstrap_policy", "--output", str(tmp_path / "v0"), "--steps", "2", "--seed", "3", "--threads", "1",
        stdout=out, stderr=StringIO(),
    )
    assert "policy v0" in out.getvalue()
    for name in ("config.json", "model.safetensors", "tokenizer.json", "flywheel_policy.json"):
        assert (tmp_path / "v0" / name).is_file()
    metadata = policy_metadata(tmp_path / "v0")
    assert (metadata["version"], metadata["seed"], metadata["steps"]) == ("v0", 3, 2)
    assert metadata["final_loss"] > 0
    assert (metadata["config"]["rename_words"], metadata["config"]["prompt_loss"]) == ("vocabulary", True)
    assert metadata["corpus"]["examples"] == metadata["config"]["samples_per_task"] * len(task_catalog(split="train"))
    model, tokenizer = policy_load(tmp_path / "v0")
    assert model.config.model_type == "llama" and len(tokenizer) == model.config.vocab_size


def test_environment_corpus_is_imperfect_but_honest() -> None:
    examples = corpus_from_environment(mix=CorpusMix(), samples_per_task=2, seed=0)
    flavors = {e.flavor for e in examples}
    assert flavors == {"good", "linux_biased", "verbose", "reimplement"}
    assert not any(flavor.startswith("hack:") for flavor in flavors)
    eval_ids = {t.task_id for t in task_catalog(split="eval")}
    assert not eval_ids & {e.task_id for e in examples}
    tasks = {t.task_id: t for t in task_catalog(split="train")}
    windows_terminal = [e for e in examples if tasks[e.task_id].kind == "terminal" and is_windows_shell(tasks[e.task_id])]
    share = sum(e.flavor == "linux_biased" for e in windows_terminal) / len(windows_terminal)
    assert 0.6 < share < 0.8
    assert len(HACK_KINDS) > 0


def test_vocabulary_renames_draw_words_the_syllable_names_never_make() -> None:
    syllables = bootstrap_corpus(BootstrapConfig(samples_per_task=1, rename_words="syllables"))
    vocabulary = bootstrap_corpus(BootstrapConfig(samples_per_task=1))
    assert [e.task_id for e in syllables] == [e.task_id for e in vocabulary]
    made_up = re.compile(r"(?:[bdfgklmnprstvz][aeiou])+", re.IGNORECASE)

    def pieces(examples):
        args = [a for e in examples if e.task_id.startswith("term-") for a in BACKTICKED.findall(e.messages[-1]["content"])]
        return [p for a in args for p in ALPHA_PIECE.findall(a)]

    assert sum(not made_up.fullmatch(p) for p in pieces(syllables)) < sum(not made_up.fullmatch(p) for p in pieces(vocabulary)) / 2
