"""Hostile JSON is named, never stored (issue 6 point 6, taken for the applications API)."""

from __future__ import annotations

import pytest

from common.strict_json import HostileJson, loads_strict


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b'{"a": NaN}', "body"),
        (b'{"a": Infinity}', "body"),
        (b'{"a": -Infinity}', "body"),
        (b'{"a": 1e400}', "body"),
        (b'{"applicant": {"iin": "12\\u0000"}}', "applicant.iin"),
        (b'{"documents": [{"type": "x", "number": "\\ud800"}]}', "documents[0].number"),
        (b'{"a\\u0000": 1}', "body"),
        (b"[" * 40 + b"]" * 40, "[0]" * 33),  # deeper than 32 levels
        (b"[" * 5000 + b"]" * 5000, "body"),
        (b"\xff\xfe", "body"),
        (b"{not json", "body"),
    ],
)
def test_each_hostile_value_is_refused_and_named(raw: bytes, field: str) -> None:
    with pytest.raises(HostileJson) as info:
        loads_strict(raw)
    assert info.value.field == field


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        (b'{"a": 1.5, "b": "\\u0416", "c": [1, {"d": null}]}', {"a": 1.5, "b": "Ж", "c": [1, {"d": None}]}),
        (b"", None),
        ("{\"name\": \"Сейітов\"}".encode(), {"name": "Сейітов"}),
    ],
)
def test_ordinary_json_passes(raw: bytes, value: object) -> None:
    assert loads_strict(raw) == value
