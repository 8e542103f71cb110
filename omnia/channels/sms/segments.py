"""How many SMS a text costs: GSM-7 or UCS-2, and the number of segments (channels.md §5.5).

GSM-7 (3GPP TS 23.038 default alphabet): 160 characters in one SMS, 153 per part of a longer one; the
extension characters (^ { } [ ] ~ \\ | €, form feed) take an escape plus the character, so count
double. Any other character (Cyrillic, Kazakh letters, emoji) switches the whole text to UCS-2: 70
in one SMS, 67 per part, counted in UTF-16 code units (an emoji outside the BMP takes two).
"""

from __future__ import annotations

from typing import Literal

Encoding = Literal["GSM-7", "UCS-2"]

GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = frozenset("\f^{}\\[~]|€")

# (one SMS, each part of a longer text), in the encoding's units
LIMITS: dict[Encoding, tuple[int, int]] = {"GSM-7": (160, 153), "UCS-2": (70, 67)}


def encoding_of(text: str) -> Encoding:
    """GSM-7 when every character is in the GSM default alphabet or its extension, else UCS-2."""
    return "GSM-7" if all(c in GSM_BASIC or c in GSM_EXTENSION for c in text) else "UCS-2"


def units(text: str, encoding: Encoding) -> int:
    """The text's length as the network counts it: septets (extension characters 2) or UTF-16 units."""
    if encoding == "GSM-7":
        return sum(2 if c in GSM_EXTENSION else 1 for c in text)
    return len(text.encode("utf-16-le")) // 2


def segments(text: str) -> tuple[Encoding, int]:
    """(encoding, number of SMS) the text is sent as; an empty text is one (empty) SMS of GSM-7.

    A multi-part GSM-7 text never splits an extension character's escape from it, and a UCS-2 text
    never splits a surrogate pair, as handsets and Twilio do: parts are filled unit by unit.
    """
    encoding = encoding_of(text)
    single, part = LIMITS[encoding]
    if units(text, encoding) <= single:
        return encoding, 1
    count, used = 1, 0
    for c in text:
        size = (2 if c in GSM_EXTENSION else 1) if encoding == "GSM-7" else len(c.encode("utf-16-le")) // 2
        if used + size > part:
            count, used = count + 1, 0
        used += size
    return encoding, count


def per_message(text: str) -> int:
    """How many characters one SMS of this text holds: 160/153 (GSM-7) or 70/67 (UCS-2)."""
    encoding, count = segments(text)
    single, part = LIMITS[encoding]
    return single if count == 1 else part
