"""How many SMS a reply costs (channels.md §5.5): GSM-7 160/153, UCS-2 70/67, extension characters double."""

from __future__ import annotations

import pytest

from omnia.channels.sms.segments import per_message, segments


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("", ("GSM-7", 1), id="empty"),
        pytest.param("Your order 4961490 is ready for pick-up.", ("GSM-7", 1), id="latin"),
        pytest.param("a" * 160, ("GSM-7", 1), id="160 latin: one"),
        pytest.param("a" * 161, ("GSM-7", 2), id="161 latin: two of 153"),
        pytest.param("a" * 306, ("GSM-7", 2), id="306 latin: two"),
        pytest.param("a" * 307, ("GSM-7", 3), id="307 latin: three"),
        pytest.param("Prix: 5€ @ café, ñ ü ß Ø", ("GSM-7", 1), id="GSM accents and symbols stay GSM-7"),
        pytest.param("{" * 80, ("GSM-7", 1), id="80 extension characters fill one"),
        pytest.param("{" * 81, ("GSM-7", 2), id="81 extension characters need two"),
        pytest.param("a" * 152 + "€" + "a" * 7, ("GSM-7", 2), id="an escape is never split from its character"),
        pytest.param("Ваш заказ готов", ("UCS-2", 1), id="cyrillic"),
        pytest.param("я" * 70, ("UCS-2", 1), id="70 cyrillic: one"),
        pytest.param("я" * 71, ("UCS-2", 2), id="71 cyrillic: two of 67"),
        pytest.param("я" * 134, ("UCS-2", 2), id="134 cyrillic: two"),
        pytest.param("я" * 135, ("UCS-2", 3), id="135 cyrillic: three"),
        pytest.param("Сәлем, Әйгерім! Тапсырысыңыз дайын", ("UCS-2", 1), id="kazakh letters"),
        pytest.param("a" * 159 + "я", ("UCS-2", 3), id="one cyrillic letter turns 160 latin into UCS-2"),
        pytest.param("😀" * 35, ("UCS-2", 1), id="an emoji takes two units: 35 fill one"),
        pytest.param("😀" * 36, ("UCS-2", 2), id="36 emoji need two"),
        pytest.param("a" * 66 + "😀", ("UCS-2", 1), id="68 units fit in one"),
        pytest.param("a" * 70 + "😀", ("UCS-2", 2), id="a surrogate pair is never split"),
    ],
)
def test_segments(text: str, expected: tuple[str, int]) -> None:
    assert segments(text) == expected


def test_characters_per_message() -> None:
    assert (per_message("hi"), per_message("a" * 200), per_message("привет"), per_message("я" * 100)) == (
        160,
        153,
        70,
        67,
    )
