"""Three transport settings daphne's command line does not offer, set on daphne's own
classes when the ASGI application is imported (``chat_project.asgi``: daphne's CLI and
``runserver`` import the application before they build their Twisted factories).

This is a patch on daphne's internals (its ``WebRequest`` and ``WebSocketFactory``
classes), so daphne is pinned exactly in ``pyproject.toml`` and
``chat_project/tests/test_daphne_transport.py`` fails when the internals change. What
is set is public API of the libraries underneath: Twisted's
``Request(parsePOSTFormSubmission=...)`` and Autobahn's ``failByDrop`` protocol option.

- **A frame over the transport cap closes with 1009** (issue 18). Autobahn fails a
  connection whose frame or message exceeds ``maxFramePayloadSize`` /
  ``maxMessagePayloadSize`` (``WS_TRANSPORT_MAX_BYTES``) with the code 1009, but with
  its default ``failByDrop=True`` it drops the TCP connection without sending that
  close frame: the client saw 1006 (closed without a reason). With ``failByDrop=False``
  it sends the close frame (then drops the connection if the client does not answer
  within Autobahn's close-handshake timeout). The same holds for its other failures:
  invalid UTF-8 in a text frame closes with 1007, a protocol violation with 1002.
- **Twisted does not parse request bodies** (issue 18). Twisted's ``http.Request``
  parses every ``multipart/form-data`` POST itself, into ``request.args`` that daphne
  never reads; a body it cannot parse (no boundary, or JSON sent as multipart) was
  answered by Twisted with an empty 400, before Django or the error envelope were
  reached, and a valid upload was parsed twice in memory. Django parses the body.
- **No colouring of debug-log arguments nobody logs** (issue 12). Autobahn passes
  ``hltype(...)`` and ``hlval(...)`` (names coloured with ``click.style``) to a
  ``log.debug`` call on every frame it sends, formatted even when debug logging is off:
  ~2% of the gateway's CPU in the chat benchmark. Its protocol module gets plain
  versions; debug logs keep the same words, without colours.
"""

from __future__ import annotations

from typing import Any

from autobahn.exception import Disconnected
from autobahn.websocket import protocol as autobahn_protocol
from daphne import http_protocol, ws_protocol

_INSTALLED = "_support_chat_transport"

# What sending on a socket raises once the transport has closed it (or begun to: after
# a 1009 the close handshake is under way while the application still answers frames
# it read before). ASGI asks servers for an OSError; daphne lets Autobahn's through.
SEND_AFTER_CLOSE = (OSError, Disconnected)


def _plain(value: Any, *args: Any, **kwargs: Any) -> Any:
    return value


def install() -> None:
    """Idempotent: set all three."""
    if getattr(ws_protocol.WebSocketFactory, _INSTALLED, False):
        return
    factory_init = ws_protocol.WebSocketFactory.__init__
    request_init = http_protocol.WebRequest.__init__

    def websocket_factory_init(self: Any, *args: Any, **kwargs: Any) -> None:
        factory_init(self, *args, **kwargs)
        # Daphne's Server then sets its own options (sizes, timeouts), not this one.
        self.setProtocolOptions(failByDrop=False)

    def web_request_init(self: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("parsePOSTFormSubmission", False)
        request_init(self, *args, **kwargs)

    ws_protocol.WebSocketFactory.__init__ = websocket_factory_init
    http_protocol.WebRequest.__init__ = web_request_init
    autobahn_protocol.hltype = _plain
    autobahn_protocol.hlval = _plain
    setattr(ws_protocol.WebSocketFactory, _INSTALLED, True)
