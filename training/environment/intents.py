"""Terminal intents: what each task asks for, and which commands achieve it in each shell.

An intent is judged per shell dialect ("cmd", "powershell", "posix") by small matchers over
the ``Invocation`` values of an already *valid* command line (see ``shell_check``):

* ``accept`` matchers: the command achieves the intent;
* ``fail`` matchers: the command is valid for the shell but would fail at run time for this
  intent (``rmdir build`` on a non-empty directory, ``mkdir a/b`` without ``-p``), with the
  error kind and exit code the tool call reports.

Everything else valid is a tool call that succeeds but does not do the task.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from training.environment.shell_check import CheckedStatement, Invocation
from training.environment.shell_tables import COMMON_PARAMETERS

Params = Mapping[str, str]
StatementMatcher = Callable[[CheckedStatement, Params, bool], bool]
ANY = None  # "any flags" / "any arguments" marker for patterns
# Parameters that hold paths; rendered with backslashes for Windows shells.
PATH_KEYS = frozenset({"dir", "file", "src", "dst", "path", "parent", "target"})
# PowerShell common parameters change logging or error handling, not what a command does.
_NEUTRAL_PARAMETERS = frozenset(COMMON_PARAMETERS)
_NEUTRAL_SWITCHES = frozenset({"verbose", "debug"})


@dataclass(frozen=True)
class FailForm:
    matcher: StatementMatcher
    error_kind: str
    exit_code: int | None


@dataclass(frozen=True)
class Intent:
    """A terminal intent with its task instances and per-dialect matchers.

    ``instances`` parametrize the instruction; ``windows_instances`` replaces them on
    Windows when values are OS-specific (environment variable names). The last instance of
    each list is held out for the eval split. ``good`` holds one idiomatic reference
    command per dialect.
    """

    name: str
    instruction: str
    instances: tuple[Params, ...]
    accept: Mapping[str, tuple[StatementMatcher, ...]]
    good: Mapping[str, str]
    fail: Mapping[str, tuple[FailForm, ...]] = field(default_factory=dict)
    windows_instances: tuple[Params, ...] | None = None

    def instances_for(self, os: str) -> tuple[Params, ...]:
        return self.windows_instances if (os == "windows" and self.windows_instances) else self.instances


# --- matching helpers -------------------------------------------------------------------

def normalize_path(text: str, windows: bool) -> str:
    """Compare-ready form of a path or argument: ./ stripped, no trailing slash, and for
    Windows shells backslashes as slashes and case folded."""
    value = text.strip()
    if windows:
        value = value.replace("\\", "/").lower()
    while value.startswith("./") and len(value) > 2:
        value = value[2:]
    if len(value) > 1 and value.endswith("/"):
        value = value.rstrip("/") or "/"
    return value


def fill(template: str, params: Params) -> str:
    """Substitute ``{key}`` placeholders that name a parameter; leave other braces alone."""
    return re.sub(r"\{(\w+)\}", lambda m: params.get(m.group(1), m.group(0)), template)


@dataclass(frozen=True)
class Pattern:
    """Matches one invocation: program, positional args, flags, named params, redirects.

    ``need`` flags must all be present; other flags must be in ``allow`` (ANY: anything).
    ``named`` parameters must all be bound to the given values; other bound parameters must
    be listed in ``extra_named``. ``args`` ANY accepts any positional arguments.
    """

    programs: tuple[str, ...]
    args: tuple[str, ...] | None = ()
    need: frozenset[str] = frozenset()
    allow: frozenset[str] | None = frozenset()
    named: tuple[tuple[str, str], ...] = ()
    extra_named: frozenset[str] = frozenset()
    redirect_out: str | None = None
    redirect_in: str | None = None

    def matches(self, invocation: Invocation, params: Params, windows: bool) -> bool:
        if invocation.expression is not None or not self._program_matches(invocation.program, windows):
            return False
        if not self._flags_match(invocation.switches, windows):
            return False
        if self.args is not None and not _same_sequence(invocation.args, self.args, params, windows):
            return False
        if not self._named_match(invocation, params, windows):
            return False
        return _same_optional(invocation.redirect_out, self.redirect_out, params, windows) and _same_optional(
            invocation.redirect_in, self.redirect_in, params, windows
        )

    def _program_matches(self, program: str, windows: bool) -> bool:
        if windows:
            return program.lower() in {name.lower() for name in self.programs}
        return program in self.programs

    def _flags_match(self, switches: frozenset[str], windows: bool) -> bool:
        fold = (lambda s: {x.lower() for x in s}) if windows else set
        present, need = fold(switches), fold(self.need)
        if windows:
            present -= _NEUTRAL_SWITCHES
        if not need <= present:
            return False
        return self.allow is None or present - need <= fold(self.allow)

    def _named_match(self, invocation: Invocation, params: Params, windows: bool) -> bool:
        expected = {key.lower(): value for key, value in self.named}
        for key, value in invocation.named:
            if key.lower() in expected:
                if normalize_path(value, windows) != normalize_path(fill(expected.pop(key.lower()), params), windows):
                    return False
            elif key not in self.extra_named and key not in _NEUTRAL_PARAMETERS:
                return False
        return not expected


def _same_sequence(actual: tuple[str, ...], templates: tuple[str, ...], params: Params, windows: bool) -> bool:
    return len(actual) == len(templates) and all(
        normalize_path(a, windows) == normalize_path(fill(t, params), windows) for a, t in zip(actual, templates)
    )


def _same_optional(actual: str | None, template: str | None, params: Params, windows: bool) -> bool:
    if template is None:
        return actual is None
    return actual is not None and normalize_path(actual, windows) == normalize_path(fill(template, params), windows)


def run(programs: str, *args: str, need: str = "", allow: str | None = "", named: Mapping[str, str] | None = None,
        extra_named: str = "", redirect_out: str | None = None, redirect_in: str | None = None,
        any_args: bool = False) -> Pattern:
    """Build a Pattern; space-separated strings list programs, flags and parameter names.

    ``programs`` "" matches a bare redirection (``> file``) with no program.
    """
    return Pattern(
        programs=tuple(programs.split()) or ("",),
        args=None if any_args else tuple(args),
        need=frozenset(need.split()),
        allow=None if allow is ANY else frozenset(allow.split()),
        named=tuple((named or {}).items()),
        extra_named=frozenset(extra_named.split()),
        redirect_out=redirect_out,
        redirect_in=redirect_in,
    )


def one(pattern: Pattern) -> StatementMatcher:
    """A statement that is exactly this one invocation."""
    def matcher(statement: CheckedStatement, params: Params, windows: bool) -> bool:
        return len(statement.invocations) == 1 and pattern.matches(statement.invocations[0], params, windows)
    return matcher


def pipe(*patterns: Pattern) -> StatementMatcher:
    """A pipeline whose stages match ``patterns`` in order."""
    def matcher(statement: CheckedStatement, params: Params, windows: bool) -> bool:
        return len(statement.invocations) == len(patterns) and all(
            pattern.matches(invocation, params, windows)
            for pattern, invocation in zip(patterns, statement.invocations)
        )
    return matcher


def expr(regex: str) -> StatementMatcher:
    """A PowerShell expression statement matching ``regex`` (case-insensitive, whole text).

    ``{key}`` placeholders become the escaped parameter; ``{key:path}`` also tolerates
    quotes, a leading ``.\\`` and either slash direction.
    """
    def matcher(statement: CheckedStatement, params: Params, windows: bool) -> bool:
        if len(statement.invocations) != 1 or statement.invocations[0].expression is None:
            return False
        compiled = _compile_expression(regex, tuple(sorted(params.items())))
        return compiled.fullmatch(statement.invocations[0].expression) is not None
    return matcher


@lru_cache(maxsize=4096)
def _compile_expression(regex: str, params: tuple[tuple[str, str], ...]) -> re.Pattern[str]:
    values = dict(params)
    pattern = re.sub(r"\{(\w+)(:path)?\}", lambda m: _placeholder_regex(m, values), regex)
    return re.compile(pattern, re.IGNORECASE)


def _placeholder_regex(match: re.Match[str], params: Params) -> str:
    key, as_path = match.group(1), match.group(2)
    if key not in params:
        return match.group(0)
    if not as_path:
        return re.escape(params[key])
    body = r"[\\/]".join(re.escape(part) for part in params[key].split("/"))
    return rf"""['"]?(?:\.[\\/])?{body}['"]?"""


def pytest_run(target_key: str = "target") -> StatementMatcher:
    """``pytest [target]`` / ``python -m pytest [target]`` (flags anywhere are fine)."""
    def matcher(statement: CheckedStatement, params: Params, windows: bool) -> bool:
        if len(statement.invocations) != 1:
            return False
        targets = pytest_targets(statement.invocations[0])
        if targets is None:
            return False
        wanted = params.get(target_key, "")
        expected = [normalize_path(wanted, windows)] if wanted else []
        return [normalize_path(t, windows) for t in targets] == expected
    return matcher


def pytest_targets(invocation: Invocation) -> list[str] | None:
    """Positional targets of a pytest run, or None when the invocation does not run pytest."""
    words = [word.text for word in invocation.words]
    if not words:
        return None
    program = words[0].lower().replace("\\", "/").rsplit("/", 1)[-1].removesuffix(".exe")
    if program in {"pytest", "py.test"}:
        rest = words[1:]
    elif program in {"python", "python3", "py"} and words[1:3] == ["-m", "pytest"]:
        rest = words[3:]
    else:
        return None
    return [word for word in rest if not word.startswith("-")]


# --- the intents ------------------------------------------------------------------------

def _phrases(*phrases: str) -> tuple[Params, ...]:
    return tuple({"phrase": phrase} for phrase in phrases)


def _values(key: str, *values: str) -> tuple[Params, ...]:
    return tuple({key: value} for value in values)


def _pairs(first: str, second: str, *pairs: tuple[str, str]) -> tuple[Params, ...]:
    return tuple({first: a, second: b} for a, b in pairs)


_LISTING_FLAGS = "Force Name File Directory Hidden Recurse"

INTENTS: tuple[Intent, ...] = (
    Intent(
        name="list_files",
        instruction="List the files in the `{dir}` directory.",
        instances=_values("dir", "src", "docs", "assets", "scripts", "config"),
        accept={
            "cmd": (one(run("dir", "{dir}", allow=ANY)),),
            "powershell": (one(run("Get-ChildItem", named={"Path": "{dir}"}, allow=_LISTING_FLAGS)),),
            "posix": (one(run("ls dir", "{dir}", allow=ANY)),),
        },
        good={"cmd": "dir {dir}", "powershell": "Get-ChildItem {dir}", "posix": "ls {dir}"},
    ),
    Intent(
        name="make_dir",
        instruction="Create a directory named `{dir}`.",
        instances=_values("dir", "build", "logs", "output", "reports", "cache"),
        accept={
            "cmd": (one(run("mkdir md", "{dir}")),),
            "powershell": (
                one(run("mkdir", named={"Path": "{dir}"}, allow="Force")),
                one(run("New-Item", named={"Path": "{dir}", "ItemType": "Directory"}, allow="Force")),
                one(run("New-Item", named={"Name": "{dir}", "ItemType": "Directory"}, allow="Force")),
            ),
            "posix": (one(run("mkdir", "{dir}", allow="p v")),),
        },
        good={"cmd": "mkdir {dir}", "powershell": "mkdir {dir}", "posix": "mkdir {dir}"},
    ),
    Intent(
        name="make_nested_dir",
        instruction="Create the directory `{path}`; `{parent}` does not exist yet.",
        instances=(
            {"path": "src/utils", "parent": "src"},
            {"path": "docs/images", "parent": "docs"},
            {"path": "data/raw", "parent": "data"},
            {"path": "app/models", "parent": "app"},
            {"path": "tests/fixtures", "parent": "tests"},
        ),
        accept={
            "cmd": (one(run("mkdir md", "{path}")),),
            "powershell": (
                one(run("mkdir", named={"Path": "{path}"}, allow="Force")),
                one(run("New-Item", named={"Path": "{path}", "ItemType": "Directory"}, allow="Force")),
            ),
            "posix": (
                one(run("mkdir", "{path}", need="p", allow="v")),
                one(run("mkdir", "{parent}", "{path}", allow="p v")),
            ),
        },
        fail={"posix": (FailForm(one(run("mkdir", "{path}", allow="v")), "nonzero_exit", 1),)},
        good={"cmd": "mkdir {path}", "powershell": "mkdir {path}", "posix": "mkdir -p {path}"},
    ),
    Intent(
        name="remove_file",
        instruction="Delete the file `{file}`.",
        instances=_values("file", "old.log", "notes.bak", "temp.txt", "draft.md", "cache.db"),
        accept={
            "cmd": (one(run("del erase", "{file}", allow="f q")),),
            "powershell": (one(run("Remove-Item", named={"Path": "{file}"}, allow="Force")),),
            "posix": (one(run("rm", "{file}", allow="f v")), one(run("unlink", "{file}"))),
        },
        good={"cmd": "del {file}", "powershell": "Remove-Item {file}", "posix": "rm {file}"},
    ),
    Intent(
        name="remove_dir",
        instruction="Delete the directory `{dir}` and everything in it, without prompting.",
        instances=_values("dir", "build", "dist", "coverage", "tmp", "node_modules"),
        accept={
            "cmd": (one(run("rmdir rd", "{dir}", need="s q")),),
            "powershell": (one(run("Remove-Item", named={"Path": "{dir}"}, need="Recurse", allow="Force")),),
            "posix": (one(run("rm", "{dir}", need="r", allow="f v")),),
        },
        fail={
            # Without /q cmd asks "Are you sure (Y/N)?" and the agent's shell waits forever.
            "cmd": (
                FailForm(one(run("rmdir rd", "{dir}", need="s")), "timeout", None),
                FailForm(one(run("rmdir rd", "{dir}")), "nonzero_exit", 145),
                FailForm(one(run("del erase", "{dir}", allow="s f")), "timeout", None),
            ),
            "powershell": (FailForm(one(run("Remove-Item", named={"Path": "{dir}"}, allow="Force")), "timeout", None),),
            "posix": (
                FailForm(one(run("rmdir", "{dir}")), "nonzero_exit", 1),
                FailForm(one(run("rm", "{dir}", allow="f v")), "nonzero_exit", 1),
            ),
        },
        good={"cmd": "rmdir /s /q {dir}", "powershell": "Remove-Item -Recurse -Force {dir}", "posix": "rm -rf {dir}"},
    ),
    Intent(
        name="show_env",
        instruction="Print the value of the environment variable `{var}`.",
        instances=_values("var", "PATH", "HOME", "SHELL", "USER", "LANG"),
        windows_instances=_values("var", "PATH", "USERPROFILE", "TEMP", "APPDATA", "COMPUTERNAME"),
        accept={
            "cmd": (one(run("echo", "%{var}%")), one(run("set", "{var}"))),
            "powershell": (
                expr(r"\$env:{var}"),
                expr(r"\$\{env:{var}\}"),
                one(run("Write-Output", named={"InputObject": "$env:{var}"})),
                one(run("Write-Host", named={"Object": "$env:{var}"})),
                one(run("Get-ChildItem Get-Item", named={"Path": "env:{var}"})),
                one(run("Get-ChildItem Get-Item", named={"Path": "env:/{var}"})),
                expr(r"\[(system\.)?environment\]::getenvironmentvariable\((['\"]){var}\2\)"),
            ),
            "posix": (
                one(run("echo", "${var}", allow="n")),
                one(run("echo", "${{var}}", allow="n")),
                one(run("printenv", "{var}")),
            ),
        },
        good={"cmd": "echo %{var}%", "powershell": "$env:{var}", "posix": "echo ${var}"},
    ),
    Intent(
        name="set_env",
        instruction="Set the environment variable `{var}` to `{value}` for this session.",
        instances=_pairs("var", "value", ("APP_ENV", "dev"), ("DEBUG", "1"), ("LOG_LEVEL", "info"),
                         ("PORT", "8080"), ("REGION", "eu")),
        accept={
            "cmd": (one(run("set", "{var}={value}")),),
            "powershell": (
                expr(r"\$env:{var} ?= ?(['\"]){value}\1"),
                expr(r"\$env:{var} ?= ?{value}"),
                one(run("Set-Item", named={"Path": "env:{var}", "Value": "{value}"})),
                expr(r"\[(system\.)?environment\]::setenvironmentvariable\((['\"]){var}\2, ?(['\"]){value}\3\)"),
            ),
            "posix": (one(run("export", "{var}={value}")),),
        },
        # PowerShell runs an unquoted word on the right of "=" as a command.
        fail={"powershell": (FailForm(expr(r"\$env:\w+ ?= ?[A-Za-z_][^\s'\"]*"), "invalid_for_shell", 1),)},
        good={"cmd": "set {var}={value}", "powershell": '$env:{var} = "{value}"', "posix": "export {var}={value}"},
    ),
    Intent(
        name="search_text",
        instruction="Print the lines of `{file}` that contain `{word}`.",
        instances=_pairs("word", "file", ("TODO", "app.py"), ("error", "server.log"), ("import", "main.py"),
                         ("timeout", "settings.ini"), ("password", "config.yaml")),
        accept={
            "cmd": (
                one(run("findstr find", "{word}", "{file}", allow="i n")),
                pipe(run("type", "{file}"), run("findstr find", "{word}", allow="i n")),
            ),
            "powershell": (
                one(run("Select-String", named={"Pattern": "{word}", "Path": "{file}"}, allow="SimpleMatch CaseSensitive")),
                pipe(run("Get-Content", named={"Path": "{file}"}),
                     run("Select-String", named={"Pattern": "{word}"}, allow="SimpleMatch CaseSensitive")),
                one(run("findstr", "{word}", "{file}", allow="i n")),
            ),
            "posix": (
                one(run("grep", "{word}", "{file}", allow="i n w H F E")),
                pipe(run("cat", "{file}"), run("grep", "{word}", allow="i n w F E")),
            ),
        },
        good={"cmd": "findstr {word} {file}", "powershell": "Select-String {word} {file}", "posix": "grep {word} {file}"},
    ),
    Intent(
        name="search_recursive",
        instruction="Find the lines containing `{word}` in all files under `{dir}`, recursively.",
        instances=_pairs("word", "dir", ("TODO", "src"), ("deprecated", "lib"), ("FIXME", "app"),
                         ("api_key", "config"), ("localhost", "tests")),
        accept={
            "cmd": (
                one(run("findstr", "{word}", "{dir}/*", need="s", allow="i n m")),
                one(run("findstr", "{word}", "{dir}/*.*", need="s", allow="i n m")),
            ),
            "powershell": (
                pipe(run("Get-ChildItem", named={"Path": "{dir}"}, need="Recurse", allow="File Force",
                         extra_named="Filter Include"),
                     run("Select-String", named={"Pattern": "{word}"}, allow="SimpleMatch CaseSensitive")),
            ),
            "posix": (one(run("grep", "{word}", "{dir}", need="r", allow="i n w H F E I l")),),
        },
        good={
            "cmd": "findstr /s {word} {dir}\\*",
            "powershell": "Get-ChildItem -Recurse {dir} | Select-String {word}",
            "posix": "grep -rn {word} {dir}",
        },
    ),
    Intent(
        name="run_tests",
        instruction="{phrase}",
        instances=(
            {"target": "", "phrase": "Run the project's test suite with pytest (it is installed in the active virtualenv)."},
            {"target": "tests/test_api.py", "phrase": "Run the tests in `tests/test_api.py` with pytest."},
            {"target": "tests/unit", "phrase": "Run the tests under `tests/unit` with pytest."},
            {"target": "tests/test_models.py", "phrase": "Run only `tests/test_models.py` with pytest."},
            {"target": "tests/test_views.py", "phrase": "Use pytest to run `tests/test_views.py`."},
        ),
        accept={"cmd": (pytest_run(),), "powershell": (pytest_run(),), "posix": (pytest_run(),)},
        good={"cmd": "pytest {target}", "powershell": "pytest {target}", "posix": "pytest {target}"},
    ),
    Intent(
        name="print_cwd",
        instruction="{phrase}",
        instances=_phrases(
            "Print the current working directory.",
            "Show the full path of the directory you are in.",
            "Which directory is the shell in? Print its path.",
            "Print the absolute path of the current directory.",
            "Display the full path of the current folder.",
        ),
        accept={
            "cmd": (one(run("cd chdir")), one(run("echo", "%cd%"))),
            "powershell": (
                one(run("Get-Location")),
                expr(r"\$pwd(\.path)?"),
                expr(r"\((get-location|gl|pwd)\)\.path"),
                one(run("Write-Output", named={"InputObject": "$pwd"})),
                one(run("Write-Output", named={"InputObject": "$pwd.Path"})),
            ),
            "posix": (one(run("pwd", allow="P L")), one(run("echo", "$PWD")), one(run("echo", "${PWD}"))),
        },
        good={"cmd": "cd", "powershell": "Get-Location", "posix": "pwd"},
    ),
    Intent(
        name="copy_file",
        instruction="Copy `{src}` to `{dst}`.",
        instances=_pairs("src", "dst", ("config.yaml", "config.bak"), ("README.md", "docs/README.md"),
                         ("data.csv", "backup/data.csv"), ("main.py", "main_old.py"),
                         ("settings.ini", "settings.ini.bak")),
        accept={
            "cmd": (one(run("copy", "{src}", "{dst}", allow="y v")),),
            "powershell": (one(run("Copy-Item", named={"Path": "{src}", "Destination": "{dst}"}, allow="Force")),),
            "posix": (one(run("cp", "{src}", "{dst}", allow="f v p")),),
        },
        good={"cmd": "copy {src} {dst}", "powershell": "Copy-Item {src} {dst}", "posix": "cp {src} {dst}"},
    ),
    Intent(
        name="rename_file",
        instruction="Rename `{src}` to `{dst}`.",
        instances=_pairs("src", "dst", ("draft.txt", "final.txt"), ("old_name.py", "new_name.py"),
                         ("image1.png", "logo.png"), ("todo.md", "done.md"), ("report.csv", "report_2024.csv")),
        accept={
            "cmd": (one(run("ren rename", "{src}", "{dst}")), one(run("move", "{src}", "{dst}", allow="y"))),
            "powershell": (
                one(run("Rename-Item", named={"Path": "{src}", "NewName": "{dst}"}, allow="Force")),
                one(run("Move-Item", named={"Path": "{src}", "Destination": "{dst}"}, allow="Force")),
            ),
            "posix": (one(run("mv", "{src}", "{dst}", allow="f v n")),),
        },
        good={"cmd": "ren {src} {dst}", "powershell": "Rename-Item {src} {dst}", "posix": "mv {src} {dst}"},
    ),
    Intent(
        name="show_file",
        instruction="Show the contents of `{file}`.",
        instances=_values("file", "README.md", "requirements.txt", ".gitignore", "setup.cfg", "Makefile"),
        accept={
            "cmd": (one(run("type more", "{file}")),),
            "powershell": (one(run("Get-Content", named={"Path": "{file}"}, allow="Raw")),),
            "posix": (one(run("cat", "{file}", allow="n")),),
        },
        good={"cmd": "type {file}", "powershell": "Get-Content {file}", "posix": "cat {file}"},
    ),
    Intent(
        name="create_empty_file",
        instruction="Create an empty file named `{file}`.",
        instances=_values("file", "__init__.py", ".gitkeep", "empty.txt", "placeholder.md", "marker.flag"),
        accept={
            "cmd": (
                one(run("type", "nul", redirect_out="{file}")),
                one(run("copy", "nul", "{file}", allow="y")),
                one(run("break", redirect_out="{file}")),
            ),
            "powershell": (
                one(run("New-Item", named={"Path": "{file}"}, allow="Force")),
                one(run("New-Item", named={"Path": "{file}", "ItemType": "File"}, allow="Force")),
                one(run("New-Item", named={"Name": "{file}", "ItemType": "File"}, allow="Force")),
            ),
            "posix": (
                one(run("touch", "{file}")),
                one(run(": true", redirect_out="{file}")),
                one(run("", redirect_out="{file}")),
                one(run("cat", "/dev/null", redirect_out="{file}")),
            ),
        },
        good={"cmd": "type nul > {file}", "powershell": "New-Item -ItemType File {file}", "posix": "touch {file}"},
    ),
    Intent(
        name="count_lines",
        instruction="Count the lines in `{file}`.",
        instances=_values("file", "app.log", "data.csv", "words.txt", "main.py", "errors.log"),
        accept={
            "cmd": (
                one(run("find", "", "{file}", need="c v")),
                pipe(run("type", "{file}"), run("find", "", need="c v")),
            ),
            "powershell": (
                expr(r"\((get-content|gc|cat|type) (-path )?{file:path}\)\.(count|length)"),
                pipe(run("Get-Content", named={"Path": "{file}"}), run("Measure-Object", need="Line")),
            ),
            "posix": (
                one(run("wc", "{file}", need="l")),
                one(run("wc", need="l", redirect_in="{file}")),
                pipe(run("cat", "{file}"), run("wc", need="l")),
            ),
        },
        good={"cmd": 'find /c /v "" {file}', "powershell": "(Get-Content {file}).Count", "posix": "wc -l {file}"},
    ),
    Intent(
        name="find_executable",
        instruction="Show where the `{prog}` executable is located.",
        instances=_values("prog", "python", "git", "node", "pytest", "code"),
        accept={
            "cmd": (one(run("where", "{prog}")),),
            "powershell": (
                one(run("Get-Command", named={"Name": "{prog}"})),
                one(run("where", "{prog}")),
                expr(r"\((get-command|gcm) {prog}\)\.(source|path|definition)"),
            ),
            "posix": (
                one(run("which", "{prog}", allow="a")),
                one(run("command", "{prog}", need="v")),
                one(run("type", "{prog}", allow="p a P")),
                one(run("whence where", "{prog}", allow="p a")),
            ),
        },
        good={"cmd": "where {prog}", "powershell": "Get-Command {prog}", "posix": "which {prog}"},
    ),
    Intent(
        name="list_processes",
        instruction="{phrase}",
        instances=_phrases(
            "List the running processes.",
            "Show all processes currently running on this machine.",
            "Print the list of running programs with their process ids.",
            "Which processes are running? List them.",
            "Display the running processes.",
        ),
        accept={
            "cmd": (one(run("tasklist", allow="v")),),
            "powershell": (one(run("Get-Process")),),
            "posix": (one(run("ps", allow=ANY, any_args=True)),),
        },
        good={"cmd": "tasklist", "powershell": "Get-Process", "posix": "ps aux"},
    ),
)
INTENTS_BY_NAME: dict[str, Intent] = {intent.name: intent for intent in INTENTS}
