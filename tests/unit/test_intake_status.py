"""The application state machine (docs/benefits.md States): direct steps apply, later ones park, the rest are ignored."""

from __future__ import annotations

import pytest

from services.intake.domain.status import TRANSITIONS, ApplicationStatus, Step, can_move, step_for

S = ApplicationStatus

DIRECT = {
    (S.received, S.registered),
    (S.received, S.rejected),
    (S.registered, S.awaiting_documents),
    (S.registered, S.awaiting_signature),
    (S.registered, S.assigned),
    (S.registered, S.refused),
    (S.awaiting_documents, S.registered),
    (S.awaiting_signature, S.assigned),
    (S.awaiting_signature, S.refused),
    (S.assigned, S.payment_queued),
    (S.payment_queued, S.paid),
}


@pytest.mark.parametrize("current", list(S))
@pytest.mark.parametrize("target", list(S))
def test_transitions_are_exactly_the_table(current: ApplicationStatus, target: ApplicationStatus) -> None:
    """benefits.md States: only the listed steps are transitions."""
    assert can_move(current, target) is ((current, target) in DIRECT)


def test_every_status_has_a_row() -> None:
    assert set(TRANSITIONS) == set(S)


@pytest.mark.parametrize(
    ("current", "target", "step"),
    [
        (S.registered, S.assigned, Step.apply),
        (S.registered, S.payment_queued, Step.park),  # payment.queued overtook decision.signed
        (S.awaiting_signature, S.paid, Step.park),
        (S.awaiting_documents, S.awaiting_signature, Step.park),  # the draft of the next round
        (S.received, S.assigned, Step.park),
        (S.assigned, S.assigned, Step.ignore),  # a duplicate
        (S.payment_queued, S.assigned, Step.ignore),  # stale
        (S.refused, S.payment_queued, Step.ignore),  # terminal
        (S.rejected, S.registered, Step.ignore),
        (S.paid, S.paid, Step.ignore),
        (S.registered, S.awaiting_documents, Step.apply),
        (S.awaiting_documents, S.registered, Step.apply),  # documents attached: the checks run again
    ],
)
def test_step_for_an_event(current: ApplicationStatus, target: ApplicationStatus, step: Step) -> None:
    """benefits.md States: an event whose target is reachable but not next is parked; an unreachable one ignored."""
    assert step_for(current, target) is step
