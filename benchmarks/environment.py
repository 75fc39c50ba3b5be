"""Benchmark the coding-agent environment: verify latency per task kind, and how much a
Linux-biased policy loses on Windows shells compared with POSIX shells (the gap a
shell-aware policy closes). Run: ``.venv/bin/python benchmarks/environment.py``.
"""
from __future__ import annotations

import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from training.environment import reference_response, task_catalog, verify  # noqa: E402

CODE_SAMPLE_EVERY = 3


def _latencies() -> dict[str, list[float]]:
    tasks = task_catalog(split="train") + task_catalog(split="eval")
    timings: dict[str, list[float]] = defaultdict(list)
    for index, task in enumerate(tasks):
        if task.kind != "terminal" and index % CODE_SAMPLE_EVERY:
            continue
        response = reference_response(task, flavor="good")
        started = time.perf_counter()
        verify(task, response)
        timings[task.kind].append(time.perf_counter() - started)
    return timings


def _success_by_shell(flavor: str) -> dict[str, float]:
    outcomes: dict[str, list[bool]] = defaultdict(list)
    for task in task_catalog(split="eval"):
        if task.kind == "terminal":
            outcomes[task.shell].append(verify(task, reference_response(task, flavor=flavor)).success)
    return {shell: sum(values) / len(values) for shell, values in outcomes.items()}


def main() -> None:
    for kind, values in sorted(_latencies().items()):
        ordered = sorted(values)
        p95 = ordered[int(0.95 * (len(ordered) - 1))]
        print(f"verify/{kind}: n={len(values)} mean={statistics.mean(values) * 1e3:.3f} ms p95={p95 * 1e3:.3f} ms")
    good, biased = _success_by_shell("good"), _success_by_shell("linux_biased")
    for shell in sorted(good):
        print(f"terminal_eval_success/{shell}: good={good[shell]:.2f} linux_biased={biased[shell]:.2f}")
    windows = statistics.mean([biased["cmd"], biased["powershell"]])
    posix = statistics.mean([biased["bash"], biased["zsh"]])
    print(f"ratio linux_biased windows/posix success: {windows / posix:.2f}")


if __name__ == "__main__":
    main()
