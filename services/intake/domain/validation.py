"""One 422 naming every bad field of an application (api.md "Applications"): shape errors and the rules together."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from pydantic import ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

from common.identifiers import iin_birth_date, iin_error
from services.intake.domain.policies import POLICIES, IntakePolicy
from services.intake.domain.requests import BENEFIT_FIELDS, AnyApplication, ApplicationBase

Loc = tuple[str | int, ...]

_CHANNEL_NAMES = {
    "state_corp": "the State Corporation",
    "provider": "the service provider",
    "portal": "the portal",
    "proactive": "the proactive service",
}


def _error(loc: Loc, message: str, kind: str = "invalid") -> InitErrorDetails:
    return {"type": PydanticCustomError(kind, message), "loc": loc, "input": None}


def _missing(loc: Loc, message: str) -> InitErrorDetails:
    return _error(loc, message, "missing")


def _as_detail(error: Mapping[str, Any]) -> InitErrorDetails:
    message = str(error["msg"]).removeprefix("Value error, ")
    return {"type": PydanticCustomError(str(error["type"]), message), "loc": tuple(error["loc"]), "input": error.get("input")}


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _iin(value: Any) -> str | None:
    """``value`` when it is a valid IIN, else None (a bad one is named by the shape check)."""
    return value if isinstance(value, str) and iin_error(value) is None else None


def _born_later(iin: str | None, today: date) -> bool:
    return iin is not None and iin_birth_date(iin) > today


def applicant_errors(data: Mapping[str, Any], policy: IntakePolicy | None) -> list[InitErrorDetails]:
    """B§5: exactly one of IIN or BIN; a legal entity claims only burial and only at the State Corporation.

    [law: B5.applicant-who-buried, B5.iin-or-bin]
    """
    applicant = _dict(data.get("applicant"))
    has_iin, has_bin = bool(applicant.get("iin")), bool(applicant.get("bin"))
    errors: list[InitErrorDetails] = []
    if "applicant" in data and has_iin == has_bin:
        errors.append(_missing(("applicant",), "give exactly one of applicant.iin or applicant.bin"))
    if has_bin and policy is not None and not policy.legal_entity_may_apply:
        errors.append(_error(("applicant", "bin"), "only a burial payment may be claimed by a legal entity (B§5)"))
    if has_bin and data.get("channel") in ("portal", "proactive"):  # law: B5.legal-entity-channel
        errors.append(_error(("applicant", "bin"), "a legal entity applies through the State Corporation (B§5)"))
    return errors


def channel_errors(data: Mapping[str, Any], policy: IntakePolicy) -> list[InitErrorDetails]:
    """Each Std p.2: the channels the benefit is applied for through. [law: B-Std2.channels, D-Std2.channels, S-Std2.channels]"""
    channel = data.get("channel")
    if not isinstance(channel, str) or channel not in _CHANNEL_NAMES or channel in policy.channels:
        return []
    names = ", ".join(_CHANNEL_NAMES[c] for c in sorted(policy.channels))
    return [_error(("channel",), f"the {policy.name} benefit is applied for through {names} ({policy.channel_paragraph})")]


def required_errors(data: Mapping[str, Any], policy: IntakePolicy | None) -> list[InitErrorDetails]:
    """Fields required for the benefit and channel (api.md; each Std p.5 and p.8, S§7).

    [law: B-Std8.proactive-consent-and-account, D-Std8.proactive-consent-and-account, S-Std10.proactive-consent,
    B-Std5.proactive-sms, D-Std5.proactive-sms, S-Std5.proactive-sms]
    """
    consents = _dict(data.get("consents"))
    standard = policy.standard if policy else "each Std"
    errors: list[InitErrorDetails] = []
    if consents.get("personal_data") is None:
        errors.append(_missing(("consents", "personal_data"), "say whether the applicant consents to access to personal data"))
    for loc, message in policy.required if policy else ():
        if not data.get(str(loc[0])):
            errors.append(_missing(loc, message))
    if data.get("channel") == "proactive":
        if not data.get("phone"):
            errors.append(_missing(("phone",), f"required for the proactive channel: the result is sent by SMS ({standard} p.5)"))
        if data.get("bank_account") is None:
            errors.append(_missing(("bank_account",), f"required for the proactive channel: confirm the account to pay to ({standard} p.8)"))
        if consents.get("proactive") is None:
            errors.append(_missing(("consents", "proactive"), "the proactive channel needs the citizen's SMS consent"))
    return errors


def foreign_field_errors(data: Mapping[str, Any], policy: IntakePolicy) -> list[InitErrorDetails]:
    """api.md: deceased_iin (burial, survivor), dependants (survivor), also_apply_for (disability) only where they belong."""
    taken = policy.request_model.model_fields
    return [
        _error((name,), f"not a field of the {policy.name} benefit")
        for name in BENEFIT_FIELDS
        if name not in taken and data.get(name) not in (None, [], "")
    ]


def people_errors(data: Mapping[str, Any], taken: Mapping[str, Any], today: date) -> list[InitErrorDetails]:
    """Who is named where: nobody born in the future, the applicant is not the deceased, each dependant once."""
    applicant = _iin(_dict(data.get("applicant")).get("iin"))
    deceased = _iin(data.get("deceased_iin")) if "deceased_iin" in taken else None
    errors: list[InitErrorDetails] = []
    if _born_later(applicant, today):
        errors.append(_error(("applicant", "iin"), "the birth date in this IIN is in the future"))
    if _born_later(deceased, today):
        errors.append(_error(("deceased_iin",), "the birth date in this IIN is in the future"))
    if deceased is not None and deceased == applicant:
        errors.append(_error(("deceased_iin",), "the applicant cannot be the deceased person"))
    dependants = data.get("dependants") if "dependants" in taken else None
    seen: set[str] = set()
    for i, raw in enumerate(dependants if isinstance(dependants, list) else []):
        dependant = _iin(raw)
        if dependant is None:
            continue
        if dependant in seen:
            errors.append(_error(("dependants", i), "this dependant is listed twice"))
        elif dependant == applicant:
            errors.append(_error(("dependants", i), "the applicant is not their own dependant; list the others (S§7)"))
        elif dependant == deceased:
            errors.append(_error(("dependants", i), "the deceased person cannot be a dependant"))
        elif _born_later(dependant, today):
            errors.append(_error(("dependants", i), "the birth date in this IIN is in the future"))
        seen.add(dependant)
    also = data.get("also_apply_for") if "also_apply_for" in taken else None
    chosen: set[Any] = set()
    for i, item in enumerate(also if isinstance(also, list) else []):
        if isinstance(item, str) and item in chosen:
            errors.append(_error(("also_apply_for", i), "this benefit is listed twice"))
        if isinstance(item, str):
            chosen.add(item)
    return errors


def rule_errors(data: Mapping[str, Any], policy: IntakePolicy | None, today: date) -> list[InitErrorDetails]:
    """Every rule that spans fields, for the benefit named in ``data`` (None: unknown benefit)."""
    errors = applicant_errors(data, policy) + required_errors(data, policy)
    if policy is None:
        return errors + people_errors(data, AnyApplication.model_fields, today)
    return (
        errors
        + channel_errors(data, policy)
        + foreign_field_errors(data, policy)
        + people_errors(data, policy.request_model.model_fields, today)
    )


def parse_application(data: Any, *, today: date) -> ApplicationBase:
    """The typed application for ``data``'s benefit; ValidationError naming every bad field at once.

    ``today`` (Asia/Almaty) is the day no IIN's birth date may lie after.
    """
    if not isinstance(data, dict):
        raise ValidationError.from_exception_data("Application", [_error((), "must be a JSON object")])
    benefit = data.get("benefit")
    policy = POLICIES.get(benefit) if isinstance(benefit, str) else None
    errors: list[InitErrorDetails] = []
    if policy is None and "benefit" in data and benefit is not None:
        errors.append(_error(("benefit",), f"must be one of {', '.join(POLICIES)}", "enum"))
    model_type: type[ApplicationBase] = policy.request_model if policy else AnyApplication
    model: ApplicationBase | None = None
    try:
        model = model_type.model_validate(data)
    except ValidationError as exc:
        errors = [_as_detail(e) for e in exc.errors()] + errors
    named: set[Loc] = set()
    details: list[InitErrorDetails] = []
    for error in errors + rule_errors(data, policy, today):
        loc = tuple(error["loc"])
        if loc not in named:
            named.add(loc)
            details.append(error)
    if details or model is None:
        raise ValidationError.from_exception_data("Application", details)
    return model
