"""One HTTP attempt to an endpoint: POST the signed body with a bounded timeout, never
following a redirect, never through an environment proxy, keeping at most a short
excerpt of the answer."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from integrations import signing

EXCERPT_CHARS = 200


@dataclass(frozen=True)
class Attempt:
    ok: bool
    status_code: int | None
    error: str


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A 3xx is the endpoint's answer (a failure), not somewhere else to send the body."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


# No ProxyHandler from the environment: an outbound call goes where the URL says.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())


def attempt_send(
    *, url: str, secret: str, delivery_id: str, kind: str, payload: dict[str, Any], timeout: float
) -> Attempt:
    body = signing.body_bytes(payload)
    request = urllib.request.Request(url, data=body, method="POST")
    request.add_header("Content-Type", "application/json")
    request.add_header("User-Agent", "support-chat-webhooks/1")
    request.add_header(signing.ID_HEADER, delivery_id)
    request.add_header(signing.KIND_HEADER, kind)
    request.add_header(
        signing.SIGNATURE_HEADER,
        signing.signature(secret=secret, timestamp=int(time.time()), body=body),
    )
    try:
        with _opener.open(request, timeout=timeout) as response:
            response.read(EXCERPT_CHARS)
            return Attempt(ok=200 <= response.status < 300, status_code=response.status, error="")
    except urllib.error.HTTPError as exc:
        excerpt = _excerpt(exc)
        return Attempt(ok=False, status_code=exc.code, error=f"HTTP {exc.code}: {excerpt}")
    except TimeoutError:
        return Attempt(ok=False, status_code=None, error=f"timed out after {timeout:g} s")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return Attempt(ok=False, status_code=None, error=str(reason)[:EXCERPT_CHARS])


def _excerpt(exc: urllib.error.HTTPError) -> str:
    try:
        return exc.read(EXCERPT_CHARS).decode("utf-8", "replace")
    except OSError:
        return ""
    finally:
        exc.close()
