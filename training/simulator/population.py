"""Who the simulated users are: a realistic mix of OS, shell, IDE and repo language.

Every user is a fixed ``UserProfile`` drawn once from ``random.Random(f"{seed}:user:{j}")``,
so the same seed always yields the same population, and a user keeps their machine, IDE and
repo across all of their sessions.

Mixes (weights, normalised):

* OS/shell: Windows 35% (cmd.exe 15%, PowerShell 20%), macOS 32% (zsh 27%, bash 5%),
  Linux 33% (bash 23%, zsh 10%): the six combinations the environment poses tasks in.
* IDE: VS Code 40%, JetBrains 20%, Claude Code (the agent CLI) 20%, Cursor 12%, Neovim 8%
  (Neovim users on Windows use VS Code instead).
* Repo language: Python 70%, TypeScript 12%, Go 8%, Java 6%, Rust 4%. The environment's code
  tasks are Python, so users in other repos only ask terminal tasks.
* Retention reporting: half of the plugin installs report retention as counts
  (retained/total chars), the other half send the original and the current file content
  for the server to compare, so both server paths are exercised.
"""
from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass

OS_SHELL_MIX: tuple[tuple[tuple[str, str], float], ...] = (
    (("windows", "cmd"), 0.15),
    (("windows", "powershell"), 0.20),
    (("macos", "zsh"), 0.27),
    (("macos", "bash"), 0.05),
    (("linux", "bash"), 0.23),
    (("linux", "zsh"), 0.10),
)
IDE_MIX: tuple[tuple[str, float], ...] = (
    ("vscode", 0.40),
    ("jetbrains", 0.20),
    ("claude-code", 0.20),
    ("cursor", 0.12),
    ("neovim", 0.08),
)
IDE_VERSIONS: dict[str, tuple[str, ...]] = {
    "vscode": ("1.95.3", "1.96.2", "1.97.0"),
    "jetbrains": ("2024.3.1", "2025.1"),
    "claude-code": ("2.0.14", "2.1.214"),
    "cursor": ("0.45.11", "0.46.8"),
    "neovim": ("0.10.2",),
}
LANGUAGE_MIX: tuple[tuple[str, float], ...] = (
    ("python", 0.70),
    ("typescript", 0.12),
    ("go", 0.08),
    ("java", 0.06),
    ("rust", 0.04),
)
RETENTION_REPORTS: tuple[str, ...] = ("counts", "content")
CLAUDE_CODE = "claude-code"


@dataclass(frozen=True)
class UserProfile:
    """One simulated user and their machine. ``user`` is an opaque hashed id."""

    user: str
    os: str
    shell: str
    ide: str
    ide_version: str
    language: str
    repo_id: str
    retention_report: str
    """"counts" (the plugin measures retained chars) or "content" (the server compares)."""

    @property
    def writes_python(self) -> bool:
        return self.language == "python"


def _pick(rng: random.Random, mix: tuple[tuple[object, float], ...]):
    values, weights = zip(*mix)
    return rng.choices(values, weights=weights, k=1)[0]


def user_profile(*, seed: int, index: int) -> UserProfile:
    """The ``index``-th user of the population of ``seed`` (a pure function of both)."""
    rng = random.Random(f"{seed}:user:{index}")
    user = "u-" + hashlib.sha256(f"flywheel-sim:{seed}:{index}".encode()).hexdigest()[:16]
    os, shell = _pick(rng, OS_SHELL_MIX)
    ide = _pick(rng, IDE_MIX)
    if ide == "neovim" and os == "windows":
        ide = "vscode"
    language = _pick(rng, LANGUAGE_MIX)
    return UserProfile(
        user=user,
        os=os,
        shell=shell,
        ide=ide,
        ide_version=rng.choice(IDE_VERSIONS[ide]),
        language=language,
        repo_id="repo-" + hashlib.sha256(f"{user}:repo".encode()).hexdigest()[:10],
        retention_report=rng.choice(RETENTION_REPORTS),
    )


def population(*, seed: int, users: int) -> list[UserProfile]:
    """``users`` profiles for ``seed``; a prefix of a larger population of the same seed."""
    if users < 1:
        raise ValueError("a population needs at least one user")
    return [user_profile(seed=seed, index=j) for j in range(users)]
