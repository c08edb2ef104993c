"""Texts the citizen reads, in Kazakh and Russian (receipts B§12/D§15/S§14, acceptance and rejection
B§13/B§16, documents requested D§7/S§7, result Annex 13; for proactive, by SMS, B-Std/D-Std/S-Std p.5).

Pure: a typed event in, a message out. What differs per benefit comes from its policy (policies.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

from common.envelope import Envelope
from common.events import (
    ApplicationData,
    ApplicationReceived,
    ApplicationRegistered,
    ApplicationRejected,
    Contact,
    DecisionData,
    DecisionSigned,
    DocumentsRequested,
)
from services.notifier.domain.model import Message
from services.notifier.domain.policies import policy_for
from services.notifier.domain.texts import APPEAL, REAPPLY, Both, bring_to, day, documents_text, reasons_text

__all__ = ["Message", "Notice", "TEMPLATES", "accepted", "documents_requested", "notice_of", "receipt", "rejected",
           "result"]

PAID_TO_ACCOUNT = Both("Төлем банк шотыңызға аударылады.", "Выплата будет перечислена на ваш банковский счёт.")
GIVE_AN_ACCOUNT = Both(
    "Төлемді аудару үшін банк шотыңыздың нөмірін Мемлекеттік корпорацияға хабарлаңыз.",
    "Для перечисления выплаты сообщите номер банковского счёта в Государственную корпорацию.",
)


def _code(application_id: object) -> str:
    """B§12: the short application code the receipt gives (first 8 characters of the id)."""
    return str(application_id)[:8]


def _number(data: ApplicationData | DecisionData) -> str:
    """The registration number, or before registration the short code from the receipt."""
    return data.registration_number or _code(data.application_id)


def receipt(data: ApplicationReceived) -> Message:
    """B§12, D§15, S§14: the electronic receipt that the application was received.

    [law: B12.electronic-receipt, D15.electronic-receipt, S14.electronic-receipt, B-Std8.portal-status-in-cabinet,
    D-Std8.portal-status-in-cabinet, S-Std8.portal-status-in-cabinet]
    """
    name, short = policy_for(data.benefit).name, _code(data.application_id)
    return Message(
        "receipt",
        f"Өтінішіңіз алынды ({name.kk}). Өтініш коды: {short}.",
        f"Ваше заявление получено ({name.ru}). Код заявления: {short}.",
    )


def accepted(data: ApplicationRegistered) -> Message:
    """B§13/B§16: accepted and registered in the journal (Annex 6), with the term of the result.

    [law: B13.acceptance-message-cabinet]
    """
    name = policy_for(data.benefit).name
    return Message(
        "accepted",
        f"Өтінішіңіз ({name.kk}) {day(data.registered_on)} тіркелді, тіркеу нөмірі {data.registration_number}. "
        f"Нәтиже {day(data.due_by)} дейін беріледі.",
        f"Ваше заявление ({name.ru}) зарегистрировано {day(data.registered_on)}, регистрационный номер "
        f"{data.registration_number}. Результат будет не позднее {day(data.due_by)}.",
    )


def rejected(data: ApplicationRejected) -> Message:
    """B§16, each Std p.9: not accepted, with every reason; apply again once the cause is gone, or appeal.

    Project decision: a rejection is a refusal of the service, so its text names the appeal too (D§34, S§34; the
    burial Rules in the seed have no appeal paragraph, the burial texts name it by the same choice).
    [law: B16.failed-checks-auto-rejection, B-Std9.reapply-after-cause-removed, D-Std9.reapply-after-cause-removed,
    S-Std9.reapply-after-cause-removed]
    """
    why = reasons_text(data.reasons)
    return Message(
        "rejected",
        f"Өтінішіңіз қабылданбады: {why.kk}. {REAPPLY.kk} {APPEAL.kk}",
        f"Заявление не принято: {why.ru}. {REAPPLY.ru} {APPEAL.ru}",
    )


def documents_requested(data: DocumentsRequested) -> Message:
    """D§7, S§7, D-Std p.3, S-Std p.3: which documents, about whom, where to bring them, the term moved by 5 days.

    Project decision: the law sets no separate deadline for the documents; the text gives the extended
    term of the result (the event's due_by).
    """
    name, number = policy_for(data.benefit).name, _number(data)
    docs = documents_text(data.requested_documents, data.applicant.iin)
    where = bring_to(data.channel)
    return Message(
        "documents_requested",
        f"{number} өтініші бойынша ({name.kk}) құжаттар қажет: {docs.kk}. Оларды {where.kk} ұсыныңыз. "
        f"Қарау мерзімі {day(data.due_by)} дейін ұзартылды.",
        f"По заявлению {number} ({name.ru}) нужны документы: {docs.ru}. Представьте их {where.ru}. "
        f"Срок рассмотрения продлён до {day(data.due_by)}.",
    )


def result(data: DecisionSigned) -> Message:
    """Annex 13: assignment or refusal; a refusal, whole or for some persons, may be appealed (D§34, S§34).

    The burial Rules in the seed have no appeal paragraph; burial texts name the appeal by project choice.
    [law: B-Std5.result-notification, D-Std5.result-notification, S-Std5.result-notification, D34.appeal, S34.appeal]
    """
    policy, number = policy_for(data.benefit), _number(data)
    if data.outcome != "assign":
        why, refused = reasons_text(data.reasons), policy.refused
        return Message(
            "result",
            f"{number} өтініші бойынша {refused.kk}: {why.kk}. {APPEAL.kk}",
            f"По заявлению {number} {refused.ru}. Причины: {why.ru}. {APPEAL.ru}",
        )
    award, name = policy.award(data), policy.name
    # Project decision: with no account to pay to (the payment queue holds the order back), say how to give one.
    pay = PAID_TO_ACCOUNT if data.payment.iban else GIVE_AN_ACCOUNT
    kk = f"{number} өтініші бойынша ({name.kk}) {award.kk}. {pay.kk}"
    ru = f"По заявлению {number} ({name.ru}) {award.ru}. {pay.ru}"
    if data.reasons:  # S-Std p.9 ground 2: listed persons the assignment does not cover, each with its reason
        left_out = reasons_text(data.reasons)
        kk += f" Тағайындауға енгізілмегендер: {left_out.kk}. {APPEAL.kk}"
        ru += f" Не включены в назначение: {left_out.ru}. {APPEAL.ru}"
    return Message("result", kk, ru)


N = TypeVar("N", bound=ApplicationData | DecisionData)


@dataclass(frozen=True)
class Notice:
    """A message for one application, and where it goes."""

    application_id: str
    contact: Contact
    message: Message


@dataclass(frozen=True)
class Template(Generic[N]):
    """How one event type becomes a message: its typed contract and the text it renders."""

    event: type[N]
    render: Callable[[N], Message]

    def notice(self, envelope: Envelope) -> Notice | None:
        """The notice of `envelope`; None when there is nobody to tell electronically (paper at the desk)."""
        data = cast(N, self.event.of(envelope))  # mypy widens type[N].of to N's bound
        if data.contact.channel is None:
            return None
        return Notice(str(data.application_id), data.contact, self.render(data))


TEMPLATES: Mapping[str, Template[Any]] = {
    "application.received": Template(ApplicationReceived, receipt),
    "application.registered": Template(ApplicationRegistered, accepted),
    "application.rejected": Template(ApplicationRejected, rejected),
    "application.documents_requested": Template(DocumentsRequested, documents_requested),
    "decision.signed": Template(DecisionSigned, result),
}


def notice_of(envelope: Envelope) -> Notice | None:
    """SMS for proactive, the cabinet for portal, nothing electronic without a contact (each Std p.5, p.10)."""
    return TEMPLATES[envelope.name].notice(envelope)
