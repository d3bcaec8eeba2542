"""The wire format's pure parts: the signature a receiver checks, the backoff."""

from __future__ import annotations

from integrations import signing


def test_the_documented_verification_accepts_ours_and_refuses_tampering():
    body = signing.body_bytes({"id": "x", "kind": "message.created", "seq": 1})
    header = signing.signature(secret="s" * 20, timestamp=1_700_000_000, body=body)
    assert header.startswith("t=1700000000,v1=")
    ok = {"secret": "s" * 20, "header": header, "now": 1_700_000_010}
    assert signing.verify(body=body, **ok)
    assert not signing.verify(body=body + b" ", **ok)
    assert not signing.verify(body=body, **{**ok, "now": 1_700_000_000 + 301})
    assert not signing.verify(body=body, **{**ok, "header": "garbage"})


def test_backoff_is_full_jitter_under_a_growing_capped_ceiling():
    for attempts, ceiling in [(1, 2), (2, 4), (5, 32), (20, 600)]:
        waits = [signing.backoff_seconds(attempts=attempts, base=2, cap=600) for _ in range(200)]
        assert all(0 <= w <= ceiling for w in waits)
        assert max(waits) > ceiling / 2  # spread over the range, not a fixed delay
