"""Which upstream serves a public path, and which roles may call it.

Only coarse role checks live here; fine-grained rules (role <-> channel, a
citizen reads only their own) belong to the owning service (docs/design.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from common.caller import ROLES
from gateway.settings import SERVICES

ALL_ROLES = frozenset(ROLES)
FILING_ROLES = frozenset({"citizen", "mobile", "operator", "specialist"})
READ_METHODS = frozenset({"GET", "HEAD"})

_OPS = re.compile(r"/api/v1/ops/(?P<service>[^/]+)(?P<rest>/.*)?")
# Ops routes that belong to no one service's /api/v1/ops/<service>/... space: public path -> (service, its path).
OPS_ROUTES: dict[str, tuple[str, str]] = {
    "/api/v1/ops/sla": ("intake", "/api/v1/ops/sla"),  # open cases against their legal deadlines
}
OPS_ROLES = frozenset({"ops"})


@dataclass(frozen=True)
class Rule:
    methods: frozenset[str] | None  # None: any method
    pattern: re.Pattern[str]
    service: str
    roles: frozenset[str]


@dataclass(frozen=True)
class Target:
    service: str
    upstream_path: str
    roles: frozenset[str]


# First match wins.
_UUID = r"[0-9a-fA-F-]{36}"

RULES: tuple[Rule, ...] = (
    Rule(frozenset({"POST"}), re.compile(r"/api/v1/applications"), "intake", FILING_ROLES),
    # api.md Documents: the State Corporation operator attaches what the registries lacked.
    Rule(frozenset({"POST"}), re.compile(rf"/api/v1/applications/{_UUID}/documents"), "intake", frozenset({"operator"})),
    Rule(None, re.compile(r"/api/v1/applications(/.*)?"), "intake", ALL_ROLES),
    # api.md Decisions: a citizen reads their own decision (the decision service checks whose it is).
    Rule(READ_METHODS, re.compile(rf"/api/v1/decisions/{_UUID}(/verification)?"), "decision", frozenset({"specialist", "ops", "citizen"})),
    Rule(READ_METHODS, re.compile(r"/api/v1/decisions(/.*)?"), "decision", frozenset({"specialist", "ops"})),
    Rule(None, re.compile(r"/api/v1/decisions(/.*)?"), "decision", frozenset({"specialist"})),
)


def resolve(method: str, path: str) -> Target | None:
    """The upstream for a public request, or None (-> 404)."""
    # httpx would collapse dot segments after the role check matched on the raw path: refuse them.
    if any(segment in (".", "..") for segment in path.split("/")):
        return None
    if path in OPS_ROUTES:
        service, upstream_path = OPS_ROUTES[path]
        return Target(service, upstream_path, OPS_ROLES)
    ops = _OPS.fullmatch(path)
    if ops:
        if ops["service"] not in SERVICES:
            return None
        return Target(ops["service"], "/api/v1/ops" + (ops["rest"] or ""), OPS_ROLES)
    for rule in RULES:
        if (rule.methods is None or method in rule.methods) and rule.pattern.fullmatch(path):
            return Target(rule.service, path, rule.roles)
    return None


def public_path(service: str, upstream_path: str) -> str | None:
    """Where a service's own path is reachable through the gateway, or None if it is not."""
    for public, (owner, path) in OPS_ROUTES.items():
        if (owner, path) == (service, upstream_path):
            return public
    if upstream_path == "/api/v1/ops" or upstream_path.startswith("/api/v1/ops/"):
        return f"/api/v1/ops/{service}" + upstream_path[len("/api/v1/ops") :]
    for rule in RULES:
        if rule.service == service and rule.pattern.fullmatch(upstream_path):
            return upstream_path
    return None


# Route templates for the gateway's metrics: a label names the route, never the raw path (it holds ids).
# First match wins; "{id}" (any "{name}") stands for one path segment; an ops path keeps its (fixed) service name.
_TEMPLATES: tuple[str, ...] = (
    "/api/v1/applications",
    "/api/v1/applications/{id}",
    "/api/v1/applications/{id}/documents",
    "/api/v1/decisions",
    "/api/v1/decisions/follow-ups",
    "/api/v1/decisions/{id}",
    "/api/v1/decisions/{id}/sign",
    "/api/v1/decisions/{id}/verification",
    *OPS_ROUTES,
    "/api/v1/ops/{service}/dead-letters",
    "/api/v1/ops/{service}/dead-letters/{id}/replay",
    "/api/v1/ops/{service}/outbox/quarantined",
    "/api/v1/ops/{service}/failed-jobs",
    "/api/v1/ops/{service}/failed-jobs/{job}/{key}/retry",
    "/api/v1/ops/{service}/audit",
    "/api/v1/ops/{service}/held-decisions",
    "/api/v1/ops/{service}/held-decisions/{id}/recheck",
    "/api/v1/dev/token",
    "/healthz",
    "/readyz",
    "/metrics",
    "/openapi.json",
    "/asyncapi.json",
    "/docs",
)
_SERVICE_NAMES = "|".join(re.escape(name) for name in sorted(SERVICES))


def _template_pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[a-z_]+\})", template)
    pattern = "".join(
        f"(?P<service>{_SERVICE_NAMES})" if part == "{service}" else "[^/]+" if part.startswith("{") else re.escape(part)
        for part in parts
    )
    return re.compile(pattern)


_TEMPLATE_PATTERNS = tuple((template, _template_pattern(template)) for template in _TEMPLATES)
UNMATCHED = "unmatched"


def route_template(path: str) -> str:
    """The route template of a path for metrics ("/api/v1/applications/{id}"), or "unmatched" (a bounded set)."""
    for template, pattern in _TEMPLATE_PATTERNS:
        found = pattern.fullmatch(path)
        if found:
            service = found.groupdict().get("service")
            return template.replace("{service}", service) if service else template
    if path.startswith("/docs/assets/"):
        return "/docs/assets/{file}"
    return UNMATCHED
