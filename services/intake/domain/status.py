"""Application statuses (api.md "Status meanings") and how they may follow each other."""

from __future__ import annotations

TERMINAL = frozenset({"rejected", "refused"})

# Events on different topics may arrive out of order (a payment before the
# decision that caused it): the read model only moves forward by rank, and
# history keeps every step with the time it happened.
RANK = {
    "received": 0,
    "registered": 1,
    "awaiting_documents": 2,
    "awaiting_signature": 3,
    "assigned": 4,
    "payment_queued": 5,
    "paid": 6,
    "rejected": 10,
    "refused": 10,
}


def advances(current: str, new: str) -> bool:
    """True when `new` moves the application forward from `current`."""
    if current in TERMINAL:
        return False
    return RANK[new] > RANK[current]


# Role -> the one channel it may file through (api.md "Role ↔ channel").
CHANNEL_OF_ROLE = {"citizen": "portal", "mobile": "proactive", "operator": "state_corp", "specialist": "provider"}

# Channels where the law registers the application at once: proactive with the
# citizen's consent (B§16); at a desk the specialist accepts the documents (B§12).
# Portal applications are registered only after the B§13 checks pass.
REGISTER_ON_RECEIPT = frozenset({"proactive", "state_corp", "provider"})
