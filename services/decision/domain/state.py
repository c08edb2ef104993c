"""The decision's state machine (docs/benefits.md States): awaiting_signature ─> assigned | refused."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from common.events import Outcome


class DecisionState(StrEnum):
    AWAITING_SIGNATURE = "awaiting_signature"
    ASSIGNED = "assigned"
    REFUSED = "refused"


TRANSITIONS: Mapping[DecisionState, frozenset[DecisionState]] = {
    DecisionState.AWAITING_SIGNATURE: frozenset({DecisionState.ASSIGNED, DecisionState.REFUSED}),
    DecisionState.ASSIGNED: frozenset(),
    DecisionState.REFUSED: frozenset(),
}
SIGNED: frozenset[DecisionState] = frozenset({DecisionState.ASSIGNED, DecisionState.REFUSED})
# The API's `status=signed` filter (in use before the split) means either signed state.
STATUS_FILTERS: Mapping[str, frozenset[DecisionState]] = {s.value: frozenset({s}) for s in DecisionState} | {
    "signed": SIGNED
}


class InvalidTransition(ValueError):
    """The decision cannot move there from where it is (a signed decision is final)."""

    def __init__(self, current: DecisionState, target: DecisionState) -> None:
        super().__init__(f"a decision cannot go from {current.value} to {target.value}")
        self.current = current
        self.target = target


def state_of_outcome(outcome: Outcome) -> DecisionState:
    """The signed state an outcome leads to."""
    return DecisionState.ASSIGNED if outcome == "assign" else DecisionState.REFUSED


def transition(current: str, target: DecisionState) -> DecisionState:
    """The next state, or InvalidTransition when the table does not allow it."""
    state = DecisionState(current)
    if target not in TRANSITIONS[state]:
        raise InvalidTransition(state, target)
    return target
