"""Tiny real policies for tests: a fixture corpus and a seconds-long bootstrap."""
from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

import torch

from training.policy.bootstrap import BootstrapResult, policy_bootstrap
from training.policy.config import BootstrapConfig, PolicyArchitecture
from training.policy.corpus import SFTExample, task_messages

TINY_ARCHITECTURE = PolicyArchitecture(
    vocab_size=512,
    hidden_size=64,
    intermediate_size=128,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=4,
    max_position_embeddings=512,
)


@dataclass(frozen=True)
class FixtureTask:
    """Stands in for ``training.environment.Task`` (same fields the policy reads)."""

    task_id: str
    kind: str
    prompt: str
    os: str
    shell: str
    language: str
    split: str = "train"


FIXTURE_TASKS: tuple[FixtureTask, ...] = (
    FixtureTask("t-ls", "terminal", "Windows, PowerShell. List the files in the logs directory.", "windows", "powershell", "python"),
    FixtureTask("t-grep", "terminal", "Linux, bash. Find lines containing ERROR in app.log.", "linux", "bash", "python"),
    FixtureTask("t-rm", "terminal", "Windows, cmd.exe. Delete the build directory.", "windows", "cmd", "python"),
    FixtureTask("c-add", "code_edit", "Linux, bash. Make add() return the sum of a and b.", "linux", "bash", "python"),
    FixtureTask("c-slug", "code_edit", "macOS, zsh. Implement slugify(title) using the helper normalize().", "macos", "zsh", "python"),
)

FIXTURE_RESPONSES: dict[tuple[str, str], str] = {
    ("t-ls", "good"): "$ Get-ChildItem logs",
    ("t-ls", "linux_biased"): "$ ls logs",
    ("t-grep", "good"): "$ grep ERROR app.log",
    ("t-rm", "good"): "$ rmdir /s /q build",
    ("t-rm", "linux_biased"): "$ rm -rf build",
    ("c-add", "good"): "```python\ndef add(a, b):\n    return a + b\n```",
    ("c-add", "verbose"): "Sure! Here is the fix.\n```python\ndef add(a, b):\n    # add the numbers\n    return a + b\n```",
    ("c-slug", "good"): "```python\ndef slugify(title):\n    return normalize(title).replace(' ', '-')\n```",
    ("c-slug", "reimplement"): "```python\ndef slugify(title):\n    return title.strip().lower().replace(' ', '-')\n```",
}


def fixture_respond(task: FixtureTask, flavor: str) -> str:
    """Like ``reference_response``: unknown (task, flavor) pairs are rejected with KeyError."""
    return FIXTURE_RESPONSES[(task.task_id, flavor)]


def fixture_examples(copies: int = 4) -> list[SFTExample]:
    """Every fixture (task, flavor) pair, ``copies`` times."""
    tasks = {task.task_id: task for task in FIXTURE_TASKS}
    return [
        SFTExample(task_id=task_id, flavor=flavor, messages=tuple(task_messages(tasks[task_id])), response=response)
        for _ in range(copies)
        for (task_id, flavor), response in FIXTURE_RESPONSES.items()
    ]


def tiny_bootstrap(output_dir: Path, *, seed: int = 0, steps: int = 80) -> BootstrapResult:
    """A real bootstrap of a ~100k-parameter policy on the fixture corpus (a few seconds)."""
    config = BootstrapConfig(
        output_dir=str(output_dir),
        version=f"tiny-{seed}",
        seed=seed,
        steps=steps,
        batch_size=8,
        warmup_steps=5,
        learning_rate=1e-2,
        min_learning_rate=1e-3,
        threads=1,
        max_seq_len=512,
        prompt_loss=False,  # 80 steps must teach the fixture's answers; a loss on the prompts too would share them
        architecture=TINY_ARCHITECTURE,
    )
    return policy_bootstrap(config, examples=fixture_examples(), progress=False)


def tiny_lora_adapter(policy_dir: Path, output_dir: Path, *, seed: int = 0, scale: float = 0.5) -> Path:
    """A PEFT LoRA adapter for a policy, with large random weights so its outputs visibly differ."""
    from peft import LoraConfig, get_peft_model

    from training.policy.model import policy_load

    model, _ = policy_load(policy_dir)
    torch.manual_seed(seed)
    peft_model = get_peft_model(
        copy.deepcopy(model),
        LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj", "o_proj"], init_lora_weights=False),
    )
    with torch.no_grad():
        for name, param in peft_model.named_parameters():
            if "lora_" in name:
                param.copy_(torch.randn_like(param) * scale)
    peft_model.save_pretrained(output_dir)
    return output_dir
