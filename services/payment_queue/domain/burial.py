"""Burial payment (Order 256): one-time (B§19-1)."""

from __future__ import annotations

from common.events import DecisionSigned
from services.payment_queue.domain.model import AmountKind, decision_ref


class BurialPayment:
    amount_kind: AmountKind = "one_time"

    def purpose(self, decision: DecisionSigned) -> str:
        """B§19-1: a one-time burial payment."""
        return f"Жерлеуге арналған біржолғы төлем / Единовременная выплата на погребение. {decision_ref(decision)}"


POLICY = BurialPayment()
