"""Text keys for case-insensitive search that work for Cyrillic on SQLite too.

SQLite folds only ASCII letters in LIKE, so 'гирлянда' would not find 'Гирлянда'. Models that are
searched keep a `search_text` column holding `search_key(...)` of their searchable fields, and
queries match `search_text__contains=search_key(query)` on every database.
"""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")


def search_key(*parts: str | None) -> str:
    """Case-folded, accent-free ('ё' → 'е'), single-spaced text of `parts` joined by spaces."""
    text = " ".join(p for p in parts if p)
    text = unicodedata.normalize("NFKC", text).casefold().replace("ё", "е")
    return _SPACES.sub(" ", text).strip()


# Cyrillic (Russian and Kazakh) to the Latin spelling people type on a Latin keyboard.
_TRANSLIT = {
    "а": "a", "ә": "a", "б": "b", "в": "v", "г": "g", "ғ": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh",
    "з": "z", "и": "i", "й": "i", "к": "k", "қ": "k", "л": "l", "м": "m", "н": "n", "ң": "n", "о": "o",
    "ө": "o", "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ұ": "u", "ү": "u", "ф": "f", "х": "kh",
    "һ": "h", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "sch", "ъ": "", "ы": "y", "і": "i", "ь": "", "э": "e",
    "ю": "yu", "я": "ya",
}  # fmt: skip
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
MAX_TOKEN = 64


def transliterate(text: str) -> str:
    """Latin letters for Russian or Kazakh text, lower-case: 'Айгерим' → 'aigerim'."""
    return "".join(_TRANSLIT.get(ch, ch) for ch in search_key(text))


def words(text: str) -> list[str]:
    """The folded words of `text`, in order: 'Анна-Мария  Ёлкина' → ['анна', 'мария', 'елкина']."""
    return _WORD.findall(search_key(text))


def name_tokens(*parts: str | None) -> list[str]:
    """Index tokens for a person's name: each folded word and its Latin transliteration, unique."""
    tokens: list[str] = []
    for word in words(" ".join(p for p in parts if p)):
        for token in (word, transliterate(word)):
            token = token[:MAX_TOKEN]
            if token and token not in tokens:
                tokens.append(token)
    return tokens


# Two words typed together ("сейт айг", "aigerim s") are matched through one key per ordered pair of a
# name's words, so the database reads one short index range instead of intersecting two long ones.
PAIR_MARK = "\x1f"  # leads and separates the parts of a pair key; never part of a word
PAIR_HEAD = 3  # letters of the pair's first word that come before the second word
MAX_PAIR_WORDS = 4


def pair_key(first: str, second: str) -> str:
    """MARK first[:3] MARK second MARK first[3:]: ordered by the head of `first`, then all of `second`.

    'айг сейт' typed is then the one prefix range MARK 'айг' MARK 'сейт'; the rest of a longer first
    word is checked on the same key ('айгер' → the key also ends with MARK 'ер…').
    """
    return f"{PAIR_MARK}{first[:PAIR_HEAD]}{PAIR_MARK}{second}{PAIR_MARK}{first[PAIR_HEAD:]}"


def name_pair_keys(*parts: str | None) -> list[str]:
    """Pair keys for every ordered pair of a name's (first four) words: as written, then in Latin."""
    written = [w[:MAX_TOKEN] for w in words(" ".join(p for p in parts if p))[:MAX_PAIR_WORDS]]
    keys: list[str] = []
    for spelling in (written, [transliterate(w)[:MAX_TOKEN] for w in written]):
        for i, first in enumerate(spelling):
            for j, second in enumerate(spelling):
                key = pair_key(first, second)
                if i != j and first and second and key not in keys:
                    keys.append(key)
    return keys


def name_search_keys(*parts: str | None) -> list[str]:
    """Everything a name is found by: its word tokens (name_tokens) and its pair keys."""
    return [*name_tokens(*parts), *name_pair_keys(*parts)]
