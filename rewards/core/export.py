"""JSONL exports of preference pairs in the formats training frameworks read.

* TRL (``RewardTrainer``, explicit-prompt preference format): ``{"prompt", "chosen",
  "rejected", "margin"}`` with plain strings; TRL subtracts ``margin`` in its loss when the
  column is present.
* OpenRLHF (``openrlhf.cli.train_rm`` with ``--apply_chat_template --prompt_key prompt
  --chosen_key chosen --rejected_key rejected``): the prompt as a list of chat messages and
  the answers as assistant message lists, plus ``margin`` (read with ``--margin_loss``).
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from rewards.core.pairs import PreferencePair

FORMATS: tuple[str, ...] = ("trl", "openrlhf")


def trl_record(pair: PreferencePair) -> dict:
    return {"prompt": pair.prompt, "chosen": pair.chosen, "rejected": pair.rejected, "margin": pair.margin}


def openrlhf_record(pair: PreferencePair) -> dict:
    return {
        "prompt": [{"role": "user", "content": pair.prompt}],
        "chosen": [{"role": "assistant", "content": pair.chosen}],
        "rejected": [{"role": "assistant", "content": pair.rejected}],
        "margin": pair.margin,
    }


RECORD_BUILDERS = {"trl": trl_record, "openrlhf": openrlhf_record}


def jsonl_write(path: Path, records: Iterable[dict]) -> int:
    """Write one JSON object per line; returns the number of lines."""
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with path.open("w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")
            count += 1
    return count


def jsonl_read(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def pairs_export(pairs: list[PreferencePair], directory: Path) -> dict[str, str]:
    """Write ``pairs.jsonl`` (everything) and ``<format>/<split>.jsonl``; returns {name: relative path}."""
    files = {"pairs": "pairs.jsonl"}
    jsonl_write(directory / "pairs.jsonl", (pair.to_dict() for pair in pairs))
    for name, build in RECORD_BUILDERS.items():
        for split in ("train", "validation"):
            relative = f"{name}/{split}.jsonl"
            jsonl_write(directory / relative, (build(pair) for pair in pairs if pair.split == split))
            files[f"{name}_{split}"] = relative
    return files


def pairs_load(directory: Path) -> list[PreferencePair]:
    return [PreferencePair.from_dict(record) for record in jsonl_read(directory / "pairs.jsonl")]
