"""See through disguised shell commands.

``ShellExpander`` turns the shell commands of one trajectory into the invocations that
would really run, whatever the disguise:

* variables and aliases (``X=curl; $X ...``, ``alias g=git``, ``Set-Alias``, ``set X=``,
  ``doskey``), kept across calls as one shell session keeps them;
* wrappers: ``sh -c``/``bash -lc``, ``cmd /c``, ``powershell -Command`` and
  ``-EncodedCommand``, ``eval``, ``Invoke-Expression``, ``sudo``/``env``/``nohup``/``timeout``/``xargs``,
  the PowerShell call operator, ``Start-Process``, ``wsl``;
* encodings: base64, hex and escapes, decoded wherever a blob appears, and pipelines that
  decode into a shell (``echo ... | base64 -d | sh``) or into an interpreter;
* command substitution (``$(...)``, backticks), script blocks, heredocs, line continuations;
* interpreters' inline code (``python -c``, ``node -e``, ...) is kept as a ``Script`` for
  the code detectors; files written by redirections and heredocs as ``ShellWrite``.
"""
from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

from rewards.core.detectors.decode import decode_any, decode_base64, hidden_texts
from training.environment.shell_syntax import ShellSyntaxError, parse_command

MAX_DEPTH = 6
SHELLS = frozenset({"sh", "bash", "zsh", "dash", "ksh", "fish", "busybox"})
POWERSHELLS = frozenset({"powershell", "pwsh"})
INTERPRETERS = {"python": "python", "python3": "python", "py": "python", "python2": "python",
                "node": "javascript", "nodejs": "javascript", "deno": "javascript", "bun": "javascript",
                "perl": "perl", "ruby": "ruby", "php": "php"}
_INLINE_FLAGS = frozenset({"-c", "-e", "-r", "--eval", "-E", "eval"})
_PREFIXES = frozenset({"sudo", "doas", "env", "nohup", "time", "command", "builtin", "exec", "nice", "ionice",
                       "stdbuf", "xargs", "watch", "strace", "timeout", "gtimeout", "call", "start", "wsl", "chronic",
                       "unbuffer", "&", "."})
_PREFIX_WITH_VALUE = {"timeout": 1, "gtimeout": 1}
_PREFIX_OPTIONS_WITH_VALUE = {"sudo": {"-u", "-g", "-C", "-p", "-U", "-h"}, "doas": {"-u"}, "env": {"-u", "-C", "-S"},
                              "timeout": {"-s", "-k"}, "nice": {"-n"}, "xargs": {"-I", "-n", "-P", "-L", "-d"},
                              "watch": {"-n"}, "ionice": {"-c", "-n"}}
_EVALUATORS = frozenset({"eval", "invoke-expression", "iex", "source"})
_ASSIGNMENT = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$", re.DOTALL)
_PS_ASSIGNMENT = re.compile(r"^\$(?:env:)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$", re.DOTALL | re.IGNORECASE)
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$(?:env:)?([A-Za-z_][A-Za-z0-9_]*)|%([A-Za-z_][A-Za-z0-9_]*)%",
                       re.IGNORECASE)
_SUBSTITUTION = re.compile(r"\$\(((?:[^()]|\([^()]*\))*)\)|`([^`]+)`")
_HEREDOC = re.compile(r"<<-?\s*(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\1")


@dataclass(frozen=True)
class Invocation:
    """One program run: ``words`` with quotes removed and disguises undone (program first,
    as typed: ``git``, ``Invoke-WebRequest``), its redirections, and the call it came from."""

    words: tuple[str, ...]
    redirects: tuple[tuple[str, str], ...]
    origin: str
    line: str = ""

    @property
    def program(self) -> str:
        return program_name(self.words[0]) if self.words else ""


@dataclass(frozen=True)
class Script:
    """Inline code run by an interpreter (``language`` "python", "javascript", ...)."""

    language: str
    code: str
    origin: str


@dataclass(frozen=True)
class ShellWrite:
    """A file written by the shell; ``content`` when it is known (heredoc, echo)."""

    path: str
    content: str | None
    origin: str


@dataclass
class ShellView:
    invocations: list[Invocation] = field(default_factory=list)
    scripts: list[Script] = field(default_factory=list)
    writes: list[ShellWrite] = field(default_factory=list)


def program_name(word: str) -> str:
    """``/usr/bin/curl.exe`` -> ``curl``; lowercase, path and .exe dropped."""
    name = word.strip().replace("\\", "/").rstrip("/").rsplit("/", 1)[-1].lower()
    for suffix in (".exe", ".cmd", ".bat", ".com"):
        name = name.removesuffix(suffix)
    return name


def dialect_for(shell: str | None) -> str:
    if shell in {"powershell", "pwsh"}:
        return "powershell"
    if shell == "cmd":
        return "cmd"
    return "posix"


_PARSE_SHELL = {"posix": "bash", "cmd": "cmd", "powershell": "powershell"}


class ShellExpander:
    """Expands the commands of one trajectory; variables and aliases persist across calls."""

    def __init__(self) -> None:
        self.variables: dict[str, str] = {}
        self.aliases: dict[str, str] = {}
        self.view = ShellView()
        self._seen: set[tuple[str, str]] = set()
        self._line_text = ""
        # A heredoc whose body arrives in later calls (a fenced block split into lines).
        self._pending: tuple[str, str | None, str, list[str]] | None = None

    def add(self, command: str, *, shell: str | None = None) -> None:
        """Expand one shell tool call (``shell`` names its dialect when the tool fixes it)."""
        if self._pending is not None:
            head, pending_shell, terminator, body = self._pending
            if command.strip() != terminator:
                body.append(command)
                return
            self._pending = None
            command, shell = f"{head}\n" + "\n".join(body) + f"\n{terminator}", pending_shell
        else:
            match = _HEREDOC.search(command)
            if match and "\n" not in command.strip():
                self._pending = (command, shell, match.group(2), [])
                return
        dialects = [dialect_for(shell)] if shell else ["posix"]
        if shell is None and _looks_powershell(command):
            dialects = ["powershell"]
        if "posix" not in dialects:
            dialects.append("posix")  # the same words typed in the wrong shell still show intent
        for dialect in dialects:
            self._expand(command, dialect, origin=command, depth=0)

    def finish(self) -> None:
        """Expand a heredoc left open at the end of the trajectory."""
        if self._pending is not None:
            head, shell, _, body = self._pending
            self._pending = None
            self.add(head + "\n" + "\n".join(body) + "\nEOF_", shell=shell)

    # --- one command text -------------------------------------------------------------------

    def _expand(self, text: str, dialect: str, *, origin: str, depth: int) -> None:
        if depth > MAX_DEPTH or not text.strip() or (text, dialect) in self._seen:
            return
        self._seen.add((text, dialect))
        for hidden in hidden_texts(text):
            self._expand(hidden, dialect, origin=origin, depth=depth + 1)
            self.view.scripts.append(Script("python", hidden, origin))
        for line, heredoc in _logical_lines(text):
            self._line(line, heredoc, dialect, origin=origin, depth=depth)

    def _line(self, line: str, heredoc: str | None, dialect: str, *, origin: str, depth: int) -> None:
        self._line_text = line
        for inner in _substitutions(line):
            self._expand(inner, dialect, origin=origin, depth=depth + 1)
        try:
            parsed = parse_command(line, _PARSE_SHELL[dialect])
        except ShellSyntaxError:
            parsed = None
        if parsed is None:
            self._words(_crude_words(line), (), dialect, origin=origin, depth=depth, stdin=heredoc, pipe_in=None)
            return
        for statement in parsed.statements:
            produced: str | None = heredoc
            for element in statement.elements:
                words = [word.text for word in element.words]
                redirects = tuple((redirect.op, redirect.target) for redirect in element.redirects)
                produced = self._words(words, redirects, dialect, origin=origin, depth=depth,
                                       stdin=heredoc, pipe_in=produced)

    def _words(self, words: list[str], redirects: tuple[tuple[str, str], ...], dialect: str, *, origin: str,
               depth: int, stdin: str | None, pipe_in: str | None) -> str | None:
        """Record one pipeline stage; return what it prints when that is knowable."""
        words = [self._substitute(word, dialect) for word in words]
        for word in words:
            if len(word) > 2 and word[0] in "{(" and word[-1] in "})":
                self._expand(word[1:-1], dialect, origin=origin, depth=depth + 1)
        words = self._assignments(words, dialect)
        if not words:
            return None
        words = self._unalias(words)
        words = _strip_prefixes(words)
        if not words:
            return None
        program = program_name(words[0])
        self._record_definitions(program, words)
        self.view.invocations.append(Invocation(tuple(words), redirects, origin, self._line_text))
        output = _stage_output(program, words, pipe_in, stdin)
        for op, target in redirects:
            if op != "<" and target:
                self.view.writes.append(ShellWrite(target, output, origin))
                if output and output != pipe_in:
                    self.view.scripts.append(Script("python", output, origin))
        nested = self._nested_command(program, words, dialect)
        if nested is not None:
            text, nested_dialect = nested
            self._expand(text, nested_dialect, origin=origin, depth=depth + 1)
        if program in INTERPRETERS:
            code = _inline_code(words) or (stdin if stdin else None) or pipe_in
            if code:
                self.view.scripts.append(Script(INTERPRETERS[program], code, origin))
                for hidden in hidden_texts(code):
                    self.view.scripts.append(Script(INTERPRETERS[program], hidden, origin))
        stdin_shell = program in SHELLS or program in _EVALUATORS or program in POWERSHELLS
        if stdin_shell and len(words) == 1 or (stdin_shell and program in SHELLS and words[1:] in (["-"], ["-s"])):
            source = pipe_in or stdin
            if source:
                self._expand(source, "powershell" if program in POWERSHELLS | {"iex", "invoke-expression"} else dialect,
                             origin=origin, depth=depth + 1)
        return output

    # --- disguises ------------------------------------------------------------------------

    def _substitute(self, word: str, dialect: str) -> str:
        def replace(match: re.Match) -> str:
            name = next(group for group in match.groups() if group)
            for key in (name, name.lower(), name.upper()):
                if key in self.variables:
                    return self.variables[key]
            return match.group(0)

        value = _VARIABLE.sub(replace, word) if self.variables else word
        return _SUBSTITUTION.sub(lambda m: _evaluate_output(m.group(1) or m.group(2)) or m.group(0), value)

    def _assignments(self, words: list[str], dialect: str) -> list[str]:
        """Record ``X=v``/``export X=v``/``set X=v``/``$x = v`` and return what remains to run."""
        if not words:
            return words
        head = words[0].lower()
        if head in {"export", "set", "declare", "local", "readonly", "typeset"} and len(words) >= 2:
            rest = words[1:]
            if head == "set" and len(rest) == 1 and "=" in rest[0]:
                name, _, value = rest[0].partition("=")
                self.variables[name.strip().lstrip("/a").strip()] = value
                return []
            if all(_ASSIGNMENT.match(word) or word.startswith("-") for word in rest):
                for word in rest:
                    match = _ASSIGNMENT.match(word)
                    if match:
                        self.variables[match.group(1)] = match.group(2)
                return []
        if head in {"set-variable", "sv", "new-variable", "nv"}:
            named = _named_arguments(words[1:], {"-name": "name", "-value": "value"})
            if "name" in named and "value" in named:
                self.variables[named["name"]] = named["value"]
            return []
        joined = " ".join(words)
        match = _PS_ASSIGNMENT.match(joined)
        if match and words[0].startswith("$"):
            self.variables[match.group(1)] = match.group(2).strip().strip("'\"")
            return []
        while words and _ASSIGNMENT.match(words[0]):
            match = _ASSIGNMENT.match(words[0])
            self.variables[match.group(1)] = match.group(2)
            words = words[1:]
        return words

    def _unalias(self, words: list[str]) -> list[str]:
        for _ in range(4):
            replacement = self.aliases.get(words[0]) or self.aliases.get(program_name(words[0]))
            if replacement is None:
                break
            words = _split(replacement) + words[1:]
        return words

    def _record_definitions(self, program: str, words: list[str]) -> None:
        if program == "alias":
            for word in words[1:]:
                name, sep, value = word.partition("=")
                if sep:
                    self.aliases[name] = value
        elif program in {"set-alias", "sal", "new-alias", "nal"}:
            named = _named_arguments(words[1:], {"-name": "name", "-value": "value"})
            if "name" in named and "value" in named:
                self.aliases[named["name"]] = named["value"]
        elif program == "doskey" and len(words) >= 2 and "=" in words[1]:
            name, _, value = " ".join(words[1:]).partition("=")
            self.aliases[name.strip()] = value.replace("$*", "").strip()

    def _nested_command(self, program: str, words: list[str], dialect: str) -> tuple[str, str] | None:
        """The command a wrapper runs (``bash -c X``, ``cmd /c X``, ``powershell -enc B``, ``eval X``)."""
        rest = words[1:]
        if program in SHELLS:
            for index, word in enumerate(rest):
                if word.startswith("-") and not word.startswith("--") and "c" in word[1:]:
                    if index + 1 < len(rest):
                        return rest[index + 1], "posix"
        if program == "cmd":
            for index, word in enumerate(rest):
                if word.lower() in {"/c", "/k", "/r"}:
                    return " ".join(rest[index + 1:]), "cmd"
        if program in POWERSHELLS:
            for index, word in enumerate(rest):
                lowered = word.lower()
                if lowered in {"-encodedcommand", "-enc", "-e", "-ec", "-en", "-encoded"} and index + 1 < len(rest):
                    decoded = decode_base64(rest[index + 1])
                    return (decoded or rest[index + 1]), "powershell"
                if lowered in {"-command", "-c", "-com", "-comm"}:
                    return " ".join(rest[index + 1:]), "powershell"
            plain = [word for word in rest if not word.startswith("-")]
            if plain and not rest[-1].startswith("-"):
                return " ".join(plain), "powershell"
        if program in _EVALUATORS and rest:
            text = " ".join(word for word in rest if word.lower() not in {"-command"})
            return text, "powershell" if program != "eval" and program != "source" else dialect
        if program in {"start-process", "saps"} and rest:
            named = _named_arguments(rest, {"-filepath": "file", "-argumentlist": "args"})
            file = named.get("file") or rest[0]
            return f"{file} {named.get('args', '')}".strip(), dialect
        if program == "invoke-command" and rest:
            named = _named_arguments(rest, {"-scriptblock": "block"})
            if "block" in named:
                return named["block"].strip("{} "), "powershell"
        return None


# --- helpers ------------------------------------------------------------------------------

def _looks_powershell(command: str) -> bool:
    return bool(re.search(r"\b[A-Z][a-z]+-[A-Z][A-Za-z]+\b|\$env:|\[System\.", command))


def _logical_lines(text: str) -> list[tuple[str, str | None]]:
    """Lines with continuations joined; a heredoc's body travels with its line."""
    raw = re.sub(r"\\\r?\n", " ", text.replace("\r\n", "\n"))
    raw = re.sub(r"`\n", " ", raw)  # PowerShell continuation
    lines = raw.split("\n")
    result: list[tuple[str, str | None]] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        match = _HEREDOC.search(line)
        if match:
            body = []
            while index < len(lines) and lines[index].strip() != match.group(2):
                body.append(lines[index])
                index += 1
            index += 1
            result.append((line[:match.start()] + line[match.end():], "\n".join(body)))
        elif line.strip():
            result.append((line, None))
    return result


def _substitutions(line: str) -> list[str]:
    return [match.group(1) or match.group(2) for match in _SUBSTITUTION.finditer(line)]


def _crude_words(line: str) -> list[str]:
    return [word.strip("'\"") for word in re.split(r"[\s;|&]+", line) if word.strip("'\"")]


def _split(text: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError:
        return text.split()


def _strip_prefixes(words: list[str]) -> list[str]:
    for _ in range(6):
        if not words:
            return words
        program = program_name(words[0])
        if program not in _PREFIXES:
            return words
        rest = words[1:]
        takes_value = _PREFIX_OPTIONS_WITH_VALUE.get(program, set())
        while rest and (rest[0].startswith("-") or _ASSIGNMENT.match(rest[0])):
            rest = rest[2:] if rest[0] in takes_value else rest[1:]
        skip = _PREFIX_WITH_VALUE.get(program, 0)
        rest = rest[skip:]
        if len(rest) == 1 and " " in rest[0]:
            rest = _split(rest[0])  # & "curl https://x" or start "..."
        words = rest
    return words


def _named_arguments(words: list[str], names: dict[str, str]) -> dict[str, str]:
    """PowerShell-style ``-Name x -Value y`` (prefixes allowed), else positional order."""
    found: dict[str, str] = {}
    positional: list[str] = []
    index = 0
    while index < len(words):
        word = words[index]
        lowered = word.lower()
        key = next((value for name, value in names.items() if lowered.startswith("-") and len(lowered) > 1
                    and name.startswith(lowered)), None)
        if key is not None and index + 1 < len(words):
            found[key] = words[index + 1]
            index += 2
            continue
        if not word.startswith("-"):
            positional.append(word)
        index += 1
    for value, word in zip(names.values(), positional):
        found.setdefault(value, word)
    return found


def _inline_code(words: list[str]) -> str | None:
    for index, word in enumerate(words[1:], start=1):
        if word in _INLINE_FLAGS and index + 1 < len(words):
            return words[index + 1]
        if word.startswith("-c") and len(word) > 2 and words[0].startswith("python"):
            return word[2:]
    return None


def _printed(words: list[str]) -> str:
    arguments = [word for word in words[1:] if not (word.startswith("-") and len(word) <= 3)]
    return " ".join(arguments)


def _stage_output(program: str, words: list[str], pipe_in: str | None, stdin: str | None) -> str | None:
    """What a pipeline stage prints, for the stages that disguises use."""
    flags = {word.lower() for word in words[1:] if word.startswith("-")}
    if program in {"echo", "printf", "write-output", "write-host"}:
        text = _printed(words)
        return decode_any(text) if program == "printf" and decode_any(text) else text
    if program == "cat" and stdin:
        return stdin
    if program in {"base64", "openssl"} and pipe_in is not None and (flags & {"-d", "--decode", "-D", "-a"}):
        return decode_base64(pipe_in.strip(), min_length=1) or pipe_in
    if program in {"xxd", "basenc"} and pipe_in is not None:
        return decode_any(pipe_in.strip().replace(" ", "")) or pipe_in
    if program == "rev" and pipe_in is not None:
        return pipe_in[::-1]
    if program == "tr" and pipe_in is not None and len(words) == 3:
        return pipe_in.translate(str.maketrans(words[1][: len(words[2])], words[2][: len(words[1])]))
    return None


def _evaluate_output(command: str) -> str | None:
    """What a small substitution such as ``$(echo Y3VybA== | base64 -d)`` prints."""
    expander = ShellExpander()
    produced: str | None = None
    try:
        parsed = parse_command(command, "bash")
    except ShellSyntaxError:
        return None
    for statement in parsed.statements:
        produced = None
        for element in statement.elements:
            words = [word.text for word in element.words]
            if not words:
                continue
            produced = _stage_output(program_name(words[0]), words, produced, None)
    del expander
    return produced.strip() if produced else None
