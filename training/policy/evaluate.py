"""Measure a policy on the environment: the starting point v0 gives the RL loop to improve.

Every number is computed from the environment's ``verify`` verdicts on the policy's answers:
greedy ones by default, or ``samples`` answers per task at a temperature (the policy as it is
served; each task's success is then the share of its answers that succeed):

- tool-call error rate (per shell, and overall) = failed tool calls / all tool calls, over
  every tool call of every response, grouped by the task's shell (docs/metrics.md's definition);
- unit-test pass rate = hidden tests passed / hidden tests, over code tasks (``code_edit`` and
  ``multi_step``); ``code_pass_rate`` is the stricter share of code tasks with every test passing;
- helper reuse rate = code-task responses whose code reuses the repo helper / code tasks (a
  response with no code at all counts as not reusing); ``style_rate`` likewise for the repo's
  naming and indentation conventions;
- tokens per task = output tokens per response, counted with the policy's own tokenizer (the
  terminating eos included, as serving's ``usage.completion_tokens`` counts it); input tokens
  are reported separately.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from training.policy.corpus import TaskLike, task_messages
from training.policy.generate import Generation, policy_generate
from training.policy.model import policy_load, policy_metadata
from training.policy.tokenizer import chat_prompt

CODE_KINDS = frozenset({"code_edit", "multi_step"})


@dataclass(frozen=True)
class ShellToolCalls:
    """Tool-call outcomes of the responses to tasks in one shell."""

    calls: int
    errors: int

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.calls if self.calls else None


@dataclass(frozen=True)
class EvaluationReport:
    """A policy's scores on one split (see the module docstring for each definition)."""

    policy: str
    version: str
    split: str
    tasks: int
    success_rate: float
    success_rate_by_kind: dict[str, float]
    tool_calls_by_shell: dict[str, ShellToolCalls]
    tool_call_error_rate: float | None
    tool_error_kinds: dict[str, int]
    unit_test_pass_rate: float | None
    code_pass_rate: float | None
    helper_reuse_rate: float | None
    style_rate: float | None
    output_tokens_per_task: float
    input_tokens_per_task: float
    hacks: dict[str, int] = field(default_factory=dict)
    """Hack kinds the verifier flagged (v0 was never shown any; should be empty)."""
    output_tokens_sd: float | None = None
    """Sample standard deviation of the output tokens per task (None below 2 tasks): with the
    mean and ``tasks`` it gives the evaluation gate a t-test on tokens per task."""
    hacked_tasks: int = 0
    """Tasks with at least one answer the verifier flagged for a hack."""
    task_ids: tuple[str, ...] = ()
    """The evaluated tasks, in order (two reports on the same tasks can be compared pairwise)."""
    task_success: tuple[float, ...] = ()
    """Per task (same order as ``task_ids``): the share of its answers the verifier judged a
    success (1.0 or 0.0 with one answer per task)."""
    task_shells: tuple[str, ...] = ()
    """Per task: its shell (same order as ``task_ids``)."""
    task_output_tokens: tuple[float, ...] = ()
    """Per task: mean output tokens of its answers."""
    task_tool_calls: tuple[tuple[int, int], ...] = ()
    """Per task: (tool calls, failed tool calls) over its answers -- the clusters the gate's
    paired tests of the tool-call metrics use."""
    samples_per_task: int = 1
    """Answers per task; every count above (tool calls, hacks, tokens) is over all of them."""
    temperature: float = 0.0
    """Sampling temperature of the answers (0: greedy)."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, with each shell's error rate spelled out."""
        data = asdict(self)
        data["tool_calls_by_shell"] = {
            shell: {"calls": c.calls, "errors": c.errors, "error_rate": c.error_rate}
            for shell, c in self.tool_calls_by_shell.items()
        }
        return data


def policy_baseline(
    policy_path: str | Path,
    *,
    split: str = "eval",
    max_new_tokens: int = 192,
    batch_size: int = 16,
    samples: int = 1,
    temperature: float = 0.0,
    seed: int = 0,
    progress: bool = False,
) -> EvaluationReport:
    """Load a policy directory and evaluate it on the environment's ``split``: one greedy answer
    per task by default, or ``samples`` answers per task sampled at ``temperature``."""
    from training.environment import task_catalog, verify

    if samples < 1:
        raise ValueError("samples must be >= 1")
    if samples > 1 and temperature <= 0:
        raise ValueError("several samples per task need a temperature > 0: greedy answers would repeat")
    model, tokenizer = policy_load(policy_path)
    tasks = task_catalog(split=split)
    answered = [task for _ in range(samples) for task in tasks]  # round r answers every task once
    generations = policy_respond(
        model, tokenizer, answered, max_new_tokens=max_new_tokens, batch_size=batch_size,
        temperature=temperature, seed=seed, progress=progress,
    )
    verdicts = [verify(task, generation.text) for task, generation in zip(answered, generations)]
    return evaluation_report(
        answered,
        generations,
        verdicts,
        policy=str(policy_path),
        version=str(policy_metadata(policy_path).get("version", "unversioned")),
        split=split,
        samples_per_task=samples,
        temperature=temperature,
    )


def policy_respond(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    tasks: Sequence[TaskLike],
    *,
    max_new_tokens: int,
    batch_size: int = 16,
    temperature: float = 0.0,
    seed: int = 0,
    progress: bool = False,
) -> list[Generation]:
    """One generation per task (greedy by default), in task order, prompts via ``task_messages``.

    ``max_new_tokens`` is lowered per batch when a long prompt would overflow the context; a
    prompt that leaves no room at all gets an empty answer (finish_reason "length"), which the
    verifier then scores as a failure rather than the whole evaluation crashing.
    """
    prompts = [chat_prompt(tokenizer, task_messages(task)) for task in tasks]
    lengths = [len(tokenizer(p, add_special_tokens=False)["input_ids"]) for p in prompts]
    context = int(getattr(model.config, "max_position_embeddings", 10**9))
    results: dict[int, Generation] = {
        i: Generation(text="", token_ids=(), prompt_tokens=n, finish_reason="length")
        for i, n in enumerate(lengths)
        if n >= context
    }
    pending = [i for i in range(len(prompts)) if i not in results]
    starts = range(0, len(pending), batch_size)
    for start in tqdm(starts, desc="evaluate", unit="batch", disable=not progress):
        batch = pending[start : start + batch_size]
        budget = min(max_new_tokens, context - max(lengths[i] for i in batch))
        generated = policy_generate(
            model, tokenizer, [prompts[i] for i in batch], max_new_tokens=budget, temperature=temperature, seed=seed + start
        )
        results.update(zip(batch, generated))
    return [results[i] for i in range(len(prompts))]


def evaluation_report(
    tasks: Sequence[TaskLike],
    generations: Sequence[Generation],
    verdicts: Sequence[Any],
    *,
    policy: str,
    version: str,
    split: str,
    samples_per_task: int = 1,
    temperature: float = 0.0,
) -> EvaluationReport:
    """Aggregate verdicts (``training.environment.Verdict``) into the report.

    With ``samples_per_task`` k > 1, ``tasks`` holds k rounds of the same n tasks (answer
    ``r * n + i`` is round r's answer to task i). Per-task figures -- success, tokens' standard
    deviation, hacked tasks -- are over each task's k answers, so the gate's tests keep the
    task as their unit.
    """
    if not tasks:
        raise ValueError("nothing to evaluate: the task list is empty")
    if len(tasks) % samples_per_task:
        raise ValueError(f"{len(tasks)} answers are not {samples_per_task} rounds of the same tasks")
    n = len(tasks) // samples_per_task
    calls: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    error_kinds: Counter[str] = Counter()
    hacks: Counter[str] = Counter()
    by_kind: dict[str, list[bool]] = defaultdict(list)
    for task, verdict in zip(tasks, verdicts):
        by_kind[task.kind].append(bool(verdict.success))
        for outcome in verdict.tool_calls:
            calls[task.shell][0] += 1
            if not outcome.ok:
                calls[task.shell][1] += 1
                error_kinds[outcome.error_kind or "unknown"] += 1
        hacks.update(verdict.hacks)

    code = [v for task, v in zip(tasks, verdicts) if task.kind in CODE_KINDS]
    task_verdicts = [verdicts[i::n] for i in range(n)]  # task i's answers, one per round
    task_tokens = [_mean([g.completion_tokens for g in generations[i::n]]) for i in range(n)]
    tests_total = sum(v.tests_total for v in code)
    total_calls = sum(c for c, _ in calls.values())
    return EvaluationReport(
        policy=policy,
        version=version,
        split=split,
        tasks=n,
        success_rate=_mean([bool(v.success) for v in verdicts]),
        success_rate_by_kind={kind: _mean(ok) for kind, ok in sorted(by_kind.items())},
        tool_calls_by_shell={shell: ShellToolCalls(calls=c, errors=e) for shell, (c, e) in sorted(calls.items())},
        tool_call_error_rate=sum(e for _, e in calls.values()) / total_calls if total_calls else None,
        tool_error_kinds=dict(sorted(error_kinds.items())),
        unit_test_pass_rate=sum(v.tests_passed for v in code) / tests_total if tests_total else None,
        code_pass_rate=_mean([v.tests_total > 0 and v.tests_passed == v.tests_total for v in code]) if code else None,
        helper_reuse_rate=_mean([v.reused_helper is True for v in code]) if code else None,
        style_rate=_mean([v.style_ok is True for v in code]) if code else None,
        output_tokens_per_task=_mean([g.completion_tokens for g in generations]),
        input_tokens_per_task=_mean([g.prompt_tokens for g in generations]),
        hacks=dict(sorted(hacks.items())),
        output_tokens_sd=_sample_sd(task_tokens),
        hacked_tasks=sum(1 for answers in task_verdicts if any(v.hacks for v in answers)),
        task_ids=tuple(str(getattr(task, "task_id", "")) for task in tasks[:n]),
        task_success=tuple(_mean([bool(v.success) for v in answers]) for answers in task_verdicts),
        task_shells=tuple(task.shell for task in tasks[:n]),
        task_output_tokens=tuple(task_tokens),
        task_tool_calls=tuple(_tool_calls(answers) for answers in task_verdicts),
        samples_per_task=samples_per_task,
        temperature=temperature,
    )


def report_lines(report: EvaluationReport) -> list[str]:
    """Human-readable summary, one metric per line."""

    def pct(value: float | None) -> str:
        return "n/a" if value is None else f"{100 * value:.1f}%"

    lines = [
        f"policy {report.version} ({report.policy}) on {report.tasks} {report.split} tasks, " + (
            "greedy" if report.samples_per_task == 1 and report.temperature == 0
            else f"{report.samples_per_task} answers each at temperature {report.temperature:g}"),
        f"  task success rate        {pct(report.success_rate)}  "
        + "  ".join(f"{kind}={pct(rate)}" for kind, rate in report.success_rate_by_kind.items()),
        f"  tool-call error rate     {pct(report.tool_call_error_rate)} overall",
    ]
    for shell, stats in report.tool_calls_by_shell.items():
        lines.append(f"    {shell:<12} {pct(stats.error_rate):>7}  ({stats.errors}/{stats.calls} calls failed)")
    if report.tool_error_kinds:
        lines.append("    failure kinds: " + ", ".join(f"{k}={n}" for k, n in report.tool_error_kinds.items()))
    lines += [
        f"  unit-test pass rate      {pct(report.unit_test_pass_rate)}  (all tests pass on {pct(report.code_pass_rate)} of code tasks)",
        f"  helper reuse rate        {pct(report.helper_reuse_rate)}  (repo style kept: {pct(report.style_rate)})",
        f"  tokens per task          {report.output_tokens_per_task:.1f} output, {report.input_tokens_per_task:.1f} input",
    ]
    if report.hacks:
        lines.append("  hacks flagged: " + ", ".join(f"{k}={n}" for k, n in report.hacks.items()))
    return lines


def _tool_calls(verdicts: Sequence[Any]) -> tuple[int, int]:
    """(tool calls, failed ones) over ``verdicts``."""
    outcomes = [outcome for verdict in verdicts for outcome in verdict.tool_calls]
    return len(outcomes), sum(1 for outcome in outcomes if not outcome.ok)


def _sample_sd(values: Sequence[float]) -> float | None:
    if len(values) < 2:
        return None
    mean = _mean(values)
    return (sum((float(v) - mean) ** 2 for v in values) / (len(values) - 1)) ** 0.5


def _mean(values: Sequence[float | bool | int]) -> float:
    return sum(float(v) for v in values) / len(values) if values else 0.0
