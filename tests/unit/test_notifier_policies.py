"""The notifier's benefit seam and routing: a policy per benefit, one notice per event, the contact's channel."""

from __future__ import annotations

from typing import Any, get_args

import pytest

from common.envelope import make_event
from common.events import Benefit
from services.notifier.domain.policies import POLICIES, policy_for
from services.notifier.domain.templates import TEMPLATES, notice_of

APP_ID = "2c324707-4c88-5d08-9fef-185848bf8339"
APPLICANT = "860615400046"
CONTACTS = {
    "sms": {"channel": "sms", "phone": "+77051234567", "iin": APPLICANT},
    "cabinet": {"channel": "cabinet", "phone": None, "iin": APPLICANT},
    "none": {"channel": None, "phone": None, "iin": None},
}


def application(contact: dict[str, Any], **over: Any) -> dict[str, Any]:
    return {
        "application_id": APP_ID, "benefit": "disability", "channel": "portal", "status": "awaiting_documents",
        "received_at": "2026-03-02T05:00:00+00:00", "received_on": "2026-03-02", "applicant": {"iin": APPLICANT},
        "registration_number": "DIS-1", "registered_on": "2026-03-02", "due_by": "2026-03-10", "contact": contact,
        "requested_documents": [{"type": "disability_certificate", "reason": "no record"}],
    } | over


def test_every_benefit_has_a_notice_policy() -> None:
    """docs/benefits.md: adding a benefit adds one policy module per service, registered by name."""
    assert set(POLICIES) == set(get_args(Benefit))


def test_a_benefit_without_a_policy_is_named() -> None:
    with pytest.raises(KeyError, match="pension"):
        policy_for("pension")


def test_every_template_reads_its_own_typed_event() -> None:
    """Typed contracts: each template names the event type it renders."""
    for name, template in TEMPLATES.items():
        assert template.event.TYPE == name


@pytest.mark.law(
    "B-Std5.proactive-sms", "D-Std5.proactive-sms", "S-Std5.proactive-sms", "B-Std8.portal-status-in-cabinet",
    "D-Std8.portal-status-in-cabinet", "S-Std8.portal-status-in-cabinet",
)
@pytest.mark.parametrize(
    ("contact", "channel"),
    [("sms", "sms"), ("cabinet", "cabinet"), ("none", None)],
)
@pytest.mark.parametrize(
    "event", ["application.received", "application.registered", "application.documents_requested"]
)
def test_the_contact_decides_the_channel_and_no_contact_means_no_notice(event: str, contact: str, channel: str | None) -> None:
    """Each Std p.5 SMS for proactive, Std p.10 cabinet for portal, paper at the desk when there is no contact."""
    notice = notice_of(make_event(event, source="intake", subject=APP_ID, data=application(CONTACTS[contact])))
    if channel is None:
        assert notice is None
        return
    assert notice is not None
    assert notice.contact.channel == channel and notice.application_id == APP_ID


def test_documents_requested_is_its_own_kind() -> None:
    """D§7, S§7: the citizen is told which documents are missing."""
    event = make_event("application.documents_requested", source="intake", subject=APP_ID,
                       data=application(CONTACTS["sms"]))
    notice = notice_of(event)
    assert notice is not None and notice.message.kind == "documents_requested"
    assert "справка об инвалидности" in notice.message.text_ru


def test_a_malformed_event_is_refused_not_half_read() -> None:
    """Typed contracts: an event missing required fields fails loudly (the consumer dead-letters it)."""
    event = make_event("decision.signed", source="decision", subject=APP_ID, data={"application_id": APP_ID})
    with pytest.raises(ValueError):
        notice_of(event)
