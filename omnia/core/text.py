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
