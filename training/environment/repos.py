"""Small synthetic repositories with their own conventions, and source rendering in them.

Sources in ``functions`` are written once in canonical form (snake_case, 4-space indent)
and rendered into each repo's convention by ``render_source``.
"""
from __future__ import annotations

import io
import tokenize
from collections.abc import Mapping
from dataclasses import dataclass

CANONICAL_INDENT = 4


@dataclass(frozen=True)
class RepoProfile:
    """A repository: its name, naming convention ("snake"|"camel") and indent unit."""

    name: str
    naming: str
    indent: int

    def flipped(self) -> RepoProfile:
        """The opposite conventions (used to write deliberately off-style code)."""
        return RepoProfile(self.name, "camel" if self.naming == "snake" else "snake", 2 if self.indent == 4 else 4)


REPOS: tuple[RepoProfile, ...] = (
    RepoProfile("inkwell", "snake", 4),
    RepoProfile("ledger", "camel", 2),
    RepoProfile("orbit", "snake", 2),
    RepoProfile("quill", "camel", 4),
)

# Helper name -> (module the task's code lives in, canonical helper source).
HELPERS: dict[str, tuple[str, str]] = {
    "normalize_text": ("textops", 'def normalize_text(text):\n    return " ".join(text.split()).lower()\n'),
    "clamp": ("ranges", "def clamp(value, low, high):\n    return max(low, min(value, high))\n"),
    "safe_div": ("stats", "def safe_div(numerator, denominator, default=0.0):\n"
                          "    return numerator / denominator if denominator else default\n"),
}


def convert_name(name: str, naming: str) -> str:
    """snake_case -> camelCase when ``naming`` is "camel"; unchanged otherwise."""
    if naming != "camel" or "_" not in name.strip("_"):
        return name
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def render_source(source: str, *, naming: str, indent: int, renames: Mapping[str, str] | None = None) -> str:
    """Render canonical ``source`` with ``naming`` and ``indent``.

    Identifiers are converted token by token (strings and comments untouched); ``renames``
    pins specific identifiers (e.g. keep the requested function name whatever the style).
    """
    renamed = _rename_identifiers(source, naming, renames or {})
    return _reindent(renamed, indent)


def _rename_identifiers(source: str, naming: str, renames: Mapping[str, str]) -> str:
    lines = source.splitlines(keepends=True)
    edits: list[tuple[int, int, int, str]] = []
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type != tokenize.NAME:
            continue
        new = renames.get(token.string, convert_name(token.string, naming))
        if new != token.string:
            (row, start), (_, end) = token.start, token.end
            edits.append((row - 1, start, end, new))
    for row, start, end, new in reversed(edits):
        lines[row] = lines[row][:start] + new + lines[row][end:]
    return "".join(lines)


def _reindent(source: str, indent: int) -> str:
    rendered = []
    for line in source.splitlines(keepends=True):
        stripped = line.lstrip(" ")
        depth = (len(line) - len(stripped)) // CANONICAL_INDENT
        rendered.append(" " * (depth * indent) + stripped)
    return "".join(rendered)
