"""Search: word prefixes in a room's live messages (``chat.search_index``)."""

from __future__ import annotations

from typing import Any

from bson import ObjectId

from accounts.models import User
from chat import dtos, render, search_index, timeline
from chat.models import RoomEvent
from chat.selectors.history import HISTORY_MAX_LIMIT, MESSAGES_ONLY
from chat.selectors.rooms import room_get_for_user
from chat_project.errors import ValidationFailed

SEARCH_MAX_CHARS = 200

SEARCH_MAX_WORDS = 10


def message_search(
    *,
    room_id: object,
    user: User,
    q: str,
    before_seq: int | None = None,
    limit: int = 20,
) -> dict[str, Any]:
    """Live messages in which every word of ``q`` is, case-insensitively, the prefix of
    a word (``chat.search_index``: what a word is, and why prefixes of words rather
    than substrings), newest first, paged by seq (``next`` = ``{"before_seq": n}``).

    The query is never a pattern or an operator (``.*``, ``$where`` and ``(`` are
    plain words): it is only compared with stored strings. Reads: the room, one
    indexed query per bucket of ``search_index.BUCKET_SEQS`` seqs from the newest down
    until a page is full, and one for the overflow messages of those seqs
    (:func:`_search_newest`).
    """
    if not isinstance(q, str):
        raise ValidationFailed(details={"fields": {"q": ["A string."]}})
    words = q.split()
    if not words or len(q) > SEARCH_MAX_CHARS or len(words) > SEARCH_MAX_WORDS:
        raise ValidationFailed(
            details={"fields": {"q": [f"1 to {SEARCH_MAX_WORDS} words, {SEARCH_MAX_CHARS} chars."]}}
        )
    limit = max(1, min(int(limit), HISTORY_MAX_LIMIT))
    room = room_get_for_user(room_id=room_id, user=user)
    # Clamped to the room's last seq: one query per bucket below ``top`` at most.
    top = int(room.last_seq or 0)
    if before_seq is not None:
        top = min(top, before_seq - 1)
    rows = _search_newest(room.pk, search_index.query_words(q), top=top, want=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "results": [
            render.message(base, room=room, audience=render.audience_of(user))
            for base in dtos.messages_base(rows, known=[user])
        ],
        "next": {"before_seq": rows[-1].seq} if more else None,
    }


def _search_newest(room_id: ObjectId, words: list[str], *, top: int, want: int) -> list[RoomEvent]:
    """The newest ``want`` live messages with seq <= ``top`` matching ``words``.

    Buckets are read from the newest down until ``want`` matches are found; then the
    overflow messages (too many words to index) of the seqs read are added: one
    query on ``(room_id, OVERFLOW, seq range)``, so even they are read only as far
    back as the page needs. Each bucket's query is exact (its term ranges are the
    definition) unless a word was cut to the stored length; :func:`search_index.matches`
    confirms every row anyway, and alone decides the overflow messages."""
    if top < 1:
        return []
    live = {**MESSAGES_ONLY, "deleted": False, "seq": {"$lte": top}}
    key = max(words, key=len)  # the longest word: most likely the rarest
    exact = search_index.exact_in_database(words)
    found: list[RoomEvent] = []
    oldest_read = 0
    for bucket in range(search_index.bucket_of(top), -1, -1):
        # Every word, the key too, as one term in range: a flat range on an array is
        # met by any element >= the low end with any element < the high end, and
        # mongod's multikey index does not intersect the two bounds without
        # ``$elemMatch`` (SecantusDB's planner, in turn, only takes a flat range).
        then = {
            **live,
            "$and": [
                {"search_terms": {"$elemMatch": search_index.term_range(w, bucket)}} for w in words
            ],
        }
        rows = timeline.events_with_term(
            room_id,
            search_index.term_range(key, bucket),
            then=then,
            limit=want - len(found) if exact else None,
        )
        found += [m for m in rows if search_index.matches(m.text, words)]
        if len(found) >= want:
            oldest_read = bucket * search_index.BUCKET_SEQS
            break
    overflow = timeline.events_with_term(
        room_id, search_index.OVERFLOW, seq={"$gte": oldest_read, "$lte": top}, then=live
    )
    found += [m for m in overflow if search_index.matches(m.text, words)]
    found.sort(key=lambda m: m.seq, reverse=True)
    return found[:want]
