"""LM head at answer positions only (``logits_at``) vs on every position, side by side.

Two training steps of the demo policy's shape (``PolicyArchitecture``), on the bootstrap
corpus (the environment's train split), each timed both ways in alternating rounds:

- bootstrap SFT: one forward + backward + AdamW step on a batch of ``--batch`` examples;
- RL learner: the log-probabilities of each answer token under the sampling temperature
  and their entropy, forward + backward, on ``--rl-batch`` examples (a GRPO step's batch).

"every position" is what both did before: the full ``[B, T, V]`` logits, then the answer
positions picked out of them. Reports the median seconds per step and the ratio, with the
same loss both ways (a check that the two compute the same thing).

    .venv/bin/python benchmarks/answer_logits.py [--rounds 15] [--threads 1]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from training.policy.bootstrap import (  # noqa: E402
    IGNORE_INDEX,
    adamw_create,
    answer_targets,
    batch_stream,
    corpus_texts,
    encode_example,
    sft_loss,
)
from training.policy.config import BootstrapConfig  # noqa: E402
from training.policy.corpus import corpus_from_environment  # noqa: E402
from training.policy.model import logits_at, policy_model_create  # noqa: E402
from training.policy.tokenizer import tokenizer_train  # noqa: E402
from training.rl import algorithms  # noqa: E402

Logits = Callable[[torch.nn.Module, torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


def logits_everywhere(model, input_ids, attention_mask, positions) -> torch.Tensor:
    """The previous way: logits at every position [B, T, V], then gather the answer positions."""
    logits = model(input_ids=input_ids, attention_mask=attention_mask).logits
    return logits.gather(1, positions.unsqueeze(-1).expand(-1, -1, logits.size(-1)))


def sft_step(model, optimizer, batch, logits_fn: Logits) -> float:
    input_ids, attention_mask, labels = batch
    positions, targets = answer_targets(labels)
    loss = sft_loss(logits_fn(model, input_ids, attention_mask, positions), targets)
    loss.backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return loss.item()


def learner_step(model, batch, logits_fn: Logits, temperature: float = 0.7) -> float:
    input_ids, attention_mask, labels = batch
    positions, targets = answer_targets(labels)
    mask = (targets != IGNORE_INDEX).float()
    logits = logits_fn(model, input_ids, attention_mask, positions) / temperature
    log_probs = algorithms.token_log_probs(logits, targets.clamp(min=0))
    entropy = algorithms.token_entropy(logits)
    loss = -(log_probs * mask).sum() / mask.sum() - 0.01 * (entropy * mask).sum() / mask.sum()
    loss.backward()
    model.zero_grad(set_to_none=True)
    return loss.item()


def timed(step: Callable[[], float]) -> tuple[float, float]:
    started = time.perf_counter()
    loss = step()
    return time.perf_counter() - started, loss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15, help="timed steps per way and case (after 3 warm-up steps)")
    parser.add_argument("--batch", type=int, default=BootstrapConfig.batch_size, help="bootstrap batch size")
    parser.add_argument("--rl-batch", type=int, default=64, help="RL learner batch (prompts x group size)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    config = BootstrapConfig()
    examples = corpus_from_environment(mix=config.mix, samples_per_task=config.samples_per_task, seed=0,
                                       rename_share=config.rename_share)
    tokenizer = tokenizer_train(corpus_texts(examples), vocab_size=config.architecture.vocab_size)
    sequences = [s for s in (encode_example(tokenizer, e) for e in examples) if len(s[0]) <= config.max_seq_len]
    answer_share = sum(sum(t != IGNORE_INDEX for t in labels) for _, labels in sequences) / sum(len(i) for i, _ in sequences)
    print(f"corpus: {len(sequences)} examples, {answer_share:.0%} of their tokens are answer tokens; "
          f"{args.threads} thread(s)")

    rows = []
    for case, batch_size in (("bootstrap SFT step", args.batch), ("RL learner log-probs, fwd+bwd", args.rl_batch)):
        batches = batch_stream(sequences, batch_size=batch_size, pad_id=tokenizer.pad_token_id, seed=1)
        times: dict[str, list[float]] = {"every position": [], "answer positions": []}
        losses: dict[str, float] = {}
        models = {way: policy_model_create(architecture=config.architecture, tokenizer=tokenizer, seed=0) for way in times}
        optimizers = {way: adamw_create(model, learning_rate=1e-3, weight_decay=0.01) for way, model in models.items()}
        functions: dict[str, Logits] = {"every position": logits_everywhere, "answer positions": logits_at}
        for round_ in range(args.rounds + 3):
            batch = next(batches)
            for way in times:  # same batch, same weights: both ways take the same step
                if case.startswith("bootstrap"):
                    seconds, loss = timed(lambda: sft_step(models[way], optimizers[way], batch, functions[way]))
                else:
                    seconds, loss = timed(lambda: learner_step(models[way], batch, functions[way]))
                if round_ >= 3:
                    times[way].append(seconds)
                losses[way] = loss
        every, answer = (statistics.median(times[way]) for way in times)
        rows.append((case, every, answer, losses["every position"], losses["answer positions"]))

    print(f"\n{'step':32} {'every position':>15} {'answer positions':>17} {'ratio':>7}  last loss (every / answer)")
    for case, every, answer, loss_every, loss_answer in rows:
        print(f"{case:32} {every * 1000:12.1f} ms {answer * 1000:14.1f} ms {answer / every:7.2f}  "
              f"{loss_every:.5f} / {loss_answer:.5f}")


if __name__ == "__main__":
    main()
