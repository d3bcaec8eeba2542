"""The socket transport every gateway consumer stands on: parsing, limits, dispatch and
answers (``consumer``), frame checks (``frames``), long events in parts (``parts``), the
handshake stack (``handshake``) and the Socket.IO framing (``socketio``, ``heartbeats``)."""
