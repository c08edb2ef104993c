"""Drafting a burial decision from the case file: pure (B§19-1)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from common.law.params import burial_amount_kzt

# B§19-1: applications via the proactive service or the portal are decided
# and approved automatically; others wait for the service provider's specialist.
AUTO_SIGN_CHANNELS = frozenset({"portal", "proactive"})
AUTO_SIGNER = "e-maket:auto (B§19-1, on behalf of the authorised official)"


@dataclass(frozen=True)
class Draft:
    outcome: str  # assign | refuse
    amount_kzt: int
    reasons: list[dict]
    auto_sign: bool


def draft_burial(*, channel: str, eligible: bool, reasons: list[dict], date_of_death: date | None) -> Draft:
    """Assign 35 MCI at the MCI in force on the date of death, or refuse with the grounds found (B§19-1)."""
    auto = channel in AUTO_SIGN_CHANNELS
    if eligible and date_of_death is None:
        # Eligibility never passes without a confirmed death; a broken event must not become a silent refusal.
        raise ValueError("an eligible burial case must carry the date of death")
    if eligible:
        return Draft("assign", burial_amount_kzt(date_of_death), [], auto)
    return Draft("refuse", 0, reasons, auto)
