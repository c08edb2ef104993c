"""The sandbox payments database takes an order's kind and first day, and still refuses unknown fields."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from pydantic import ValidationError

from sandbox.models import PaymentOrderIn

ORDER = {
    "decision_id": "d-1", "application_id": "a-1", "iin": "860615400046", "amount_kzt": 137_620,
    "iban": "KZ86125KZT5004100100", "benefit": "disability", "purpose": "monthly",
}


@pytest.mark.parametrize(
    ("extra", "kind", "start"),
    [
        ({}, "one_time", None),
        ({"amount_kind": "monthly", "period_start": "2026-08-02"}, "monthly", date(2026, 8, 2)),
    ],
)
def test_order_kind_defaults_to_one_time(extra: dict[str, Any], kind: str, start: date | None) -> None:
    order = PaymentOrderIn.model_validate(ORDER | extra)
    assert (order.amount_kind, order.period_start) == (kind, start)
    assert order.public()["period_start"] == (start.isoformat() if start else None)


@pytest.mark.parametrize("bad", [{"amount_kind": "weekly"}, {"period_start": "02.08.2026"}, {"period": "2026-08-02"}])
def test_a_wrong_kind_date_or_field_is_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        PaymentOrderIn.model_validate(ORDER | bad)
