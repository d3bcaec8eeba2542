"""The REST API's JSON body parser: DRF's, with a bound on nesting (issue 18).

DRF's ``JSONParser`` lets ``RecursionError`` through: a 2 KB body of 1,000 nested
arrays was a 500 (and a logged traceback) on every JSON endpoint, anonymously through
register and login. Where the recursion limit strikes also depends on how deep the
request's thread already is, so "too deep" is decided here instead: no request body of
this API nests deeper than a few levels, and anything deeper than ``MAX_JSON_DEPTH`` is a
``validation_error`` before a view sees it.
"""

from __future__ import annotations

from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError

MAX_JSON_DEPTH = 32


def json_depth_exceeds(value: Any, limit: int) -> bool:
    """Whether ``value`` (parsed JSON) nests containers deeper than ``limit``. An
    explicit stack, not recursion: the value may be as deep as the parser allowed."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels.") from None
        if json_depth_exceeds(data, MAX_JSON_DEPTH):
            raise ParseError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels.")
        return data
