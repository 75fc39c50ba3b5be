"""Undo the encodings a disguised command hides behind: base64 (UTF-8 or PowerShell's
UTF-16LE), hex, ``\\xNN``/octal escapes. Decoding is only accepted when it yields text."""
from __future__ import annotations

import base64
import binascii
import re

_BASE64_CHARS = re.compile(r"^[A-Za-z0-9+/_-]+={0,2}$")
_HEX = re.compile(r"^(?:0x)?(?:[0-9a-fA-F]{2}){4,}$")
_ESCAPES = re.compile(r"\\(x[0-9a-fA-F]{2}|[0-7]{3})")
# Blobs inside longer text (a python string, a PowerShell expression).
BLOB = re.compile(r"[A-Za-z0-9+/_-]{12,}={0,2}|(?:\\x[0-9a-fA-F]{2}){4,}|(?:[0-9a-fA-F]{2}){6,}")


def _texty(raw: bytes) -> str | None:
    for encoding in ("utf-8", "utf-16-le"):
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        printable = sum((ch.isascii() and ch.isprintable()) or ch in "\n\t\r" for ch in text)
        if text and printable / len(text) > 0.95 and any(ch.isalpha() for ch in text):
            return text
    return None


def decode_base64(text: str, *, min_length: int = 8) -> str | None:
    """Text that ``text`` encodes in base64 (standard or URL-safe), or None. Blobs shorter
    than ``min_length`` are ignored unless the caller knows a decoder runs on them."""
    value = text.strip()
    if len(value) < min_length or not _BASE64_CHARS.match(value) or value.isdigit():
        return None
    padded = value + "=" * (-len(value) % 4)
    for decoder in (base64.b64decode, base64.urlsafe_b64decode):
        try:
            decoded = _texty(decoder(padded))
        except (binascii.Error, ValueError):
            continue
        if decoded is not None:
            return decoded
    return None


def decode_hex(text: str) -> str | None:
    value = text.strip()
    if not _HEX.match(value):
        return None
    try:
        return _texty(bytes.fromhex(value.removeprefix("0x")))
    except ValueError:
        return None


def decode_escapes(text: str) -> str | None:
    """``\\x63\\x75`` or ``\\143\\165`` escapes (printf, echo -e, python literals)."""
    if len(_ESCAPES.findall(text)) < 3:
        return None

    def one(match: re.Match) -> str:
        code = match.group(1)
        return chr(int(code[1:], 16)) if code.startswith("x") else chr(int(code, 8))

    return _ESCAPES.sub(one, text)


def decode_any(text: str) -> str | None:
    """The first decoding of ``text`` that yields text: escapes, hex, then base64."""
    return decode_escapes(text) or decode_hex(text) or decode_base64(text)


def hidden_texts(text: str) -> list[str]:
    """Every decodable blob inside ``text``, decoded."""
    found = []
    for match in BLOB.finditer(text):
        decoded = decode_any(match.group(0))
        if decoded is not None and decoded != match.group(0):
            found.append(decoded)
    return found
