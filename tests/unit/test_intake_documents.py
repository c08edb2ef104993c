"""Documents an operator attaches (api.md Documents; Std p.8 foreign documents; S§7 kinship documents)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from services.intake.domain.documents import document_errors
from services.intake.domain.requests import DocumentIn

TODAY = date(2026, 11, 25)


def fields(requested: set[str], **doc: Any) -> list[str]:
    errors = document_errors([DocumentIn.model_validate({"type": "birth_certificate"} | doc)], requested=requested, today=TODAY)
    return [".".join(str(p) for p in loc) for loc, _ in errors]


@pytest.mark.law(
    "B-Std8.doc.death-certificate-or-foreign", "D-Std8.foreign-legalised-apostilled",
    "S-Std8.foreign-legalised-apostilled",
)
@pytest.mark.parametrize(
    ("requested", "doc", "expected"),
    [
        ({"birth_certificate"}, {}, []),
        # S§7: kinship is proved by a birth, adoption or paternity document alike.
        ({"birth_certificate"}, {"type": "adoption_decision"}, []),
        ({"birth_certificate"}, {"type": "paternity_certificate"}, []),
        # A burial asks for the death certificate alone (B-Std p.8); a survivor case asks for both, either will do.
        ({"death_certificate"}, {"type": "court_decision"}, ["documents.0.type"]),
        ({"death_certificate", "court_decision"}, {"type": "court_decision"}, []),
        ({"death_certificate"}, {"type": "birth_certificate"}, ["documents.0.type"]),
        ({"education_certificate"}, {}, ["documents.0.type"]),  # not what the case asked for
        ({"birth_certificate"}, {"issued_on": "2026-11-26"}, ["documents.0.issued_on"]),  # issued tomorrow
        ({"birth_certificate"}, {"issued_on": "2026-11-25"}, []),  # issued today
        ({"birth_certificate"}, {"foreign": True}, ["documents.0.apostille"]),  # Std p.8: apostille or legalisation
        ({"birth_certificate"}, {"foreign": True, "apostille": True}, []),
        ({"birth_certificate"}, {"about": "790303402569"}, ["documents.0.about"]),  # bad check digit
    ],
)
def test_document_rules(requested: set[str], doc: dict[str, Any], expected: list[str]) -> None:
    assert fields(requested, **doc) == expected
