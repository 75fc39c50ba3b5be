"""Privacy rules applied before anything is published or stored (pure, no Django)."""
from __future__ import annotations

import functools
import hashlib
import hmac
import re

# Patterns of credentials that must never reach storage, whatever the capture mode.
SECRET_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("private_key", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|\Z)", re.S)),
    ("aws_access_key", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("aws_secret_key", re.compile(r"(?i)(aws_secret_access_key\s*[=:]\s*['\"]?)[A-Za-z0-9/+=]{40}")),
    ("github_token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b")),
    ("slack_token", re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}\b")),
    ("google_api_key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b")),
    ("openai_key", re.compile(r"\bsk-(?:proj-|ant-)?[A-Za-z0-9_-]{20,}\b")),
    ("stripe_key", re.compile(r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}\b")),
    ("jwt", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\b")),
    ("bearer_token", re.compile(r"(?i)(\bbearer\s+)[A-Za-z0-9._~+/-]{16,}=*")),
    (
        "assigned_secret",
        re.compile(r"(?i)(\b(?:password|passwd|secret|api[_-]?key|access[_-]?token|auth[_-]?token)\b\s*[=:]\s*['\"]?)[^\s'\"]{8,}"),
    ),
)


def scrub_secrets(text: str) -> str:
    """Replace every credential-looking span by ``[REDACTED:<kind>]``, keeping any ``key=`` prefix."""
    for kind, pattern in SECRET_PATTERNS:
        if pattern.groups:
            text = pattern.sub(lambda m, kind=kind: f"{m.group(1)}[REDACTED:{kind}]", text)
        else:
            text = pattern.sub(f"[REDACTED:{kind}]", text)
    return text


def hash_user(*, salt: str, user: str) -> str:
    """Keyed hash of a user id: stable within one org, unlinkable across orgs."""
    return _hmac_sha256_hex(salt, user)


@functools.lru_cache(maxsize=8192)
def _hmac_sha256_hex(salt: str, user: str) -> str:
    # A batch holds a few users' events, sent again and again: ingestion hashed each one anew.
    return hmac.digest(salt.encode(), user.encode(), "sha256").hex()


def captured_text(*, mode: str, text: str) -> str | None:
    """What of ``text`` may be stored under capture ``mode`` (off | hashed | full)."""
    if mode == "full":
        return scrub_secrets(text)
    if mode == "hashed":
        return "sha256:" + hashlib.sha256(text.encode()).hexdigest()
    return None
