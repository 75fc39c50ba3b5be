"""Per-shell validity of commands, judged against the real command tables."""
from __future__ import annotations

import pytest

from training.environment.shell_check import check_command

VALID = [
    ("windows", "cmd", "dir"),
    ("windows", "cmd", "dir /b src"),
    ("windows", "cmd", "mkdir build"),
    ("windows", "cmd", "md src\\utils"),
    ("windows", "cmd", "del /q old.log"),
    ("windows", "cmd", "rmdir /s /q build"),
    ("windows", "cmd", "echo %PATH%"),
    ("windows", "cmd", "set APP_ENV=dev"),
    ("windows", "cmd", "findstr /i TODO app.py"),
    ("windows", "cmd", 'find /c /v "" app.log'),
    ("windows", "cmd", "type nul > empty.txt"),
    ("windows", "cmd", "where python"),
    ("windows", "cmd", "tasklist"),
    ("windows", "cmd", "cd"),
    ("windows", "cmd", "echo."),
    ("windows", "cmd", "curl -s https://example.com"),
    ("windows", "cmd", "pytest tests/test_api.py"),
    ("windows", "cmd", "python -m pytest"),
    ("windows", "cmd", "mkdir a && cd a"),
    ("windows", "cmd", "set PATH=%PATH%;C:\\tools"),
    ("windows", "powershell", "ls"),
    ("windows", "powershell", "dir"),
    ("windows", "powershell", "gci -r src | sls TODO"),
    ("windows", "powershell", "Get-ChildItem -Path src -Recurse"),
    ("windows", "powershell", "rm -r build"),
    ("windows", "powershell", "Remove-Item -Recurse -Force build"),
    ("windows", "powershell", "cat README.md"),
    ("windows", "powershell", "pwd"),
    ("windows", "powershell", "$env:PATH"),
    ("windows", "powershell", 'echo $env:USERPROFILE'),
    ("windows", "powershell", "echo $HOME"),
    ("windows", "powershell", '$env:APP_ENV = "dev"'),
    ("windows", "powershell", "New-Item -ItemType Directory build"),
    ("windows", "powershell", "mkdir build"),
    ("windows", "powershell", "Select-String TODO app.py"),
    ("windows", "powershell", "findstr TODO app.py"),
    ("windows", "powershell", "where.exe python"),
    ("windows", "powershell", "(Get-Content app.log).Count"),
    ("windows", "powershell", "$x = 1; echo $x"),
    ("windows", "powershell", "curl https://example.com"),
    ("macos", "zsh", "ls -la"),
    ("macos", "zsh", "where git"),
    ("macos", "zsh", "open ."),
    ("macos", "bash", "echo $PATH"),
    ("macos", "bash", "mkdir -p a/b && cd a/b"),
    ("linux", "bash", "dir"),
    ("linux", "bash", "grep -rn TODO src"),
    ("linux", "bash", "wget https://example.com"),
    ("linux", "bash", "export APP_ENV=dev"),
    ("linux", "bash", "wc -l < app.log"),
    ("linux", "bash", "FOO=1 env"),
    ("linux", "bash", "> empty.txt"),
    ("linux", "zsh", "whence -p git"),
]

INVALID = [
    ("windows", "cmd", "ls", "invalid_for_shell", 9009),
    ("windows", "cmd", "rm old.log", "invalid_for_shell", 9009),
    ("windows", "cmd", "cat README.md", "invalid_for_shell", 9009),
    ("windows", "cmd", "touch a.txt", "invalid_for_shell", 9009),
    ("windows", "cmd", "grep TODO app.py", "invalid_for_shell", 9009),
    ("windows", "cmd", "pwd", "invalid_for_shell", 9009),
    ("windows", "cmd", "export A=1", "invalid_for_shell", 9009),
    ("windows", "cmd", "which python", "invalid_for_shell", 9009),
    ("windows", "cmd", "Get-ChildItem", "invalid_for_shell", 9009),
    ("windows", "cmd", "./manage.py", "invalid_for_shell", 9009),
    ("windows", "cmd", "mkdir -p build", "invalid_for_shell", 1),
    ("windows", "cmd", "del -f old.log", "invalid_for_shell", 1),
    ("windows", "cmd", "echo $PATH", "invalid_for_shell", 0),
    ("windows", "cmd", "echo $env:PATH", "invalid_for_shell", 0),
    ("windows", "cmd", "mkdir a; cd a", "invalid_for_shell", 1),
    ("windows", "cmd", "dir src/app", "invalid_arguments", 1),
    ("windows", "cmd", "find TODO app.py", "invalid_arguments", 2),
    ("windows", "cmd", "python3 -m pytest", "nonzero_exit", 9009),
    ("windows", "cmd", 'echo "unterminated', "invalid_arguments", 1),
    ("windows", "powershell", "touch a.txt", "invalid_for_shell", 1),
    ("windows", "powershell", "grep TODO app.py", "invalid_for_shell", 1),
    ("windows", "powershell", "which python", "invalid_for_shell", 1),
    ("windows", "powershell", "export A=1", "invalid_for_shell", 1),
    ("windows", "powershell", "rm -rf build", "invalid_for_shell", 1),
    ("windows", "powershell", "ls -la", "invalid_for_shell", 1),
    ("windows", "powershell", "mkdir -p build", "invalid_for_shell", 1),
    ("windows", "powershell", "Select-String -p TODO app.py", "invalid_for_shell", 1),
    ("windows", "powershell", "cp --recursive a b", "invalid_for_shell", 1),
    ("windows", "powershell", "echo %PATH%", "invalid_for_shell", 0),
    ("windows", "powershell", "echo $PATH", "invalid_for_shell", 0),
    ("windows", "powershell", "mkdir a && cd a", "invalid_for_shell", None),
    ("windows", "powershell", "ls -a", "invalid_arguments", 1),
    ("windows", "powershell", "Remove-Item -Recursive build", "invalid_arguments", 1),
    ("windows", "powershell", "rd /s /q build", "invalid_arguments", 1),
    ("windows", "powershell", "ps aux", "nonzero_exit", 1),
    ("windows", "powershell", "python3 -m pytest", "nonzero_exit", 9009),
    ("macos", "zsh", "dir", "invalid_for_shell", 127),
    ("macos", "bash", "wget https://example.com", "invalid_for_shell", 127),
    ("macos", "zsh", "tac notes.txt", "invalid_for_shell", 127),
    ("linux", "bash", "where git", "invalid_for_shell", 127),
    ("linux", "bash", "cls", "invalid_for_shell", 127),
    ("linux", "bash", "del old.log", "invalid_for_shell", 127),
    ("linux", "zsh", "copy a b", "invalid_for_shell", 127),
    ("linux", "bash", "findstr TODO app.py", "invalid_for_shell", 127),
    ("linux", "bash", "open .", "invalid_for_shell", 127),
    ("linux", "bash", "echo %PATH%", "invalid_for_shell", 0),
    ("macos", "zsh", "echo $env:PATH", "invalid_for_shell", 0),
    ("linux", "bash", "rm /s /q build", "nonzero_exit", 1),
    ("linux", "bash", "type README.md", "nonzero_exit", 1),
    ("linux", "bash", "sudo rm -rf build", "permission", 1),
    ("linux", "bash", "echo 'unterminated", "invalid_arguments", 2),
    ("linux", "bash", "", "invalid_arguments", None),
]


@pytest.mark.parametrize(("os", "shell", "command"), VALID)
def test_valid_commands(os: str, shell: str, command: str) -> None:
    check = check_command(command, os=os, shell=shell)
    assert check.ok, check.message
    assert check.error_kind is None and check.exit_code == 0


@pytest.mark.parametrize(("os", "shell", "command", "kind", "exit_code"), INVALID)
def test_invalid_commands(os: str, shell: str, command: str, kind: str, exit_code: int | None) -> None:
    check = check_command(command, os=os, shell=shell)
    assert not check.ok
    assert (check.error_kind, check.exit_code) == (kind, exit_code), check.message


def test_powershell_aliases_resolve_to_cmdlets() -> None:
    for alias in ("ls", "dir", "gci"):
        check = check_command(f"{alias} src", os="windows", shell="powershell")
        (invocation,) = check.statements[0].invocations
        assert invocation.program == "Get-ChildItem"
        assert invocation.named_value("Path") == "src"


def test_where_in_powershell_is_where_object_not_where_exe() -> None:
    (alias,) = check_command("where python", os="windows", shell="powershell").statements[0].invocations
    (exe,) = check_command("where.exe python", os="windows", shell="powershell").statements[0].invocations
    assert alias.program == "Where-Object"
    assert exe.program == "where"


def test_single_quotes_keep_dollar_literal_in_posix_shells() -> None:
    (invocation,) = check_command("echo '$HOME'", os="linux", shell="bash").statements[0].invocations
    assert invocation.args == ("'$HOME'",)
