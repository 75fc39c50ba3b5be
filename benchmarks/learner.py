"""The RL learner's forward + backward: whole sequences vs each distinct prompt run once, side by side.

A GRPO batch answers each prompt ``--group`` times. The learner used to run every row's
prompt + answer through the model (``logits_at`` on right-padded whole sequences); now
``shared_prompt_answer_logits`` runs each distinct prompt once, indexes its KV cache out to
the answer rows and runs only the answers on top of it. The batch here is what a rollout
of the loop's RL draws: ``--tasks`` train tasks (the loop's kind mix) x ``--group`` answers
sampled by ``policy_generate`` at temperature 1.0 from the policy. Both ways are timed on the
same batches in alternating rounds: the answers' log-probabilities, forward and backward.
It checks that both give the same log-probabilities, then prints the median milliseconds
per step both ways and the ratio. Needs a trained policy (answers of realistic length):

    .venv/bin/python benchmarks/learner.py [--policy var/policies/v0] [--rounds 10] [--threads 1]
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from benchmarks.generate import rollout_batches, trained_policy  # noqa: E402
from training.policy.generate import policy_generate  # noqa: E402
from training.policy.model import logits_at, shared_prompt_answer_logits  # noqa: E402
from training.rl import algorithms  # noqa: E402
from training.rl.learner import BatchTensors, TrainSample, batch_tensors  # noqa: E402


def whole_sequences(batch: list[TrainSample], pad_id: int) -> tuple[torch.Tensor, ...]:
    """The previous layout: prompt + answer per row, right-padded; the logit positions of each answer token."""
    width = max(len(s.prompt_ids) + len(s.response_ids) for s in batch)
    answer_width = max(len(s.response_ids) for s in batch)
    input_ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    attention_mask = torch.zeros((len(batch), width), dtype=torch.long)
    positions = torch.zeros((len(batch), answer_width), dtype=torch.long)
    for row, sample in enumerate(batch):
        sequence = list(sample.prompt_ids) + list(sample.response_ids)
        input_ids[row, : len(sequence)] = torch.tensor(sequence)
        attention_mask[row, : len(sequence)] = 1
        start = len(sample.prompt_ids)
        positions[row, : len(sample.response_ids)] = torch.arange(start - 1, start - 1 + len(sample.response_ids))
    return input_ids, attention_mask, positions


def sampled_batch(model, tokenizer, *, tasks: int, group: int, rng: random.Random, seed: int) -> list[TrainSample]:
    prompts = rollout_batches(tokenizer, tasks=tasks, group=group, rng=rng)
    generations = policy_generate(model, tokenizer, prompts, max_new_tokens=96, temperature=1.0, seed=seed)
    encoded = {p: tuple(tokenizer(p, add_special_tokens=False)["input_ids"]) for p in prompts}
    eos = (tokenizer.eos_token_id,)  # as the rollout worker trains on it: with eos when the model stopped by itself
    return [TrainSample(encoded[p], tuple(g.token_ids) + (eos if g.finish_reason == "stop" and g.stop_reason is None else ()), 1.0)
            for p, g in zip(prompts, generations)]


def answer_log_probs(model, tensors: BatchTensors, whole: tuple[torch.Tensor, ...] | None) -> torch.Tensor:
    """Each answer token's log-probability [B, R]: from ``whole`` sequences when given, else prompts once."""
    if whole is None:
        logits = shared_prompt_answer_logits(model, tensors.prompt_ids, tensors.prompt_mask, tensors.prompt_of_row,
                                             tensors.response_tokens, tensors.mask.long())
    else:
        logits = logits_at(model, *whole)
    return algorithms.token_log_probs(logits, tensors.response_tokens) * tensors.mask


def timed_step(step: Callable[[], torch.Tensor]) -> float:
    started = time.perf_counter()
    step().sum().backward()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policy", default=str(ROOT / "var" / "policies" / "v0"), help="trained policy directory")
    parser.add_argument("--rounds", type=int, default=10, help="timed batches (after 1 warm-up)")
    parser.add_argument("--tasks", type=int, default=8, help="prompts per batch")
    parser.add_argument("--group", type=int, default=8, help="answers per prompt")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    args = parser.parse_args()
    model, tokenizer = trained_policy(args.policy, threads=args.threads)
    model.train()
    pad_id = tokenizer.pad_token_id
    rng = random.Random(0)
    times: dict[bool, list[float]] = {False: [], True: []}
    prompt_tokens, answer_tokens, largest_difference = [], [], 0.0
    for round_ in range(args.rounds + 1):
        batch = sampled_batch(model, tokenizer, tasks=args.tasks, group=args.group, rng=rng, seed=round_)
        tensors = batch_tensors(batch, pad_id=pad_id, device=torch.device("cpu"))
        inputs = {False: whole_sequences(batch, pad_id), True: None}  # both laid out before the clock
        with torch.no_grad():
            whole, shared = (answer_log_probs(model, tensors, inputs[way]) for way in (False, True))
        largest_difference = max(largest_difference, (whole - shared).abs().max().item())
        for shared_way in (round_ % 2 == 0, round_ % 2 == 1):  # alternate which way goes first
            seconds = timed_step(lambda: answer_log_probs(model, tensors, inputs[shared_way]))
            model.zero_grad(set_to_none=True)
            if round_:
                times[shared_way].append(seconds)
        prompt_tokens += [len(s.prompt_ids) for s in batch]
        answer_tokens += [len(s.response_ids) for s in batch]
    whole_ms, shared_ms = (statistics.median(times[way]) * 1000 for way in (False, True))
    print(f"policy {args.policy}; {args.tasks} prompts x {args.group} answers; {args.threads} thread(s); "
          f"{statistics.fmean(prompt_tokens):.1f} prompt and {statistics.fmean(answer_tokens):.1f} answer tokens per row; "
          f"largest log-prob difference {largest_difference:.2e}")
    print(f"{'forward + backward, median of ' + str(args.rounds):40} {'whole sequences':>16} {'prompts once':>14} {'ratio':>7}")
    print(f"{'answer log-probs':40} {whole_ms:13.1f} ms {shared_ms:11.1f} ms {shared_ms / whole_ms:7.2f}")


if __name__ == "__main__":
    main()
