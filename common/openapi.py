"""The error answers of every operation, written into an OpenAPI document.

Every process answers errors as RFC 9457 problem details (common/problems.py), whatever the
route: an input the guard refuses (422), a caller without a credential (401) or role (403), an
unexpected exception (500). FastAPI documents none of that, and documents its own 422 as
``application/json`` with a schema the processes never send. ``document_problems`` fixes an
OpenAPI document in place so that each operation lists every status it can answer with, each
under ``application/problem+json`` with the ``ProblemDetails`` schema.

Pure functions on dicts, idempotent: a service's document, and the gateway's merged document
(gateway/openapi.py, which knows which operations it proxies), go through the same code.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from common.problems import BODY_TOO_LARGE_STATUS, PROBLEM_MEDIA_TYPE

HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
PROBLEM_SCHEMA_NAME = "ProblemDetails"
PROBLEM_REF = f"#/components/schemas/{PROBLEM_SCHEMA_NAME}"

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": PROBLEM_SCHEMA_NAME,
    "type": "object",
    "description": "RFC 9457 problem details. `request_id` is the X-Request-Id to quote when reporting a problem.",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "description": "urn:emaket:problem:<slug>"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 100, "maximum": 599},
        "detail": {"type": "string"},
        "instance": {"type": "string", "description": "The request path."},
        "request_id": {"type": "string"},
        "errors": {
            "type": "array",
            "description": "One entry per invalid field (422).",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {
                    "field": {
                        "type": "string",
                        "description": "Dotted path in the body (`applicant.iin`, `documents[0].type`), "
                        "`query.<name>`, `path.<name>`, `header.<name>` or `body` for the whole body.",
                    },
                    "message": {"type": "string"},
                },
            },
        },
    },
}

DESCRIPTIONS = {
    400: "Bad request (problem details)",
    401: "No valid credential (problem details)",
    403: "The caller's role may not do this (problem details)",
    404: "No such resource, or not the caller's (problem details)",
    409: "Conflicts with the resource's state, or an Idempotency-Key reused with another body (problem details)",
    413: "The body is larger than the limit (problem details)",
    422: "Invalid input, each invalid field named in `errors` (problem details)",
    429: "Too many requests; see Retry-After (problem details)",
    500: "Unexpected error; quote the request id (problem details)",
    502: "The service behind the gateway gave no usable answer (problem details)",
    503: "A service is unavailable; try again later (problem details)",
    504: "A service did not answer in time; retry with the same Idempotency-Key (problem details)",
}

# FastAPI's own 422 shape, which no process sends (common/problems.py answers with problem details).
_FASTAPI_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")
_FASTAPI_DESCRIPTIONS = ("Validation Error", "Additional Response", "Successful Response")


def problem_statuses(
    method: str, path: str, operation: dict[str, Any], *, authenticated: bool, proxied: bool = False, throttled: bool = False
) -> set[int]:
    """The error statuses an operation can answer with.

    ``authenticated``: it needs a credential (401) and checks the caller's role (403).
    ``proxied``: the gateway forwards it to a service (502, 503, 504).
    ``throttled``: the gateway's rate limit applies (429).
    """
    statuses = {422, 500, BODY_TOO_LARGE_STATUS}
    if authenticated:
        statuses |= {401, 403}
    if "{" in path:
        statuses.add(404)
    if method not in ("get", "head", "options"):
        # A state-changing call can meet a state that does not allow it (or a reused Idempotency-Key).
        statuses.add(409)
    if throttled:
        statuses.add(429)
    if proxied:
        statuses |= {502, 503, 504}
    return statuses


def _problem_response(status: int, existing: dict[str, Any] | None) -> dict[str, Any]:
    response: dict[str, Any] = dict(existing or {})
    description = response.get("description")
    if not description or description in _FASTAPI_DESCRIPTIONS:
        response["description"] = DESCRIPTIONS.get(status, "Error (problem details)")
    # Errors are problem details only: FastAPI's application/json 422 is never sent.
    response["content"] = {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": PROBLEM_REF}}}
    return response


def operations(document: dict[str, Any]) -> Iterable[tuple[str, str, dict[str, Any]]]:
    for path, item in document.get("paths", {}).items():
        if not isinstance(item, dict):
            continue
        for method in HTTP_METHODS:
            operation = item.get(method)
            if isinstance(operation, dict):
                yield path, method, operation


def document_operation(operation: dict[str, Any], statuses: Iterable[int]) -> None:
    """Write problem responses for ``statuses`` into ``operation``; any 4xx/5xx it already lists becomes one too."""
    responses = operation.setdefault("responses", {})
    wanted = {str(status) for status in statuses}
    wanted |= {code for code in responses if code[:1] in ("4", "5") and code.isdigit()}
    for code in sorted(wanted):
        responses[code] = _problem_response(int(code), responses.get(code))


def document_problems(
    document: dict[str, Any],
    *,
    statuses_for: Any = None,
    prefix: str = "/api/",
) -> dict[str, Any]:
    """Fix ``document`` in place (and return it): every operation under ``prefix`` lists its problem responses.

    ``statuses_for(method, path, operation)`` gives the statuses; the default is a service's own
    document: every ``/api/`` operation needs the gateway's credential (401, 403).
    """
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas[PROBLEM_SCHEMA_NAME] = PROBLEM_SCHEMA
    for path, method, operation in operations(document):
        if not path.startswith(prefix):
            continue
        if statuses_for is None:
            statuses = problem_statuses(method, path, operation, authenticated=True)
        else:
            statuses = statuses_for(method, path, operation)
        document_operation(operation, statuses)
    _drop_unused_validation_schemas(document)
    return document


def _refs(node: Any) -> set[str]:
    """Schema names ``node`` refers to."""
    found: set[str] = set()
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            found.add(ref.rsplit("/", 1)[-1])
        for value in node.values():
            found |= _refs(value)
    elif isinstance(node, list):
        for item in node:
            found |= _refs(item)
    return found


def _drop_unused_validation_schemas(document: dict[str, Any]) -> None:
    """FastAPI's HTTPValidationError (and the ValidationError it uses) once no operation refers to them."""
    schemas = document.get("components", {}).get("schemas", {})
    for name in _FASTAPI_VALIDATION_SCHEMAS:  # HTTPValidationError first: it is what refers to ValidationError
        others = {key: value for key, value in schemas.items() if key != name}
        if name in schemas and name not in _refs(document.get("paths", {})) | _refs(others):
            del schemas[name]
