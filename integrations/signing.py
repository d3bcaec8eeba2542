"""The webhook wire format: the body, the signature, the retry schedule. Pure functions
(no database, no network), shared by the sender, the tests and the README's snippet."""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import secrets
from typing import Any

SIGNATURE_HEADER = "X-Webhook-Signature"
ID_HEADER = "X-Webhook-Id"
KIND_HEADER = "X-Webhook-Kind"


def secret_new() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def body_bytes(payload: dict[str, Any]) -> bytes:
    """The exact bytes sent (and signed): compact JSON, keys in a fixed order."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()


def signature(*, secret: str, timestamp: int, body: bytes) -> str:
    """``t=<unix>,v1=<hex HMAC-SHA256(secret, "<unix>.<body>")>``."""
    signed = f"{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(*, secret: str, header: str, body: bytes, now: float, tolerance: int = 300) -> bool:
    """What a receiver does (the README's snippet): the signature matches and its
    timestamp is within ``tolerance`` seconds of ``now`` (a replayed request is stale)."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
    except (ValueError, KeyError):
        return False
    if abs(now - timestamp) > tolerance:
        return False
    expected = signature(secret=secret, timestamp=timestamp, body=body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


def backoff_seconds(*, attempts: int, base: float, cap: float) -> float:
    """Full jitter: uniform in [0, min(cap, base * 2**(attempts - 1))]; ``attempts``
    counts the failed attempt just made (1 after the first)."""
    ceiling = min(cap, base * (2 ** max(attempts - 1, 0)))
    return random.uniform(0, ceiling)
