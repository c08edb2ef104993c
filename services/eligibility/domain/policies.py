"""The benefit seam of eligibility: one policy per benefit, looked up by the benefit's name (docs/benefits.md).

A policy says which registries are asked and how the facts are gathered (through the ``Registries`` port),
and evaluates them with pure rules that cite their paragraphs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from common.benefits import PolicyRegistry
from common.events import ApplicationData
from services.eligibility.domain import burial, disability, survivor
from services.eligibility.domain.model import Evaluation, Registries


@dataclass(frozen=True)
class EligibilityPolicy:
    gather: Callable[[Registries, ApplicationData], Awaitable[Any]]
    evaluate: Callable[[Any], Evaluation]

    async def check(self, registries: Registries, application: ApplicationData) -> Evaluation:
        return self.evaluate(await self.gather(registries, application))


POLICIES: PolicyRegistry[EligibilityPolicy] = PolicyRegistry(
    "eligibility",
    {
        "burial": EligibilityPolicy(burial.gather, burial.evaluate),
        "disability": EligibilityPolicy(disability.gather, disability.evaluate),
        "survivor": EligibilityPolicy(survivor.gather, survivor.evaluate),
    },
)
policy_for = POLICIES.of
