"""Reason codes of api.md with their refusal ground (each Std p.9) and texts in Kazakh and Russian."""

from __future__ import annotations

import re

import pytest

from common.reasons import REASONS, reason

# api.md "Reason codes": code -> (ground the table implies, paragraph); None = pure intake check.
API_CODES = {
    "incomplete": (None, "B§13 check 1"),
    "already_assigned": (None, "B§13 check 2"),
    "duplicate_application": (None, "B§13 check 3"),
    "not_a_recipient": (2, "B§13 check 4"),
    "deadline_passed": (2, "B§13 check 5"),
    "no_consent": (3, None),
    "data_unreliable": (1, None),
    "no_disability": (2, None),
    "not_dependant": (2, None),
}
KAZAKH_LETTERS = set("әғқңөұүһіӘҒҚҢӨҰҮҺІ")
CYRILLIC = re.compile(r"[А-Яа-яЁё]")


@pytest.mark.parametrize(("code", "ground", "paragraph"), [(c, g, p) for c, (g, p) in API_CODES.items()])
def test_api_reason_code_with_its_ground(code: str, ground: int | None, paragraph: str | None) -> None:
    """api.md Reason codes and Std p.9 grounds: 1 unreliable, 2 requirements not met, 3 no consent."""
    assert code in REASONS
    assert REASONS[code].code == code
    assert REASONS[code].ground == ground
    if paragraph is not None:
        assert REASONS[code].paragraph == paragraph


@pytest.mark.law("B-Std9.ground1.unreliable", "B-Std9.ground3.no-consent")
@pytest.mark.parametrize(("code", "ground"), [("no_consent", 3), ("data_unreliable", 1)])
def test_std_p9_grounds_cite_ground_number(code: str, ground: int) -> None:
    """Std p.9: the paragraph of a ground reason names that ground."""
    assert REASONS[code].paragraph.endswith(f"p.9 ground {ground}")


@pytest.mark.parametrize("code", list(REASONS))
def test_texts_in_english_kazakh_and_russian(code: str) -> None:
    """B§16, Annex 13: every reason has a non-empty text per language; Kazakh uses Kazakh letters, Russian none."""
    r = REASONS[code]
    assert r.en.strip() and r.kk.strip() and r.ru.strip() and r.paragraph.strip()
    assert CYRILLIC.search(r.kk) and KAZAKH_LETTERS & set(r.kk)
    assert CYRILLIC.search(r.ru) and not KAZAKH_LETTERS & set(r.ru)
    assert not CYRILLIC.search(r.en)


@pytest.mark.parametrize("code", list(API_CODES))
def test_reason_as_api_dict(code: str) -> None:
    """api.md: reasons appear as {"code", "ground", "message", ...} with the Kazakh and Russian texts."""
    r = REASONS[code]
    assert reason(code) == {
        "code": code,
        "ground": r.ground,
        "paragraph": r.paragraph,
        "message": r.en,
        "message_kk": r.kk,
        "message_ru": r.ru,
    }


def test_unknown_code_is_an_error() -> None:
    """api.md: codes are stable; an unknown code is a programming error, not an empty reason."""
    with pytest.raises(KeyError):
        reason("no_such_reason")
