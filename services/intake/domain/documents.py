"""Documents an operator attaches to a case waiting for them (api.md "Documents"; domain.md "Foreign documents")."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date

from common.documents import DOCUMENT_TYPES, answering
from common.identifiers import iin_error
from services.intake.domain.requests import DocumentIn

Loc = tuple[str | int, ...]


def document_errors(documents: Sequence[DocumentIn], *, requested: Collection[str], today: date) -> list[tuple[Loc, str]]:
    """Every reason the case cannot take these documents, each with the field it names.

    [law: B-Std8.doc.death-certificate-or-foreign, D-Std8.foreign-legalised-apostilled, S-Std8.foreign-legalised-apostilled]
    """
    errors: list[tuple[Loc, str]] = []
    accepted = {t for r in requested for t in answering(r)}
    for i, doc in enumerate(documents):
        if doc.type not in accepted:
            asked = ", ".join(sorted(requested)) or "nothing"
            known = "" if doc.type in DOCUMENT_TYPES else " (not a document type the standards name)"
            errors.append((("documents", i, "type"), f"the case did not ask for this document{known}; it asked for: {asked}"))
        if doc.issued_on is not None and doc.issued_on > today:
            errors.append((("documents", i, "issued_on"), "a document cannot be issued in the future"))
        if doc.foreign and not doc.apostille:
            errors.append((("documents", i, "apostille"), "a foreign document is accepted only apostilled or legalised (B-Std p.8, D-Std p.8, S-Std p.8)"))
        if doc.about is not None:
            problem = iin_error(doc.about)
            if problem:
                errors.append((("documents", i, "about"), f"not a valid IIN: {problem}"))
    return errors
