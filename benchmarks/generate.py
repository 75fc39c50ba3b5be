"""Sampling as ``policy_generate`` does it now against each earlier way, side by side.

``training.policy.generate.policy_generate`` is what RL rollouts, the gate's held-out
evaluation and the local vLLM-API server all sample with. It first ran the whole batch until
its longest answer ended and drew tokens with ``torch.multinomial``; then a row left the
batch (and the KV cache) once it had finished, and tokens were drawn by an exponential race;
now each distinct prompt is read once (an RL group repeats its prompt) with the LM head at
its last position only, and tokens are drawn by inverse CDF. The three ways (``WAYS``) run
on the same batches, in alternating rounds:

- RL rollout round: ``--tasks`` train-split tasks (the loop's kind mix) x ``--group`` answers
  at temperature 1.0, up to ``--max-new-tokens`` tokens;
- gate evaluation batch: 16 held-out tasks (``policy_respond``'s batch) at the serving
  temperature 0.7.

It prints the median milliseconds per round each way, its ratio to the first, and the mean
answer length each way (the same distribution, other random draws). Greedy answers are
checked equal all ways first. Needs a trained policy (answers of realistic length):

    .venv/bin/python benchmarks/generate.py [--policy var/policies/v0] [--rounds 10] [--threads 1]
"""
from __future__ import annotations

import argparse
import functools
import os
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from training.environment import task_catalog  # noqa: E402
from training.policy import task_messages  # noqa: E402
from training.policy.generate import (  # noqa: E402
    Generation, left_pad, _pad_id, _Row, cache_keyword, output_cache, policy_generate, select_cache_rows,
)
from training.policy.model import policy_load  # noqa: E402
from training.policy.tokenizer import chat_prompt  # noqa: E402

LOOP_TASK_MIX = {"terminal": 0.2, "code_edit": 0.4, "multi_step": 0.4}
"""``LoopConfig.rl_task_mix``."""
EVAL_BATCH = 16


def generate_before(model, tokenizer, prompts: Sequence[str], *, max_new_tokens: int, temperature: float, seed: int,
                    rows_leave: bool, draw: Callable[[torch.Tensor, torch.Generator], torch.Tensor]) -> list[Generation]:
    """The loop as it was: every row's prompt read in full through the LM head, tokens drawn by
    ``draw``; with ``rows_leave`` a finished row leaves the batch, else the batch decodes until
    its last row is done."""
    encoded = [tokenizer(p, add_special_tokens=False)["input_ids"] for p in prompts]
    input_ids, attention_mask = left_pad(encoded, pad_id=_pad_id(tokenizer))
    generator = torch.Generator().manual_seed(seed)
    rows = [_Row() for _ in prompts]
    active = list(range(len(rows)))
    position_ids = (attention_mask.cumsum(-1) - 1).clamp(min=0)
    with torch.inference_mode():
        out = model(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids, use_cache=True)
        kv_cache, cache_key = output_cache(out), cache_keyword(model)
        for _ in range(max_new_tokens):
            logits = out.logits[:, -1, :].float()
            next_ids = logits.argmax(dim=-1) if temperature <= 0 else draw(torch.softmax(logits / temperature, dim=-1), generator)
            for i, token in zip(active, next_ids.tolist()):
                if not rows[i].done:
                    rows[i].push(token, eos_id=tokenizer.eos_token_id, tokenizer=tokenizer, stop=())
            keep = [j for j, i in enumerate(active) if not rows[i].done]
            if not keep:
                break
            if rows_leave and len(keep) < len(active):
                active, next_ids = [active[j] for j in keep], next_ids[keep]
                kv_cache = select_cache_rows(kv_cache, torch.tensor(keep))
                attention_mask, position_ids = attention_mask[keep], position_ids[keep]
            attention_mask = torch.cat([attention_mask, attention_mask.new_ones((len(active), 1))], dim=-1)
            position_ids = position_ids[:, -1:] + 1
            out = model(input_ids=next_ids[:, None], attention_mask=attention_mask, position_ids=position_ids,
                        use_cache=True, **{cache_key: kv_cache})
    return [row.finish(tokenizer, prompt_tokens=len(ids)) for row, ids in zip(rows, encoded)]


def multinomial(probs: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    return torch.multinomial(probs, num_samples=1, generator=generator).squeeze(-1)


def exponential_race(probs: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    return (probs / torch.empty_like(probs).exponential_(generator=generator)).argmax(dim=-1)


WAYS: dict[str, Callable[..., list[Generation]]] = {
    "every row to the end": functools.partial(generate_before, rows_leave=False, draw=multinomial),
    "rows leave": functools.partial(generate_before, rows_leave=True, draw=exponential_race),
    "now": policy_generate,
}
"""Each step of this script's history: the first loop; finished rows leaving the batch with
draws by exponential race; each distinct prompt read once, at its last position only through
the LM head, and draws by inverse CDF (``policy_generate`` today)."""


def trained_policy(path: str, *, threads: int):
    """(model, tokenizer) of a trained policy with ``threads`` torch threads, or exit saying how to make one."""
    if not (Path(path) / "config.json").is_file():
        sys.exit(f"no policy at {path}: run `make demo` or `python manage.py bootstrap_policy` first, or pass --policy DIR")
    torch.set_num_threads(threads)
    return policy_load(path)


def rollout_batches(tokenizer, *, tasks: int, group: int, rng: random.Random) -> list[str]:
    """One RL round: ``tasks`` train tasks drawn by the loop's kind mix, each repeated ``group`` times."""
    by_kind: dict[str, list] = {}
    for task in task_catalog(split="train"):
        by_kind.setdefault(task.kind, []).append(task)
    kinds = rng.choices(list(LOOP_TASK_MIX), weights=list(LOOP_TASK_MIX.values()), k=tasks)
    chosen = [rng.choice(by_kind[kind]) for kind in kinds]
    return [chat_prompt(tokenizer, task_messages(task)) for task in chosen for _ in range(group)]


def eval_batch(tokenizer, *, rng: random.Random) -> list[str]:
    """One gate batch: ``EVAL_BATCH`` held-out tasks' prompts (the gate batches one round of its tasks at a time)."""
    return [chat_prompt(tokenizer, task_messages(task)) for task in rng.sample(task_catalog(split="eval"), EVAL_BATCH)]


def timed(run: Callable[[], list[Generation]]) -> tuple[float, list[Generation]]:
    started = time.perf_counter()
    generations = run()
    return time.perf_counter() - started, generations


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policy", default=str(ROOT / "var" / "policies" / "v0"), help="trained policy directory")
    parser.add_argument("--rounds", type=int, default=10, help="timed rounds per way and case (after 1 warm-up)")
    parser.add_argument("--tasks", type=int, default=8, help="prompts per RL round")
    parser.add_argument("--group", type=int, default=8, help="answers per prompt")
    parser.add_argument("--max-new-tokens", type=int, default=96)
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    args = parser.parse_args()
    model, tokenizer = trained_policy(args.policy, threads=args.threads)
    model.eval()

    rng = random.Random(0)
    greedy_prompts = rollout_batches(tokenizer, tasks=args.tasks, group=1, rng=rng)
    greedy = {way: [g.token_ids for g in generate(model, tokenizer, greedy_prompts, max_new_tokens=args.max_new_tokens,
                                                   temperature=0.0, seed=0)] for way, generate in WAYS.items()}
    assert all(answers == greedy["now"] for answers in greedy.values()), "greedy answers differ between the ways"
    print(f"policy {args.policy}; greedy answers equal all ways on {len(greedy_prompts)} prompts; {args.threads} thread(s)")

    cases = {
        f"RL rollout round ({args.tasks}x{args.group}, T=1.0)": (
            lambda: rollout_batches(tokenizer, tasks=args.tasks, group=args.group, rng=rng), 1.0),
        f"gate evaluation batch ({EVAL_BATCH}, T=0.7)": (lambda: eval_batch(tokenizer, rng=rng), 0.7),
    }
    header = "".join(f"{way:>22}" for way in WAYS)
    print(f"\nmedian ms per batch (ratio to the first way), mean answer tokens\n{'case':34}{header}")
    for case, (make_prompts, temperature) in cases.items():
        times: dict[str, list[float]] = {way: [] for way in WAYS}
        tokens: dict[str, list[int]] = {way: [] for way in WAYS}
        for round_ in range(args.rounds + 1):
            prompts = make_prompts()
            for way, generate in WAYS.items():
                seconds, generations = timed(lambda: generate(model, tokenizer, prompts, max_new_tokens=args.max_new_tokens,
                                                              temperature=temperature, seed=round_))
                if round_:
                    times[way].append(seconds)
                    tokens[way] += [len(g.token_ids) for g in generations]
        medians = {way: statistics.median(times[way]) for way in WAYS}
        first = medians["every row to the end"]
        cells = "".join(f"{f'{medians[way] * 1000:.1f} ms ({medians[way] / first:.2f})':>22}" for way in WAYS)
        print(f"{case:34}{cells}")
        print(f"{'  mean answer tokens':34}" + "".join(f"{statistics.fmean(tokens[way]):>22.1f}" for way in WAYS))

if __name__ == "__main__":
    main()
