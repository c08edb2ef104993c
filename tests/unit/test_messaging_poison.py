"""Pure parts of the poison defences: what a consumer admits, what a dead letter keeps and shows,
what the relay can send, and how jobs and workers back off (common/consumer.py, relay.py, jobs.py)."""

from __future__ import annotations

import asyncio
import hashlib
import json
from datetime import datetime, timezone
from types import SimpleNamespace

import pytest

from common import jobs
from common.consumer import ConsumerSpec, DeadLetter, EventConsumer, Poison, masked_preview, parse_value, storable
from common.envelope import make_event
from common.outbox import MAX_STORED_PAYLOAD
from common.relay import Unsendable, encoded, serialise
from common.strict_json import HostileJson, loads_strict

IIN = "610615300012"
PHONE = "+77051234567"
IBAN = "KZ86125KZT5004100100"


async def _noop(session, event) -> None:
    return None


def _consumer(max_value_bytes: int = 1024 * 1024) -> EventConsumer:
    spec = ConsumerSpec(
        group="g", topics=["t"], handlers={"thing.happened": _noop, "application.received": _noop}
    )
    return EventConsumer(
        spec=spec, bootstrap="-", sessions=None, tables=None, service="s",  # type: ignore[arg-type]
        max_value_bytes=max_value_bytes,
    )


def _value(**overrides) -> bytes:
    envelope = make_event("thing.happened", source="s", subject="case-1", data={"n": 1}).model_dump(mode="json")
    return json.dumps(envelope | overrides).encode()


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (None, "tombstone"),
        (b"x" * 2000, "oversized"),
        (b'{"type": "\xff"}', "not UTF-8"),
        (_value(subject="case\u00001"), "NUL"),
        (_value().replace(b'"n": 1', b'"n": "a\\u0000b"'), "NUL"),
        (_value().replace(b'"case-1"', b'"case\x00-1"'), "not valid JSON"),
        (b'{"hello": "world"}', "unparseable envelope"),
        (b"[]", "unparseable envelope"),
        (_value(type="kz.emaket.nobody.knows.v1"), "unknown event type"),
        (_value(type="kz.emaket.application.received.v1"), "wrong shape"),
    ],
)
def test_poison_is_refused_before_any_handler_with_its_reason(value, reason):
    with pytest.raises(Poison) as refused:
        _consumer(max_value_bytes=1500).admit(value)
    assert reason in str(refused.value)


@pytest.mark.parametrize(
    "raw",
    [
        _value(),
        _value(subject="Сейтов ұлы"),
        b"", b" ", b"null", b"[]", b"{}", b"\xef\xbb\xbf{}", b'{"a": 1, "a": 2}', b'{"a": 1}  ',
        b'{"a": NaN}', b'{"a": Infinity}', b'{"a": -Infinity}', b'{"a": 1e400}', b'{"a": -1e400}', b'{"a": 1e-400}',
        b'{"a": 123456789012345678901234567890}', b'{"a": 18446744073709551616}', b'{"a": -9223372036854775809}',
        b'{"a": 9223372036854775807}', b'{"a": 123456789012345678}', b'{"a": 1.0, "b": -0, "c": 0.1}',
        b'{"a": "\\ud800"}', b'{"a": "\\udc00x"}', b'{"a": "\\ud83d\\ude00"}', b'{"a": "\\u0000"}', b'{"a\\u0000": 1}',
        b'{"a": "\xff"}', b'{"a": "\xed\xa0\x80"}', b'{"a": "tab\there"}', b'{"a": "nl\nhere"}', b"{'a': 1}", b'{"a": 1,}',
        b"[" * 32 + b"]" * 32, b"[" * 33 + b"]" * 33, b"[" * 2000 + b"]" * 2000, b'{"a":' * 40 + b"1" + b"}" * 40,
    ],
)
def test_the_fast_parser_takes_and_refuses_exactly_what_the_strict_one_does(raw):
    """parse_value (orjson first) is only faster: the same value, or HostileJson with the same reason."""
    try:
        expected: object = loads_strict(raw)
    except HostileJson as exc:
        expected = ("refused", str(exc))
    try:
        got: object = parse_value(raw)
    except HostileJson as exc:
        got = ("refused", str(exc))
    assert got == expected


def test_the_relay_sends_postgresql_json_text_as_it_is_and_refuses_it_too_large():
    assert encoded('{"a": "é"}', max_bytes=100) == '{"a": "é"}'.encode()
    with pytest.raises(Unsendable, match="MessageSizeTooLarge"):
        encoded('{"a": "' + "x" * 200 + '"}', max_bytes=100)


def test_another_version_of_a_handled_type_goes_to_its_handler():
    """The handler decides which versions it reads (a v2 published beside v1, docs/events.md)."""
    value = _value(type="kz.emaket.application.received.v2")
    assert _consumer().admit(value).type == "kz.emaket.application.received.v2"


def test_a_known_event_type_nobody_here_handles_is_admitted_and_then_skipped():
    """Topics carry events for other groups: a known type without a handler is not poison."""
    value = _value(type="kz.emaket.payment.paid.v1")
    assert _consumer().admit(value).name == "payment.paid"


def test_a_dead_letter_keeps_bytes_capped_with_the_full_size_and_sha256():
    value = b"\x00\xff" * MAX_STORED_PAYLOAD  # twice the cap, NUL and invalid UTF-8
    message = SimpleNamespace(topic="t", partition=1, offset=7, value=value)
    letter = DeadLetter.of(message, None, "err\x00or \ud800", attempts=1, consumer="g")  # type: ignore[arg-type]
    row = letter.row()
    assert row["payload"] == value[:MAX_STORED_PAYLOAD]
    assert row["payload_size"] == len(value) and row["payload_truncated"] is True
    assert row["payload_sha256"] == hashlib.sha256(value).hexdigest()
    assert "\x00" not in row["error"] and "\\x00" in row["error"]
    row["error"].encode("utf-8")  # no lone surrogate left
    notice = letter.notice()
    json.dumps(notice, allow_nan=False).encode("utf-8")
    assert notice["encoding"] == "base64" and notice["truncated"] is True


def test_a_tombstone_dead_letter_has_no_payload_and_says_so():
    message = SimpleNamespace(topic="t", partition=0, offset=1, value=None)
    letter = DeadLetter.of(message, None, "tombstone", attempts=1, consumer="g")  # type: ignore[arg-type]
    assert letter.row()["payload"] is None and letter.row()["payload_size"] == 0
    assert letter.notice()["tombstone"] is True and letter.notice()["original"] == ""


def test_storable_escapes_nul_and_lone_surrogates():
    assert storable("a\x00b\ud800") == "a\\x00b\\ud800"


def test_the_preview_masks_names_iins_phones_and_ibans():
    data = {"applicant": {"iin": IIN, "last_name": "Сейітов", "first_name": "Қайрат"}, "phone": PHONE, "iban": IBAN}
    payload = json.dumps({"type": "x", "data": data}, ensure_ascii=False).encode()
    shown = masked_preview(payload)
    for secret in (IIN, PHONE, IBAN, "Сейітов", "Қайрат"):
        assert secret not in shown
    assert IIN[-4:] in shown  # masked, not dropped: ops can still match the case


def test_the_preview_of_a_cut_or_broken_payload_is_masked_too():
    payload = b'\xff{"last_name": "Seitov", "iin": "' + IIN.encode() + b'", "pad": "' + b"x" * 9000 + b'"}'
    shown = masked_preview(payload, limit=200)
    assert "Seitov" not in shown and IIN not in shown
    assert "\x00" not in masked_preview(b"a\x00b")


def test_serialise_refuses_too_large_and_non_finite_values():
    assert serialise({"a": "é"}, max_bytes=100) == '{"a": "é"}'.encode()
    with pytest.raises(Unsendable, match="MessageSizeTooLarge"):
        serialise({"a": "x" * 200}, max_bytes=100)
    with pytest.raises(Unsendable, match="cannot serialise"):
        serialise({"a": float("inf")}, max_bytes=100)
    with pytest.raises(Unsendable, match="cannot serialise"):
        serialise({"a": "\ud800"}, max_bytes=100)


def _job(attempts: int) -> SimpleNamespace:
    return SimpleNamespace(attempts=attempts, status="pending", last_error=None, next_attempt_at=None)


def test_a_job_is_rescheduled_with_backoff_until_its_last_attempt_then_failed():
    job = _job(0)
    jobs.reschedule(job, "odd answer", cap_s=60, max_attempts=3)
    assert job.status == "pending" and job.attempts == 1 and job.next_attempt_at > datetime.now(timezone.utc)
    jobs.reschedule(job, "odd answer", cap_s=60, max_attempts=3)
    assert job.status == "pending"
    jobs.reschedule(job, "odd answer", cap_s=60, max_attempts=3)
    assert job.status == "failed" and job.attempts == 3 and job.last_error == "odd answer"


def test_every_job_has_a_default_limit():
    job = _job(jobs.MAX_ATTEMPTS - 1)
    jobs.reschedule(job, "x", cap_s=60)
    assert job.status == "failed"


async def test_a_worker_pass_that_keeps_raising_backs_off_exponentially():
    """A step that raises records no attempt; without backoff it would meet the same row at once."""
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        if len(slept) >= 8:
            raise asyncio.CancelledError

    async def step() -> int:
        raise RuntimeError("a body of the wrong shape")

    with pytest.raises(asyncio.CancelledError):
        await jobs.run_periodic("w", step, 0.01, sleep=sleep)
    # The next pass follows the backoff directly (no idle wait on top of it), capped at 60 s.
    assert slept == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0]


async def test_a_task_that_dies_is_restarted_with_backoff_and_is_not_alive_meanwhile(monkeypatch):
    from common import supervisor as sup

    monkeypatch.setattr(sup, "RESTART_BASE_S", 0.2)
    runs = {"n": 0}
    forever = asyncio.Event()

    async def run() -> None:
        runs["n"] += 1
        if runs["n"] == 1:
            raise KeyError("a consumer bug")
        await forever.wait()

    supervisor = sup.Supervisor()
    state = supervisor.start("consumer:g", run)
    try:
        await asyncio.sleep(0.05)
        assert supervisor.dead() == ["consumer:g"] and state.restarts == 1 and state.last_error == "KeyError"
        await asyncio.sleep(0.3)
        assert supervisor.dead() == [] and runs["n"] == 2
    finally:
        await supervisor.stop()
    assert supervisor.dead() == ["consumer:g"]  # stopped tasks are not running
