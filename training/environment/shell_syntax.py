"""Tokenize and parse one command line in the syntax of cmd, PowerShell or a POSIX shell.

The parser is deliberately shallow: it recovers statements (split on ``&&``, ``||``, ``;``,
``&``), pipelines (split on ``|``), words with their quoting, and redirections. That is all
the verifier needs to tell which program runs with which arguments; it never executes.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

POSIX_SHELLS = frozenset({"bash", "zsh"})

_OPERATORS = {
    "posix": ("2>&1", "2>>", "&>>", "&&", "||", ">>", "2>", "&>", "|", ";", "&", ">", "<"),
    "cmd": ("2>&1", "2>>", "&&", "||", ">>", "2>", "|", "&", ">", "<"),
    "powershell": ("2>&1", "2>>", "*>>", "&&", "||", ">>", "2>", "*>", "|", ";", ">", "<"),
}
_OPERATOR_STARTS = {dialect: frozenset(op[0] for op in ops) for dialect, ops in _OPERATORS.items()}
_SEPARATORS = frozenset({"&&", "||", ";", "&"})
_REDIRECTS = frozenset({"2>&1", "2>>", "&>>", ">>", "2>", "&>", "*>>", "*>", ">", "<"})
_TARGETLESS_REDIRECTS = frozenset({"2>&1"})
_PS_OPENERS = {"(": ")", "{": "}", "[": "]"}


class ShellSyntaxError(ValueError):
    """The command line cannot be tokenized (unbalanced quotes or brackets)."""


@dataclass(frozen=True)
class Word:
    """One shell word. ``text`` has quotes and escapes removed.

    ``quote`` is the quote character when the whole word is a single quoted span, else "".
    ``literal`` is True when the shell performs no variable expansion in it (single quotes
    in POSIX shells and PowerShell).
    """

    text: str
    raw: str
    quote: str
    literal: bool


@dataclass(frozen=True)
class Redirect:
    op: str
    target: str


@dataclass(frozen=True)
class Element:
    """One stage of a pipeline: words (program first) and its redirections."""

    words: tuple[Word, ...]
    redirects: tuple[Redirect, ...]
    raw: str


@dataclass(frozen=True)
class Statement:
    """A pipeline: one or more elements joined by ``|``."""

    elements: tuple[Element, ...]
    raw: str


@dataclass(frozen=True)
class CommandLine:
    statements: tuple[Statement, ...]
    separators: tuple[str, ...]


@dataclass(frozen=True)
class _Op:
    text: str


def dialect_of(shell: str) -> str:
    """Map a shell name to its syntax dialect: "posix", "cmd" or "powershell"."""
    return "posix" if shell in POSIX_SHELLS else shell


@lru_cache(maxsize=8192)
def parse_command(command: str, shell: str) -> CommandLine:
    """Parse ``command`` as typed into ``shell``. Raises ShellSyntaxError.

    Results are cached: the same line is parsed once for validity and for every hack
    detector (the result is immutable)."""
    dialect = dialect_of(shell)
    tokens = _tokenize(command, dialect)
    return _assemble(tokens)


def _tokenize(text: str, dialect: str) -> list[Word | _Op]:
    tokens: list[Word | _Op] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char.isspace():
            index += 1
            continue
        operator = _operator_at(text, index, dialect)
        if operator is not None:
            tokens.append(_Op(operator))
            index += len(operator)
            continue
        word, index = _read_word(text, index, dialect)
        tokens.append(word)
    return tokens


def _operator_at(text: str, index: int, dialect: str) -> str | None:
    if text[index] not in _OPERATOR_STARTS[dialect]:
        return None
    for operator in _OPERATORS[dialect]:
        if text.startswith(operator, index):
            # "&" is PowerShell's call operator, not a separator.
            if dialect == "powershell" and operator == "&":
                return None
            return operator
    return None


def _read_word(text: str, index: int, dialect: str) -> tuple[Word, int]:
    start = index
    parts: list[str] = []
    quoted_spans = 0
    unquoted_chars = 0
    single_quoted = False
    while index < len(text):
        char = text[index]
        if char.isspace() or (_operator_at(text, index, dialect) is not None and not _glued_digit(text, index)):
            break
        if char == '"' or (char == "'" and dialect != "cmd"):
            span, index = _read_quoted(text, index, dialect)
            parts.append(span)
            quoted_spans += 1
            single_quoted = single_quoted or char == "'"
            continue
        if dialect == "powershell" and char in _PS_OPENERS:
            group, index = _read_group(text, index)
            parts.append(group)
            unquoted_chars += len(group)
            continue
        if dialect == "posix" and text.startswith("$(", index):
            group, index = _read_group(text, index + 1)
            parts.append("$" + group)
            unquoted_chars += len(group) + 1
            continue
        escaped, index = _read_unquoted_char(text, index, dialect)
        parts.append(escaped)
        unquoted_chars += 1
    raw = text[start:index]
    quote = raw[0] if quoted_spans == 1 and unquoted_chars == 0 else ""
    literal = single_quoted and dialect != "cmd"
    return Word(text="".join(parts), raw=raw, quote=quote, literal=literal), index


def _glued_digit(text: str, index: int) -> bool:
    """True for "2" in "file2>x": a digit only starts an operator at a word boundary."""
    return text[index].isdigit() and index > 0 and not text[index - 1].isspace()


def _read_unquoted_char(text: str, index: int, dialect: str) -> tuple[str, int]:
    char = text[index]
    escape = {"posix": "\\", "cmd": "^", "powershell": "`"}[dialect]
    if char == escape and index + 1 < len(text):
        return text[index + 1], index + 2
    return char, index + 1


def _read_quoted(text: str, index: int, dialect: str) -> tuple[str, int]:
    quote = text[index]
    index += 1
    chunk: list[str] = []
    while index < len(text):
        char = text[index]
        if char == quote:
            # PowerShell doubles a quote to escape it inside the same kind of quotes.
            if dialect == "powershell" and text.startswith(quote * 2, index):
                chunk.append(quote)
                index += 2
                continue
            return "".join(chunk), index + 1
        if quote == '"' and dialect == "posix" and char == "\\" and index + 1 < len(text) and text[index + 1] in '$"\\`':
            chunk.append(text[index + 1])
            index += 2
            continue
        if quote == '"' and dialect == "powershell" and char == "`" and index + 1 < len(text):
            chunk.append(text[index + 1])
            index += 2
            continue
        chunk.append(char)
        index += 1
    raise ShellSyntaxError(f"unterminated {quote} quote")


def _read_group(text: str, index: int) -> tuple[str, int]:
    """Read a balanced (...)/{...}/[...] group verbatim, respecting quotes inside it."""
    closers: list[str] = []
    start = index
    while index < len(text):
        char = text[index]
        if char in "\"'":
            end = text.find(char, index + 1)
            if end < 0:
                raise ShellSyntaxError(f"unterminated {char} quote")
            index = end + 1
            continue
        if char in _PS_OPENERS:
            closers.append(_PS_OPENERS[char])
        elif closers and char == closers[-1]:
            closers.pop()
            if not closers:
                return text[start:index + 1], index + 1
        index += 1
    raise ShellSyntaxError("unbalanced brackets")


def _assemble(tokens: list[Word | _Op]) -> CommandLine:
    statements: list[Statement] = []
    separators: list[str] = []
    elements: list[Element] = []
    current: list[Word | _Op] = []
    for token in tokens:
        if isinstance(token, _Op) and token.text in _SEPARATORS:
            elements.append(_element(current))
            statements.append(_statement(elements))
            separators.append(token.text)
            elements, current = [], []
        elif isinstance(token, _Op) and token.text == "|":
            elements.append(_element(current))
            current = []
        else:
            current.append(token)
    if current or elements:
        elements.append(_element(current))
        statements.append(_statement(elements))
    kept = [statement for statement in statements if any(e.words or e.redirects for e in statement.elements)]
    return CommandLine(statements=tuple(kept), separators=tuple(separators))


def _element(tokens: list[Word | _Op]) -> Element:
    words: list[Word] = []
    redirects: list[Redirect] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        index += 1
        if isinstance(token, Word):
            words.append(token)
            continue
        if token.text in _TARGETLESS_REDIRECTS:
            redirects.append(Redirect(op=token.text, target=""))
            continue
        if token.text in _REDIRECTS:
            target = tokens[index] if index < len(tokens) else None
            if not isinstance(target, Word):
                raise ShellSyntaxError(f"redirection {token.text} has no target")
            redirects.append(Redirect(op=token.text, target=target.text))
            index += 1
    raw = " ".join(token.raw if isinstance(token, Word) else token.text for token in tokens)
    return Element(words=tuple(words), redirects=tuple(redirects), raw=raw)


def _statement(elements: list[Element]) -> Statement:
    return Statement(elements=tuple(elements), raw=" | ".join(element.raw for element in elements))


_SPACE = re.compile(r"\s+")


def squash(text: str) -> str:
    """Collapse whitespace runs to one space (for comparing raw expression text)."""
    return _SPACE.sub(" ", text).strip()
