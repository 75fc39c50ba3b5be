"""Decide whether a command line is valid in a given OS/shell, and what it would invoke.

``check_command`` is a pure table lookup (no process is started): it parses the line,
resolves every program against ``shell_tables``, binds PowerShell parameters, and flags
syntax borrowed from another shell (``$VAR`` in cmd, ``%VAR%`` in bash, ``mkdir -p`` in
cmd, ``&&`` in Windows PowerShell 5.1). Valid lines come back as ``Invocation`` values that
the intent matchers in ``intents`` inspect.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from training.environment import shell_tables as tables
from training.environment.shell_syntax import CommandLine, Element, ShellSyntaxError, Word, dialect_of, parse_command, squash

_PERCENT_VAR = re.compile(r"%[A-Za-z_][A-Za-z0-9_]+%")
_PS_ENV_VAR = re.compile(r"\$env:[A-Za-z_]", re.IGNORECASE)
_DOLLAR_VAR = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)(:?)")
_PS_ASSIGNMENT = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)\s*=(?!=)")
_WINDOWS_SWITCH = re.compile(r"^/([A-Za-z?])(:.*)?$")
_POSIX_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_NOT_FOUND_EXIT = {"cmd": 9009, "powershell": 1, "posix": 127}
# Programs whose arguments are not Windows /x switches even when run from cmd.
_NO_SLASH_SWITCHES = frozenset("git python py pip pytest node npm npx code docker curl tar ssh scp".split())
_POSIX_FLAG_ALIASES: dict[str, dict[str, str]] = {
    "grep": {"R": "r", "recursive": "r", "ignore-case": "i", "line-number": "n", "word-regexp": "w"},
    "rm": {"R": "r", "recursive": "r", "force": "f", "verbose": "v"},
    "cp": {"R": "r", "recursive": "r", "force": "f", "verbose": "v"},
    "mkdir": {"parents": "p", "verbose": "v"},
    "ls": {"all": "a", "almost-all": "A"},
    "wc": {"lines": "l"},
}
_UNIX_PS_ARGS = frozenset({"aux", "ax", "axu", "ef", "-ef", "-aux", "-e"})


@dataclass(frozen=True)
class Invocation:
    """One program run (or PowerShell expression) inside a valid command line.

    ``program`` is canonical: lowercase for cmd and Windows executables, the cmdlet's own
    spelling for PowerShell commands ("Get-ChildItem"), as typed for POSIX shells, "" for a
    bare redirection or assignment. ``switches`` are cmd ``/x`` letters (lowercase), POSIX
    option letters/long names, or bound PowerShell switch parameters. ``named`` holds bound
    PowerShell parameters with values (LiteralPath folded into Path). ``args`` are the
    remaining positional arguments; a single-quoted argument containing ``$`` keeps its
    quotes, because no shell expands it. ``expression`` is a PowerShell expression
    statement's squashed text.
    """

    program: str
    args: tuple[str, ...] = ()
    switches: frozenset[str] = frozenset()
    named: tuple[tuple[str, str], ...] = ()
    redirect_out: str | None = None
    redirect_in: str | None = None
    expression: str | None = None
    words: tuple[Word, ...] = ()

    def named_value(self, parameter: str) -> str | None:
        for key, value in self.named:
            if key.lower() == parameter.lower():
                return value
        return None


@dataclass(frozen=True)
class CheckedStatement:
    """A pipeline of invocations, plus its raw text."""

    invocations: tuple[Invocation, ...]
    raw: str


@dataclass(frozen=True)
class CommandCheck:
    """Result of checking one command line. ``statements`` is empty unless ``ok``."""

    ok: bool
    error_kind: str | None
    exit_code: int | None
    message: str
    statements: tuple[CheckedStatement, ...] = ()


class _Failure(Exception):
    def __init__(self, kind: str, exit_code: int | None, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.exit_code = exit_code
        self.message = message


def check_command(command: str, *, os: str, shell: str) -> CommandCheck:
    """Check ``command`` as typed into ``shell`` on ``os``; never raises for bad input."""
    return _check_cached(command, os, shell)


@lru_cache(maxsize=8192)
def _check_cached(command: str, os: str, shell: str) -> CommandCheck:
    dialect = dialect_of(shell)
    if not command.strip():
        return CommandCheck(False, "invalid_arguments", None, "empty command")
    try:
        line = parse_command(command, shell)
        _check_separators(line, dialect)
        assigned = frozenset(name.lower() for name in _PS_ASSIGNMENT.findall(command))
        statements = tuple(
            CheckedStatement(
                invocations=tuple(_invoke(element, os, shell, assigned) for element in statement.elements),
                raw=statement.raw,
            )
            for statement in line.statements
        )
    except ShellSyntaxError as error:
        return CommandCheck(False, "invalid_arguments", 2 if dialect == "posix" else 1, str(error))
    except _Failure as failure:
        return CommandCheck(False, failure.kind, failure.exit_code, failure.message)
    return CommandCheck(True, None, 0, "ok", statements)


def _check_separators(line: CommandLine, dialect: str) -> None:
    if dialect == "powershell" and {"&&", "||"} & set(line.separators):
        raise _Failure("invalid_for_shell", None, "'&&'/'||' are not statement separators in Windows PowerShell 5.1")
    if dialect == "cmd":
        for statement in line.statements:
            for element in statement.elements:
                if any(word.text.endswith(";") for word in element.words[:-1]):
                    raise _Failure("invalid_for_shell", 1, "';' is not a command separator in cmd")


def _invoke(element: Element, os: str, shell: str, assigned: frozenset[str]) -> Invocation:
    dialect = dialect_of(shell)
    if dialect == "cmd":
        return _invoke_cmd(element)
    if dialect == "powershell":
        return _invoke_powershell(element, assigned)
    return _invoke_posix(element, os, shell)


def _redirect_out(element: Element) -> str | None:
    for redirect in element.redirects:
        if redirect.op in {">", ">>", "&>", "*>"}:
            return redirect.target
    return None


def _redirect_in(element: Element) -> str | None:
    return next((redirect.target for redirect in element.redirects if redirect.op == "<"), None)


# --- cmd -------------------------------------------------------------------------------

def _invoke_cmd(element: Element) -> Invocation:
    if not element.words:
        return Invocation(program="", redirect_out=_redirect_out(element))
    program, extra = _cmd_program(element.words[0].text)
    words = (*extra, *element.words[1:])
    _reject_foreign_variables(element.words, "cmd", frozenset())
    if program in tables.CMD_SLASH_SWITCH_COMMANDS:
        _check_cmd_switch_syntax(program, words)
    switches, args = _split_windows_switches(program, words)
    return Invocation(program=program, args=args, switches=switches, redirect_out=_redirect_out(element),
                      redirect_in=_redirect_in(element), words=element.words)


def _cmd_program(typed: str) -> tuple[str, tuple[Word, ...]]:
    """Resolve the program word of a cmd line; "echo." and "cd.." glue arguments on."""
    lowered = typed.lower()
    for builtin in ("echo", "cd"):
        if lowered.startswith(builtin) and len(lowered) > len(builtin) and lowered[len(builtin)] in ".:\\/(":
            rest = typed[len(builtin) + 1:]
            return builtin, ((Word(rest, rest, "", False),) if rest else ())
    if lowered.startswith("./"):
        raise _Failure("invalid_for_shell", 9009, "'.' is not recognized as an internal or external command")
    if "\\" in lowered or ":" in lowered:
        return _strip_windows_extension(lowered.replace("\\", "/").rsplit("/", 1)[-1]), ()
    name = _strip_windows_extension(lowered)
    if name in tables.CMD_BUILTINS or name in tables.WINDOWS_EXECUTABLES:
        return name, ()
    if name in tables.WINDOWS_STORE_STUBS:
        raise _Failure("nonzero_exit", 9009, f"{name}: Microsoft Store app execution alias, not a real interpreter")
    raise _Failure("invalid_for_shell", 9009, f"'{typed}' is not recognized as an internal or external command")


def _strip_windows_extension(name: str) -> str:
    for extension in (".exe", ".com", ".cmd", ".bat"):
        if name.endswith(extension):
            return name[: -len(extension)]
    return name


def _check_cmd_switch_syntax(program: str, words: tuple[Word, ...]) -> None:
    for word in words:
        if word.text.startswith("-") and len(word.text) > 1 and not word.quote:
            raise _Failure("invalid_for_shell", 1, f"{program}: '{word.text}' is a Unix option; cmd uses /switches")
        if "/" in word.text[1:] and not word.quote and not _WINDOWS_SWITCH.match(word.text):
            raise _Failure("invalid_arguments", 1, f"{program}: forward slashes start switches in cmd ('{word.text}')")
    if program == "find":
        search = next((word for word in words if not _WINDOWS_SWITCH.match(word.text)), None)
        if search is None or search.quote != '"':
            raise _Failure("invalid_arguments", 2, "FIND: Parameter format not correct (the string must be quoted)")


def _split_windows_switches(program: str, words: tuple[Word, ...]) -> tuple[frozenset[str], tuple[str, ...]]:
    if program in _NO_SLASH_SWITCHES:
        return frozenset(), tuple(word.text for word in words)
    switches: set[str] = set()
    args: list[str] = []
    for word in words:
        match = _WINDOWS_SWITCH.match(word.text) if not word.quote else None
        if match:
            switches.add(match.group(1).lower())
        else:
            args.append(word.text)
    return frozenset(switches), tuple(args)


# --- PowerShell ---------------------------------------------------------------------------

def _invoke_powershell(element: Element, assigned: frozenset[str]) -> Invocation:
    words = element.words
    if words and words[0].text == "&":
        words = words[1:]
    if not words:
        return Invocation(program="", redirect_out=_redirect_out(element))
    _reject_foreign_variables(words, "powershell", assigned)
    first = words[0]
    if first.quote or first.text[:1] in "$([@" or _is_number(first.text):
        return Invocation(program="", expression=squash(element.raw), redirect_out=_redirect_out(element), words=words)
    program, is_cmdlet = _powershell_program(first.text)
    if not is_cmdlet:
        switches, args = _split_windows_switches(program, words[1:])
        return Invocation(program=program, args=args, switches=switches,
                          redirect_out=_redirect_out(element), words=words)
    spec = tables.CMDLET_SPECS.get(program.lower())
    if spec is None:
        return _unbound_cmdlet(program, words, element)
    switches, named = _bind_cmdlet(spec, words[1:])
    if program == "Get-Process" and (dict(named).get("Name", "").lower() in _UNIX_PS_ARGS):
        raise _Failure("nonzero_exit", 1, "Get-Process: Cannot find a process with that name (Unix ps options)")
    return Invocation(program=program, switches=switches, named=named,
                      redirect_out=_redirect_out(element), words=words)


def _is_number(text: str) -> bool:
    return bool(re.fullmatch(r"-?\d+(\.\d+)?", text))


def _powershell_program(typed: str) -> tuple[str, bool]:
    """Return (canonical program, is it a cmdlet/function) or raise for unknown commands."""
    lowered = typed.lower()
    if lowered.endswith(".exe"):
        name = lowered[:-4]
        if name in tables.WINDOWS_EXECUTABLES:
            return name, False
    if lowered in tables.POWERSHELL_ALIASES:
        return tables.POWERSHELL_ALIASES[lowered], True
    if lowered in tables.POWERSHELL_COMMANDS:
        return tables.POWERSHELL_COMMANDS[lowered], True
    if lowered in tables.WINDOWS_EXECUTABLES:
        return lowered, False
    if lowered in tables.WINDOWS_STORE_STUBS:
        raise _Failure("nonzero_exit", 9009, f"{lowered}: Microsoft Store app execution alias, not a real interpreter")
    if "\\" in lowered or "/" in lowered:
        return _strip_windows_extension(lowered.replace("\\", "/").rsplit("/", 1)[-1]), False
    raise _Failure("invalid_for_shell", 1, f"The term '{typed}' is not recognized as the name of a cmdlet, function or program")


def _unbound_cmdlet(program: str, words: tuple[Word, ...], element: Element) -> Invocation:
    switches = frozenset(w.text[1:] for w in words[1:] if w.text.startswith("-") and not w.quote)
    args = tuple(w.text for w in words[1:] if not (w.text.startswith("-") and not w.quote))
    return Invocation(program=program, args=args, switches=switches,
                      redirect_out=_redirect_out(element), words=words)


def _bind_cmdlet(spec: tables.CmdletSpec, words: tuple[Word, ...]) -> tuple[frozenset[str], tuple[tuple[str, str], ...]]:
    """Bind arguments to ``spec``'s parameters the way PowerShell does (prefix matching)."""
    switches: set[str] = set()
    named: dict[str, str] = {}
    positionals: list[str] = []
    index = 0
    while index < len(words):
        word = words[index]
        index += 1
        if word.text.startswith("-") and len(word.text) > 1 and not word.quote and not _is_number(word.text):
            name, _, inline = word.text[1:].partition(":")
            parameter = _resolve_parameter(spec, name)
            if parameter in spec.switches or parameter in tables.COMMON_SWITCHES:
                switches.add(parameter)
                continue
            if not inline:
                if index >= len(words):
                    raise _Failure("invalid_arguments", 1, f"{spec.name}: missing an argument for parameter '{parameter}'")
                inline = _argument_text(words[index])
                index += 1
            named["Path" if parameter == "LiteralPath" else parameter] = inline
        else:
            positionals.append(_argument_text(word))
    _bind_positionals(spec, positionals, named)
    return frozenset(switches), tuple(named.items())


def _bind_positionals(spec: tables.CmdletSpec, positionals: list[str], named: dict[str, str]) -> None:
    """Fill the free positional parameters in order; surplus arguments are an error."""
    free = [name for name in spec.positional if name not in named]
    for position, value in enumerate(positionals):
        if position < len(free):
            named[free[position]] = value
        elif spec.rest and free:
            named[free[-1]] = f"{named[free[-1]]} {value}"
        else:
            raise _Failure("invalid_arguments", 1, f"{spec.name}: a positional parameter cannot be found that accepts argument '{value}'")


def _resolve_parameter(spec: tables.CmdletSpec, typed: str) -> str:
    lowered = typed.lower()
    names = (*spec.params, *tables.COMMON_PARAMETERS, *(("WhatIf", "Confirm") if spec.should_process else ()))
    for name in names:
        if name.lower() == lowered:
            return name
    alias = spec.aliases.get(lowered) or tables.COMMON_ALIASES.get(lowered)
    if alias is not None:
        return alias
    matches = [name for name in names if name.lower().startswith(lowered)] if lowered else []
    static = [name for name in matches if name not in spec.dynamic]
    if len(static) == 1 or (len(matches) == 1):
        return static[0] if len(static) == 1 else matches[0]
    # Short or double-dash parameters are almost always Unix flags typed into PowerShell.
    kind = "invalid_for_shell" if len(typed) <= 3 or typed.startswith("-") else "invalid_arguments"
    problem = "is ambiguous" if matches else "cannot be found"
    raise _Failure(kind, 1, f"{spec.name}: parameter name '{typed}' {problem}")


def _argument_text(word: Word) -> str:
    return f"'{word.text}'" if word.literal and "$" in word.text else word.text


# --- POSIX shells -------------------------------------------------------------------------

def _invoke_posix(element: Element, os: str, shell: str) -> Invocation:
    words = element.words
    while words and _POSIX_ASSIGNMENT.match(words[0].text) and not words[0].quote:
        words = words[1:]
    if not words:
        return Invocation(program="", redirect_out=_redirect_out(element), words=element.words)
    _reject_foreign_variables(words, "posix", frozenset())
    program = words[0].text
    if "/" not in program and program not in posix_programs(os, shell):
        raise _Failure("invalid_for_shell", 127, f"{shell}: command not found: {program}")
    if program == "sudo":
        raise _Failure("permission", 1, "sudo: a password is required (the agent has no privileges)")
    switches, args = _split_posix_flags(program, words[1:])
    _check_posix_runtime(program, args)
    return Invocation(program=program.rsplit("/", 1)[-1], args=args, switches=switches,
                      redirect_out=_redirect_out(element), redirect_in=_redirect_in(element), words=words)


def posix_programs(os: str, shell: str) -> frozenset[str]:
    """All command names a stock ``shell`` on ``os`` resolves (builtins and executables)."""
    programs = set(tables.POSIX_COMMON)
    programs |= tables.BASH_ONLY if shell == "bash" else tables.ZSH_ONLY
    programs |= tables.LINUX_ONLY if os == "linux" else tables.MACOS_ONLY
    return frozenset(programs)


def _split_posix_flags(program: str, words: tuple[Word, ...]) -> tuple[frozenset[str], tuple[str, ...]]:
    aliases = _POSIX_FLAG_ALIASES.get(program, {})
    switches: set[str] = set()
    args: list[str] = []
    options_done = False
    for word in words:
        text = word.text
        if options_done or word.quote or not text.startswith("-") or text == "-":
            args.append(_argument_text(word))
        elif text == "--":
            options_done = True
        elif text.startswith("--"):
            name = text[2:].split("=", 1)[0]
            switches.add(aliases.get(name, name))
        else:
            switches.update(aliases.get(letter, letter) for letter in text[1:])
    return frozenset(switches), tuple(args)


def _check_posix_runtime(program: str, args: tuple[str, ...]) -> None:
    for arg in args:
        if _WINDOWS_SWITCH.match(arg):
            raise _Failure("nonzero_exit", 1, f"{program}: cannot access '{arg}': No such file or directory")
    if program == "type" and any("." in arg or "/" in arg for arg in args):
        raise _Failure("nonzero_exit", 1, "type: not found (type describes commands, it does not print files)")


# --- variables --------------------------------------------------------------------------

def _reject_foreign_variables(words: tuple[Word, ...], dialect: str, assigned: frozenset[str]) -> None:
    """Raise when a word uses another shell's variable syntax (it would not expand here)."""
    for word in words:
        if word.literal:
            continue
        text = word.raw
        if dialect != "cmd" and _PERCENT_VAR.search(text) and not text.startswith("+"):
            raise _Failure("invalid_for_shell", 0, f"%VAR% is cmd syntax; {dialect} prints it literally: {text}")
        if dialect != "powershell" and _PS_ENV_VAR.search(text):
            raise _Failure("invalid_for_shell", 0, f"$env:VAR is PowerShell syntax: {text}")
        if dialect == "cmd" and _DOLLAR_VAR.search(text):
            raise _Failure("invalid_for_shell", 0, f"$VAR is not expanded by cmd: {text}")
        if dialect == "powershell":
            _reject_unset_powershell_variables(text, assigned)


def _reject_unset_powershell_variables(text: str, assigned: frozenset[str]) -> None:
    for match in _DOLLAR_VAR.finditer(text):
        name, scoped = match.group(1).lower(), match.group(2)
        if scoped or name in tables.POWERSHELL_AUTOMATIC_VARIABLES or name in assigned:
            continue
        raise _Failure("invalid_for_shell", 0, f"${match.group(1)} is a Unix variable; PowerShell uses $env:{match.group(1)}")
