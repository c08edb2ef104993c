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
    ops = _OPS.fullmatch(path)
    if ops:
        if ops["service"] not in SERVICES:
            return None
        return Target(ops["service"], "/api/v1/ops" + (ops["rest"] or ""), frozenset({"ops"}))
    for rule in RULES:
        if (rule.methods is None or method in rule.methods) and rule.pattern.fullmatch(path):
            return Target(rule.service, path, rule.roles)
    return None


def public_path(service: str, upstream_path: str) -> str | None:
    """Where a service's own path is reachable through the gateway, or None if it is not."""
    if upstream_path == "/api/v1/ops" or upstream_path.startswith("/api/v1/ops/"):
        return f"/api/v1/ops/{service}" + upstream_path[len("/api/v1/ops") :]
    for rule in RULES:
        if rule.service == service and rule.pattern.fullmatch(upstream_path):
            return upstream_path
    return None
