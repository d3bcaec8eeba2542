"""Message search: what a query word matches, and the terms that let the database find
the matching messages of a room through an index.

**What matches** (README, API): a message matches a query when every query word,
case-insensitively (``str.casefold``), is a *prefix of a word* of its current text. A
word is a whitespace-separated token (``"order?"``, ``"(or"``, ``"$5"``) and also each
run of letters and digits inside one (``"order"``, ``"or"``, ``"5"``), so punctuation
neither hides a word nor keeps a punctuation query from matching. ``ref`` finds
"refund", ``order`` finds "(order)" and "re-order"; ``fund`` does not find "refund"
(until issue 8 it did: search was an arbitrary substring match).

**Why prefixes of words and not substrings.** A substring match cannot use an index
(every message of the room is read and matched in Python by SecantusDB: 340 ms p50 in
a room of 10,000 messages, 3.3 s at 100,000). Indexing substrings means trigrams or
all prefixes of every word: ~35 to 50 index entries per ordinary message where words
need ~8, and each entry costs the embedded database ~20-30 µs on the insert every
send makes (measured with the benchmark's 4-14 word messages: an insert of 0.6 ms
without terms, 0.9 ms with words, 1.8 ms with trigrams, 2.5 ms with all prefixes).
Prefixes of words come from the words themselves with a range query, so a send pays
one index entry per distinct word.

**How the index is used.** SecantusDB's planner serves a ``$match`` from an index only
when it is flat and its fields are exactly an index prefix: equalities, then at most
one range (``chat/timeline.py``). A range on the words leaves no room for a range on
``seq``, so a common word (``refund``: a quarter of the messages) would load all its
messages to return the newest 20. Hence each term carries the message's *bucket* of
``BUCKET_SEQS`` seqs: ``"<seq // BUCKET_SEQS>:<word>"``. The index is ``(room_id,
search_terms, seq)`` (migration 0003); the words of bucket ``b`` starting with ``w`` are
one contiguous range of it (``"b:ref"`` up to, not including, ``"b:reg"``), so one query
reads exactly the messages of one bucket that contain a word starting with ``w``. Search walks the
buckets from the newest down and stops once it has a page: a common word costs one
query of at most ``BUCKET_SEQS`` messages, a word found nowhere costs one ~0.5 ms
query per bucket (98 at 100,000 messages); 1,024 balances the two (512 halves the
first and doubles the second: docs/benchmarks.md). The longest query word takes the
index range (longer words are rarer); a later stage requires every word as an
``$elemMatch`` range on the terms, so the database returns exactly the matches. (That
later stage also makes the key's range exact on mongod, which does not intersect a
multikey field's ``$gte``/``$lt`` bounds without ``$elemMatch``, so there the first
stage scans from the low bound on; a mongod-only deployment would put the
``$elemMatch`` in the first stage, which SecantusDB cannot serve from an index.)

**Bounds.** At most ``MAX_TERMS`` terms per message, each word cut to
``MAX_TERM_CHARS`` characters: a send's index cost is bounded whatever the text (60
terms measured +1.1 to 1.65 ms on the insert, 4-14 words +0.2 ms). A
message with more distinct words gets the single term ``OVERFLOW`` instead; search
reads the overflow messages of the seqs it walked with one more indexed query
(``{room_id, search_terms: "*", seq: range}``: all of a room's overflow messages for
a word found nowhere) and matches them in Python with :func:`matches`, the definition
above; ``MAX_TERMS`` is set so that ordinary messages stay below it. A query word longer
than ``MAX_TERM_CHARS`` is looked up by its cut prefix and confirmed by
:func:`matches` too. Deleted messages carry no terms (``timeline.apply_delete``).

**Writing the terms.** :func:`search_terms` is the one function every writer calls.
An insert of a message gets them from the model field itself
(:class:`SearchTermsField`, derived on save from the text and seq like ``auto_now``
derives a date), whichever path stores the ``RoomEvent``: ``save()``, or a raw insert
built from the fields' ``pre_save``; the edit sets them in its conditional update
(``timeline.apply_edit``); the backfill (:func:`backfill`: migration 0003 and
``manage.py search_reindex``) and the benchmark seed call it directly. Changing the
tokenizer, ``BUCKET_SEQS``, ``MAX_TERMS`` or ``MAX_TERM_CHARS`` changes the stored
terms: run ``manage.py search_reindex --all`` after such a change.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from django.db import models
from django_mongodb_backend.fields import ArrayField
from pymongo import UpdateOne

BUCKET_SEQS = 1024
MAX_TERMS = 64
MAX_TERM_CHARS = 32
OVERFLOW = "*"  # never a bucket term: those start with a digit
_WORD_RUN = re.compile(r"\w+")
_TOP = 0x10FFFF


def words(text: str) -> set[str]:
    """The casefolded words of ``text``: its whitespace-separated tokens and the runs
    of letters and digits inside tokens that hold anything else."""
    found: set[str] = set()
    for token in text.casefold().split():
        found.add(token)
        if not _WORD_RUN.fullmatch(token):
            found.update(_WORD_RUN.findall(token))
    return found


def query_words(q: str) -> list[str]:
    """The words of a query, casefolded, in order, without repeats."""
    return list(dict.fromkeys(word.casefold() for word in q.split()))


def matches(text: str, query: Iterable[str]) -> bool:
    """Whether every (casefolded) query word is a prefix of a word of ``text``."""
    own = words(text)
    return all(any(word.startswith(wanted) for word in own) for wanted in query)


def bucket_of(seq: int) -> int:
    return seq // BUCKET_SEQS


def search_terms(text: str, *, seq: int) -> list[str]:
    """The ``search_terms`` of a message with this text and seq (sorted, so equal
    texts give equal lists)."""
    own = {word[:MAX_TERM_CHARS] for word in words(text)}
    if len(own) > MAX_TERMS:
        return [OVERFLOW]
    bucket = bucket_of(seq)
    return sorted(f"{bucket}:{word}" for word in own)


def _prefix_end(prefix: str) -> str:
    """The least string above every string that starts with ``prefix`` (code point
    order, which is the UTF-8 byte order both servers compare strings in)."""
    stem = prefix.rstrip(chr(_TOP))
    following = ord(stem[-1]) + 1
    if 0xD800 <= following <= 0xDFFF:  # surrogates cannot be stored
        following = 0xE000
    return stem[:-1] + chr(following)


def term_range(word: str, bucket: int) -> dict[str, str]:
    """The range of ``search_terms`` values of ``bucket`` whose word starts with
    ``word`` (cut to ``MAX_TERM_CHARS``, as stored)."""
    low = f"{bucket}:{word[:MAX_TERM_CHARS]}"
    return {"$gte": low, "$lt": _prefix_end(low)}


def exact_in_database(query: Iterable[str]) -> bool:
    """Whether the term ranges alone decide a match (no query word was cut)."""
    return all(len(word) <= MAX_TERM_CHARS for word in query)


def backfill(collection: Any, *, only_missing: bool = True, batch: int = 1000) -> int:
    """Write ``search_terms`` on the live messages of the raw events ``collection``
    that have none (null or missing: the migration's ``AddField`` sets null on every
    existing document), or on every message with ``only_missing=False`` (deleted ones
    get null). One scan of the collection and one ``bulk_write`` per ``batch``.
    Returns the number of messages written."""
    match: dict[str, Any] = {"kind": "message"}
    if only_missing:
        match.update({"deleted": False, "search_terms": None})
    written = 0
    pending: list[UpdateOne] = []
    for doc in collection.find(match, {"text": 1, "seq": 1, "deleted": 1}):
        terms = None if doc.get("deleted") else search_terms(doc.get("text") or "", seq=doc["seq"])
        pending.append(UpdateOne({"_id": doc["_id"]}, {"$set": {"search_terms": terms}}))
        if len(pending) >= batch:
            collection.bulk_write(pending, ordered=False)
            written += len(pending)
            pending = []
    if pending:
        collection.bulk_write(pending, ordered=False)
        written += len(pending)
    return written


class SearchTermsField(ArrayField):
    """``RoomEvent.search_terms``: on a live message, :func:`search_terms` of its text
    and seq, derived whenever the event is saved (an insert through ``save()`` or
    through the fields' ``pre_save``); None on every other event and on a deleted
    message. Never edited by hand."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.pop("base_field", None)
        kwargs.update(null=True, blank=True, editable=False)
        super().__init__(models.TextField(), **kwargs)

    def deconstruct(self) -> tuple[Any, str, list[Any], dict[str, Any]]:
        name, _path, args, kwargs = super().deconstruct()
        for fixed in ("base_field", "null", "blank", "editable"):
            kwargs.pop(fixed, None)
        return name, "chat.search_index.SearchTermsField", args, kwargs

    def pre_save(self, model_instance: Any, add: bool) -> list[str] | None:
        terms = None
        if model_instance.kind == "message" and not model_instance.deleted:
            terms = search_terms(model_instance.text or "", seq=model_instance.seq)
        setattr(model_instance, self.attname, terms)
        return terms
