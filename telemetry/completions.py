"""Content of ``llm.completion`` events under an org's capture policy (pure, no Django).

A completion's prompt and response are either plain text or OpenAI chat messages
(assistant messages may carry ``tool_calls``; ``tool`` messages carry their results).
What is stored depends on the org's content capture:

* ``off``    - lengths and the prompt fingerprint (so regenerations of one prompt still group);
* ``hashed`` - lengths and fingerprints of the prompt and of the response;
* ``full``   - the text itself with secrets scrubbed (same structure), plus both fingerprints.

Fingerprints are taken of the *scrubbed*, whitespace-normalised rendering, so a secret is
never hashed and two prompts that differ only in spacing or in a redacted key group together.
"""
from __future__ import annotations

import hashlib
import re
from typing import Any

from telemetry.privacy import scrub_secrets

Content = str | list[dict[str, Any]]
_WHITESPACE = re.compile(r"\s+")


def content_text(content: Content) -> str:
    """One text for text or chat messages: ``<role>`` headers, tool calls as ``@name arguments``.

    The same rendering is used for fingerprints and by reward models, so a completion sent
    as messages and the same completion sent as text score alike when their text matches.
    """
    if isinstance(content, str):
        return content
    blocks = []
    for message in content:
        parts = [_message_body(message.get("content"))]
        for call in message.get("tool_calls") or ():
            function = call.get("function") or {}
            parts.append(f"@{function.get('name', '')} {function.get('arguments', '')}".rstrip())
        body = "\n".join(part for part in parts if part)
        blocks.append(f"<{message.get('role', 'user')}>\n{body}")
    return "\n".join(blocks)


def _message_body(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # OpenAI content parts: only text parts carry text
        return "\n".join(part.get("text", "") for part in content if isinstance(part, dict) and part.get("text"))
    return ""


def text_fingerprint(text: str) -> str:
    """``sha256:<hex>`` of ``text`` with runs of whitespace collapsed and ends stripped."""
    return "sha256:" + hashlib.sha256(_WHITESPACE.sub(" ", text).strip().encode()).hexdigest()


def content_scrub(content: Content) -> Content:
    """``content`` with every string (message contents, text parts, tool arguments) scrubbed."""
    if isinstance(content, str):
        return scrub_secrets(content)
    return [_scrubbed_value(message) for message in content]


def _scrubbed_value(value: Any) -> Any:
    if isinstance(value, str):
        return scrub_secrets(value)
    if isinstance(value, list):
        return [_scrubbed_value(item) for item in value]
    if isinstance(value, dict):
        return {key: _scrubbed_value(item) for key, item in value.items()}
    return value


def completion_captured(*, mode: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The ``llm.completion`` payload as stored under capture ``mode`` (off | hashed | full).

    Precondition: ``payload`` is valid under schema v1 (``prompt``, ``response`` or both).
    """
    kept = {key: value for key, value in payload.items() if key not in ("prompt", "response")}
    for name in ("prompt", "response"):
        if name not in payload:
            continue
        content = content_scrub(payload[name])
        text = content_text(content)
        kept[f"{name}_chars"] = len(text)
        if name == "prompt" or mode in ("hashed", "full"):
            kept[f"{name}_fingerprint"] = text_fingerprint(text)
        if mode == "full":
            kept[name] = content
    return kept
