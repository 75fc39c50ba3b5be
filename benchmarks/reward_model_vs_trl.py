"""Our Bradley-Terry reward-model trainer against TRL's ``RewardTrainer``, side by side in one run.

Same preference pairs (the environment's reference answers: good vs Linux-biased, verbose,
re-implemented; split by prompt), same backbone (a tiny Llama with a scalar head created
here, or ``--backbone DIR``: any local Hugging Face checkpoint), same hyperparameters (epochs,
batch size, learning rate with linear warmup/decay, weight decay, max length, seed), same
loss (-log sigmoid(r_c - r_r - margin): TRL reads the ``margin`` column), same chat-templated
text. Both trained models are scored by the same code on the same held-out pairs.

Prints held-out pairwise accuracy of each and the training-time ratio (ours / TRL; the aim
is <= 0.5 with accuracy >= TRL's). Timing covers everything from pairs to a trained model:
tokenization and model load included for both.

    .venv/bin/python benchmarks/reward_model_vs_trl.py            # CPU: about a minute or two
    .venv/bin/python benchmarks/reward_model_vs_trl.py --device cuda --backbone /path/to/hf-checkpoint

``reward_model_vs_trl(...)`` returns the numbers as a dict (for ``benchmarks/rewards.py``).
TRL is in the ``bench`` extra (``pip install -e '.[bench]'``); when it cannot run, the
result says so with TRL's exact error instead of a number.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import traceback
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from rewards.core.bradley_terry import (  # noqa: E402
    BradleyTerryRewardModel,
    backbone_create,
    bradley_terry_fit,
    held_out_metrics,
)
from rewards.core.config import BradleyTerryConfig  # noqa: E402
from rewards.core.pairs import PreferencePair  # noqa: E402
from rewards.core.reference_pairs import reference_pairs  # noqa: E402


def _backbone_dir(pairs: list[PreferencePair], config: BradleyTerryConfig, directory: Path) -> Path:
    """The shared starting point: created (tiny) and saved once, then loaded by both trainers."""
    model, tokenizer = backbone_create([t for p in pairs for t in (p.prompt, p.chosen, p.rejected)], config)
    model.save_pretrained(directory, safe_serialization=True)
    tokenizer.save_pretrained(directory)
    return directory


def _trl_train(train: list[PreferencePair], backbone: Path, config: BradleyTerryConfig, output: Path) -> tuple[BradleyTerryRewardModel, float]:
    from datasets import Dataset
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from trl import RewardConfig, RewardTrainer

    started = time.perf_counter()
    tokenizer = AutoTokenizer.from_pretrained(backbone, local_files_only=True)
    model = AutoModelForSequenceClassification.from_pretrained(backbone, num_labels=1, local_files_only=True)
    model.config.pad_token_id = tokenizer.pad_token_id
    dataset = Dataset.from_list([
        {"prompt": [{"role": "user", "content": p.prompt}], "chosen": [{"role": "assistant", "content": p.chosen}],
         "rejected": [{"role": "assistant", "content": p.rejected}], "margin": p.margin * config.margin_scale}
        for p in train
    ])
    args = RewardConfig(
        output_dir=str(output), num_train_epochs=config.epochs, per_device_train_batch_size=config.batch_size,
        learning_rate=config.learning_rate, lr_scheduler_type="linear", warmup_steps=config.warmup_steps,
        weight_decay=config.weight_decay, max_grad_norm=1.0, max_length=config.max_length, seed=config.seed,
        use_cpu=config.device == "cpu" or (config.device == "auto" and not torch.cuda.is_available()),
        report_to=[], save_strategy="no", eval_strategy="no", logging_strategy="no", disable_tqdm=True,
        dataloader_num_workers=0, center_rewards_coefficient=None,
    )
    trainer = RewardTrainer(model=model, args=args, train_dataset=dataset, processing_class=tokenizer)
    trainer.train()
    seconds = time.perf_counter() - started
    trained = trainer.model.eval()
    tokenizer.padding_side = "left"
    tokenizer.truncation_side = "left"
    return BradleyTerryRewardModel(model=trained, tokenizer=tokenizer, max_length=config.max_length), seconds


def reward_model_vs_trl(
    *, epochs: int = 3, batch_size: int = 16, learning_rate: float = 1e-3, max_length: int = 512,
    backbone: str = "", device: str = "auto", seed: int = 0, limit: int | None = None,
    hidden_size: int = BradleyTerryConfig.hidden_size, layers: int = BradleyTerryConfig.num_hidden_layers,
    heads: int = BradleyTerryConfig.num_attention_heads,
) -> dict[str, Any]:
    """Train both on the same pairs and backbone; return accuracies, seconds and the ratio."""
    torch.set_num_threads(1)
    pairs = reference_pairs(split="train", limit=limit)
    train = [p for p in pairs if p.split == "train"]
    validation = [p for p in pairs if p.split == "validation"]
    config = BradleyTerryConfig(epochs=epochs, batch_size=batch_size, learning_rate=learning_rate,
                                max_length=max_length, backbone=backbone, device=device, seed=seed,
                                hidden_size=hidden_size, num_hidden_layers=layers, num_attention_heads=heads)
    result: dict[str, Any] = {
        "pairs_train": len(train), "pairs_validation": len(validation), "epochs": epochs, "batch_size": batch_size,
        "learning_rate": learning_rate, "max_length": max_length, "device": device,
        "cuda": torch.cuda.is_available(), "torch_threads": torch.get_num_threads(),
    }
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        shared = Path(backbone) if backbone else _backbone_dir(pairs, config, root / "backbone")
        result["backbone"] = backbone or f"Llama created locally: width {hidden_size}, {layers} layers, {heads} heads"
        ours_fit = bradley_terry_fit(train, replace(config, backbone=str(shared)))
        result["ours"] = {"seconds": ours_fit.train_seconds, "loss_per_epoch": ours_fit.losses,
                          **_accuracy(ours_fit.reward_model, validation)}
        try:
            trl_model, trl_seconds = _trl_train(train, shared, replace(config, backbone=str(shared)), root / "trl")
            import trl

            result["trl"] = {"version": trl.__version__, "seconds": trl_seconds, **_accuracy(trl_model, validation)}
            result["time_ratio_ours_over_trl"] = ours_fit.train_seconds / trl_seconds
            result["accuracy_ours_minus_trl"] = result["ours"]["pairwise_accuracy"] - result["trl"]["pairwise_accuracy"]
            result["aim_met"] = result["time_ratio_ours_over_trl"] <= 0.5 and result["accuracy_ours_minus_trl"] >= 0
        except Exception as exc:  # noqa: BLE001 - the benchmark reports TRL's exact error instead of a number
            result["trl"] = {"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc(limit=6)}
    return result


def _accuracy(model, validation: list[PreferencePair]) -> dict[str, Any]:
    metrics = held_out_metrics(model, validation)
    return {"pairwise_accuracy": metrics["pairwise_accuracy"], "ece": metrics["calibration"]["ece"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--max-length", type=int, default=512, help="TRL drops longer pairs; ours truncates: keep it above the longest")
    parser.add_argument("--backbone", default="", help="local HF checkpoint dir (default: a tiny model created here)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--hidden-size", type=int, default=BradleyTerryConfig.hidden_size, help="created backbone's width")
    parser.add_argument("--layers", type=int, default=BradleyTerryConfig.num_hidden_layers, help="created backbone's blocks")
    parser.add_argument("--heads", type=int, default=BradleyTerryConfig.num_attention_heads, help="created backbone's heads")
    parser.add_argument("--limit", type=int, default=None, help="use only the first N pairs")
    parser.add_argument("--json", type=Path, default=Path("artifacts/benchmarks/reward_model_vs_trl.json"))
    args = parser.parse_args()
    result = reward_model_vs_trl(epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.learning_rate,
                                 max_length=args.max_length, backbone=args.backbone, device=args.device, limit=args.limit,
                                 hidden_size=args.hidden_size, layers=args.layers, heads=args.heads)
    print(f"pairs: {result['pairs_train']} train, {result['pairs_validation']} held out; backbone: {result['backbone']}; "
          f"{result['epochs']} epochs, batch {result['batch_size']}, lr {result['learning_rate']}, device {result['device']} (cuda={result['cuda']})")
    ours = result["ours"]
    print(f"ours (rewards.core.bradley_terry): held-out accuracy {ours['pairwise_accuracy']:.4f}  ECE {ours['ece']:.3f}  train {ours['seconds']:.2f} s")
    trl_result = result["trl"]
    if "error" in trl_result:
        print(f"TRL RewardTrainer could not run: {trl_result['error']}")
    else:
        print(f"TRL {trl_result['version']} RewardTrainer:         held-out accuracy {trl_result['pairwise_accuracy']:.4f}  ECE {trl_result['ece']:.3f}  train {trl_result['seconds']:.2f} s")
        print(f"ratio time ours/TRL: {result['time_ratio_ours_over_trl']:.3f} (aim <= 0.5); accuracy ours - TRL: "
              f"{result['accuracy_ours_minus_trl']:+.4f} (aim >= 0); aim met: {result['aim_met']}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2, default=str))


if __name__ == "__main__":
    main()
