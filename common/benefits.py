"""The benefit seam's one mechanism: a registry of policies keyed by the benefit's name (docs/benefits.md).

Every service keeps its own registry in its ``domain/``; this class is what they share, so that a
missing policy reads the same everywhere and a fourth benefit is one more entry in each registry.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Generic, TypeVar

P = TypeVar("P")


class PolicyRegistry(dict[str, P], Generic[P]):
    """Policies by benefit name; ``of`` names the service and the benefit when one is missing."""

    def __init__(self, service: str, policies: Mapping[str, P]) -> None:
        super().__init__(policies)
        self.service = service

    def of(self, benefit: str) -> P:
        """The benefit's policy; KeyError names a benefit with no policy module in this service."""
        try:
            return self[benefit]
        except KeyError:
            raise KeyError(f"no {self.service} policy for benefit {benefit!r}") from None
