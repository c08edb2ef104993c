"""Create e-Maket's Kafka topics ahead of the services (they never create topics themselves).

One-shot and idempotent: a topic that exists is left as it is, but checked; the run fails when an
existing topic has fewer partitions or replicas than asked, or a different min.insync.replicas, so a
cluster that was set up by hand does not silently run with weaker guarantees.

    KAFKA_BOOTSTRAP_SERVERS=kafka-1:9092,kafka-2:9092,kafka-3:9092 python deploy/create_topics.py
    python deploy/create_topics.py --partitions 12 --replication-factor 3 --min-insync-replicas 2

The topic list is cross-checked against the code by tests/unit/test_deploy_manifests.py.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

SERVICES = ("intake", "eligibility", "decision", "payment_queue", "notifier")
# Topic -> producing service (docs/design.md "Events").
EVENT_TOPICS = {
    "applications": "intake",
    "eligibility": "eligibility",
    "decisions": "decision",
    "payments": "payment_queue",
}
DEADLETTER_TOPICS = tuple(f"deadletter.{service}" for service in SERVICES)
TOPICS = tuple(EVENT_TOPICS) + DEADLETTER_TOPICS

DAY_MS = 24 * 60 * 60 * 1000
# The relay sends at most 1 MiB per event (common/relay.py MAX_MESSAGE_BYTES); leave room for the batch header.
MAX_MESSAGE_BYTES = 1024 * 1024 + 64 * 1024
REQUEST_TIMEOUT_S = 30.0


def topic_config(topic: str, args: argparse.Namespace) -> dict[str, str]:
    days = args.deadletter_retention_days if topic.startswith("deadletter.") else args.retention_days
    return {
        "min.insync.replicas": str(args.min_insync_replicas),
        "retention.ms": str(days * DAY_MS),
        "cleanup.policy": "delete",
        "unclean.leader.election.enable": "false",
        "max.message.bytes": str(MAX_MESSAGE_BYTES),
    }


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bootstrap", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS"), help="default: $KAFKA_BOOTSTRAP_SERVERS")
    parser.add_argument("--partitions", type=int, default=12, help="per topic; the most consumers of one group that do work")
    parser.add_argument("--replication-factor", type=int, default=3)
    parser.add_argument("--min-insync-replicas", type=int, default=2)
    parser.add_argument("--retention-days", type=int, default=14, help="event topics (the outbox and inbox keep the record of truth)")
    parser.add_argument("--deadletter-retention-days", type=int, default=30, help="deadletter.<service> topics")
    parser.add_argument("--wait-s", type=float, default=120.0, help="how long to wait for the brokers to answer")
    args = parser.parse_args(argv)
    if not args.bootstrap:
        parser.error("set KAFKA_BOOTSTRAP_SERVERS or pass --bootstrap")
    if not 1 <= args.min_insync_replicas <= args.replication_factor:
        parser.error("--min-insync-replicas must be between 1 and --replication-factor")
    return args


def main(argv: list[str]) -> int:
    from confluent_kafka import KafkaError, KafkaException
    from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic

    args = parse_args(argv)
    admin = AdminClient({"bootstrap.servers": args.bootstrap})
    deadline = time.monotonic() + args.wait_s
    while True:
        try:
            metadata = admin.list_topics(timeout=10)
            break
        except KafkaException as exc:
            if time.monotonic() > deadline:
                print(f"brokers at {args.bootstrap} did not answer: {exc}", file=sys.stderr)
                return 2
            time.sleep(3)
    brokers = len(metadata.brokers)
    if brokers < args.replication_factor:
        print(f"only {brokers} broker(s) answer; replication factor {args.replication_factor} needs as many", file=sys.stderr)
        return 2

    missing = [t for t in TOPICS if t not in metadata.topics]
    if missing:
        futures = admin.create_topics(
            [NewTopic(t, num_partitions=args.partitions, replication_factor=args.replication_factor, config=topic_config(t, args)) for t in missing],
            request_timeout=REQUEST_TIMEOUT_S,
        )
        for topic, future in futures.items():
            try:
                future.result(timeout=REQUEST_TIMEOUT_S + 5)
                print(f"created {topic}: {args.partitions} partitions, replication {args.replication_factor}")
            except KafkaException as exc:
                if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:  # a concurrent run made it
                    print(f"could not create {topic}: {exc}", file=sys.stderr)
                    return 1
        metadata = admin.list_topics(timeout=10)

    problems = []
    resources = [ConfigResource(ConfigResource.Type.TOPIC, t) for t in TOPICS]
    described = admin.describe_configs(resources, request_timeout=REQUEST_TIMEOUT_S)
    configs = {resource.name: future.result(timeout=REQUEST_TIMEOUT_S + 5) for resource, future in described.items()}
    for topic in TOPICS:
        partitions = metadata.topics[topic].partitions
        replicas = min(len(p.replicas) for p in partitions.values())
        isr = configs[topic]["min.insync.replicas"].value
        if len(partitions) < args.partitions:
            problems.append(f"{topic}: {len(partitions)} partitions, fewer than {args.partitions}")
        if replicas < args.replication_factor:
            problems.append(f"{topic}: replication {replicas}, less than {args.replication_factor}")
        if isr != str(args.min_insync_replicas):
            problems.append(f"{topic}: min.insync.replicas={isr}, not {args.min_insync_replicas}")
    for problem in problems:
        print(problem, file=sys.stderr)
    if not problems:
        print(f"{len(TOPICS)} topics ready: {', '.join(TOPICS)}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
