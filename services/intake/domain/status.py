"""Application statuses (api.md "Status meanings") and the transitions between them (docs/benefits.md States)."""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum


class ApplicationStatus(str, Enum):
    received = "received"
    rejected = "rejected"
    registered = "registered"
    awaiting_documents = "awaiting_documents"
    awaiting_signature = "awaiting_signature"
    assigned = "assigned"
    refused = "refused"
    payment_queued = "payment_queued"
    paid = "paid"


S = ApplicationStatus

TRANSITIONS: Mapping[ApplicationStatus, frozenset[ApplicationStatus]] = {
    S.received: frozenset({S.registered, S.rejected}),
    S.registered: frozenset({S.awaiting_documents, S.awaiting_signature, S.assigned, S.refused}),
    S.awaiting_documents: frozenset({S.registered}),
    S.awaiting_signature: frozenset({S.assigned, S.refused}),
    S.assigned: frozenset({S.payment_queued}),
    S.payment_queued: frozenset({S.paid}),
    S.rejected: frozenset(),
    S.refused: frozenset(),
    S.paid: frozenset(),
}

TERMINAL = frozenset(s.value for s, nexts in TRANSITIONS.items() if not nexts)  # rejected, refused, paid
# Every other status: the case is still open (read by the SLA view and the gauges through an index on status).
OPEN = frozenset(s.value for s, nexts in TRANSITIONS.items() if nexts)


class Step(str, Enum):
    """What to do with an event that moves the application to a target status."""

    apply = "apply"  # a direct transition
    park = "park"  # reachable later: keep the event until the steps before it are there
    ignore = "ignore"  # stale or a duplicate: the target can no longer be reached


def can_move(current: ApplicationStatus, target: ApplicationStatus) -> bool:
    """benefits.md States: True when ``target`` directly follows ``current``."""
    return target in TRANSITIONS[current]


def reachable(current: ApplicationStatus, target: ApplicationStatus) -> bool:
    """True when ``target`` lies ahead of ``current`` through one or more transitions."""
    seen: set[ApplicationStatus] = set()
    frontier = list(TRANSITIONS[current])
    while frontier:
        status = frontier.pop()
        if status is target:
            return True
        if status not in seen:
            seen.add(status)
            frontier.extend(TRANSITIONS[status])
    return False


def step_for(current: ApplicationStatus, target: ApplicationStatus) -> Step:
    """benefits.md States: apply a direct transition, park an event that overtook the steps before it, else ignore."""
    if can_move(current, target):
        return Step.apply
    if reachable(current, target):
        return Step.park
    return Step.ignore


# Role -> the one channel it may file through (api.md "Role ↔ channel"): a citizen signed in to the portal (EDS).
# law: D-Std10.portal-with-eds, S-Std10.portal-with-eds
CHANNEL_OF_ROLE: Mapping[str, str] = {
    "citizen": "portal",
    "mobile": "proactive",
    "operator": "state_corp",
    "specialist": "provider",
}
