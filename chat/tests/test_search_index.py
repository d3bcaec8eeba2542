"""chat.search_index: the words of a text, the stored terms and their ranges."""

from __future__ import annotations

import pytest
from bson import ObjectId

from chat import search_index
from chat.models import EventKind, RoomEvent


def test_words_are_casefolded_tokens_and_the_word_runs_inside_them():
    assert search_index.words("Which ORDER? (re-order) $5 Straße") == {
        "which",
        "order?",
        "order",
        "(re-order)",
        "re",
        "$5",
        "5",
        "strasse",
    }


@pytest.mark.parametrize(
    ("text", "query", "found"),
    [
        ("Refund please", ["ref"], True),
        ("Refund please", ["fund"], False),  # a prefix of a word, not any substring
        ("Which order?", ["order"], True),
        ("(order) re-order", ["order", "re-"], True),
        ("price is $5 (or more)", ["(", "$5", "or"], True),
        ("price is $5 (or more)", [".*"], False),
        ("STRASSE", ["straße".casefold()], True),
        ("refund", ["refund", "please"], False),
    ],
)
def test_matches_is_every_query_word_a_prefix_of_a_word(text, query, found):
    assert search_index.matches(text, query) is found


def test_terms_carry_the_bucket_and_cut_long_words(monkeypatch):
    monkeypatch.setattr(search_index, "BUCKET_SEQS", 1024)
    long = "x" * 40
    assert search_index.search_terms(f"Hi hi {long}", seq=2050) == ["2:hi", f"2:{'x' * 32}"]
    assert search_index.search_terms("", seq=1) == []


def test_a_text_with_too_many_words_gets_the_overflow_term(monkeypatch):
    monkeypatch.setattr(search_index, "MAX_TERMS", 3)
    assert search_index.search_terms("a b c", seq=1) == ["0:a", "0:b", "0:c"]
    assert search_index.search_terms("a b c d", seq=1) == [search_index.OVERFLOW]


def test_a_term_range_holds_exactly_the_words_with_that_prefix():
    bounds = search_index.term_range("ref", 3)
    assert bounds == {"$gte": "3:ref", "$lt": "3:reg"}
    inside = ["3:ref", "3:refund", "3:ref\U0010ffff"]
    outside = ["3:re", "3:reg", "30:ref", "2:refund", "3:rf"]
    assert all(bounds["$gte"] <= t < bounds["$lt"] for t in inside)
    assert not any(bounds["$gte"] <= t < bounds["$lt"] for t in outside)


def test_a_term_range_past_the_last_code_point_and_before_the_surrogates():
    assert search_index.term_range("a\U0010ffff", 0)["$lt"] == "0:b"
    assert search_index.term_range("\ud7ff", 0)["$lt"] == "0:\ue000"


def test_a_message_derives_its_terms_when_saved_whatever_path_stores_it():
    """The send's raw insert builds its document from each field's ``pre_save`` (as
    ``save()`` does), so every insert path writes the terms without calling us."""
    field = RoomEvent._meta.get_field("search_terms")
    message = RoomEvent(room_id=ObjectId(), seq=2050, kind=EventKind.MESSAGE, text="Refund NOW")
    assert field.pre_save(message, True) == ["2:now", "2:refund"]
    assert message.search_terms == ["2:now", "2:refund"]
    deleted = RoomEvent(seq=3, kind=EventKind.MESSAGE, text="gone", deleted=True)
    filler = RoomEvent(seq=4, kind=EventKind.NOOP)
    assert field.pre_save(deleted, False) is None
    assert field.pre_save(filler, True) is None
