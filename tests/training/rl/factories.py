"""A tiny real policy on real environment tasks, sloppy on purpose, for RL tests and the benchmark.

Bootstrapped in seconds on Windows terminal tasks of three intents, with half of the
corpus answering in Linux commands (wrong on Windows): sampled at temperature 1 the policy
solves some tasks sometimes, which is exactly what GRPO needs to have something to learn.
"""
from __future__ import annotations

from pathlib import Path

from training.policy.bootstrap import BootstrapResult, policy_bootstrap
from training.policy.config import BootstrapConfig, CorpusMix, PolicyArchitecture
from training.policy.corpus import corpus_build

RL_TASK_PREFIXES: tuple[str, ...] = (
    "term-list_files-windows",
    "term-make_dir-windows",
    "term-remove_file-windows",
)

# Windows intents whose answer names nothing from the prompt (cmd `cd` / `tasklist`, PowerShell
# `Get-Location` / `Get-Process`): their held-out tasks ask the same in other words, so the
# tiny policy can solve them without copying a name it never saw, which it cannot do.
ARGUMENT_FREE_PREFIXES: tuple[str, ...] = (
    "term-print_cwd-windows",
    "term-list_processes-windows",
)

TINY_RL_ARCHITECTURE = PolicyArchitecture(
    vocab_size=384,
    hidden_size=64,
    intermediate_size=128,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=4,
    max_position_embeddings=256,
)


def rl_tasks(split: str = "train", prefixes: tuple[str, ...] = RL_TASK_PREFIXES) -> list:
    """The environment tasks the tiny RL policy is trained (train) and held out (eval) on."""
    from training.environment import task_catalog

    return [t for t in task_catalog(split=split) if t.task_id.startswith(prefixes)]


def tiny_rl_policy(output_dir: Path, *, seed: int = 0, steps: int = 150, linux_share: float = 0.5,
                   architecture: PolicyArchitecture = TINY_RL_ARCHITECTURE, device: str = "cpu",
                   prefixes: tuple[str, ...] = RL_TASK_PREFIXES) -> BootstrapResult:
    """Bootstrap the sloppy tiny policy (a few seconds on one core)."""
    from training.environment import reference_response

    mix = CorpusMix(windows_linux_biased=linux_share)
    examples = corpus_build(
        rl_tasks("train", prefixes), mix=mix, samples_per_task=8, seed=seed,
        respond=lambda task, flavor: reference_response(task, flavor=flavor), rename_share=0.5,
    )
    config = BootstrapConfig(
        output_dir=str(output_dir), version=f"tiny-rl-{seed}", seed=seed, steps=steps, batch_size=16,
        warmup_steps=10, learning_rate=1e-2, min_learning_rate=1e-3, threads=1, max_seq_len=256,
        mix=mix, architecture=architecture, device=device,
        prompt_loss=False,  # a few steps must teach the answers; a loss on the prompts too would share them
    )
    return policy_bootstrap(config, examples=examples, progress=False)
