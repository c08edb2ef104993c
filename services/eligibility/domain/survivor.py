"""Loss-of-breadwinner benefit eligibility policy (Survivor Rules of Order 257 as amended by Order 509).

Registries per S§6: persons; civil registry (births after 13 Aug 2007, marriages after 1 Jun 2008, deaths of
children after 1 May 2008); courts (adoption; the declaration of a missing or dead person stands in for a death
record, domain.md); education (guardianship, study); the higher-education platform (study). Every listed
dependant is judged on its own (S§7); a person always signs (S-Std p.2), so a missing record asks for a document.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from common.dates import add_years, age_on
from common.events import ApplicationData
from common.identifiers import iin_birth_date
from common.law.params import date_on, int_on
from services.eligibility.domain.model import (
    Evaluation,
    Explanation,
    Record,
    Registries,
    account_owned,
    applicant_accounts,
    documents_about,
    documents_of,
    in_force,
    iso,
    parse_day,
    payee_iban,
)

KINSHIP_DOCUMENTS = ("birth_certificate", "adoption_decision", "paternity_certificate")
DEATH_DOCUMENTS = ("death_certificate", "court_decision")
KINSHIPS = frozenset({"child", "adopted", "grandchild", "sibling"})
# The obligations the explanation lines of a dependant's basis, study and kinship apply (RuleResult.obligations).
_BASIS_LAW = ("S7.dependant-bases", "S7.student-upper-bound", "S-Std9.ground2.requirements-not-met")
_STUDY_LAW = ("S7.student-18-23-full-time", "S7.student-upper-bound", "S-Annex2.form-of-study",
              "S-Annex2.valid-for-academic-year", "S6.query.education", "S6.query.higher-education")
_KINSHIP_LAW = ("S7.doc.kinship",)


@dataclass(frozen=True)
class DependantRecords:
    iin: str
    person: Record | None
    death: Record | None
    births: tuple[Record, ...]
    adoptions: tuple[Record, ...]
    disabilities: tuple[Record, ...]
    studies: tuple[Record, ...]


@dataclass(frozen=True)
class SurvivorCase:
    application: ApplicationData
    death: Record | None
    declarations: tuple[Record, ...]
    deceased_births: tuple[Record, ...]  # the deceased's own birth and their children's births
    deceased_adoptions: tuple[Record, ...]
    dependants: tuple[DependantRecords, ...]
    payee_iban: str | None
    payee_owned: bool | None = None  # the banks' registry lists the account as the applicant's (None: not asked)


async def _dependant(registries: Registries, iin: str) -> DependantRecords:
    """S§6: what the registries hold of one listed dependant (identity, life, kinship, disability, study).

    [law: S6.query.persons, S6.query.civil.births, S6.query.civil.child-deaths, S6.query.courts.adoption,
    S6.query.education, S6.query.higher-education]
    """
    person, death = await asyncio.gather(registries.person(iin), registries.death(iin))
    births, adoptions, disabilities, studies, _guardianships = await asyncio.gather(
        registries.births(iin),
        registries.adoptions(iin),
        registries.disabilities(iin),
        registries.studies(iin),
        registries.guardianships(iin),
    )
    return DependantRecords(iin, person, death, tuple(births), tuple(adoptions), tuple(disabilities), tuple(studies))


async def gather(registries: Registries, application: ApplicationData) -> SurvivorCase:
    """S§6: the breadwinner's death, then each dependant's kinship, life, age, study and disability.

    Asked by the system on every channel. [law: S6.queries-by-system, S6.query.civil.marriages, S6.query.courts.adoption]
    """
    deceased = application.deceased_iin or ""
    applicant = application.applicant.iin or ""
    death = await registries.death(deceased)  # first and alone: an outage shows before anything else is asked
    declarations, births, adoptions, accounts, _person, _marriages = await asyncio.gather(
        registries.court_declarations(deceased),
        registries.births(deceased),  # the deceased's own birth (siblings) and their children's (grandchildren)
        registries.adoptions(deceased),
        applicant_accounts(registries, application),
        registries.person(deceased),  # evidence of the breadwinner's identity (S§6)
        registries.marriages(applicant),  # evidence (S§6: kinship of a spouse caring for the children)
    )
    dependants = await asyncio.gather(*(_dependant(registries, iin) for iin in application.dependants))
    return SurvivorCase(
        application=application,
        death=death,
        declarations=tuple(declarations),
        deceased_births=tuple(births),
        deceased_adoptions=tuple(adoptions),
        dependants=tuple(dependants),
        payee_iban=payee_iban(application, accounts),
        payee_owned=account_owned(application, accounts),
    )


def right_arose(case: SurvivorCase) -> tuple[date | None, str | None]:
    """S§24, domain.md project decision: the right arises on the date of death or of the court's declaration.

    [law: S24.right-arises, S7.doc.death-or-court-decision]
    """
    died = parse_day((case.death or {}).get("date"))
    if died:
        return died, "death_record"
    declared = sorted(
        d for d in (parse_day(r.get("date")) for r in case.declarations if r.get("kind") in ("dead", "missing")) if d
    )
    if declared:
        return declared[0], "court_declaration"
    for doc in documents_of(case.application, DEATH_DOCUMENTS, case.application.deceased_iin):
        day = parse_day(doc.facts.get("date"))
        if day:
            return day, "document"
    return None, None


def _parents(births: Iterable[Record], child: str | None) -> set[str]:
    return {p for b in births if b.get("child_iin") == child for p in (b.get("mother_iin"), b.get("father_iin")) if p}


def relation(case: SurvivorCase, births: Iterable[Record], dep: str) -> str | None:
    """S§7: child, grandchild or sibling of the deceased, read off the dependant's and the deceased's birth records.

    The deceased's births answer holds their own birth (their parents: a sibling's parents) and their children's
    (a grandchild's parent is one of them).
    """
    deceased = case.application.deceased_iin
    parents = _parents(births, dep)
    if deceased in parents:
        return "child"
    children = {
        b.get("child_iin") for b in case.deceased_births if deceased in (b.get("mother_iin"), b.get("father_iin"))
    }
    if parents & children:
        return "grandchild"
    if parents & _parents(case.deceased_births, deceased):
        return "sibling"
    return None


def kinship(case: SurvivorCase, dep: DependantRecords) -> tuple[str | None, str | None]:
    """S§6, S§7: how the dependant is related to the deceased, and what shows it (registry or document). [law: S7.doc.kinship]

    A kinship document about the dependant (birth or paternity certificate, adoption decision) is read like a record:
    the parents it names are matched as the registry's would be. Project decision: where that finds no link (a
    parent's own birth predating the registry), the kinship the operator read off the documents (``facts.kinship``)
    stands; a document naming no parents confirms a child; an adoption decision, an adopted child.
    """
    kind = relation(case, dep.births, dep.iin)
    if kind:
        return kind, "registry"
    deceased = case.application.deceased_iin
    if any(a.get("child_iin") == dep.iin and a.get("parent_iin") == deceased for a in dep.adoptions):
        return "adopted", "registry"
    documents = documents_about(case.application, KINSHIP_DOCUMENTS, dep.iin)
    for doc in documents:
        if doc.type == "adoption_decision":
            return "adopted", "document"
        mother, father = doc.facts.get("mother_iin"), doc.facts.get("father_iin")
        if mother or father:
            kind = relation(case, [{"child_iin": dep.iin, "mother_iin": mother, "father_iin": father}], dep.iin)
            if kind:
                return kind, "document"
        stated = doc.facts.get("kinship")
        if stated in KINSHIPS:
            return str(stated), "document"
        if not (mother or father):
            return "child", "document"
    return None, ("document" if documents else None)


@dataclass(frozen=True)
class Judgement:
    """One dependant judged (S§7): eligible (None while documents are asked for), basis, kinship, birth date."""

    eligible: bool | None
    basis: str | None
    kinship: str | None
    born: date | None


def _birth_date(case: SurvivorCase, dep: DependantRecords) -> date | None:
    """The persons registry's birth date; else a birth certificate's; else the one the IIN encodes."""
    day = parse_day((dep.person or {}).get("birth_date"))
    for doc in documents_about(case.application, ["birth_certificate"], dep.iin):
        day = day or parse_day(doc.facts.get("date"))
    return day or _born_from_iin(dep.iin)


def disabled_since(records: Iterable[Record], on: date) -> tuple[date | None, bool]:
    """S§7: the first establishment of disability on record, and whether a record is in force on ``on``.

    Project decision: "disabled before 18" means a person with a disability now whose disability was first
    established before the 18th birthday; a childhood disability that has since ended (no record in force on the
    application day) is no basis, whatever its first date.
    """
    established = sorted(d for d in (parse_day(r.get("established_on")) for r in records) if d)
    in_force_now = any(in_force(parse_day(r.get("established_on")), parse_day(r.get("until")), on) for r in records)
    return (established[0] if established else None), in_force_now


def _basis(case: SurvivorCase, dep: DependantRecords, born: date, out: Explanation) -> tuple[str | None, bool]:
    """S§7: under 18; disabled before 18 (any age); 18 up to the day before the 23rd birthday in full-time study.

    [law: S7.dependant-bases, S7.student-18-23-full-time, S7.student-upper-bound, S-Annex2.form-of-study,
    S-Annex2.valid-for-academic-year]

    One explanation line for the basis that holds, or for why none does, so an eligible person shows no failed line.
    Returns (basis, pending): pending when a student's study is shown by no record at all, so the certificate is asked.
    """
    on = case.application.received_on
    age = age_on(born, on)
    minor_below = int_on("survivor.age.minor_below", on)
    student_below = int_on("survivor.age.student_below", on)
    adult_on = add_years(born, minor_below)
    seen: dict[str, Any] = {"age": age, "born": born.isoformat()}
    if age < minor_below:
        out.rule("minor", "S§7", True, dep.iin, obligations=("S7.dependant-bases",), **seen, below=minor_below)
        return "minor", False
    first, disabled_now = disabled_since(dep.disabilities, on)
    disability: dict[str, Any] = {"first_established_on": iso(first), "eighteenth_birthday": adult_on.isoformat(),
                                  "disabled_on_application_day": disabled_now}
    if first is not None and first < adult_on and disabled_now:
        out.rule("disabled_before_18", "S§7", True, dep.iin, obligations=("S7.dependant-bases",), **seen, **disability)
        return "disabled_before_18", False
    if age >= student_below:
        out.rule("dependant_basis", "S§7", False, dep.iin, obligations=_BASIS_LAW, **seen, student_below=student_below,
                 disabled_before_18=False, **disability)
        return None, False
    covering = [s for s in dep.studies if in_force(parse_day(s.get("from")), parse_day(s.get("to")), on)]
    certificates = documents_about(case.application, ["education_certificate"], dep.iin)
    registry_full_time = any(s.get("form") == "full_time" for s in covering)  # academic leave keeps the record
    certificate_full_time = any(
        d.facts.get("form") == "full_time" and (parse_day(d.facts.get("valid_until")) or on) >= on for d in certificates
    )
    if registry_full_time or certificate_full_time:
        out.rule("full_time_study", "S§7", True, dep.iin, obligations=_STUDY_LAW, **seen, student_below=student_below,
                 source="registry" if registry_full_time else "document", academic_leave_counts=True)
        return "student", False
    if not dep.studies and not certificates:
        out.rule("full_time_study", "S§7", False, dep.iin, obligations=_STUDY_LAW, **seen, student_below=student_below,
                 pending="documents")
        # law: S6.documents-when-registry-lacks, S-Std8.no-documents-when-registries-hold
        out.request("education_certificate", dep.iin, "no study record in the education databases", "S§7, S-Annex 2")
        return None, True
    forms = sorted({str(s.get("form")) for s in covering} | {str(d.facts.get("form")) for d in certificates})
    out.rule("dependant_basis", "S§7", False, dep.iin, obligations=_BASIS_LAW, **seen, student_below=student_below,
             disabled_before_18=False, study_forms_on_application_day=forms, counted_form="full_time", **disability)
    return None, False


def judge(case: SurvivorCase, dep: DependantRecords, out: Explanation) -> Judgement:
    """S§6, S§7: one dependant on its own: alive, one basis, kinship to the deceased.

    Each listed person found not a dependant is refused on their own (ground 2), the others go on.
    [law: S7.dependant-bases, S-Std9.ground2.requirements-not-met]

    Project decision: documents are asked for only when they can make the person eligible: a dependant who is dead,
    or has no basis whatever the documents say, gets ``not_dependant`` at once, without a request.
    """
    on = case.application.received_on
    born = _birth_date(case, dep)
    kind, source = kinship(case, dep)
    if not out.rule("alive", "S§6", dep.death is None, subject=dep.iin,
                    obligations=("S6.query.civil.child-deaths", "S-Std9.ground2.requirements-not-met"),
                    registry_holds_child_deaths_after=date_on("registry.cutoff.child_deaths", on).isoformat()):
        out.refuse("not_dependant", dep.iin)
        return Judgement(False, None, kind, born)
    if born is None:
        out.rule("age_known", "S§7", False, subject=dep.iin, obligations=("S-Std9.ground2.requirements-not-met",))
        out.refuse("not_dependant", dep.iin)
        return Judgement(False, None, kind, born)
    basis, pending = _basis(case, dep, born, out)
    if basis is None and not pending:
        out.refuse("not_dependant", dep.iin)
        return Judgement(False, None, kind, born)
    if kind is None and source == "document":
        # The kinship document came (a round after the request) and names no parent related to the deceased.
        out.rule("kinship", "S§7", False, subject=dep.iin, obligations=_KINSHIP_LAW, source=source)
        out.refuse("not_dependant", dep.iin)
        return Judgement(False, None, None, born)
    if kind is None:
        cutoff = date_on("registry.cutoff.births", on)
        older = born <= cutoff
        why = (f"born before the civil registry's cut-off {cutoff.isoformat()}: the record is not expected there"
               if older else "the civil registry holds no record of kinship to the deceased")
        out.rule("kinship", "S§6, S§7", False, subject=dep.iin, obligations=_KINSHIP_LAW + ("S6.query.civil.births",),
                 born=born.isoformat(), cutoff=cutoff.isoformat(), before_cutoff=older, pending="documents")
        # law: S6.documents-when-registry-lacks, S-Std8.no-documents-when-registries-hold
        out.request("birth_certificate", dep.iin, why, "S§6, S§7")
        return Judgement(None, basis, None, born)
    out.rule("kinship", "S§7", True, subject=dep.iin, obligations=_KINSHIP_LAW, kinship=kind, source=source)
    if pending:
        return Judgement(None, None, kind, born)
    return Judgement(True, basis, kind, born)


def _born_from_iin(iin: str) -> date | None:
    try:
        return iin_birth_date(iin)
    except ValueError:
        return None


def evaluate(case: SurvivorCase) -> Evaluation:
    """S§7, S§24: the breadwinner's death, then each listed dependant on its own; never automated (S-Std p.2).

    [law: S-Std2.specialist-signs]
    """
    app = case.application
    out = Explanation()
    arose, source = right_arose(case)
    if not out.rule("breadwinner_deceased", "S§7", arose is not None, right_arose_on=iso(arose), source=source,
                    obligations=("S7.doc.death-or-court-decision", "S24.right-arises", "S-Std9.ground1.unreliable")):
        if documents_of(app, DEATH_DOCUMENTS, app.deceased_iin):
            # The documents came and prove no death nor declaration. law: S-Std9.ground1.unreliable
            out.refuse("breadwinner_not_deceased")
        else:
            why = ("no death record and no court declaration of the breadwinner as missing or dead: "
                   "the death certificate or the court decision (either one)")
            # law: S6.documents-when-registry-lacks, S-Std8.no-documents-when-registries-hold
            out.request("death_certificate", app.deceased_iin, why, "S§7, S-Std p.8")
            out.request("court_decision", app.deceased_iin, why, "S§7")
    judged = []
    for dep in case.dependants:
        j = judge(case, dep, out)
        judged.append({"iin": dep.iin, "eligible": j.eligible is True, "basis": j.basis if j.eligible else None,
                       "kinship": j.kinship, "birth_date": iso(j.born),
                       "reason_code": "not_dependant" if j.eligible is False else None})
    eligible_iins = [d["iin"] for d in judged if d["eligible"]]
    out.value("eligible_dependants", "S§7", obligations=("S7.dependant-bases", "S-Std9.ground2.requirements-not-met"),
              count=len(eligible_iins), eligible=eligible_iins)
    blocking = [r for r in out.reasons if r["code"] != "not_dependant"]
    if blocking and out.requested:
        # Project decision: the breadwinner's death is still unproven after its documents came, so no document
        # about a dependant can make the case eligible: the refusal stands at once, nothing more is asked for.
        withheld = [{"type": d["type"], "about": d["about"]} for d in out.requested]
        out.value("documents_not_requested", "S§7", withheld=withheld)
        out.requested.clear()
    return Evaluation(
        eligible=bool(eligible_iins) and not blocking and not out.requested,
        automated=False,
        reasons=tuple(out.reasons),
        requested_documents=tuple(out.requested),
        facts={
            "received_on": app.received_on.isoformat(),
            "deceased_iin": app.deceased_iin,
            "right_arose_on": iso(arose),
            "right_source": source,
            "dependants": judged,
            "eligible_dependants": eligible_iins,
            "payee_iban": case.payee_iban,
            "payee_account_owned": case.payee_owned,
        },
        explanation=tuple(out.lines),
    )
