"""Bounds of the wire shared by both edges (REST and the socket)."""

from __future__ import annotations

# The largest integer a client may send (a seq, a cursor): it fits a BSON int64 and
# is exact in a JavaScript number. Larger ones are a validation_error at the edge;
# beyond 2**63 MongoDB cannot even compare them (issue 18: a 500 on history paging).
MAX_INT = 2**53
