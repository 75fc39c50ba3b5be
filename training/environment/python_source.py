"""Parsing Python that a model wrote.

An answer is untrusted text: besides plain syntax errors, the parser gives up on nesting
deeper than its stack or the recursion limit (``-`` repeated 100,000 times raises
``MemoryError``, ``a.`` repeated 100,000 times ``RecursionError``). All of those mean "does
not parse" to a verifier or a detector, never a crash of the scorer. The parser's
``SyntaxWarning``s (``1if``, ``"\\d"``) are about the answer, not this program: they are
silenced for sources parsed here, which carry their own file name.
"""
from __future__ import annotations

import ast
import re
import warnings

ANSWER_FILENAME = "<answer>"
warnings.filterwarnings("ignore", category=SyntaxWarning, module=re.escape(ANSWER_FILENAME))


def parse_answer(source: str) -> ast.Module | None:
    """The module ``source`` parses to, or None when it does not parse (for any of the reasons above)."""
    try:
        return ast.parse(source, filename=ANSWER_FILENAME)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
