"""Secret redaction for evidence: nothing that could authenticate as someone leaves the process.

21 CFR 11.300(a)-(b) require identification codes and passwords to stay unique and
controlled; evidence files are kept for years and shown to inspectors, so access
keys, secret keys, session tokens, request signatures, Authorization headers and
passphrases are replaced before anything is written.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["REDACTED", "redact", "redact_text", "to_jsonable"]

REDACTED = "***REDACTED***"

# Keys whose values are secrets, compared case-insensitively with '-' and '_' removed.
_SECRET_KEYS = frozenset(
    k.replace("-", "").replace("_", "").lower()
    for k in (
        "AccessKeyId",
        "SecretAccessKey",
        "SessionToken",
        "aws_access_key_id",
        "aws_secret_access_key",
        "aws_session_token",
        "SecurityToken",
        "X-Amz-Security-Token",
        "X-Amz-Signature",
        "X-Amz-Credential",
        "Authorization",
        "Password",
        "Passphrase",
        "Secret",
        "PrivateKey",
        "Token",
        "Cookie",
    )
)

# Values that look like secrets wherever they appear (inside URLs, headers, messages).
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # AWS access key IDs: long-term (AKIA) and temporary (ASIA) and the other documented prefixes.
    (re.compile(r"\b(AKIA|ASIA|AIDA|AROA|AGPA|ANPA|ANVA|APKA)[A-Z0-9]{12,}\b"), REDACTED),
    # Presigned URL query parameters and SigV4 header parts.
    (re.compile(r"(?i)(X-Amz-(?:Signature|Credential|Security-Token)=)[^&\s\"']+"), r"\1" + REDACTED),
    (re.compile(r"(?i)(Signature=)[0-9a-f]{16,}"), r"\1" + REDACTED),
    (re.compile(r"(?i)(Credential=)[^,\s\"']+"), r"\1" + REDACTED),
    (re.compile(r"(?i)(AWS4-HMAC-SHA256\s)[^\"']+"), r"\1" + REDACTED),
    (re.compile(r"(?i)\b(passphrase|password|secret)(\s*[=:]\s*)[^\s,;\"']+"), r"\1\2" + REDACTED),
)


def _is_secret_key(key: str) -> bool:
    norm = key.replace("-", "").replace("_", "").lower()
    return norm in _SECRET_KEYS or norm.endswith(("secretaccesskey", "sessiontoken", "passphrase", "password"))


def redact_text(text: str) -> str:
    """A string with every secret-looking substring replaced."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def to_jsonable(value: Any) -> Any:
    """Turn an AWS response (datetimes, bytes, streams) into plain JSON values, unredacted."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value.isoformat(timespec="seconds") + "Z"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bytes | bytearray):
        data = bytes(value)
        if len(data) <= 256:
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                text = ""
            if text and all(c.isprintable() or c in "\n\r\t" for c in text):
                return text
            return "base64:" + base64.b64encode(data).decode()
        return f"<{len(data)} bytes, sha256:{hashlib.sha256(data).hexdigest()}>"
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [to_jsonable(v) for v in value]
        return sorted(items, key=repr) if isinstance(value, set | frozenset) else items
    # streams (botocore StreamingBody) and other objects: name the type, never read them here
    return f"<{type(value).__name__}>"


def redact(value: Any) -> Any:
    """A JSON-able copy of `value` with secrets replaced by ``***REDACTED***``."""
    plain = to_jsonable(value)
    return _redact(plain)


def _redact(value: Any) -> Any:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if _is_secret_key(key) and item not in (None, "", [], {}):
                # keep the structure visible (a Credentials block stays a block) but never the value
                out[key] = _redact(item) if isinstance(item, dict) else REDACTED
            else:
                out[key] = _redact(item)
        return out
    if isinstance(value, list):
        return [_redact(v) for v in value]
    if isinstance(value, str):
        return redact_text(value)
    return value
