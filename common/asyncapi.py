"""The event contract as an AsyncAPI 3.0 document, generated from the typed models (common/events.py).

Served by the gateway at ``/asyncapi.json`` beside ``/openapi.json``; docs/events.md points here instead
of repeating the payloads. Which service sends and which consumer group receives what is data below
(``CHANNELS``, ``RECEIVERS``); tests/unit/test_asyncapi.py checks it against the services' real consumer
specifications and the producers' topics, and validates the document against the AsyncAPI 3.0.0 schema.
"""

from __future__ import annotations

from typing import Any

from common.envelope import Envelope
from common.events import (
    EVENTS,
    ApplicationReceived,
    ApplicationRegistered,
    ApplicationRejected,
    DeadLettered,
    DecisionDrafted,
    DecisionSigned,
    DocumentsProvided,
    DocumentsRequested,
    EligibilityChecked,
    Event,
    PaymentPaid,
    PaymentQueued,
)

ASYNCAPI_VERSION = "3.0.0"
SERVICES = ("intake", "eligibility", "decision", "payment_queue", "notifier")


class Channel:
    def __init__(self, address: str, producer: str, events: tuple[type[Event], ...], description: str) -> None:
        self.address, self.producer, self.events, self.description = address, producer, events, description


# topic -> the service that writes it (through its outbox) and the event types it carries.
CHANNELS: dict[str, Channel] = {
    "applications": Channel(
        "applications",
        "intake",
        (ApplicationReceived, ApplicationRegistered, ApplicationRejected, DocumentsRequested, DocumentsProvided),
        "The application's life at intake: every event carries the whole application as intake knows it.",
    ),
    "eligibility": Channel(
        "eligibility", "eligibility", (EligibilityChecked,), "The registries' answers judged by the benefit's rules."
    ),
    "decisions": Channel(
        "decisions", "decision", (DecisionDrafted, DecisionSigned), "Drafted and signed decisions (signed ones carry the signed document)."
    ),
    "payments": Channel("payments", "payment_queue", (PaymentQueued, PaymentPaid), "Payment orders placed and paid."),
}
for _service in SERVICES:
    CHANNELS[f"deadletter.{_service}"] = Channel(
        f"deadletter.{_service}",
        _service,
        (DeadLettered,),
        f"Messages {_service}'s consumers could not handle (ops list and replay them: /api/v1/ops/{_service}/dead-letters).",
    )

# consumer group (= service) -> topic -> the event names its handlers act on (others are skipped).
RECEIVERS: dict[str, dict[str, tuple[str, ...]]] = {
    "intake": {
        "eligibility": ("eligibility.checked",),
        "decisions": ("decision.drafted", "decision.signed"),
        "payments": ("payment.queued", "payment.paid"),
    },
    "eligibility": {"applications": ("application.received", "application.documents_provided")},
    "decision": {
        "applications": ("application.registered", "application.documents_requested"),
        "eligibility": ("eligibility.checked",),
    },
    "payment_queue": {"decisions": ("decision.signed",)},
    "notifier": {
        "applications": (
            "application.received",
            "application.registered",
            "application.rejected",
            "application.documents_requested",
        ),
        "decisions": ("decision.signed",),
    },
}

SCHEMA_REF = "#/components/schemas/{model}"


def _message_id(event: type[Event]) -> str:
    return f"{event.TYPE}.v{event.VERSION}".replace(".", "_")


def _summary(event: type[Event]) -> str:
    doc = (event.__doc__ or "").strip()
    return " ".join(doc.split("\n\n")[0].split()) if doc and doc != (Event.__doc__ or "").strip() else event.TYPE


def _envelope_schema(event: type[Event]) -> dict[str, Any]:
    """The CloudEvents 1.0 envelope (common/envelope.py) with this event's type and payload."""
    return {
        "type": "object",
        "required": ["specversion", "id", "type", "source", "subject", "time", "datacontenttype", "data"],
        "properties": {
            "specversion": {"type": "string", "const": "1.0"},
            "id": {"type": "string", "format": "uuid", "description": "Consumers deduplicate by it (inbox)."},
            "type": {"type": "string", "const": event.type_name()},
            "source": {"type": "string", "description": "The producing service."},
            "subject": (
                {"type": "string", "description": "The failed event's subject, or topic/partition/offset when it had none."}
                if event is DeadLettered
                else {"type": "string", "format": "uuid", "description": "The application id (also the Kafka key)."}
            ),
            "time": {"type": "string", "format": "date-time"},
            "datacontenttype": {"type": "string", "const": "application/json"},
            "traceparent": {"type": "string", "description": "W3C trace context (CloudEvents distributed tracing extension)."},
            "tracestate": {"type": "string"},
            "data": {"$ref": SCHEMA_REF.format(model=event.__name__)},
        },
    }


def _schemas() -> dict[str, Any]:
    """Every payload model and its parts, as JSON Schema under components/schemas."""
    schemas: dict[str, Any] = {}
    for event in EVENTS.values():
        schema = event.model_json_schema(ref_template=SCHEMA_REF, mode="serialization")
        schemas.update(schema.pop("$defs", {}))
        schemas[event.__name__] = schema
    return schemas


def asyncapi_document(*, server_host: str = "kafka:9092") -> dict[str, Any]:
    """The whole AsyncAPI 3.0 document (deterministic: the same code gives the same document)."""
    messages: dict[str, Any] = {}
    for event in EVENTS.values():
        messages[_message_id(event)] = {
            "name": event.TYPE,
            "title": event.type_name(),
            "summary": _summary(event),
            "contentType": "application/json",
            "payload": _envelope_schema(event),
            "bindings": {
                "kafka": {
                    "key": {"type": "string", "description": "The application id: one application's events stay in order."},
                    "bindingVersion": "0.5.0",
                }
            },
        }
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for name, channel in CHANNELS.items():
        key = name.replace(".", "_")
        channels[key] = {
            "address": channel.address,
            "description": channel.description,
            "messages": {_message_id(e): {"$ref": f"#/components/messages/{_message_id(e)}"} for e in channel.events},
        }
        operations[f"{channel.producer}_sends_{key}"] = {
            "action": "send",
            "summary": f"{channel.producer} publishes through its transactional outbox (at least once, in commit order per key).",
            "channel": {"$ref": f"#/channels/{key}"},
            "messages": [{"$ref": f"#/channels/{key}/messages/{_message_id(e)}"} for e in channel.events],
        }
    for group, topics in RECEIVERS.items():
        for topic, names in topics.items():
            key = topic.replace(".", "_")
            by_name = {e.TYPE: e for e in CHANNELS[topic].events}
            operations[f"{group}_receives_{key}"] = {
                "action": "receive",
                "summary": f"Consumer group {group}: acts on {', '.join(names)}; other types on the topic are skipped.",
                "channel": {"$ref": f"#/channels/{key}"},
                "messages": [{"$ref": f"#/channels/{key}/messages/{_message_id(by_name[n])}"} for n in names],
                "bindings": {"kafka": {"groupId": {"type": "string", "enum": [group]}, "bindingVersion": "0.5.0"}},
            }
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": "e-Maket events",
            "version": "1.0.0",
            "description": (
                "Events between the five services of the burial, disability and survivor benefit case processing. "
                "Every message is a CloudEvents 1.0 envelope in JSON, keyed by the application id; type = "
                "kz.emaket.<name>.v<version>. Producers write through a transactional outbox; consumers "
                "deduplicate by the envelope id. Generated from common/events.py."
            ),
        },
        "defaultContentType": "application/json",
        "servers": {
            "kafka": {
                "host": server_host,
                "protocol": "kafka",
                "description": "Apache Kafka (deploy/); librdkafka's mock cluster in development.",
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": _schemas()},
    }


def envelope_keys() -> set[str]:
    """The envelope's own attributes (the AsyncAPI payload must name each)."""
    return set(Envelope.model_fields)
