"""Loss-of-breadwinner benefit eligibility policy (Survivor Rules of Order 257 as amended by Order 509).

Registries per S§6: persons; civil registry (births after 13 Aug 2007, marriages after 1 Jun 2008, deaths of
children after 1 May 2008); courts (adoption; the declaration of a missing or dead person stands in for a death
record, domain.md); education (guardianship, study); the higher-education platform (study). Every listed
dependant is judged on its own (S§7); a person always signs (S-Std p.2), so a missing record asks for a document.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date

from common.events import ApplicationData
from common.identifiers import iin_birth_date
from common.law.params import date_on, int_on
from services.eligibility.domain.model import (
    Evaluation,
    Explanation,
    Record,
    Registries,
    add_years,
    age_on,
    documents_of,
    in_force,
    iso,
    parse_day,
    payee_iban,
)

KINSHIP_DOCUMENTS = ("birth_certificate", "adoption_decision", "paternity_certificate")
DEATH_DOCUMENTS = ("death_certificate", "court_decision")


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


async def _dependant(registries: Registries, iin: str) -> DependantRecords:
    person, death = await asyncio.gather(registries.person(iin), registries.death(iin))
    births, adoptions, disabilities, studies, _guardianships = await asyncio.gather(
        registries.births(iin),
        registries.adoptions(iin),
        registries.disabilities(iin),
        registries.studies(iin),
        registries.guardianships(iin),
    )
    return DependantRecords(iin, person, death, tuple(births), tuple(adoptions), tuple(disabilities), tuple(studies))


async def _no_accounts() -> list[Record]:
    return []


async def gather(registries: Registries, application: ApplicationData) -> SurvivorCase:
    """S§6: the breadwinner's death, then each dependant's kinship, life, age, study and disability."""
    deceased = application.deceased_iin or ""
    death = await registries.death(deceased)  # first and alone: an outage shows before anything else is asked
    declarations, births, adoptions, accounts, _marriages = await asyncio.gather(
        registries.court_declarations(deceased),
        registries.births(deceased),
        registries.adoptions(deceased),
        registries.bank_accounts(application.applicant.iin or "") if not application.iban else _no_accounts(),
        registries.marriages(application.applicant.iin or ""),
    )
    await registries.person(deceased)  # kept as evidence of the breadwinner's identity (S§6)
    dependants = await asyncio.gather(*(_dependant(registries, iin) for iin in application.dependants))
    return SurvivorCase(
        application=application,
        death=death,
        declarations=tuple(declarations),
        deceased_births=tuple(births),
        deceased_adoptions=tuple(adoptions),
        dependants=tuple(dependants),
        payee_iban=payee_iban(application, accounts),
    )


def right_arose(case: SurvivorCase) -> tuple[date | None, str | None]:
    """S§24, domain.md project decision: the right arises on the date of death or of the court's declaration."""
    died = parse_day((case.death or {}).get("date"))
    if died:
        return died, "death_record"
    declared = sorted(d for d in (parse_day(r.get("date")) for r in case.declarations if r.get("kind") in ("dead", "missing")) if d)
    if declared:
        return declared[0], "court_declaration"
    for doc in documents_of(case.application, DEATH_DOCUMENTS, case.application.deceased_iin):
        day = parse_day(doc.facts.get("date"))
        if day:
            return day, "document"
    return None, None


def kinship(case: SurvivorCase, dep: DependantRecords) -> tuple[str | None, str | None]:
    """S§7: how the dependant is related to the deceased, and what shows it (registry or document)."""
    deceased = case.application.deceased_iin
    own_births = [b for b in dep.births if b.get("child_iin") == dep.iin]
    parents = {p for b in own_births for p in (b.get("mother_iin"), b.get("father_iin")) if p}
    if deceased in parents:
        return "child", "registry"
    if any(a.get("child_iin") == dep.iin and a.get("parent_iin") == deceased for a in dep.adoptions):
        return "adopted", "registry"
    children = {b.get("child_iin") for b in case.deceased_births if deceased in (b.get("mother_iin"), b.get("father_iin"))}
    if parents & children:
        return "grandchild", "registry"
    deceased_parents = {
        p for b in case.deceased_births if b.get("child_iin") == deceased for p in (b.get("mother_iin"), b.get("father_iin")) if p
    }
    if parents & deceased_parents:
        return "sibling", "registry"
    if documents_of(case.application, KINSHIP_DOCUMENTS, dep.iin):
        return "child", "document"
    return None, None


def judge(case: SurvivorCase, dep: DependantRecords, out: Explanation) -> tuple[bool | None, str | None, str | None, date | None]:
    """S§7: one dependant: kinship, alive, and one basis (minor, student 18–22, disabled before 18).

    Returns (eligible or None while documents are asked for, basis, kinship, birth date).
    """
    on = case.application.received_on
    born = parse_day((dep.person or {}).get("birth_date")) or _born_from_iin(dep.iin)
    kind, source = kinship(case, dep)
    if kind is None:
        cutoff = date_on("registry.cutoff.births", on)
        older = born is not None and born <= cutoff
        why = (f"born before the civil registry's cut-off {cutoff.isoformat()}: the record is not expected there"
               if older else "the civil registry holds no record of kinship to the deceased")
        out.rule("kinship", "S§6, S§7", False, subject=dep.iin, born=iso(born), cutoff=cutoff.isoformat(), pending="documents")
        out.request("birth_certificate", dep.iin, why, "S§7")
        return None, None, None, born
    out.rule("kinship", "S§7", True, subject=dep.iin, kinship=kind, source=source)
    if not out.rule("alive", "S§6", dep.death is None, subject=dep.iin,
                    registry_holds_child_deaths_after=date_on("registry.cutoff.child_deaths", on).isoformat()):
        out.refuse("not_dependant", dep.iin)
        return False, None, kind, born
    if born is None:
        out.rule("age_known", "S§7", False, subject=dep.iin)
        out.refuse("not_dependant", dep.iin)
        return False, None, kind, born
    age = age_on(born, on)
    minor_below = int_on("survivor.age.minor_below", on)
    student_below = int_on("survivor.age.student_below", on)
    disabled_before = any(
        (est := parse_day(r.get("established_on"))) is not None and est < add_years(born, minor_below) for r in dep.disabilities
    )
    # One line for the basis that holds (or for why none does), so an eligible person shows no failed line.
    if age < minor_below:
        out.rule("minor", "S§7", True, subject=dep.iin, age=age, born=born.isoformat(), below=minor_below)
        return True, "minor", kind, born
    if disabled_before:
        out.rule("disabled_before_18", "S§7", True, subject=dep.iin, age=age, born=born.isoformat())
        return True, "disabled_before_18", kind, born
    if age >= student_below:
        out.rule("dependant_basis", "S§7", False, subject=dep.iin, age=age, student_below=student_below,
                 disabled_before_18=False)
        out.refuse("not_dependant", dep.iin)
        return False, None, kind, born
    covering = [s for s in dep.studies if in_force(parse_day(s.get("from")), parse_day(s.get("to")), on)]
    full_time = any(s.get("form") == "full_time" for s in covering)
    certificate = any(
        d.facts.get("form", "full_time") == "full_time" and (parse_day(d.facts.get("valid_until")) or on) >= on
        for d in documents_of(case.application, ["education_certificate"], dep.iin)
    )
    if full_time or certificate:
        out.rule("full_time_study", "S§7", True, subject=dep.iin, age=age,
                 source="registry" if full_time else "document", academic_leave_counts=True)
        return True, "student", kind, born
    if not covering and not dep.studies:
        out.rule("full_time_study", "S§7", False, subject=dep.iin, age=age, pending="documents")
        out.request("education_certificate", dep.iin, "no study record in the education databases", "S§7, Annex 2")
        return None, None, kind, born
    out.rule("full_time_study", "S§7", False, subject=dep.iin, age=age, forms=sorted({str(s.get("form")) for s in covering}))
    out.refuse("not_dependant", dep.iin)
    return False, None, kind, born


def _born_from_iin(iin: str) -> date | None:
    try:
        return iin_birth_date(iin)
    except ValueError:
        return None


def evaluate(case: SurvivorCase) -> Evaluation:
    """S§7, S§24: the breadwinner's death, then each listed dependant on its own; never automated (S-Std p.2)."""
    app = case.application
    out = Explanation()
    arose, source = right_arose(case)
    if not out.rule("breadwinner_deceased", "S§7", arose is not None, right_arose_on=iso(arose), source=source):
        if documents_of(app, DEATH_DOCUMENTS, app.deceased_iin):
            out.refuse("breadwinner_not_deceased")
        else:
            out.request("death_certificate", app.deceased_iin, "no death record and no court declaration of the "
                        "breadwinner as missing or dead", "S§7")
    judged = []
    for dep in case.dependants:
        eligible, basis, kind, born = judge(case, dep, out)
        judged.append({"iin": dep.iin, "eligible": bool(eligible), "basis": basis, "kinship": kind, "birth_date": iso(born),
                       "reason_code": "not_dependant" if eligible is False else None})
    eligible_iins = [d["iin"] for d in judged if d["eligible"]]
    out.value("eligible_dependants", "S§7", count=len(eligible_iins))
    blocking = [r for r in out.reasons if r["code"] != "not_dependant"]
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
        },
        explanation=tuple(out.lines),
    )
