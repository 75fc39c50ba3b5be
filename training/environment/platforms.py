"""The OS/shell combinations tasks are posed in, and how they are named in prompts."""
from __future__ import annotations

from training.environment.shell_syntax import dialect_of

# Windows twice (cmd, PowerShell); macOS defaults to zsh, Linux to bash.
COMBOS: tuple[tuple[str, str], ...] = (
    ("windows", "cmd"),
    ("windows", "powershell"),
    ("macos", "zsh"),
    ("linux", "bash"),
    ("macos", "bash"),
    ("linux", "zsh"),
)
OS_LABELS = {"windows": "Windows", "macos": "macOS", "linux": "Linux"}
SHELL_LABELS = {"cmd": "cmd.exe", "powershell": "PowerShell 5.1", "bash": "bash", "zsh": "zsh"}


def context_line(os: str, shell: str) -> str:
    """The prompt prefix naming the platform, e.g. "Windows, cmd.exe."."""
    return f"{OS_LABELS[os]}, {SHELL_LABELS[shell]}."


def is_windows_shell(shell: str) -> bool:
    return dialect_of(shell) != "posix"


def shell_path(path: str, shell: str) -> str:
    """``path`` (written with /) as a user of ``shell`` would type it."""
    return path.replace("/", "\\") if is_windows_shell(shell) else path
