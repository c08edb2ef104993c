"""Dashboards and alert rules refer only to series the code exposes, and the exposition is well formed.

A renamed metric breaks this test: every ``emaket_...`` name in a Grafana dashboard or an alert rule must
be one that common/metrics.py lists (its instruments, and the series built at scrape time).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml
from prometheus_client.parser import text_string_to_metric_families

from common import metrics
from gateway.metrics import GatewayMetrics
from gateway.routes import UNMATCHED, route_template

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "deploy" / "compose"
DASHBOARDS = sorted((COMPOSE / "grafana" / "dashboards").glob("*.json"))
ALERTS = COMPOSE / "prometheus" / "alerts.yml"
NAME = re.compile(r"\bemaket_[a-z0-9_]+")


def _exprs(node) -> list[str]:
    if isinstance(node, dict):
        found = [node["expr"]] if isinstance(node.get("expr"), str) else []
        return found + [e for value in node.values() for e in _exprs(value)]
    if isinstance(node, list):
        return [e for item in node for e in _exprs(item)]
    return []


def _names(expr: str) -> set[str]:
    # A regex matcher on __name__ ("emaket_circuit_open_.+") names a family prefix, not a series.
    return {name for name in NAME.findall(expr) if not expr[expr.find(name) + len(name):].startswith(".")}


def test_dashboards_use_only_exposed_series():
    assert DASHBOARDS, "no Grafana dashboards"
    unknown = {}
    for path in DASHBOARDS:
        dashboard = json.loads(path.read_text(encoding="utf-8"))
        exprs = _exprs(dashboard["panels"])
        assert exprs, path.name
        for expr in exprs:
            missing = {n for n in _names(expr) if not metrics.is_exposed(n)}
            if missing:
                unknown[f"{path.name}: {expr}"] = sorted(missing)
    assert not unknown, unknown


def test_the_dashboards_cover_the_issue_8_panels():
    exprs = " ".join(e for path in DASHBOARDS for e in _exprs(json.loads(path.read_text(encoding="utf-8"))["panels"]))
    for name in (
        "emaket_applications_received_total", "emaket_decisions_signed_total", "emaket_stage_duration_seconds_bucket",
        "emaket_cases_open", "emaket_cases_due_today", "emaket_cases_overdue", "emaket_outbox_oldest_unpublished_seconds",
        "emaket_consumer_lag", "emaket_dead_letters_open", "emaket_circuit_open", "emaket_job_attempts_total",
        "emaket_gateway_requests_total", "emaket_gateway_request_duration_seconds_bucket",
    ):
        assert re.search(rf"\b{name}\b", exprs), name


def test_alert_rules_use_only_exposed_series_and_cover_the_incidents():
    document = yaml.safe_load(ALERTS.read_text(encoding="utf-8"))
    rules = [rule for group in document["groups"] for rule in group["rules"]]
    assert len({rule["alert"] for rule in rules}) == len(rules)
    for rule in rules:
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}, rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]
        missing = {n for n in _names(rule["expr"]) if not metrics.is_exposed(n)}
        assert not missing, (rule["alert"], missing)
    used = " ".join(rule["expr"] for rule in rules)
    for name in ("emaket_cases_overdue", "emaket_dead_letters_open", "emaket_outbox_oldest_unpublished_seconds",
                 "emaket_circuit_open", "emaket_consumer_lag"):
        assert re.search(rf"\b{name}\b", used), name


def test_prometheus_loads_the_rules_and_scrapes_the_gateway():
    config = yaml.safe_load((COMPOSE / "prometheus" / "prometheus.yml").read_text(encoding="utf-8"))
    assert config["rule_files"] == ["/etc/prometheus/alerts.yml"]
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert set(jobs) == {"intake", "eligibility", "decision", "payment_queue", "notifier", "gateway"}
    assert jobs["gateway"]["dns_sd_configs"][0]["port"] == 8000
    compose = yaml.safe_load((COMPOSE / "compose.yaml").read_text(encoding="utf-8"))
    assert "./prometheus/alerts.yml:/etc/prometheus/alerts.yml:ro" in compose["services"]["prometheus"]["volumes"]


def test_a_renamed_metric_is_not_exposed():
    assert metrics.is_exposed("emaket_cases_overdue")
    assert metrics.is_exposed("emaket_jobs_failed_notifications")
    assert not metrics.is_exposed("emaket_cases_late")
    assert not metrics.is_exposed("emaket_jobs_failed_")


def test_exposition_parses_with_help_and_type_and_keeps_only_the_own_service():
    metrics.count(metrics.APPLICATIONS_RECEIVED, service="unit-a", benefit="burial", channel="portal")
    metrics.count(metrics.APPLICATIONS_RECEIVED, service="unit-b", benefit="survivor", channel="portal")
    metrics.observe(metrics.STAGE_SECONDS, 2.5, service="unit-a", benefit="burial", stage="received_to_registered")
    text = metrics.exposition("unit-a", [metrics.single("emaket_outbox_backlog", "Backlog.", "unit-a", 3)]).decode()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert families["emaket_outbox_backlog"].type == "gauge"
    received = families["emaket_applications_received"]
    assert received.type == "counter"
    assert {s.labels["service"] for s in received.samples} == {"unit-a"}
    assert families["emaket_stage_duration_seconds"].type == "histogram"
    for name, family in families.items():
        assert family.documentation, name
        # The 0.0.4 text format writes a counter's HELP and TYPE under its _total name.
        assert re.search(rf"^# HELP {name}(_total)? \S", text, re.M) and re.search(rf"^# TYPE {name}(_total)? ", text, re.M)
    assert "_created" not in text


def test_gateway_labels_are_route_templates_never_raw_paths():
    assert route_template("/api/v1/applications/5a3c6f0e-0000-4000-8000-000000000001") == "/api/v1/applications/{id}"
    assert route_template("/api/v1/decisions/follow-ups") == "/api/v1/decisions/follow-ups"
    assert route_template("/api/v1/ops/sla") == "/api/v1/ops/sla"
    assert route_template("/api/v1/ops/notifier/failed-jobs/notifications/x:1/retry") == (
        "/api/v1/ops/notifier/failed-jobs/{job}/{key}/retry"
    )
    assert route_template("/api/v1/ops/790303402568/dead-letters") == UNMATCHED
    assert route_template("/api/v1/applications/790303402568/x") == UNMATCHED
    gateway = GatewayMetrics()
    gateway.record("/api/v1/applications/790303402568", "GET", 404, 0.01)
    gateway.record("/anything", "BREW", 418, 0.01)
    from prometheus_client import generate_latest

    text = generate_latest(gateway.registry).decode()
    assert "790303402568" not in text
    samples = [s for f in text_string_to_metric_families(text) for s in f.samples]
    assert {s.labels.get("method") for s in samples if s.name == "emaket_gateway_requests_total"} == {"GET", "OTHER"}
