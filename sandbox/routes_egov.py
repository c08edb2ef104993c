"""Registries reached through the e-gov gateway (ШЭП / "электронное правительство").

Each answer names the registry that gave it and when (``registry``,
``answered_at``) so the caller can keep the answer as evidence; a 404 problem
carries the same two fields, since "no record" is evidence too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request

from common.problems import Problem
from sandbox.store import SandboxStore, mask_ids, utc_now

router = APIRouter(tags=["e-gov registries"])

IinPath = Annotated[str, Path(pattern=r"^\d{12}$", description="12-digit IIN")]
BinPath = Annotated[str, Path(pattern=r"^\d{12}$", description="12-digit BIN")]
IinQuery = Annotated[str, Query(pattern=r"^\d{12}$", description="12-digit IIN")]

REG_PERSONS = "ГБД ФЛ"
REG_LEGAL_ENTITIES = "ГБД ЮЛ"
REG_CIVIL = "ИС ЗАГС"
REG_COURTS = "АИС Төрелік"
REG_DISABILITY = "ЦБДИ"
REG_RECIPIENTS = "ЦБД получателей пенсий и пособий"
REG_EDUCATION = "НОБД"
REG_BANKS = "ИС банков второго уровня"


def _store(request: Request) -> SandboxStore:
    return request.app.state.store


def _answer(registry: str, body: dict[str, Any]) -> dict[str, Any]:
    return {**body, "registry": registry, "answered_at": utc_now()}


def _not_found(registry: str, what: str, key: str) -> Problem:
    return Problem(
        404,
        "not-found",
        f"{registry}: no {what} for {mask_ids(key)}.",
        registry=registry,
        answered_at=utc_now(),
    )


@router.get("/egov/persons/{iin}", summary="Person by IIN (ГБД ФЛ)")
async def get_person(iin: IinPath, request: Request) -> dict[str, Any]:
    person = _store(request).fixtures["persons"].get(iin)
    if person is None:
        raise _not_found(REG_PERSONS, "person", iin)
    return _answer(REG_PERSONS, person.public())


@router.get("/egov/civil/deaths/{iin}", summary="Death record by IIN (ИС ЗАГС)")
async def get_death(iin: IinPath, request: Request) -> dict[str, Any]:
    death = _store(request).fixtures["deaths"].get(iin)
    if death is None:
        raise _not_found(REG_CIVIL, "death record", iin)
    return _answer(REG_CIVIL, death.public())


@router.get("/egov/pensions/recipients/{iin}", summary="Pension/benefit periods by IIN")
async def get_recipient(iin: IinPath, request: Request) -> dict[str, Any]:
    items = _store(request).find("recipients", ("iin",), iin)
    return _answer(REG_RECIPIENTS, {"items": items, "query": {"iin": iin}})


@router.get("/egov/legal-entities/{bin}", summary="Legal entity by BIN (ГБД ЮЛ)")
async def get_legal_entity(bin: BinPath, request: Request) -> dict[str, Any]:
    entity = _store(request).fixtures["legal_entities"].get(bin)
    if entity is None:
        raise _not_found(REG_LEGAL_ENTITIES, "legal entity", bin)
    return _answer(REG_LEGAL_ENTITIES, entity.public())


@dataclass(frozen=True)
class ListRegistry:
    """A ``GET /egov/<name>?iin=`` endpoint over one fixture list."""

    fixture_list: str
    match_fields: tuple[str, ...]
    registry: str
    paths: tuple[str, ...]  # first is canonical; the rest are hidden aliases


LIST_REGISTRIES: tuple[ListRegistry, ...] = (
    ListRegistry("births", ("child_iin", "mother_iin", "father_iin"), REG_CIVIL, ("/egov/births",)),
    ListRegistry("marriages", ("iin_a", "iin_b"), REG_CIVIL, ("/egov/marriages",)),
    ListRegistry("adoptions", ("child_iin", "parent_iin"), REG_CIVIL, ("/egov/adoptions",)),
    ListRegistry("disabilities", ("iin",), REG_DISABILITY, ("/egov/disabilities",)),
    ListRegistry("studies", ("iin",), REG_EDUCATION, ("/egov/studies",)),
    ListRegistry("guardianships", ("child_iin", "guardian_iin"), REG_EDUCATION, ("/egov/guardianships",)),
    ListRegistry("bank_accounts", ("iin",), REG_BANKS, ("/egov/bank-accounts", "/egov/bank_accounts")),
    ListRegistry(
        "court_declarations",
        ("iin",),
        REG_COURTS,
        ("/egov/courts/declarations", "/egov/court-declarations", "/egov/court_declarations"),
    ),
    ListRegistry("deaths", ("iin",), REG_CIVIL, ("/egov/deaths",)),
    ListRegistry("recipients", ("iin",), REG_RECIPIENTS, ("/egov/recipients",)),
)


def _list_endpoint(spec: ListRegistry):  # noqa: ANN202 - FastAPI endpoint
    async def endpoint(iin: IinQuery, request: Request) -> dict[str, Any]:
        items = _store(request).find(spec.fixture_list, spec.match_fields, iin)
        return _answer(spec.registry, {"items": items, "query": {"iin": iin}})

    endpoint.__name__ = f"list_{spec.fixture_list}"
    endpoint.__doc__ = f"{spec.fixture_list} records ({spec.registry}) where any of {', '.join(spec.match_fields)} is the IIN."
    return endpoint


for _spec in LIST_REGISTRIES:
    for _index, _path in enumerate(_spec.paths):
        router.add_api_route(
            _path,
            _list_endpoint(_spec),
            methods=["GET"],
            summary=f"{_spec.fixture_list} by IIN ({_spec.registry})",
            include_in_schema=_index == 0,
            operation_id=f"egov_{_spec.fixture_list}_{_index}",
        )
