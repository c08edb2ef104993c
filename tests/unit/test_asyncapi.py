"""The AsyncAPI document (common/asyncapi.py): valid AsyncAPI 3.0, every reference resolves, it says what the
services really send and receive, and real envelopes validate against its message payloads."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from unittest.mock import MagicMock

import jsonschema
import pytest

from common.asyncapi import CHANNELS, RECEIVERS, SERVICES, asyncapi_document
from common.events import EVENTS, DecisionSigned, envelope_of
from tests.integration.helpers import application_data, application_event, decision_event, decision_signed_data, eligibility_data

SCHEMA = Path(__file__).resolve().parent.parent / "data" / "asyncapi-3.0.0.schema.json"


@pytest.fixture(scope="module")
def document() -> dict:
    return asyncapi_document()


def test_the_document_is_valid_asyncapi_3(document):
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(document), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message[:200]}" for e in errors[:5]]


def test_the_schema_check_can_fail(document):
    """The validator really looks: a document without its required info is refused."""
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    broken = {k: v for k, v in document.items() if k != "info"}
    assert list(jsonschema.Draft7Validator(schema).iter_errors(broken))


def _refs(node, found: list[str]) -> list[str]:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            found.append(node["$ref"])
        for value in node.values():
            _refs(value, found)
    elif isinstance(node, list):
        for value in node:
            _refs(value, found)
    return found


def test_every_reference_resolves(document):
    for ref in set(_refs(document, [])):
        assert ref.startswith("#/"), ref
        node = document
        for part in ref[2:].split("/"):
            assert part in node, f"{ref} does not resolve (no {part!r})"
            node = node[part]


def test_every_event_type_has_a_message_on_a_channel(document):
    on_channels = {event.TYPE for channel in CHANNELS.values() for event in channel.events}
    assert on_channels == set(EVENTS)
    assert {m["name"] for m in document["components"]["messages"].values()} == set(EVENTS)


@pytest.mark.parametrize("service", [s for s in SERVICES])
def test_receivers_are_what_each_service_consumes(service):
    """The document's receive operations match the services' real consumer specs (topics and handled types)."""
    app = importlib.import_module(f"services.{service}.app")
    specs = app.consumers(MagicMock())
    real = {topic: set() for spec in specs for topic in spec.topics}
    for spec in specs:
        assert spec.group == service
        for name in spec.handlers:
            topics = [t for t in spec.topics if any(e.TYPE == name for e in CHANNELS[t].events)]
            assert topics, f"{service} handles {name}, which no topic it reads carries"
            for topic in topics:
                real[topic].add(name)
    documented = {topic: set(names) for topic, names in RECEIVERS.get(service, {}).items()}
    assert documented == {t: n for t, n in real.items()}


@pytest.mark.parametrize(
    "service, module",
    [("intake", "services.intake.handlers"), ("eligibility", "services.eligibility.handlers"),
     ("decision", "services.decision.handlers"), ("payment_queue", "services.payment_queue.handlers")],
)
def test_senders_write_the_topic_the_document_names(service, module):
    topic = importlib.import_module(module).TOPIC
    assert CHANNELS[topic].producer == service


def _payload_validator(document: dict, message_name: str) -> jsonschema.Draft7Validator:
    message = next(m for m in document["components"]["messages"].values() if m["name"] == message_name)
    # The payload's $refs point into the whole document: validate with the document as the root.
    root = dict(document) | {"$ref": "#/__payload"}
    root["__payload"] = message["payload"]
    return jsonschema.Draft7Validator(root, format_checker=jsonschema.FormatChecker())


def test_real_envelopes_validate_against_their_message(document):
    application = application_data()
    envelopes = [
        application_event("application.registered", application),
        envelope_of(EVENTS["eligibility.checked"].model_validate(eligibility_data(application)), source="eligibility",
                    subject=application["application_id"]),
        decision_event(decision_signed_data(application)),
    ]
    for envelope in envelopes:
        raw = json.loads(envelope.model_dump_json())
        validator = _payload_validator(document, envelope.name)
        errors = list(validator.iter_errors(raw))
        assert not errors, (envelope.name, [e.message[:200] for e in errors[:3]])


def test_a_wrong_payload_is_refused_by_the_message_schema(document):
    application = application_data()
    raw = json.loads(decision_event(decision_signed_data(application)).model_dump_json())
    raw["data"]["amount_kzt"] = "a lot"
    assert list(_payload_validator(document, DecisionSigned.TYPE).iter_errors(raw))
