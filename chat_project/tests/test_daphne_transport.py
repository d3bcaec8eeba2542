"""Contract of ``chat_project.patches.daphne_transport`` with the daphne it patches: fails when
daphne's internals it relies on change (the behaviour itself is tested end to end in
``tests/e2e/test_transport.py`` and ``tests/e2e/test_bad_frames.py``)."""

from __future__ import annotations

import inspect
from importlib.metadata import version

from autobahn.twisted.websocket import WebSocketServerFactory
from daphne import http_protocol, server, ws_protocol
from twisted.web import http

from chat_project.patches import daphne_transport


def test_daphne_is_the_pinned_version():
    assert version("daphne") == "4.2.3"


def test_daphne_builds_its_factories_from_the_patched_classes():
    run = inspect.getsource(server.Server.run)
    assert "WebSocketFactory(" in run
    assert "HTTPFactory(" in run
    assert server.WebSocketFactory is ws_protocol.WebSocketFactory
    # Requests are daphne's WebRequest, looked up by name when a connection comes in.
    assert "protocol.requestFactory = WebRequest" in inspect.getsource(
        http_protocol.HTTPFactory.buildProtocol
    )


def test_the_options_set_are_public_api_underneath():
    assert "parsePOSTFormSubmission" in inspect.signature(http.Request.__init__).parameters
    # WebRequest passes its keyword arguments on to twisted's Request.
    assert "**kwargs" in inspect.getsource(http_protocol.WebRequest.__init__)
    assert "failByDrop" in inspect.signature(WebSocketServerFactory.setProtocolOptions).parameters


def test_install_sets_both_and_is_idempotent():
    daphne_transport.install()
    daphne_transport.install()
    factory = ws_protocol.WebSocketFactory(None, server="test")
    assert factory.failByDrop is False
    factory.setProtocolOptions(maxFramePayloadSize=1024)  # as daphne's Server does next
    assert factory.failByDrop is False


def test_autobahn_looks_up_its_log_helpers_in_its_protocol_module():
    # The patch replaces the module's names: Autobahn must call them by those names.
    from autobahn.websocket import protocol

    assert "hltype(self.sendData)" in inspect.getsource(protocol.WebSocketProtocol.sendData)
    daphne_transport.install()
    assert protocol.hltype(protocol.WebSocketProtocol.sendData) is (
        protocol.WebSocketProtocol.sendData
    )
    assert protocol.hlval(7) == 7
